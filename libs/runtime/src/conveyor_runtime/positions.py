"""Read-your-writes: projectors announce committed positions, writers wait for them.

A projector publishes its checkpoint on a core NATS subject after each commit. Announcements
are at-most-once, so a waiter that hears nothing in time checks the checkpoint table itself
before giving up.
"""

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from conveyor_events import position_subject

__all__ = ["PositionWatcher", "announce_position"]


async def announce_position(nc: NatsClient, consumer: str, seq: int) -> None:
    """Publish a projector's committed position (fire and forget).

    Args:
        nc: NATS connection.
        consumer: The projector's consumer name.
        seq: Its new checkpoint.
    """
    await nc.publish(position_subject(consumer), str(seq).encode())


class PositionWatcher:
    """Tracks one projector's position and lets callers wait until it reaches a sequence.

    Args:
        nc: NATS connection.
        consumer: The projector to follow.
        read_checkpoint: Reads the stored checkpoint (the fallback when announcements are lost).
    """

    def __init__(self, nc: NatsClient, consumer: str, read_checkpoint: Callable[[], Awaitable[int]]) -> None:
        self._nc = nc
        self._consumer = consumer
        self._read_checkpoint = read_checkpoint
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()
        self._sub: Subscription | None = None
        self.position = 0

    async def start(self) -> None:
        """Subscribe to announcements and load the stored checkpoint."""
        self._sub = await self._nc.subscribe(position_subject(self._consumer), cb=self._on_announce)
        self.advance(await self._read_checkpoint())

    async def stop(self) -> None:
        """Unsubscribe and release every waiter."""
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None
        for _, _, fut in self._waiters:
            if not fut.done():
                fut.cancel()
        self._waiters.clear()

    async def _on_announce(self, msg: Msg) -> None:
        try:
            self.advance(int(msg.data))
        except ValueError:
            return

    def advance(self, seq: int) -> None:
        """Record a new position and wake every waiter it satisfies."""
        if seq <= self.position:
            return
        self.position = seq
        while self._waiters and self._waiters[0][0] <= seq:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)

    async def wait_for(self, seq: int, timeout_s: float) -> bool:
        """Wait until the projector has applied ``seq``.

        Args:
            seq: Stream sequence to reach.
            timeout_s: Upper bound on the wait.

        Returns:
            True when reached, False when the bound passed first.
        """
        if self.position >= seq:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (seq, next(self._counter), fut))
        try:
            await asyncio.wait_for(fut, timeout_s)
            return True
        except TimeoutError:
            self.advance(await self._read_checkpoint())
            return self.position >= seq
