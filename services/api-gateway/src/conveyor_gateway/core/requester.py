"""NATS request/reply for the scheduler calls, lighter per call than nats-py's ``request()``.

Every job costs the gateway two or three calls to the scheduler (a share of a lease, start,
finish). nats-py's ``request()`` makes a fresh random token per call (NUID plus ``os.urandom``),
decodes it twice, registers a done callback and waits through ``asyncio.wait_for``. ``Requester``
keeps what matters: one wildcard subscription on a random inbox made once (``new_inbox``), a
counter for the last token, a future per call and a timer. A "no responders" status answers the
call with ``NoRespondersError`` as nats-py does, and a call with no answer in time raises
``TimeoutError``, so callers treat it exactly as before. With tracing on, each call carries the
current trace context in its NATS headers (the stamp), so the scheduler continues the request's trace.
"""

import asyncio
import itertools
from typing import Final

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError

from conveyor_events import HeaderStamp

_STATUS: Final = "Status"
_NO_RESPONDERS: Final = "503"


def _expire(future: "asyncio.Future[Msg]") -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class Requester:
    """Request/reply over one wildcard inbox subscription of ``nc`` (see the module)."""

    def __init__(self, nc: NatsClient, *, stamp: HeaderStamp | None = None) -> None:
        self._nc = nc
        self._stamp = stamp
        self._prefix = ""
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[Msg]] = {}
        self._sent: dict[str, tuple[str, bytes, dict[str, str] | None]] = {}  # token -> publish, for resend_waiting
        self._sub: Subscription | None = None

    async def start(self) -> None:
        """Subscribe to the replies' inbox (random per gateway process)."""
        self._prefix = self._nc.new_inbox() + "."
        self._sub = await self._nc.subscribe(self._prefix + "*", cb=self._on_reply)

    async def stop(self) -> None:
        """Unsubscribe; calls still waiting end with their timeout."""
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def request(self, subject: str, payload: bytes, timeout_s: float) -> Msg:
        """The reply to ``payload`` sent on ``subject``.

        Raises:
            NoRespondersError: Nobody listens on ``subject``.
            TimeoutError: No reply within ``timeout_s`` seconds.
        """
        if self._sub is None:
            raise RuntimeError("Requester.start() was not called")
        loop = asyncio.get_running_loop()
        token = str(next(self._ids))
        future: asyncio.Future[Msg] = loop.create_future()
        self._waiting[token] = future
        headers = (dict(self._stamp()) or None) if self._stamp is not None else None
        self._sent[token] = (subject, payload, headers)
        timer = loop.call_later(timeout_s, _expire, future)
        try:
            await self._nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
            msg = await future
        finally:
            timer.cancel()
            self._waiting.pop(token, None)
            self._sent.pop(token, None)
        if msg.headers and msg.headers.get(_STATUS) == _NO_RESPONDERS:
            raise NoRespondersError
        return msg

    async def resend_waiting(self) -> int:
        """Publish every call still waiting again, with its own reply token (the scheduler's leader
        changed: the old one will never answer). The first answer to arrive is the one used.

        Returns:
            How many calls were sent again.
        """
        pending = [(token, *sent) for token, sent in self._sent.items() if token in self._waiting]
        for token, subject, payload, headers in pending:
            await self._nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
        return len(pending)

    @property
    def waiting(self) -> int:
        """Calls sent and not yet answered (for tests and metrics)."""
        return len(self._waiting)

    async def _on_reply(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject[len(self._prefix) :], None)
        if future is not None and not future.done():
            future.set_result(msg)
