"""builds.sr.ht's user webhooks (GraphQL ``userWebhooks``, ``createUserWebhook``,
``deleteUserWebhook``) as Conveyor hooks of the caller's own jobs (no HTTP).

``JOB_CREATED`` is Conveyor's ``job.submitted``, ``JOB_UPDATED`` every job event. A subscription's
id is the stream sequence of its hook's creation event. What differs: the payload is Conveyor's
signed Standard Webhooks body, not the result of the subscription's ``query`` (kept, and shown).
"""

from dataclasses import dataclass
from typing import Final

from conveyor_events import hook_subject
from conveyor_events.subjects import aggregate_of

from ...core.context import State
from ...core.hook_bodies import HookCreate
from ...core.hook_reader import HookDoc
from ...core.hooks import create_hook, delete_hook
from ...core.reads import first_seq, subject_at
from ...core.token_auth import Principal
from .errors import BuildsError

_TO_CONVEYOR: Final = {"JOB_CREATED": "job.submitted", "JOB_UPDATED": "job.*"}
_FROM_CONVEYOR: Final = {v: k for k, v in _TO_CONVEYOR.items()}
MAX_QUERY: Final = 500  # kept as the hook's description


@dataclass(frozen=True)
class Subscription:
    """A user webhook as sourcehut shows it."""

    id: int
    url: str
    events: list[str]
    query: str


async def _subscription(state: State, hook: HookDoc) -> Subscription:
    number = await first_seq(state, hook_subject(hook.id))
    events = [_FROM_CONVEYOR[e] for e in hook.event_types if e in _FROM_CONVEYOR]
    return Subscription(id=number, url=hook.url, events=events, query=hook.description)


async def list_webhooks(state: State, principal: Principal) -> list[Subscription]:
    """The caller's own user hooks (not project hooks), newest first."""
    hooks = [
        h for h in await state["hooks"].listed(principal.user_id) if h.owner == principal.user_id and not h.project
    ]
    return [await _subscription(state, h) for h in hooks]


async def create_webhook(state: State, principal: Principal, url: str, events: list[str], query: str) -> Subscription:
    """A hook of the caller's jobs for ``events`` (sourcehut's names).

    Raises:
        BuildsError: 400 for no events, a query over ``MAX_QUERY`` characters; GatewayError for a refused URL.
    """
    if not events:
        raise BuildsError(400, "events: give at least one event", "events")
    if len(query) > MAX_QUERY:
        raise BuildsError(400, f"query: at most {MAX_QUERY} characters here", "query")
    ask = HookCreate(url=url, events=list(dict.fromkeys(_TO_CONVEYOR[e] for e in events)), description=query)
    created = await create_hook(state, principal, ask)
    number = await first_seq(state, hook_subject(created.hook_id))
    return Subscription(id=number, url=url, events=list(dict.fromkeys(events)), query=query)


async def delete_webhook(state: State, principal: Principal, number: int) -> Subscription:
    """Delete the caller's user webhook ``number``.

    Raises:
        BuildsError: 404 for no such webhook of the caller's.
    """
    subject = await subject_at(state, number)
    aggregate, hook_id = aggregate_of(subject) if subject else ("", "")
    hook = await state["hooks"].get(hook_id) if aggregate == "hook" else None
    if hook is None or hook.owner != principal.user_id or await first_seq(state, hook_subject(hook.id)) != number:
        raise BuildsError(404, "Not found")
    gone = await _subscription(state, hook)
    await delete_hook(state, principal, hook.id)
    return gone
