"""Who calls: a task_tracker worker (``X-Worker-Id: <int>`` and ``X-Secret: <base64>``) or a
manager (the session cookie ``tt``, or a Conveyor API token as ``Authorization: Bearer``).

A worker's integer id is its ``registered_seq``; its secret is checked by the gateway's worker
authenticator (constant time, against the stored SHA-256 only), as the native API's Basic
credentials are, so both surfaces share one cache. The refusals keep task_tracker's words; the
status (401 or 403) is the caller's, as it differed between its paths.
"""

import base64
import binascii
import weakref
from typing import Final

from starlette.requests import Request

from ...core.context import State
from ...core.numbered import worker_by_seq
from ...core.token_auth import Principal
from ...errors import UnauthenticatedError
from .envelope import TtError

SESSION_COOKIE: Final = "tt"
_MAX_HEADER: Final = 512


class TtWorker:
    """An authenticated worker: its Conveyor id and its task_tracker number."""

    __slots__ = ("id", "seq")

    def __init__(self, worker_id: str, seq: int) -> None:
        self.id = worker_id
        self.seq = seq


# Numbers to worker ids, per gateway (its workers reader): both are fixed at registration, so a
# found pair is kept; several gateways in one process (tests) each have their own.
_ids: Final[weakref.WeakKeyDictionary[object, dict[int, str]]] = weakref.WeakKeyDictionary()


def parse_worker_id(text: str) -> int:
    """Raises TtError (with Go's wording) when the header is not a positive int64."""
    try:
        value = int(text.strip(), 10)
    except ValueError:
        raise TtError(f'strconv.ParseInt: parsing "{text[:32]}": invalid syntax') from None
    if not 0 < value < 2**63:
        raise TtError("worker id does not match any valid worker")
    return value


def canonical_secret(header: str) -> str:
    """The secret as it was handed out (standard base64), from the header's base64 in any padding."""
    raw = header.strip()
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        return raw  # will not match: compared as given
    return base64.b64encode(decoded).decode()


async def worker_of(request: Request, status: int) -> TtWorker:
    """The worker the headers prove.

    Raises:
        TtError: Missing or malformed headers, unknown worker or wrong secret, with ``status``.
    """
    state: State = request.scope["state"]
    wid_text = request.headers.get("x-worker-id", "")
    secret = request.headers.get("x-secret", "")
    if not wid_text:
        raise TtError("worker id not specified", status)
    if not secret:
        raise TtError("secret is not specified", status)
    if len(secret) > _MAX_HEADER or len(wid_text) > 32:
        raise TtError("invalid secret", status)
    try:
        seq = parse_worker_id(wid_text)
    except TtError as exc:
        raise TtError(exc.message, status) from None
    known = _ids.setdefault(state["workers"], {})
    worker_id = known.get(seq)
    if worker_id is None:
        found = await worker_by_seq(state, seq)
        if found is None or found.deleted:
            raise TtError("worker id does not match any valid worker", status)
        worker_id = found.id
        if len(known) > 100_000:
            known.clear()
        known[seq] = worker_id
    basic = base64.b64encode(f"{worker_id}:{canonical_secret(secret)}".encode()).decode()
    try:
        await state["auth"].authenticate(f"Basic {basic}")
    except UnauthenticatedError:
        raise TtError("invalid secret", status) from None
    return TtWorker(worker_id, seq)


async def manager_of(request: Request) -> Principal | None:
    """The manager calling, or None: the session cookie, else a Bearer token; a stale or
    revoked one counts as none (task_tracker's expired session)."""
    state: State = request.scope["state"]
    cookie = request.cookies.get(SESSION_COOKIE, "")
    authorization = request.headers.get("authorization", "")
    if cookie:
        authorization = f"Bearer {cookie}"
    if not authorization.lower().startswith("bearer "):
        return None
    try:
        return await state["tokens"].authenticate(authorization)
    except UnauthenticatedError:
        return None


async def require_manager(request: Request) -> Principal:
    """Raises TtError 401 "Unauthorized" without a manager session."""
    manager = await manager_of(request)
    if manager is None:
        raise TtError("Unauthorized", 401)
    return manager


def is_tracker_admin(manager: Principal | None) -> bool:
    return manager is not None and manager.has_scope("admin")
