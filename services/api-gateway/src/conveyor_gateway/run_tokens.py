"""Run tokens: what a running job holds to submit its follow-ups, and nothing more (issue 13).

A worker mints one per lease, ``cvr_<worker id>.<lease id>.<mac>``, where ``mac`` is the HMAC-SHA256
of ``run:<worker id>:<lease id>`` keyed by the worker's stored secret hash, and hands it to the
job as ``CONVEYOR_RUN_TOKEN`` (and ``CONVEYOR_TOKEN`` unless the job brings its own). The gateway
checks the MAC against the workers projection and accepts the token only while that lease is its
job's current one: it dies with the run (finished, expired, cancelled, reassigned, deleted
worker), and no state is kept to revoke it.

It is accepted only by ``POST /v1/jobs`` and ``POST /v1/jobs/bulk``, and stands for the job's
owner restricted to submitting children of the job (``parent`` is the job, or absent and set to
it) into the job's project: what the submitter could do there, for as long as the run lasts.
Every other endpoint refuses it as an unknown token.
"""

import hashlib
import hmac
from typing import Any, Final

import msgspec

from conveyor_events import EVENTS_STREAM, parse_uuid

from .bodies import JobSubmission
from .errors import ForbiddenError, TokenRequiredError
from .reader import fetch_projection
from .token_auth import Principal

PREFIX: Final = "cvr_"
_DEFAULT_PROJECT: Final = JobSubmission().project
_SUBMIT: Final = frozenset({"jobs:write"})
_REFUSED: Final = "the run token is malformed, or its run has ended"
_LIVE: Final = ["assigned", "running"]
_RUN_SQL: Final = (
    "SELECT id::text, owner, project FROM scheduler.jobs"
    " WHERE doc->>'worker_id' = $1 AND state = ANY($2::text[]) AND doc->>'lease_id' = $3 AND NOT deleted"
)


def run_mac(secret_hash: str, worker_id: str, lease_id: str) -> str:
    """The MAC of a run token: HMAC-SHA256 over ``run:<worker>:<lease>``, keyed by the secret's hash."""
    return hmac.new(secret_hash.encode(), f"run:{worker_id}:{lease_id}".encode(), hashlib.sha256).hexdigest()


def is_run_token(authorization: str | None) -> bool:
    """Whether the header carries a run token (``Bearer cvr_...``)."""
    if not authorization:
        return False
    scheme, _, token = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and token.strip().startswith(PREFIX)


class RunClaim(msgspec.Struct, frozen=True):
    """What a run token claims: a worker's lease, proven by ``mac``."""

    worker_id: str
    lease_id: str
    mac: str


def parse_run_token(authorization: str) -> RunClaim:
    """Read ``Bearer cvr_<worker>.<lease>.<mac>``.

    Raises:
        TokenRequiredError: Not of that shape.
    """
    token = authorization.strip().partition(" ")[2].strip()[len(PREFIX) :]
    parts = token.split(".")
    if len(parts) != 3 or len(parts[2]) != 64:
        raise TokenRequiredError(_REFUSED)
    worker_id, lease_id = parse_uuid(parts[0]), parse_uuid(parts[1])
    if worker_id is None or lease_id is None:
        raise TokenRequiredError(_REFUSED)
    return RunClaim(worker_id, lease_id, parts[2])


async def authenticate_run(state: Any, authorization: str) -> Principal:
    """The principal a run token stands for: the job's owner, scoped to that job's follow-ups.

    The projection may lag a lease granted a moment ago: the lookup first waits (up to the write
    wait) until the scheduler has folded everything appended before this call.

    Raises:
        TokenRequiredError: Malformed, a wrong MAC, or a lease that is not (or no longer) current.
    """
    claim = parse_run_token(authorization)
    stored = await state["workers"].secret_of(claim.worker_id)
    expected = run_mac(stored.secret_hash if stored is not None else "", claim.worker_id, claim.lease_id)
    if not hmac.compare_digest(expected, claim.mac) or stored is None or stored.is_deleted:
        raise TokenRequiredError(_REFUSED)
    info = await state["js"].stream_info(EVENTS_STREAM)
    await state["watcher"].wait_for(info.state.last_seq, state["write_wait_s"])
    rows = await fetch_projection(state["reader"].pool, _RUN_SQL, claim.worker_id, _LIVE, claim.lease_id)
    if not rows:
        raise TokenRequiredError(_REFUSED)
    job_id, owner, project = rows[0][0], rows[0][1], rows[0][2]
    return Principal(
        user_id=owner, name=owner, is_admin=False, scopes=_SUBMIT, token_id="", run_job_id=job_id, run_project=project
    )


def follow_up(principal: Principal, sub: JobSubmission, at: str) -> JobSubmission:
    """``sub`` as a run token may submit it: a child of the run's job (``parent`` set when absent),
    in the job's project (also when none was given: ``default``, which a run token may not use).

    Raises:
        ForbiddenError: Another parent.
    """
    if principal.run_job_id is None:
        return sub
    if sub.project == _DEFAULT_PROJECT and principal.run_project is not None:
        sub = msgspec.structs.replace(sub, project=principal.run_project)
    if sub.parent is None:
        return msgspec.structs.replace(sub, parent=principal.run_job_id)
    if sub.parent != principal.run_job_id:
        raise ForbiddenError(f"a run token submits only children of its job ({at}): omit parent, or give its job's id")
    return sub


def run_project_refused(principal: Principal, names: list[str]) -> str | None:
    """The first project a run token may not submit to (any but its job's), or None."""
    return next((name for name in names if name != principal.run_project), None)
