"""builds.sr.ht's GraphQL API at ``/query``, the subset ``hut builds`` sends (schema-first with
ariadne: ``schema.graphqls``). ``Authorization: Bearer <token>``; the resolvers call the same
build use cases as the legacy REST API."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ariadne import InterfaceType, MutationType, ObjectType, QueryType, ScalarType
from graphql import GraphQLError
from starlette.requests import Request

from conveyor_events import user_subject

from ...core.bodies import JobView, ManifestView
from ...core.context import State
from ...core.job_numbers import owned_page
from ...core.reads import first_seq
from ...core.token_auth import Principal
from .builds import GROUP_LABEL, BuildRequest, build_of, cancel_build, check_tags, start_build, submit_build
from .errors import BuildsError
from .manifest import manifest_yaml, parse_manifest
from .rest import settings_of
from .states import job_status, task_status
from .wire import RESULTS_PER_PAGE, log_url

_LAST_BYTES: Final = 128 * 1024

query = QueryType()
mutation = MutationType()
job_type = ObjectType("Job")
task_type = ObjectType("Task")
user_type = ObjectType("User")
entity = InterfaceType("Entity")
log_type = ObjectType("Log")
time_scalar = ScalarType("Time")


@time_scalar.serializer
def _serialize_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@entity.type_resolver
def _entity_type(obj: Any, *_: Any) -> str:
    return "User"


@dataclass(frozen=True)
class Context:
    """What every resolver of one request reads."""

    state: State
    principal: Principal
    base: str
    request: Request


@dataclass(frozen=True)
class JobNode:
    job: JobView
    number: int


@dataclass(frozen=True)
class TaskNode:
    node: JobNode
    index: int


@dataclass(frozen=True)
class LogNode:
    node: JobNode
    task: str


@dataclass(frozen=True)
class UserNode:
    user_id: str
    name: str
    created: datetime


def context_of(info: Any) -> Context:
    ctx: Context = info.context
    return ctx


async def user_node(ctx: Context, user_id: str) -> UserNode:
    user = await ctx.state["identity"].user(user_id)
    if user is None:
        return UserNode(user_id=user_id, name=user_id, created=datetime.now(UTC))
    return UserNode(user_id=user.id, name=user.name, created=user.created_at)


async def _node(ctx: Context, number: int, *, write: bool = False) -> JobNode:
    try:
        return JobNode(await build_of(ctx.state, ctx.principal, number, write=write), number)
    except BuildsError as exc:
        raise GraphQLError(exc.errors[0]["reason"]) from None


@query.field("version")
def _version(_: Any, info: Any) -> dict[str, Any]:
    """No SSH into builds here (no VM per build): ``sshUser`` is empty; the timeout is the façade's."""
    minutes = settings_of(context_of(info).request).timeout_s // 60
    settings = {"sshUser": "", "buildTimeout": f"{minutes}m"}
    return {"major": 0, "minor": 1, "patch": 0, "deprecationDate": None, "settings": settings}


@query.field("me")
async def _me(_: Any, info: Any) -> UserNode:
    ctx = context_of(info)
    return await user_node(ctx, ctx.principal.user_id)


@query.field("userByName")
async def _user_by_name(_: Any, info: Any, username: str) -> UserNode | None:
    user = await context_of(info).state["identity"].user_named(username.removeprefix("~"))
    return None if user is None else UserNode(user_id=user.id, name=user.name, created=user.created_at)


async def _jobs_of(ctx: Context, owner: str, cursor: str | None) -> dict[str, Any]:
    at_most = int(cursor) if cursor and cursor.isascii() and cursor.isdigit() and len(cursor) <= 18 else None
    if cursor and at_most is None:
        raise GraphQLError("invalid cursor")
    if owner != ctx.principal.user_id and not ctx.principal.has_scope("admin"):
        return {"results": [], "cursor": None}  # another user's jobs: only those shared are readable by number
    page, next_start = await owned_page(
        ctx.state["reader"].pool, owner, limit=RESULTS_PER_PAGE, at_most=at_most, without_label=GROUP_LABEL
    )
    results = []
    for number, job_id in page:
        job = await ctx.state["reader"].get(job_id)
        if job is not None:
            results.append(JobNode(job, number))
    return {"results": results, "cursor": str(next_start) if next_start is not None else None}


