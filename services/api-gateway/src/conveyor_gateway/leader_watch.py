"""Calls follow the scheduler's leader: those in flight when it changes are sent to the new one.

Issue 13: after the leading scheduler was killed, a worker's long-poll waited on the dead leader
until its timeout (wait + 5 s, 15 s by default), though the standby led after the leader key's
TTL. The gateway reads the leader key every ``poll_s``; when another holder has taken it, every
call still waiting is published again with its own reply token (`Requester.resend_waiting`), so
the new leader answers it and whichever answer comes first is the one used.
"""

import asyncio
import contextlib
from typing import Final

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from conveyor_runtime import get_logger
from conveyor_runtime.leadership import LEADER_BUCKET, LEADER_KEY

from .requester import Requester

POLL_S: Final = 0.25
_log = get_logger("gateway")


class LeaderWatch:
    """Polls the leader key and re-sends waiting calls when the holder changes."""

    def __init__(self, nc: NatsClient, requester: Requester, *, poll_s: float = POLL_S) -> None:
        self._js = nc.jetstream()
        self._requester = requester
        self._poll_s = poll_s
        self._kv: KeyValue | None = None
        self._holder: bytes | None = None  # the last holder seen (kept while the key is absent)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the current holder, then follow it in the background."""
        await self._poll()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop following."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            await self._poll()

    async def _poll(self) -> None:
        try:
            holder = await self._read_holder()
        except (nats.errors.Error, TimeoutError, OSError) as exc:
            self._kv = None  # NATS away, or the bucket not created yet: look again next time
            _log.debug("leader_key_unreadable", error=type(exc).__name__)
            return
        if holder is None or holder == self._holder:
            return
        previous, self._holder = self._holder, holder
        if previous is not None:
            resent = await self._requester.resend_waiting()
            _log.info("scheduler_leader_changed", calls_resent=resent)

    async def _read_holder(self) -> bytes | None:
        if self._kv is None:
            self._kv = await self._js.key_value(LEADER_BUCKET)
        try:
            entry = await self._kv.get(LEADER_KEY)
        except KeyNotFoundError:  # expired (a killed leader) or deleted (a clean stop)
            return None
        return entry.value or None
