"""Appending events to the ``EVENTS`` stream, one at a time or pipelined in batches.

Pipelining is done here rather than with nats-py's ``publish_async``: in nats-py 2.16 an error
reply (such as a wrong last sequence) raises inside its reply callback and the future never
completes, so a batch with one conflict would hang. The appender owns one wildcard reply
subscription and matches acknowledgements to futures by token.
"""

import asyncio
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import msgspec
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from .codec import Event, encode_event

__all__ = [
    "TRACEPARENT",
    "TRACESTATE",
    "AppendConflictError",
    "AppendError",
    "AppendFence",
    "AppendFencedError",
    "Appended",
    "EventAppender",
    "HeaderStamp",
    "PendingAppend",
]

TRACEPARENT: Final = "traceparent"
"""The W3C Trace Context header an event carries when tracing is on (issue 22)."""
TRACESTATE: Final = "tracestate"
"""The W3C vendor trace state, beside ``traceparent`` when the trace has one."""
_EXPECTED_LAST_SUBJECT_SEQ: Final = "Nats-Expected-Last-Subject-Sequence"
_MSG_ID: Final = "Nats-Msg-Id"
_WRONG_LAST_SEQUENCE: Final = 10071
# A clustered stream's leader answers this one instead when another append to the subject is
# still being replicated, so the expected sequence cannot be confirmed: a conflict all the same.
_WRONG_LAST_SEQUENCE_IN_FLIGHT: Final = 10164
_CONFLICT_CODES: Final = frozenset({_WRONG_LAST_SEQUENCE, _WRONG_LAST_SEQUENCE_IN_FLIGHT})
_ELECTION_RETRY_S: Final = 0.1


class AppendError(Exception):
    """The stream refused or did not answer an append (other than an expected-sequence conflict)."""


class AppendConflictError(AppendError):
    """The subject's last sequence was not the expected one: someone appended first.

    The caller re-reads the aggregate and decides again; a conflict is never ignored.
    """

    def __init__(self, subject: str, expected: int) -> None:
        super().__init__(f"{subject}: last subject sequence is not {expected}")
        self.subject = subject
        self.expected = expected


class AppendFencedError(Exception):
    """The appender's fence refused the append: its writer may no longer write.

    The writer is, for example, a deposed leader. Not an ``AppendError``: retrying cannot help,
    the writer must stop.
    """


AppendFence = Callable[[], Mapping[str, str]]
"""Called before every publish: raises ``AppendFencedError`` to refuse it, or returns headers to
stamp on the event (e.g. the writer's leadership term). It must be cheap: it runs per event."""


class Appended(msgspec.Struct, frozen=True):
    """Where an event landed: its stream sequence, and whether it was a retried duplicate."""

    seq: int
    duplicate: bool = False


class PendingAppend(msgspec.Struct, frozen=True):
    """One event of a batch: its subject, expected last subject sequence and own headers, if any.

    Its own headers (e.g. the trace context of the job it decides about) replace the stamp's.
    """

    subject: str
    event: Event
    expected_last_subject_seq: int | None = None
    headers: Mapping[str, str] | None = None


HeaderStamp = Callable[[], Mapping[str, str]]
"""Called per publish for headers to add (the current trace context, issue 22); cheap, never raising."""


