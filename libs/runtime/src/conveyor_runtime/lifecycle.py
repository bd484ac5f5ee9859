"""Process lifecycle: uvloop, signal handling and graceful shutdown."""

import asyncio
import signal
from collections.abc import Awaitable, Callable

import uvloop

from .logging import get_logger

__all__ = ["run_service"]

_log = get_logger("lifecycle")


def run_service(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``main(stop)`` on uvloop; SIGTERM or SIGINT sets ``stop``, a second one exits at once.

    Args:
        main: The service's composition root. It must return soon after ``stop`` is set, having
            finished in-flight work, drained NATS and closed its pool.
    """

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            if stop.is_set():
                _log.warning("second_signal_exit", signal=signum)
                raise SystemExit(1)
            _log.info("shutdown_requested", signal=signal.Signals(signum).name)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        await main(stop)

    uvloop.run(runner())