@query.field("jobs")
async def _jobs(_: Any, info: Any, cursor: str | None = None) -> dict[str, Any]:
    ctx = context_of(info)
    return await _jobs_of(ctx, ctx.principal.user_id, cursor)


@user_type.field("jobs")
async def _user_jobs(user: UserNode, info: Any, cursor: str | None = None) -> dict[str, Any]:
    return await _jobs_of(context_of(info), user.user_id, cursor)


@user_type.field("id")
@entity.field("id")
async def _user_id(user: UserNode, info: Any) -> int:
    return await first_seq(context_of(info).state, user_subject(user.user_id))  # its creation's stream sequence


@user_type.field("canonicalName")
def _canonical(user: UserNode, *_: Any) -> str:
    return f"~{user.name}"


@user_type.field("username")
def _username(user: UserNode, *_: Any) -> str:
    return user.name


@query.field("job")
async def _job(_: Any, info: Any, id: int) -> JobNode | None:
    try:
        return JobNode(await build_of(context_of(info).state, context_of(info).principal, id), id)
    except BuildsError:
        return None


@job_type.field("id")
def _job_id(node: JobNode, *_: Any) -> int:
    return node.number


@job_type.field("created")
def _job_created(node: JobNode, *_: Any) -> datetime:
    return node.job.created_at


@job_type.field("updated")
def _job_updated(node: JobNode, *_: Any) -> datetime:
    return node.job.updated_at


@job_type.field("status")
def _job_status(node: JobNode, *_: Any) -> str:
    return job_status(node.job.state).upper()


@job_type.field("manifest")
def _job_manifest(node: JobNode, *_: Any) -> str:
    payload = node.job.payload
    return manifest_yaml(payload, node.job.labels) if isinstance(payload, ManifestView) else ""


@job_type.field("note")
def _job_note(node: JobNode, *_: Any) -> str | None:
    return node.job.note or None


@job_type.field("tags")
def _job_tags(node: JobNode, *_: Any) -> list[str]:
    return list(node.job.tags)


@job_type.field("visibility")
async def _job_visibility(node: JobNode, info: Any) -> str:
    grants = await context_of(info).state["projects"].job_owner(node.job.id)
    return "UNLISTED" if grants is not None and "*" in grants.read else "PRIVATE"


@job_type.field("image")
def _job_image(node: JobNode, *_: Any) -> str:
    payload = node.job.payload
    return (payload.image or "") if isinstance(payload, ManifestView) else ""


@job_type.field("runner")
def _job_runner(node: JobNode, *_: Any) -> str | None:
    return node.job.worker_id


@job_type.field("owner")
async def _job_owner(node: JobNode, info: Any) -> UserNode:
    return await user_node(context_of(info), node.job.owner)


@job_type.field("group")
def _job_group(*_: Any) -> None:
    return None


@job_type.field("tasks")
def _job_tasks(node: JobNode, *_: Any) -> list[TaskNode]:
    return [TaskNode(node, i) for i in range(len(node.job.tasks))]


@job_type.field("artifacts")
async def _job_artifacts(node: JobNode, info: Any) -> list[dict[str, Any]]:
    ctx = context_of(info)
    entries = await ctx.state["logs"].artifacts(node.job.id)
    return [
        {"id": i + 1, "created": e.stored_at, "path": e.path, "size": e.size,
         "url": f"{ctx.base}artifacts/{node.number}/{e.path}"}
        for i, e in enumerate(entries)
    ]  # fmt: skip


