"""``POST /v1/jobs/bulk``: up to 1000 jobs validated as a whole (all are stored, or none) and
appended in one pipeline, each exactly as ``POST /v1/jobs`` would append it."""

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import AppendConflictError, Appended, PendingAppend, job_subject
from conveyor_runtime import get_logger

from .access import caller, caller_id
from .acl_append import append_lists
from .bodies import BULK_MAX_JOBS, BulkItem, BulkResult, FieldError, JobSubmission
from .dependency_check import Viewer, check_dependencies, check_parent, principal_viewer
from .errors import ParentFinishedError, ValidationFailedError
from .job_access import check_parent_access, check_submit_access
from .outage import RETRY_AFTER_S, is_outage
from .routes import (
    State,
    first_seq,
    json_response,
    new_job_id,
    prefers_async,
    read_json_body,
    submission_payload,
    submitted_event,
    wait_applied,
)
from .run_tokens import follow_up
from .validation import NOT_JSON, collect_errors, decode_body, malformed

_log = get_logger("gateway")
_INVALID: Final = "the body has invalid fields"
_UNKNOWN_REFERENCES: Final = "unknown dependencies or parents"


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


async def _dependency_errors(state: State, sub: JobSubmission, index: int, viewer: Viewer | None) -> list[FieldError]:
    try:
        await check_dependencies(state["reader"].pool, None, sub.depends_on, "/depends_on", viewer=viewer)
        await check_parent(state["reader"].pool, sub.parent, "/parent")
    except ValidationFailedError as exc:
        return _prefixed(exc.errors or [], index)
    except ParentFinishedError as exc:
        return [FieldError(pointer=f"/jobs/{index}/parent", detail=exc.detail)]
    return []


async def check_batch_dependencies(state: State, subs: list[JobSubmission], viewer: Viewer | None) -> None:
    """Every dependency and parent of every job must exist (a parent must not have ended),
    checked as for one submission.

    Raises:
        ValidationFailedError: Unknown dependencies or parents, each with its pointer
            (``/jobs/3/depends_on/0``, ``/jobs/4/parent``).
    """
    with_dependencies = [(i, sub) for i, sub in enumerate(subs) if sub.depends_on or sub.parent]
    found = await asyncio.gather(*(_dependency_errors(state, sub, i, viewer) for i, sub in with_dependencies))
    errors = [e for item_errors in found for e in item_errors]
    if errors:
        raise ValidationFailedError(_UNKNOWN_REFERENCES, errors=errors)


async def _highest_seq(state: State, items: list[PendingAppend], outcomes: list[Appended | AppendConflictError]) -> int:
    """The stream position past which every job of the batch, new or existing, is stored."""
    appended = [i for i, o in enumerate(outcomes) if isinstance(o, Appended)]
    highest = max((o.seq for o in outcomes if isinstance(o, Appended)), default=0)
    # An existing job's first event was stored before our append on its subject was refused, so
    # before any later append of ours (one connection; the stream keeps the order): only the
    # conflicts after our last append need to look up where their job was stored.
    after = appended[-1] + 1 if appended else 0
    tail = {
        item.subject: None
        for item, outcome in zip(items[after:], outcomes[after:], strict=True)
        if isinstance(outcome, AppendConflictError)
    }
    firsts = await asyncio.gather(*(first_seq(state, subject) for subject in tail))
    return max([highest, *firsts])


async def submit_jobs(request: Request) -> Response:
    """``POST /v1/jobs/bulk``: 201 with each job's id and ``created`` or ``existing`` (a used dedupe
    key) once the scheduler has seen them all; 202 with the same body when it has not within the
    write wait, or at once with ``Prefer: respond-async``."""
    state: State = request.scope["state"]
    body = await read_json_body(request, state["bulk_max_body_bytes"])
    subs = decode_batch(body, max_item_bytes=state["max_body_bytes"])
    subs = [follow_up(caller(request), sub, f"/jobs/{i}/parent") for i, sub in enumerate(subs)]
    await check_submit_access(request, caller(request), [sub.project for sub in subs])
    await state["submit_limits"].admit(sub.project for sub in subs)
    # Parent access first: a parent the caller may not see answers as a missing one, never with its state.
    for index, parent in enumerate(sub.parent for sub in subs):
        try:
            await check_parent_access(request, caller(request), parent, f"/jobs/{index}/parent")
        except ValidationFailedError as exc:  # worded as the batch check words a missing parent
            raise ValidationFailedError(_UNKNOWN_REFERENCES, errors=exc.errors) from None
    await check_batch_dependencies(state, subs, principal_viewer(caller(request)))
    ids = [new_job_id(sub, caller_id(request)) for sub in subs]
    items = [
        PendingAppend(
            job_subject(job_id), submitted_event(sub, job_id, caller_id(request)), expected_last_subject_seq=0
        )
        for sub, job_id in zip(subs, ids, strict=True)
    ]
    outcomes = await state["appender"].append_batch(items)
    lists = [
        (job_id, sub.read_access, sub.write_access)
        for job_id, sub, outcome in zip(ids, subs, outcomes, strict=True)
        if isinstance(outcome, Appended)
    ]
    jobs = [
        BulkItem(id=job_id, status="created" if isinstance(outcome, Appended) else "existing")
        for job_id, outcome in zip(ids, outcomes, strict=True)
    ]
    created = sum(1 for j in jobs if j.status == "created")
    _log.info("jobs_bulk_submitted", created=created, existing=len(jobs) - created)
    result = BulkResult(jobs=jobs, count=len(jobs))
    try:
        await append_lists(state["appender"], state["access_watcher"], state["write_wait_s"], lists, caller_id(request))
        if prefers_async(request):
            return json_response(result, 202, {"Preference-Applied": "respond-async"})
        is_visible = await wait_applied(state, await _highest_seq(state, items, outcomes))
    except Exception as exc:
        if not is_outage(exc):
            raise
        # Stored: a 5xx would make the client submit them all twice (issue 13).
        return json_response(result, 202, {"Retry-After": str(RETRY_AFTER_S)})
    return json_response(result, 201 if is_visible else 202)


BULK_ROUTES: Final = [Route("/v1/jobs/bulk", submit_jobs, methods=["POST"])]
