"""Calls about a run, retried with backoff while the gateway is unreachable, until they land or the run stops."""

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from conveyor_client import ConveyorError

from .decisions import Backoff, Verdict, classify

T = TypeVar("T")
_log = structlog.get_logger("conveyor_worker.calls")
DEFAULT_BACKOFF = Backoff()


async def call_until_done(
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    give_up: asyncio.Event | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    max_attempts: int | None = None,
) -> tuple[Verdict, T | None, ConveyorError | None]:
    """Call until it succeeds or fails for good; retry only what `classify` says to retry.

    Stops retrying once ``give_up`` is set (for example the lease was lost meanwhile) or after
    ``max_attempts``. Returns the verdict, the result (on ``ok``) and the last error.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return "ok", await call(), None
        except ConveyorError as exc:
            verdict = classify(exc)
            if verdict != "retry":
                return verdict, None, exc
            if (give_up is not None and give_up.is_set()) or (max_attempts is not None and attempt >= max_attempts):
                return verdict, None, exc
            delay = backoff.delay_s(attempt, random.random())
            _log.warning("call_retrying", call=what, attempt=attempt, delay_s=round(delay, 2), error=_first_line(exc))
            if give_up is None:
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(give_up.wait(), delay)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
