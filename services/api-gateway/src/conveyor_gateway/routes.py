"""Endpoints of the native API under ``/v1``: decode -> build event -> append -> wait -> read."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final, TypedDict, TypeVar

import msgspec
from msgspec.structs import replace
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.object_store import ObjectStore
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import (
    AppendConflictError,
    AppendError,
    CommandPayload,
    EventAppender,
    JobSubmitted,
    JobTrigger,
    ManifestPayload,
    ManifestTask,
    Payload,
    RecipePayload,
    dedupe_job_id,
    job_subject,
    new_uuid7,
    parse_uuid,
)
from conveyor_events.states import JOB_STATES
from conveyor_runtime import IPNetwork, PositionWatcher

from .access import caller, caller_id
from .acl_append import append_lists
from .bodies import FieldError, JobAccepted, JobEdit, JobPage, JobSubmission, JobView
from .dependency_check import check_dependencies, check_parent, principal_viewer
from .errors import (
    InvalidIdError,
    InvalidQueryError,
    JobNotFoundError,
    TooLargeError,
    UnsupportedMediaError,
    ValidationFailedError,
)
from .explain_reader import ExplainReader
from .hook_reader import HookReader
from .identity_reader import IdentityReader
from .job_access import check_parent_access, check_submit_access
from .log_store import LogStore
from .log_writer import LogWriter
from .outage import is_outage, stored_anyway, unconfirmed_submission
from .project_reader import ProjectReader
from .reader import JobFilter, JobReader, decode_cursor
from .requester import Requester
from .run_tokens import follow_up
from .submit_limits import SubmitLimiter
from .token_auth import TokenAuthenticator
from .validation import decode_body
from .worker_auth import WorkerAuthenticator
from .worker_reader import WorkerReader
from .worker_status import StatusBoard

ANONYMOUS: Final = "anonymous"
_encoder: Final = msgspec.json.Encoder()
_LIST_PARAMS: Final = frozenset({"state", "project", "tag", "owner", "parent", "limit", "cursor"})
T = TypeVar("T")


class State(TypedDict):
    """What the lifespan hands every request (``request.state``)."""

    nc: NatsClient
    js: JetStreamContext
    requester: Requester
    appender: EventAppender
    reader: JobReader
    workers: WorkerReader
    auth: WorkerAuthenticator
    statuses: StatusBoard
    watcher: PositionWatcher
    explainer: ExplainReader
    tokens: TokenAuthenticator
    identity: IdentityReader
    identity_watcher: PositionWatcher
    projects: ProjectReader
    projects_watcher: PositionWatcher
    access_watcher: PositionWatcher
    submit_limits: SubmitLimiter
    signed_requests: bool
    max_body_bytes: int
    bulk_max_body_bytes: int
    write_wait_s: float
    logs: LogStore
    log_writer: LogWriter
    bucket: ObjectStore
    artifact_max_bytes: int
    collector: PositionWatcher
    hooks: HookReader
    hooks_watcher: PositionWatcher
    hook_allow_nets: tuple[IPNetwork, ...]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encoder.encode(body), status_code=status, media_type="application/json", headers=headers)


def _check_media(request: Request) -> None:
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaError(f"content-type {media!r} is not JSON")


async def read_raw_body(request: Request, limit: int) -> bytes:
    """The raw body (any media type), refusing anything over ``limit`` bytes with 413."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"the body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_body(request: Request, limit: int, *, optional: bool = False) -> bytes:
    """The raw body, refusing non-JSON media types and anything over ``limit`` bytes.

    With ``optional``, an empty body reads as ``{}`` whatever its content-type (``curl -X POST``
    with no data sends none, or a form type).
    """
    if not optional:
        _check_media(request)
    body = await read_raw_body(request, limit)
    if optional and not body.strip():
        return b"{}"
    if optional:
        _check_media(request)
    return body


def path_id(request: Request, name: str, what: str) -> str:
    """The canonical UUID in path parameter ``name``.

    Raises:
        InvalidIdError: It is not a UUID.
    """
    raw: str = request.path_params[name]
    parsed = parse_uuid(raw)
    if parsed is None:
        raise InvalidIdError(f"{raw[:64]!r} is not a {what} id (a UUID)")
    return parsed


async def wait_applied(state: State, seq: int) -> bool:
    """Wait, up to the write wait, until the scheduler has folded the event at ``seq``."""
    return await state["watcher"].wait_for(seq, state["write_wait_s"])


async def read_after(state: State, seq: int, read: Callable[[], Awaitable[T]]) -> T | None:
    """``read()`` once the scheduler has applied ``seq`` (read-your-writes); None if it has not yet."""
    if not await wait_applied(state, seq):
        return None
    return await read()


