"""builds.sr.ht GraphQL: job groups (``JobGroup``, ``createGroup``, ``startGroup``)."""

from datetime import datetime
from typing import Any

from ariadne import ObjectType
from graphql import GraphQLError

from .errors import BuildsError
from .graphql import JobNode, UserNode, context_of, mutation, reason_of, require_scope, user_node
from .groups import Group, create_group, group_of, start_group
from .rest import settings_of

group_type = ObjectType("JobGroup")


@group_type.field("id")
def _group_id(group: Group, *_: Any) -> int:
    return group.number


@group_type.field("created")
def _group_created(group: Group, *_: Any) -> datetime:
    return group.job.created_at


@group_type.field("owner")
async def _group_owner(group: Group, info: Any) -> UserNode:
    return await user_node(context_of(info), group.job.owner)


@group_type.field("note")
def _group_note(group: Group, *_: Any) -> str | None:
    return group.job.note or None


@group_type.field("jobs")
def _group_jobs(group: Group, *_: Any) -> list[JobNode]:
    return [JobNode(job, number) for number, job in group.builds]


@group_type.field("triggers")
def _group_triggers(*_: Any) -> list[Any]:
    return []


@mutation.field("createGroup")
async def _create_group(
    _: Any,
    info: Any,
    jobIds: list[int],
    triggers: list[Any] | None = None,
    execute: bool | None = None,
    note: str | None = None,
) -> Group:
    ctx = context_of(info)
    require_scope(ctx, "jobs:write")
    if triggers:
        raise GraphQLError("group triggers are not supported here: give each job's manifest its triggers")
    try:
        group = await create_group(ctx.state, ctx.principal, jobIds, note or "", settings=settings_of(ctx.request))
        if execute:
            await start_group(ctx.state, ctx.principal, group)
            group = await group_of(ctx.state, ctx.principal, group.number)
    except BuildsError as exc:
        raise GraphQLError(reason_of(exc.errors[0])) from None
    return group


@mutation.field("startGroup")
async def _start_group(_: Any, info: Any, groupId: int) -> Group | None:
    ctx = context_of(info)
    require_scope(ctx, "jobs:write")
    try:
        group = await group_of(ctx.state, ctx.principal, groupId, write=True)
        await start_group(ctx.state, ctx.principal, group)
        return await group_of(ctx.state, ctx.principal, groupId)
    except BuildsError as exc:
        raise GraphQLError(reason_of(exc.errors[0])) from None