class _ApiError(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class _PubAckReply(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _ApiError | None = None


_reply_decoder: Final = msgspec.json.Decoder(_PubAckReply)


class EventAppender:
    """Appends events with ``Nats-Msg-Id`` = event id and optional optimistic concurrency.

    Args:
        nc: A connected NATS client.
        max_pending: Most acknowledgements outstanding at once; further publishes wait.
        fence: Checked before every publish (see ``AppendFence``); ``None`` appends unchecked.
        stamp: Headers for events that bring none of their own (see ``HeaderStamp``); ``None``
            adds nothing.
    """

    def __init__(
        self,
        nc: NatsClient,
        *,
        max_pending: int = 8192,
        fence: AppendFence | None = None,
        stamp: HeaderStamp | None = None,
    ) -> None:
        self._nc = nc
        self._fence = fence
        self._stamp = stamp
        self._pending: dict[str, asyncio.Future[Appended]] = {}
        self._slots = asyncio.Semaphore(max_pending)
        self._tokens = itertools.count()
        self._prefix = ""
        self._sub: Subscription | None = None

    async def start(self) -> None:
        """Subscribe to the reply inbox. Called once before the first append."""
        if self._sub is None:
            self._prefix = self._nc.new_inbox()
            self._sub = await self._nc.subscribe(f"{self._prefix}.*", cb=self._on_reply)

    async def close(self) -> None:
        """Unsubscribe and fail whatever is still waiting."""
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(AppendError("appender closed"))
        self._pending.clear()

    async def _on_reply(self, msg: Msg) -> None:
        fut = self._pending.pop(msg.subject[len(self._prefix) + 1 :], None)
        if fut is None or fut.done():
            return
        if msg.headers and msg.headers.get("Status") == "503":
            fut.set_exception(_NoStreamError("no stream listens on this subject (is EVENTS created?)"))
            return
        try:
            reply = _reply_decoder.decode(msg.data)
        except msgspec.DecodeError as exc:
            fut.set_exception(AppendError(f"unreadable acknowledgement: {exc}"))
            return
        if reply.error is not None:
            fut.set_exception(_ReplyError(reply.error))
        else:
            fut.set_result(Appended(seq=reply.seq, duplicate=reply.duplicate))

    async def _send(
        self, subject: str, event: Event, expected: int | None, own: Mapping[str, str] | None
    ) -> asyncio.Future[Appended]:
        await self.start()
        await self._slots.acquire()
        try:  # checked after waiting for a slot: the wait may have outlived the writer's right
            stamp = self._fence() if self._fence is not None else {}
        except BaseException:
            self._slots.release()
            raise
        token = str(next(self._tokens))
        fut: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(lambda _: self._slots.release())
        self._pending[token] = fut
        if own is not None:
            headers = {**stamp, **own, _MSG_ID: event.event_id}
        elif self._stamp is not None:
            headers = {**stamp, **self._stamp(), _MSG_ID: event.event_id}
        else:
            headers = {**stamp, _MSG_ID: event.event_id}
        if expected is not None:
            headers[_EXPECTED_LAST_SUBJECT_SEQ] = str(expected)
        await self._nc.publish(subject, encode_event(event), reply=f"{self._prefix}.{token}", headers=headers)
        return fut

    async def append(
        self,
        subject: str,
        event: Event,
        *,
        expected_last_subject_seq: int | None = None,
        ack_timeout_s: float = 5.0,
        headers: Mapping[str, str] | None = None,
    ) -> Appended:
        """Append one event and wait for the stream's acknowledgement.

        Retrying the same event within the stream's duplicate window is a no-op that reports the
        original sequence (``duplicate=True``).

        Args:
            subject: The aggregate's subject (from ``subjects``).
            event: The event.
            expected_last_subject_seq: When given, the append succeeds only if the subject's last
                stored sequence equals it (0: the subject must be empty).
            ack_timeout_s: Seconds to wait for the acknowledgement.
            headers: Headers of this event's own, instead of the stamp's (see ``PendingAppend``).

        Returns:
            Where the event landed.

        Raises:
            AppendConflictError: The expected sequence did not match.
            AppendError: The stream refused the event or did not answer in time.
            AppendFencedError: The fence refused the append; nothing was published.
        """
        [outcome] = await self.append_batch(
            [PendingAppend(subject, event, expected_last_subject_seq, headers)], ack_timeout_s=ack_timeout_s
        )
        if isinstance(outcome, AppendConflictError):
            raise outcome
        return outcome

    async def append_batch(
        self, items: Sequence[PendingAppend], *, ack_timeout_s: float = 10.0
    ) -> list[Appended | AppendConflictError]:
        """Append many events with pipelined publishes and collect every outcome.

        All publishes go out before any acknowledgement is awaited, which is an order of
        magnitude faster than awaiting each (DESIGN §8). Events are stored in the order given.
        Conflicts are returned in place, not raised, so the caller can retry just those.

        Args:
            items: The events with their subjects and optional expected sequences.
            ack_timeout_s: Seconds to wait for all acknowledgements.

        Returns:
            One outcome per item, in the same order.

        Raises:
            AppendError: Any other refusal, or no answer in time, after all replies are in.
            AppendFencedError: The fence refused an append; those before it may have been
                published (each with its own expected sequence, so each stands on its own).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ack_timeout_s
        while True:
            futures = [await self._send(i.subject, i.event, i.expected_last_subject_seq, i.headers) for i in items]
            _, waiting = await asyncio.wait(futures, timeout=max(0.0, deadline - loop.time()))
            for fut in waiting:
                fut.cancel()
            if waiting:
                raise AppendError(f"{len(waiting)} of {len(items)} appends unacknowledged after {ack_timeout_s}s")
            # On a cluster, a stream whose leader died answers "no responders" until the others
            # have elected a new one (seconds). When no event of the batch was stored, send the
            # batch again, in order and with the same message ids, until the deadline.
            if not all(isinstance(f.exception(), _NoStreamError) for f in futures):
                break
            if loop.time() + _ELECTION_RETRY_S >= deadline:
                break
            await asyncio.sleep(_ELECTION_RETRY_S)
        outcomes: list[Appended | AppendConflictError] = []
        for item, fut in zip(items, futures, strict=True):
            exc = fut.exception()
            if exc is None:
                outcomes.append(fut.result())
            elif isinstance(exc, _ReplyError) and exc.error.err_code in _CONFLICT_CODES:
                outcomes.append(AppendConflictError(item.subject, item.expected_last_subject_seq or 0))
            elif isinstance(exc, _ReplyError):
                raise AppendError(f"{item.subject}: {exc.error.description} ({exc.error.err_code})") from exc
            else:
                raise exc
        return outcomes


class _NoStreamError(AppendError):
    """Nothing listened on the subject: no stream, or a replicated stream between two leaders."""


class _ReplyError(Exception):
    def __init__(self, error: _ApiError) -> None:
        super().__init__(error.description)
        self.error = error
