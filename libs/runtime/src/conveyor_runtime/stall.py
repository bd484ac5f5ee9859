"""Readiness of a projector: not ready while it is stuck or lagging past a bound.

A projector that stops folding (an event it could not apply, a consumer that no longer pulls)
used to leave ``/readyz`` answering ready (issue 13). Each ``/readyz`` asks the consumer how many
of its messages are not yet acknowledged (one JetStream API call) and compares with what it saw
before:

- **stuck**: messages are waiting and the projector's position has not moved for ``stall_s``;
- **lagging**: more than ``max_lag`` messages have been waiting for ``stall_s`` or longer, even
  if the position moves.

The check fails with ``ProjectorStuckError`` or ``ProjectorLaggingError`` under the name
``projector:<consumer>``, so the body of ``/readyz`` names the projector. Bounds come from
``CONVEYOR_PROJECTOR_STALL_S`` and ``CONVEYOR_PROJECTOR_MAX_LAG`` (``BaseSettings``).
"""

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator

from nats.js import JetStreamContext

from .http import ReadinessCheck
from .projector import Projector
from .settings import BaseSettings

__all__ = ["ProjectorLaggingError", "ProjectorStuckError", "StallWatch", "reporting_stalls", "stall_checks"]


class ProjectorStuckError(RuntimeError):
    """Messages wait for the projector and its position has not moved for the bound."""


class ProjectorLaggingError(RuntimeError):
    """More messages than the bound have waited for the projector for longer than the bound."""


class StallWatch:
    """Judges one projector from successive observations of its backlog and position (pure).

    Args:
        max_lag: Most messages waiting before the projector counts as lagging.
        stall_s: How long a stall or a lag may last before the projector is not ready.
    """

    def __init__(self, *, max_lag: int, stall_s: float) -> None:
        self._max_lag = max_lag
        self._stall_s = stall_s
        self._position = -1
        self._still_since: float | None = None  # waiting messages, position unchanged since
        self._lagging_since: float | None = None

    def observe(self, waiting: int, position: int, now: float) -> None:
        """Take one observation.

        Raises:
            ProjectorStuckError: Waiting messages and no progress for ``stall_s``.
            ProjectorLaggingError: More than ``max_lag`` waiting for ``stall_s``.
        """
        moved = self._position >= 0 and position != self._position
        self._position = position
        if waiting <= 0 or moved:
            self._still_since = None
        elif self._still_since is None:
            self._still_since = now
        if waiting <= self._max_lag:
            self._lagging_since = None
        elif self._lagging_since is None:
            self._lagging_since = now
        if self._still_since is not None and now - self._still_since >= self._stall_s:
            raise ProjectorStuckError(
                f"{waiting} messages waiting, position {position} unchanged for {now - self._still_since:.0f} s"
            )
        if self._lagging_since is not None and now - self._lagging_since >= self._stall_s:
            raise ProjectorLaggingError(
                f"{waiting} messages waiting (bound {self._max_lag}) for {now - self._lagging_since:.0f} s"
            )


def stall_checks(
    projectors: Iterable[Projector],
    js: JetStreamContext,
    *,
    max_lag: int,
    stall_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, ReadinessCheck]:
    """Readiness checks named ``projector:<consumer>``, one per projector.

    Args:
        projectors: The projectors of the service (prepared: their consumers exist).
        js: JetStream context, to ask each consumer for its backlog.
        max_lag: ``StallWatch``'s bound on waiting messages.
        stall_s: ``StallWatch``'s bound in seconds.
        clock: Monotonic seconds.
    """
    return {
        f"projector:{p.name}": _check(p, js, StallWatch(max_lag=max_lag, stall_s=stall_s), clock) for p in projectors
    }


@contextlib.contextmanager
def reporting_stalls(
    checks: dict[str, ReadinessCheck],
    projectors: Iterable[Projector],
    js: JetStreamContext,
    settings: BaseSettings,
) -> Iterator[None]:
    """Add the projectors' ``stall_checks`` to ``checks`` for the block, with ``settings``' bounds.

    The block is a leader's term: a standby folds nothing, so it has nothing to report.
    """
    added = stall_checks(projectors, js, max_lag=settings.projector_max_lag, stall_s=settings.projector_stall_s)
    checks |= added
    try:
        yield
    finally:
        for name in added:
            checks.pop(name, None)


def _check(projector: Projector, js: JetStreamContext, watch: StallWatch, clock: Callable[[], float]) -> ReadinessCheck:
    async def check() -> None:
        info = await js.consumer_info(projector.stream, projector.name, timeout=2)
        waiting = (info.num_pending or 0) + (info.num_ack_pending or 0)
        watch.observe(waiting, projector.position, clock())

    return check
