"""``PATCH /v1/jobs/{id}``: change a job's spec (builds.sr.ht and coalition both edit jobs).

The change is a ``JobEdited`` request event; it applies to runs that start after it. A finished
job keeps its result until it is restarted: ``?restart=true`` does both in one call.
"""

from datetime import UTC, datetime
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import JobEdited, JobResetRequested, PendingAppend, job_subject, new_uuid7
from conveyor_events.states import TERMINAL

from .access import caller_id
from .bodies import FieldError, JobAccepted, JobEdit
from .errors import InvalidQueryError, JobNotFinishedError, ValidationFailedError
from .routes import (
    State,
    edited_payload,
    existing_job,
    json_response,
    path_id,
    read_after,
    read_json_body,
)
from .validation import decode_body

_SIMPLE: Final = ("title", "note", "priority", "max_retries", "lease_s", "progress_pattern", "url")


def edited_event(job_id: str, edit: JobEdit, *, is_group: bool, at: datetime, by: str) -> JobEdited:
    """The event of a valid edit.

    Raises:
        ValidationFailedError: Nothing to change, a payload for a group, or a bad payload.
    """
    payload = edited_payload(edit)
    if payload is not None and is_group:
        detail = "a group runs nothing itself: it takes no command, manifest or recipe"
        raise ValidationFailedError(detail, errors=[FieldError(pointer="/command", detail=detail)])
    fields: dict[str, object] = {name: getattr(edit, name) for name in _SIMPLE if getattr(edit, name) is not None}
    if edit.tags is not None:
        fields["tags"] = tuple(edit.tags)
    if edit.labels is not None:
        fields["labels"] = tuple(edit.labels)
    if edit.timeout_s is not msgspec.UNSET:
        fields["timeout_s"] = edit.timeout_s
        fields["clear_timeout"] = edit.timeout_s is None
    if payload is not None:
        fields["payload"] = payload
    if not fields:
        detail = "nothing to change: give at least one field (see PATCH /v1/jobs/{id} in /docs)"
        raise ValidationFailedError(detail, errors=[FieldError(pointer="", detail=detail)])
    return JobEdited(event_id=new_uuid7(), job_id=job_id, occurred_at=at, requested_by=by, **fields)  # type: ignore[arg-type]


def _restart_flag(request: Request) -> bool:
    raw = request.query_params.get("restart", "false").lower()
    unknown = [k for k in request.query_params if k != "restart"]
    if raw not in ("true", "false") or unknown:
        errors = [FieldError(pointer=k, detail="unknown parameter; use restart") for k in unknown]
        if raw not in ("true", "false"):
            errors.append(FieldError(pointer="restart", detail="true or false"))
        raise InvalidQueryError("invalid query parameters", errors=errors)
    return raw == "true"


async def edit_job(request: Request) -> Response:
    """``PATCH /v1/jobs/{id}[?restart=true]``: 200 with the edited job."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    restart = _restart_flag(request)
    edit = decode_body(await read_json_body(request, state["max_body_bytes"]), JobEdit)
    job = await existing_job(state, job_id)
    if restart and job.state not in TERMINAL:
        raise JobNotFinishedError(f"job {job_id} is {job.state}; restart=true is for a finished job")
    now = datetime.now(UTC)
    who = caller_id(request)
    edited = edited_event(job_id, edit, is_group=job.payload is None, at=now, by=who)
    items = [PendingAppend(job_subject(job_id), edited)]
    if restart:
        reset = JobResetRequested(event_id=new_uuid7(), job_id=job_id, occurred_at=now, restart=True,
                                  requested_by=who)  # fmt: skip
        items.append(PendingAppend(job_subject(job_id), reset))
    outcomes = await state["appender"].append_batch(items)
    seq = max(getattr(o, "seq", 0) for o in outcomes)
    location = {"Location": f"/v1/jobs/{job_id}"}
    after = await read_after(state, seq, lambda: state["reader"].get(job_id))
    if after is None:
        return json_response(JobAccepted(id=job_id, detail="edit stored; see Location shortly"), 202, location)
    return json_response(after, 200, location)


EDIT_ROUTES: Final = [Route("/v1/jobs/{job_id}", edit_job, methods=["PATCH"])]
