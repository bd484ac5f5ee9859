"""``POST /v1/jobs/bulk``: up to 1000 jobs validated as a whole (all are stored, or none) and
appended in one pipeline, each exactly as ``POST /v1/jobs`` would append it."""

from collections.abc import Sequence
from typing import Annotated, Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.bodies import BULK_MAX_JOBS, BulkItem, BulkResult, JobSubmission
from ...core.context import State
from ...core.outages import RETRY_AFTER_S
from ...core.submission import submission_payload
from ...core.submit import submit_batch
from ...errors import FieldError, ValidationFailedError
from ...http.access import caller
from ...http.plumbing import json_response, prefers_async, read_json_body
from ...http.validation import NOT_JSON, collect_errors, decode_body, malformed

_INVALID: Final = "the body has invalid fields"


class _Envelope(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The batch with its items left undecoded, to check each one on its own."""

    jobs: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1, max_length=BULK_MAX_JOBS)]


class _LooseEnvelope(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The same rules over decoded JSON, for ``collect_errors`` (which cannot convert to Raw)."""

    jobs: Annotated[list[Any], msgspec.Meta(min_length=1, max_length=BULK_MAX_JOBS)]


def _prefixed(errors: Sequence[FieldError], index: int) -> list[FieldError]:
    return [FieldError(pointer=f"/jobs/{index}{e.pointer}", detail=e.detail) for e in errors]


def _payload_errors(sub: JobSubmission, index: int) -> list[FieldError]:
    """The rule that spans fields (exactly one payload), which decoding does not check."""
    try:
        submission_payload(sub)
    except ValidationFailedError as exc:
        return _prefixed(exc.errors or [], index)
    return []


def _decode_item(raw: msgspec.Raw, index: int, max_item_bytes: int) -> tuple[JobSubmission | None, list[FieldError]]:
    """One job of the batch, or its errors. A job may be as large as one ``POST /v1/jobs`` body,
    which also keeps each event within what the stream accepts."""
    if len(raw) > max_item_bytes:
        detail = f"this job is {len(raw)} bytes; one job may be at most {max_item_bytes} (CONVEYOR_MAX_BODY_BYTES)"
        return None, [FieldError(pointer=f"/jobs/{index}", detail=detail)]
    try:
        sub = decode_body(bytes(raw), JobSubmission)
    except ValidationFailedError as exc:
        return None, _prefixed(exc.errors or [], index)
    return sub, _payload_errors(sub, index)


def decode_batch(body: bytes, *, max_item_bytes: int) -> list[JobSubmission]:
    """Decode and validate a whole batch: the envelope, then each job on its own, so that every
    error is reported with its pointer (``/jobs/3/priority``).

    Raises:
        MalformedError: Not JSON at all.
        ValidationFailedError: The envelope or any job is invalid; ``errors`` lists every error.
    """
    try:
        raws = msgspec.json.decode(body, type=_Envelope).jobs
    except msgspec.ValidationError as exc:
        raise ValidationFailedError(_INVALID, errors=collect_errors(body, _LooseEnvelope, str(exc))) from None
    except NOT_JSON as exc:
        raise malformed(exc) from None
    subs: list[JobSubmission] = []
    errors: list[FieldError] = []
    for index, raw in enumerate(raws):
        sub, item_errors = _decode_item(raw, index, max_item_bytes)
        errors += item_errors
        if sub is not None:
            subs.append(sub)
    if errors:
        raise ValidationFailedError(_INVALID, errors=errors)
    return subs


async def submit_jobs(request: Request) -> Response:
    """``POST /v1/jobs/bulk``: 201 with each job's id and ``created`` or ``existing`` (a used dedupe
    key) once the scheduler has seen them all; 202 with the same body when it has not within the
    write wait, or at once with ``Prefer: respond-async``."""
    state: State = request.scope["state"]
    body = await read_json_body(request, state["bulk_max_body_bytes"])
    subs = decode_batch(body, max_item_bytes=state["max_body_bytes"])
    is_async = prefers_async(request)
    done = await submit_batch(state, caller(request), subs, wait=not is_async)
    jobs = [BulkItem(id=job_id, status="created" if created else "existing") for job_id, created in done.jobs]
    result = BulkResult(jobs=jobs, count=len(jobs))
    if done.outage is not None:  # stored: a 5xx would make the client submit them all twice (issue 13)
        return json_response(result, 202, {"Retry-After": str(RETRY_AFTER_S)})
    if is_async:
        return json_response(result, 202, {"Preference-Applied": "respond-async"})
    return json_response(result, 201 if done.visible else 202)


BULK_ROUTES: Final = [Route("/v1/jobs/bulk", submit_jobs, methods=["POST"])]