@job_type.field("log")
def _job_log(node: JobNode, *_: Any) -> LogNode:
    return LogNode(node, "")


@task_type.field("id")
def _task_id(task: TaskNode, *_: Any) -> int:
    return task.node.number * 1000 + task.index  # a task has no event of its own: its job's number and place


@task_type.field("created")
def _task_created(task: TaskNode, *_: Any) -> datetime:
    return task.node.job.created_at


@task_type.field("updated")
def _task_updated(task: TaskNode, *_: Any) -> datetime:
    return task.node.job.tasks[task.index].updated_at or task.node.job.updated_at


@task_type.field("name")
def _task_name(task: TaskNode, *_: Any) -> str:
    return task.node.job.tasks[task.index].name


@task_type.field("status")
def _task_status(task: TaskNode, *_: Any) -> str:
    return task_status(task.node.job.tasks[task.index].state, task.node.job.state).upper()


@task_type.field("log")
def _task_log(task: TaskNode, *_: Any) -> LogNode:
    return LogNode(task.node, task.node.job.tasks[task.index].name)


@task_type.field("job")
def _task_job(task: TaskNode, *_: Any) -> JobNode:
    return task.node


@log_type.field("fullURL")
def _log_url(log: LogNode, info: Any) -> str:
    return log_url(context_of(info).base, log.node.number, log.task or None)


@log_type.field("last128KiB")
async def _log_tail(log: LogNode, info: Any) -> str:
    logs = context_of(info).state["logs"]
    found = await logs.log_info(log.node.job.id, log.task, None)
    if found is None:
        return ""
    start = max(0, found.size - _LAST_BYTES)
    pieces = [piece async for _, piece in logs.chunks(log.node.job.id, found.attempt, log.task, start, found.size)]
    return b"".join(pieces).decode("utf-8", "replace")


@mutation.field("submit")
async def _submit(
    _: Any,
    info: Any,
    manifest: str,
    tags: list[str] | None = None,
    note: str | None = None,
    secrets: bool | None = None,
    execute: bool | None = None,
    visibility: str | None = None,
) -> JobNode:
    del secrets  # there are no secrets to share with a build here
    ctx = context_of(info)
    require_scope(ctx, "jobs:write")
    try:
        settings = settings_of(ctx.request)
        req = BuildRequest(
            manifest=parse_manifest(manifest, email_enabled=settings.email_enabled),
            note=note or "",
            tags=check_tags(tags),
            read=() if visibility == "PRIVATE" else ("*",),
            execute=True if execute is None else execute,
        )
        number, job = await submit_build(ctx.state, ctx.principal, req, origin=ctx.base, settings=settings)
    except BuildsError as exc:
        raise GraphQLError("; ".join(reason_of(e) for e in exc.errors)) from None
    return JobNode(job, number)


def reason_of(error: dict[str, Any]) -> str:
    return f"{error['field']}: {error['reason']}" if error.get("field") else str(error["reason"])


def require_scope(ctx: Context, scope: str) -> None:
    if not ctx.principal.has_scope(scope):
        raise GraphQLError(f"Access denied: the token lacks {scope}")


@mutation.field("start")
async def _start(_: Any, info: Any, jobID: int) -> JobNode | None:
    ctx = context_of(info)
    require_scope(ctx, "jobs:write")
    node = await _node(ctx, jobID, write=True)
    try:
        job = await start_build(ctx.state, ctx.principal, node.job)
    except BuildsError as exc:
        raise GraphQLError(reason_of(exc.errors[0])) from None
    return JobNode(job or node.job, jobID)


@mutation.field("cancel")
async def _cancel(_: Any, info: Any, jobId: int) -> JobNode | None:
    ctx = context_of(info)
    require_scope(ctx, "jobs:write")
    node = await _node(ctx, jobId, write=True)
    job = await cancel_build(ctx.state, ctx.principal, node.job)
    return JobNode(job or node.job, jobId)