def submission_payload(sub: JobSubmission) -> Payload | None:
    """The payload of a submission; ``None`` for a group.

    Raises:
        ValidationFailedError: Not exactly one of command, manifest or recipe is given (none for a
            group, which may not wait on dependencies, be held or need verification either).
    """
    given = _payload_fields(sub)
    if sub.group:
        wrong = [
            *given,
            *(["depends_on"] if sub.depends_on else []),
            *(["verification"] if sub.verification > 1 else []),
        ]
        if wrong:
            detail = "a group runs nothing itself: no command, manifest, recipe, depends_on or verification"
            raise ValidationFailedError(detail, errors=[FieldError(pointer=f"/{w}", detail=detail) for w in wrong])
        return None
    return payload_of(sub, given)


def _payload_fields(sub: JobSubmission | JobEdit) -> list[str]:
    has_recipe = bytes(sub.recipe) not in (b"", b"null")
    given = [n for n, v in (("command", sub.command), ("manifest", sub.manifest)) if v is not None]
    return given + (["recipe"] if has_recipe else [])


def edited_payload(edit: JobEdit) -> Payload | None:
    """The new payload of an edit; ``None`` when the edit keeps the payload.

    Raises:
        ValidationFailedError: More than one payload, or ``workdir``/``env`` without ``command``.
    """
    given = _payload_fields(edit)
    if not given:
        if edit.workdir is not None or edit.env is not None:
            detail = "workdir and env belong to a command: give the whole command with them"
            raise ValidationFailedError(detail, errors=[FieldError(pointer="/command", detail=detail)])
        return None
    return payload_of(edit, given)


def payload_of(sub: JobSubmission | JobEdit, given: list[str]) -> Payload:
    """The one payload among the ``given`` fields of a submission or an edit."""
    if len(given) != 1:
        detail = "give exactly one of command, manifest or recipe" + (f" (got {', '.join(given)})" if given else "")
        pointer = f"/{given[1]}" if len(given) > 1 else "/command"
        raise ValidationFailedError(detail, errors=[FieldError(pointer=pointer, detail=detail)])
    if sub.command is not None:
        return CommandPayload(command=sub.command, workdir=sub.workdir, env=sub.env or {})
    if sub.manifest is not None:
        m = sub.manifest
        tasks = tuple(ManifestTask(name=t.name, script=t.script) for t in m.tasks)
        return ManifestPayload(tasks=tasks, environment=m.environment, artifacts=tuple(m.artifacts), image=m.image)
    return RecipePayload(recipe=sub.recipe)


def new_job_id(sub: JobSubmission, owner: str) -> str:
    """The id a submission gets: derived from its dedupe key and owner, so the owner's reused key
    finds their first job, and another owner's same key makes a job of its own (issue 13)."""
    return dedupe_job_id(sub.project, sub.dedupe_key, owner) if sub.dedupe_key else new_uuid7()


def submitted_event(sub: JobSubmission, job_id: str, owner: str) -> JobSubmitted:
    """The ``JobSubmitted`` event of a valid submission (see ``submission_payload`` for what can fail)."""
    return JobSubmitted(
        event_id=new_uuid7(),
        job_id=job_id,
        occurred_at=datetime.now(UTC),
        project=sub.project,
        owner=owner,
        payload=submission_payload(sub),
        title=sub.title,
        note=sub.note,
        tags=tuple(sub.tags),
        labels=tuple(sub.labels),
        priority=sub.priority,
        parent_id=sub.parent,
        depends_on=tuple(sub.depends_on),
        max_retries=sub.max_retries,
        timeout_s=sub.timeout_s,
        lease_s=sub.lease_s,
        dedupe_key=sub.dedupe_key,
        execute=sub.execute,
        progress_pattern=sub.progress_pattern,
        url=sub.url,
        verification=sub.verification,
        triggers=tuple(JobTrigger(on=t.on, url=t.url, secret=t.secret) for t in sub.triggers),
    )


async def submit_job(request: Request) -> Response:
    """``POST /v1/jobs``: 201 with the job; 200 with the existing job for a used dedupe key;
    202 with ``Location`` when the scheduler has not caught up within the write wait, or at once
    when the client sent ``Prefer: respond-async``."""
    state: State = request.scope["state"]
    body = await read_json_body(request, state["max_body_bytes"])
    sub = follow_up(caller(request), decode_body(body, JobSubmission), "/parent")
    await check_submit_access(request, caller(request), [sub.project])
    await state["submit_limits"].admit([sub.project])
    viewer = principal_viewer(caller(request))
    await check_dependencies(state["reader"].pool, None, sub.depends_on, "/depends_on", viewer=viewer)
    # Access first: a parent the caller may not see answers as a missing one, never with its state.
    await check_parent_access(request, caller(request), sub.parent, "/parent")
    await check_parent(state["reader"].pool, sub.parent, "/parent")
    job_id = new_job_id(sub, caller_id(request))
    event = submitted_event(sub, job_id, caller_id(request))
    location = {"Location": f"/v1/jobs/{job_id}"}
    subject = job_subject(job_id)
    try:
        appended = await state["appender"].append(subject, event, expected_last_subject_seq=0)
    except AppendConflictError:
        # The dedupe key was used before: answer with the job it created (DESIGN §2).
        existing = await _read_job_after(state, job_id, await first_seq(state, subject))
        if existing is None:
            return json_response(JobAccepted(id=job_id), 202, location)
        return json_response(existing, 200, location)
    except AppendError:
        return unconfirmed_submission(job_id)  # NATS away: the job may yet be stored
    try:
        lists = [(job_id, sub.read_access, sub.write_access)]
        await append_lists(state["appender"], state["access_watcher"], state["write_wait_s"], lists, event.owner)
        if prefers_async(request):
            return json_response(JobAccepted(id=job_id), 202, {**location, "Preference-Applied": "respond-async"})
        job = await _read_job_after(state, job_id, appended.seq)
    except Exception as exc:
        if not is_outage(exc):
            raise
        return stored_anyway(job_id, exc)  # stored: a 5xx would make the client submit it twice
    if job is None:
        return json_response(JobAccepted(id=job_id), 202, location)
    return json_response(job, 201, location)


