"""A continuously pulling feed from a durable pull consumer.

nats-py's ``fetch`` issues one pull request per call and, under a steady flow, mostly returns a
handful of messages per round trip (profiled: ~1 message per fetch on a 50k backlog). The feed
keeps pull requests outstanding instead: it asks for ``2 * batch`` messages ahead, tops up when
fewer than ``batch`` remain requested, and hands out whatever has arrived. New events reach the
projector as soon as they are stored, and a backlog streams at full speed.

Pull requests live on the server: when it restarts (or the connection drops) they are gone
without a word, so the feed forgets what it was owed after a reconnect, and when nothing at all
came back for longer than a request lives (issue 13: a feed that kept counting dead requests as
owed never pulled again). A "no responders" answer means the consumer (or JetStream) is not
there: the feed stops asking and says so (`is_consumer_missing`) for its owner to re-create it.
"""

import asyncio
import json
import time
from collections import deque
from typing import Final

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

__all__ = ["ConsumerFeed", "stream_seq"]

_STATUS: Final = "Status"
_PENDING: Final = "Nats-Pending-Messages"
_NS: Final = 1_000_000_000
_FILL_WAIT_S: Final = 0.005
_NO_RESPONDERS: Final = "503"
_SILENCE_GRACE_S: Final = 1.0  # beyond a request's lifetime: it died unanswered
_V1_TOKENS: Final = 9  # $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>
_V1_STREAM_SEQ: Final = 5
_V2_STREAM_SEQ: Final = Msg.Ack.StreamSeq  # the form with domain and account hash


def stream_seq(msg: Msg) -> int:
    """The stream sequence of a message delivered by a JetStream consumer.

    Read straight from the reply subject: ``msg.metadata`` parses every field and builds a
    timestamp, which a catching-up projector paid for on each of a million messages (profiled).

    Args:
        msg: A message from a pull consumer.

    Returns:
        Its stream sequence.
    """
    tokens = (msg.reply or "").split(".")
    if len(tokens) == _V1_TOKENS and tokens[0] == "$JS":
        return int(tokens[_V1_STREAM_SEQ])
    return msg.metadata.sequence.stream  # any other form: let nats-py parse (and validate) it


class ConsumerFeed:
    """Pulls from ``stream``'s durable ``consumer`` ahead of demand.

    Args:
        nc: NATS connection.
        stream: Stream name.
        consumer: Durable consumer name (must exist).
        batch: Messages handed out at most per ``next_batch``.
        expires_s: Lifetime of each pull request on the server.
    """

    def __init__(self, nc: NatsClient, stream: str, consumer: str, *, batch: int = 500, expires_s: float = 5.0) -> None:
        self._nc = nc
        self._subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._batch = batch
        self._expires_ns = int(expires_s * _NS)
        self._queue: deque[Msg] = deque()
        self._arrived = asyncio.Event()
        self._owed = 0  # messages requested and not yet delivered or expired
        self._inbox = ""
        self._sub: Subscription | None = None
        self._silence_s = expires_s + _SILENCE_GRACE_S
        self._heard_at = time.monotonic()  # the last request sent, message or status received
        self._reconnects = self._reconnect_count()
        self.is_consumer_missing = False

    async def start(self) -> None:
        """Subscribe to the reply inbox and send the first pull requests."""
        self._inbox = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_msg)
        await self._top_up()

    async def stop(self) -> None:
        """Stop pulling; messages already delivered but not handed out are redelivered later."""
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None
        self._owed = 0

    def _reconnect_count(self) -> int:
        return int(self._nc.stats.get("reconnects", 0))

    def _forget_dead_requests(self) -> None:
        """Stop counting requests the server no longer holds (see the module docstring)."""
        reconnects = self._reconnect_count()
        silent = time.monotonic() - self._heard_at > self._silence_s
        if self._owed and (reconnects != self._reconnects or silent):
            self._owed = 0
        self._reconnects = reconnects

    def resume(self) -> None:
        """Ask again from scratch (after the consumer was re-created)."""
        self._owed = 0
        self.is_consumer_missing = False

    async def _top_up(self) -> None:
        if self._sub is None or self.is_consumer_missing:
            return
        self._forget_dead_requests()
        if self._owed >= self._batch:
            return
        self._owed += 2 * self._batch
        self._heard_at = time.monotonic()
        body = {"batch": 2 * self._batch, "expires": self._expires_ns}
        await self._nc.publish(self._subject, json.dumps(body).encode(), reply=self._inbox)

    async def _on_msg(self, msg: Msg) -> None:
        # Delivered messages keep their stream subject, so they cannot be told apart by request:
        # one count covers every outstanding request.
        self._heard_at = time.monotonic()
        status = msg.headers.get(_STATUS) if msg.headers else None
        if status == _NO_RESPONDERS:
            self._owed = 0
            self.is_consumer_missing = True  # asking again at once would spin: the owner re-creates
            return
        if status is not None and not msg.data:
            if status != "100":  # 408/409: a request ended with this many messages undelivered
                pending = msg.headers.get(_PENDING) if msg.headers else None
                self._owed = max(0, self._owed - int(pending)) if pending and pending.isdigit() else 0
                await self._top_up()
            return
        self._owed = max(0, self._owed - 1)
        self._queue.append(msg)
        self._arrived.set()
        await self._top_up()

    async def next_batch(self, timeout_s: float) -> list[Msg]:
        """Return up to ``batch`` delivered messages, waiting at most ``timeout_s`` for the first."""
        if not self._queue:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout_s)
            except TimeoutError:
                await self._top_up()  # a request may have expired or died unanswered while idle
                return []
        await self._fill_while_behind()
        count = min(self._batch, len(self._queue))
        return [self._queue.popleft() for _ in range(count)]

    async def _fill_while_behind(self) -> None:
        """Catching up (the server says more are pending): wait briefly for a fuller batch.

        Live traffic (nothing pending) is handed out at once; a backlog is applied in full
        batches, which costs a few milliseconds here and saves a transaction per batch.
        """
        deadline = asyncio.get_running_loop().time() + _FILL_WAIT_S
        while len(self._queue) < self._batch and self._queue[-1].metadata.num_pending > 0:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return
