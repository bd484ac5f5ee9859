"""Pure decisions of the worker: what a reply means, how long to back off, when a lease is lost."""

from dataclasses import dataclass
from typing import Literal

from conveyor_client.errors import ApiError, ConflictError, ConnectionFailedError, NotFoundError, UnavailableError

Verdict = Literal["ok", "retry", "lease_lost", "unsupported", "give_up"]


def classify(error: BaseException | None) -> Verdict:
    """What to do after a call about a run ended with ``error`` (None: it succeeded).

    - ``retry``: the gateway or scheduler is unreachable or busy; try again after a backoff.
    - ``lease_lost``: 409 ``lease_not_current``; stop the run, report nothing more under the lease.
    - ``unsupported``: the endpoint does not exist on this gateway (an older one); stop calling it.
    - ``give_up``: the request itself is wrong; log it and move on.
    """
    if error is None:
        return "ok"
    if isinstance(error, ConnectionFailedError | UnavailableError):
        return "retry"
    if isinstance(error, ApiError) and error.status == 429:
        return "retry"
    if isinstance(error, ConflictError):
        return "lease_lost" if error.code == "lease_not_current" else "give_up"
    if isinstance(error, NotFoundError) and error.code == "route_not_found":
        return "unsupported"
    return "give_up"


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: ``min(cap, base * 2**(attempt-1))`` scaled into [0.5, 1]."""

    base_s: float = 0.2
    cap_s: float = 10.0

    def delay_s(self, attempt: int, jitter: float) -> float:
        """The wait before retry number ``attempt`` (1-based); ``jitter`` is a random number in [0, 1)."""
        raw = min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1))
        return raw * (0.5 + jitter / 2)


def is_lease_lost_by_silence(last_renewed_at: float, now: float, lease_s: float) -> bool:
    """Heartbeats have failed for longer than the lease lasts: the scheduler has given the job away."""
    return now - last_renewed_at > lease_s


def heartbeat_interval_s(lease_s: float, configured_s: float) -> float:
    """Heartbeat often enough that two beats can fail before a lease expires."""
    return max(0.2, min(configured_s, lease_s / 3))


StopAction = Literal["finish", "abandon", "skip"]


def action_after_stop(reason: str) -> StopAction:
    """After a run was stopped, what to report under its lease.

    A stop order from the scheduler (cancelled, timed out, paused, lease lost) means the lease is
    no longer ours to report on: ``abandon``. Our own shutdown gives the job back: ``skip``.
    A local timeout reports the failure: ``finish``.
    """
    if reason == "shutdown":
        return "skip"
    if reason == "local_timeout":
        return "finish"
    return "abandon"