def prefers_async(request: Request) -> bool:
    """RFC 7240 ``Prefer: respond-async``: answer once stored, without waiting to read it back."""
    prefer = request.headers.get("prefer")
    return prefer is not None and "respond-async" in (p.strip().lower() for p in prefer.split(","))


async def first_seq(state: State, subject: str) -> int:
    """The stream sequence of the first event on ``subject`` (where an existing job was submitted)."""
    first = await state["js"].get_msg("EVENTS", subject=subject, direct=True, next=True, seq=1)
    return first.seq or 0


async def _read_job_after(state: State, job_id: str, seq: int) -> JobView | None:
    return await read_after(state, seq, lambda: state["reader"].get(job_id))


async def existing_job(state: State, job_id: str) -> JobView:
    job = await state["reader"].get(job_id)
    if job is None:
        raise JobNotFoundError(f"no job {job_id}")
    return job


async def get_job(request: Request) -> Response:
    """``GET /v1/jobs/{id}``."""
    state: State = request.scope["state"]
    return json_response(await existing_job(state, path_id(request, "job_id", "job")))


def _list_query(request: Request) -> tuple[JobFilter, int, int | None]:
    params = request.query_params
    errors = [
        FieldError(pointer=k, detail=f"unknown parameter; use {', '.join(sorted(_LIST_PARAMS))}")
        for k in params
        if k not in _LIST_PARAMS
    ]
    state = params.get("state")
    if state is not None and state not in JOB_STATES:
        errors.append(FieldError(pointer="state", detail=f"one of {', '.join(JOB_STATES)}"))
    parent = params.get("parent")
    if parent is not None and parse_uuid(parent) is None:
        errors.append(FieldError(pointer="parent", detail="a job id (UUID)"))
    for key in ("project", "tag", "owner"):
        value = params.get(key)
        if value is not None and not 0 < len(value) <= 128:
            errors.append(FieldError(pointer=key, detail="1 to 128 characters"))
    raw_limit = params.get("limit", "50")
    limit = int(raw_limit) if raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 6 else 0
    if not 1 <= limit <= 500:
        errors.append(FieldError(pointer="limit", detail="an integer from 1 to 500"))
    if errors:
        raise InvalidQueryError("invalid query parameters", errors=errors)
    cursor = params.get("cursor")
    before = decode_cursor(cursor) if cursor else None
    filters = JobFilter(
        state=state,
        project=params.get("project"),
        tag=params.get("tag"),
        owner=params.get("owner"),
        parent=parse_uuid(parent) if parent is not None else None,
    )
    return filters, limit, before


def _visible_to_caller(request: Request, filters: JobFilter) -> JobFilter:
    """Only the jobs the caller may read (an admin reads all)."""
    principal = caller(request)
    return filters if principal.has_scope("admin") else replace(filters, viewer=principal.user_id)


async def list_jobs(request: Request) -> Response:
    """``GET /v1/jobs?state=&project=&tag=&owner=&parent=&limit=&cursor=``, newest first."""
    state: State = request.scope["state"]
    filters, limit, before = _list_query(request)
    items, next_cursor = await state["reader"].list(
        _visible_to_caller(request, filters), limit=limit, before_seq=before
    )
    return json_response(JobPage(items=items, next_cursor=next_cursor))


async def list_children(request: Request) -> Response:
    """``GET /v1/jobs/{id}/children``: the job's direct children, newest first, with the same
    filters and paging as ``GET /v1/jobs``."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    await existing_job(state, job_id)
    filters, limit, before = _list_query(request)
    filters = _visible_to_caller(request, replace(filters, parent=job_id))
    items, next_cursor = await state["reader"].list(filters, limit=limit, before_seq=before)
    return json_response(JobPage(items=items, next_cursor=next_cursor))


ROUTES: Final = [
    Route("/v1/jobs", submit_job, methods=["POST"]),
    Route("/v1/jobs", list_jobs, methods=["GET"]),
    Route("/v1/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/v1/jobs/{job_id}/children", list_children, methods=["GET"]),
]
