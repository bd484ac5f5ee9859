"""Outbound webhooks, once for every surface: who may manage a hook, checking a target URL,
creating and deleting hooks, and appending a change against the hook's last sequence.

A user hook gets the events of the caller's own jobs; a project hook those of every job in the
project, and managing one needs the project's ``edit`` role. Hooks one may not manage are
reported as missing. The hook dispatcher owns the tables; this module checks, appends and waits.
"""

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from conveyor_events import (
    AppendConflictError,
    HookCreated,
    HookDeleted,
    HookRedeliveryRequested,
    HookUpdated,
    hook_subject,
    new_uuid7,
)
from conveyor_runtime import TargetRefusedError, check_url_syntax, resolve_checked

from ..errors import (
    DeliveryNotFoundError,
    FieldError,
    HookChangedError,
    HookNotFoundError,
    MissingRoleError,
    ValidationFailedError,
)
from .context import State
from .hook_bodies import HookCreate
from .hook_reader import HookDoc
from .project_access import effective_roles
from .token_auth import Principal


@dataclass(frozen=True, slots=True)
class CreatedHook:
    """A new hook: its id, its signing secret (known only to this answer) and the hook as the
    dispatcher holds it (None if it has not folded it within the write wait)."""

    hook_id: str
    secret: str
    hook: HookDoc | None


async def check_target(state: State, url: str) -> None:
    """Refuse a URL whose host is private, loopback or link-local (unless allowed), or unresolvable.

    Raises:
        ValidationFailedError: With the pointer ``/url``.
    """
    try:
        _, host, port = check_url_syntax(url)
        await resolve_checked(host, port, state["hook_allow_nets"])
    except TargetRefusedError as exc:
        raise ValidationFailedError(str(exc), errors=[FieldError(pointer="/url", detail=str(exc))]) from None


async def _may_manage_project(state: State, principal: Principal, name: str) -> bool:
    if principal.has_scope("admin"):
        return True
    project, granted = await state["projects"].with_roles(name, principal.user_id)
    return project is not None and "edit" in effective_roles(principal, project, granted)


async def managed_hook(state: State, principal: Principal, hook_id: str) -> HookDoc:
    """The hook ``hook_id``, if ``principal`` may manage it.

    Raises:
        HookNotFoundError: No such hook, or not the caller's to manage.
    """
    hook = await state["hooks"].get(hook_id)
    if hook is not None:
        if principal.has_scope("admin") or (not hook.project and hook.owner == principal.user_id):
            return hook
        if hook.project and await _may_manage_project(state, principal, hook.project):
            return hook
    raise HookNotFoundError(f"no hook {hook_id}")


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def create_hook(state: State, principal: Principal, ask: HookCreate) -> CreatedHook:
    """Create a hook owned by ``principal`` (on ``ask.project`` when given).

    Raises:
        ValidationFailedError: No such project (or hidden from the caller), or a refused URL.
        MissingRoleError: A project hook without the project's ``edit`` role.
    """
    if ask.project is not None:
        project, granted = await state["projects"].with_roles(ask.project, principal.user_id)
        roles = effective_roles(principal, project, granted) if project is not None else frozenset[str]()
        if project is None or (project.visibility == "hidden" and "read" not in roles):
            detail = f"no project {ask.project!r}"
            raise ValidationFailedError(detail, errors=[FieldError(pointer="/project", detail=detail)])
        if "edit" not in roles:
            raise MissingRoleError("a project hook needs the 'edit' role on the project")
    await check_target(state, ask.url)
    hook_id = new_uuid7()
    secret = _new_secret()
    event = HookCreated(
        event_id=new_uuid7(),
        hook_id=hook_id,
        occurred_at=datetime.now(UTC),
        owner=principal.user_id,
        project=ask.project or "",
        url=ask.url,
        event_types=tuple(dict.fromkeys(ask.events)),
        secret=secret,
        is_active=ask.active,
        description=ask.description,
    )
    appended = await state["appender"].append(hook_subject(hook_id), event, expected_last_subject_seq=0)
    hook = await state["hooks"].get(hook_id) if await wait_folded(state, appended.seq) else None
    return CreatedHook(hook_id=hook_id, secret=secret, hook=hook)


async def delete_hook(state: State, principal: Principal, hook_id: str) -> None:
    """Delete the hook; its pending deliveries are dropped.

    Raises:
        HookNotFoundError: No such hook, or not the caller's to manage.
        HookChangedError: It changed meanwhile.
    """
    hook = await managed_hook(state, principal, hook_id)
    event = HookDeleted(event_id=new_uuid7(), hook_id=hook.id, occurred_at=datetime.now(UTC),
                        requested_by=principal.user_id)  # fmt: skip
    await append_and_wait(state, hook, event)


async def wait_folded(state: State, seq: int) -> bool:
    """Wait, up to the write wait, until the hook dispatcher has folded the event at ``seq``."""
    return await state["hooks_watcher"].wait_for(seq, state["write_wait_s"])


async def append_and_wait(state: State, hook: HookDoc, event: HookUpdated | HookDeleted) -> None:
    """Append a change of ``hook`` against the sequence it was read at, and wait for the dispatcher.

    Raises:
        HookChangedError: The hook changed since it was read.
    """
    try:
        appended = await state["appender"].append(hook_subject(hook.id), event, expected_last_subject_seq=hook.last_seq)
    except AppendConflictError:
        raise HookChangedError("the hook changed since it was read; read it again and retry") from None
    await wait_folded(state, appended.seq)


async def redeliver(state: State, principal: Principal, hook_id: str, delivery_id: str) -> None:
    """Ask the dispatcher to send a delivery again (same ``webhook-id`` and body, a fresh retry
    horizon); returns once it has folded the request (or the write wait passed).

    Raises:
        HookNotFoundError: No such hook, or not the caller's to manage.
        DeliveryNotFoundError: The hook has no such delivery.
    """
    hook = await managed_hook(state, principal, hook_id)
    if await state["hooks"].delivery_hook(delivery_id) != hook.id:
        raise DeliveryNotFoundError(f"hook {hook.id} has no delivery {delivery_id}")
    event = HookRedeliveryRequested(
        event_id=new_uuid7(),
        hook_id=hook.id,
        occurred_at=datetime.now(UTC),
        delivery_id=delivery_id,
        requested_by=principal.user_id,
    )
    appended = await state["appender"].append(hook_subject(hook.id), event)
    await wait_folded(state, appended.seq)
