"""Leader election through a NATS KV key with a TTL; the key's revision is the leader's term.

Each service that must run once at a time has its own key in one bucket: ``scheduler``,
``hook-dispatcher``, ``log-collector``; every copy of it campaigns, one leads, the rest stand by.

A candidate campaigns with ``create`` (it succeeds only while the key is absent), and the winner
renews with a compare-and-set on the revision it last wrote, every third of the TTL. Each write
carries a per-message TTL (``Nats-TTL``), so a killed leader's key vanishes on its own after the
TTL and a standby's next ``create`` wins. A leader that stops cleanly deletes the key, again only
if the revision is still its own, and a standby takes over at its next poll.

Fencing. The server expires the key no earlier than TTL after a renewal *arrived*, which is
after this process *sent* it; so a leader computes its deadline as "sent at + TTL - margin" on
its monotonic clock, and steps down (cancels whatever it was leading) when the deadline passes
or a renewal finds the revision changed. Before that deadline nobody else can hold the key, so a
deposed leader has stopped deciding before its successor starts. Every append of the leader goes
through ``fence``, an in-memory check of the same deadline, and carries the term as the
``Conveyor-Leader-Term`` header. The per-job expected-sequence checks and the projector's
compare-and-set checkpoint remain the second line of defence.
"""

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final

import msgspec
import nats.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import (
    APIError,
    BadRequestError,
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)
from nats.js.kv import KeyValue

from conveyor_events import AppendFencedError, new_uuid7

from .connections import DEPENDENCY_ERRORS
from .logging import get_logger
from .projector import ProjectorFencedError

__all__ = [
    "LEADER_BUCKET",
    "LEADER_KEY",
    "TERM_HEADER",
    "Holder",
    "LeaderElector",
    "Lease",
    "NotLeaderError",
    "current_holder",
    "lead_when_elected",
    "safety_margin_s",
]

LEADER_BUCKET: Final = "conveyor_leader"
LEADER_KEY: Final = "scheduler"  # the scheduler's key; other services pass their own
TERM_HEADER: Final = "Conveyor-Leader-Term"
_WRONG_LAST_SEQUENCE: Final = 10071
_log = get_logger("leadership")
OUTAGE_PAUSE_S: Final = 1.0
"""How long a term ended by a NATS or PostgreSQL outage waits before campaigning again."""


class NotLeaderError(AppendFencedError):
    """This process does not hold a valid leader lease: it must not decide anything."""


class Holder(msgspec.Struct, frozen=True, kw_only=True):
    """The value of the leader key: who holds it (``nonce`` tells one campaign from another)."""

    host: str
    pid: int
    nonce: str

    @staticmethod
    def of_this_process() -> "Holder":
        """This process, with a fresh nonce."""
        return Holder(host=socket.gethostname(), pid=os.getpid(), nonce=new_uuid7())


_holder_decoder: Final = msgspec.json.Decoder(Holder)


def safety_margin_s(ttl_s: float) -> float:
    """How long before the server could expire the key a leader stops.

    A fifth of the TTL, at least 0.25 s (scheduling delays, a publish still in the socket buffer).
    """
    return max(0.25, ttl_s / 5)


class Lease(msgspec.Struct, frozen=True, kw_only=True):
    """A held leader key, as the holder knows it. Pure: times are monotonic seconds.

    Attributes:
        term: The key's revision when this holder won it; stamped on what the leader writes.
        revision: The revision of the holder's latest write, for the next compare-and-set.
        sent_at: When the write that the server's expiry counts from was sent (an upper bound
            on the server's clock start, so the deadline errs early).
        ttl_s: The key's TTL.
    """

    term: int
    revision: int
    sent_at: float
    ttl_s: float

    @property
    def deadline(self) -> float:
        """After this instant the key may have expired on the server: the holder must not act."""
        return self.sent_at + self.ttl_s - safety_margin_s(self.ttl_s)

    @property
    def renew_at(self) -> float:
        """When to renew: a third of the TTL after the latest write.

        So two attempts fit before the deadline.
        """
        return self.sent_at + self.ttl_s / 3

    def valid_at(self, now: float) -> bool:
        """Whether the holder may still act at ``now``."""
        return now < self.deadline

    def renewed(self, revision: int, sent_at: float) -> "Lease":
        """The lease after a renewal written at ``revision`` and sent at ``sent_at``."""
        return msgspec.structs.replace(self, revision=revision, sent_at=sent_at)

    def adopted(self, revision: int) -> "Lease":
        """Our own renewal landed although we never saw its acknowledgement: take its revision.

        Keep the deadline: we do not know when it landed, only that it was not earlier.
        """
        return msgspec.structs.replace(self, revision=revision)


async def open_bucket(js: JetStreamContext, *, replicas: int = 1) -> KeyValue:
    """Bind to the leader bucket, creating it when it is missing.

    History 1; no bucket-wide TTL: every write brings its own ``Nats-TTL``. An existing bucket
    is used as it is (creating it again with other replicas would be refused).
    """
    try:
        return await js.key_value(LEADER_BUCKET)
    except BucketNotFoundError:
        return await js.create_key_value(KeyValueConfig(bucket=LEADER_BUCKET, history=1, replicas=replicas))


async def current_holder(js: JetStreamContext, key: str = LEADER_KEY) -> tuple[Holder, int] | None:
    """Who holds the leader key ``key`` now and its revision, or ``None`` when nobody does."""
    try:
        entry = await (await js.key_value(LEADER_BUCKET)).get(key)
    except (BucketNotFoundError, KeyNotFoundError):
        return None
    if entry.value is None or entry.revision is None:
        return None
    return _holder_decoder.decode(entry.value), entry.revision


class LeaderElector:
    """Campaigns for, holds, and gives up the leader key of one process.

    Args:
        js: JetStream context.
        key: The leader key in the bucket: one per service that leads (``scheduler`` by default).
        ttl_s: The key's TTL in whole seconds (``Nats-TTL`` has a one-second resolution).
        poll_s: How often a standby tries to take the key.
        replicas: Replicas of the bucket's stream.
        clock: Monotonic clock (seconds).
    """

    def __init__(
        self,
        js: JetStreamContext,
        *,
        key: str = LEADER_KEY,
        ttl_s: int = 5,
        poll_s: float = 0.5,
        replicas: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s < 1:
            raise ValueError("the leader TTL is at least 1 s")
        self._js = js
        self._key = key
        self._ttl_s = ttl_s
        self._poll_s = poll_s
        self._replicas = replicas
        self._clock = clock
        self._kv: KeyValue | None = None
        self._holder = Holder.of_this_process()
        self._value = msgspec.json.encode(self._holder)
        self.lease: Lease | None = None

    @property
    def holder(self) -> Holder:
        """Who this process campaigns as."""
        return self._holder

    def fence(self) -> Mapping[str, str]:
        """The appender's fence: the term header while the lease is valid, else ``NotLeaderError``."""
        lease = self.lease
        if lease is None or not lease.valid_at(self._clock()):
            raise NotLeaderError(f"this process does not hold a valid {self._key} leader lease")
        return {TERM_HEADER: str(lease.term)}

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await open_bucket(self._js, replicas=self._replicas)
        return self._kv

    async def try_acquire(self) -> Lease | None:
        """One campaign: take the key if nobody holds it. Returns the new lease, or ``None``."""
        kv = await self._bucket()
        self._holder = Holder.of_this_process()  # a new campaign, a new nonce
        self._value = msgspec.json.encode(self._holder)
        sent_at = self._clock()
        try:
            revision = await kv.create(self._key, self._value, msg_ttl=self._ttl_s)
        except (KeyWrongLastSequenceError, KeyNotFoundError):  # held, or expired while we looked
            return None
        self.lease = Lease(term=revision, revision=revision, sent_at=sent_at, ttl_s=self._ttl_s)
        _log.info("leadership_acquired", key=self._key, term=revision, ttl_s=self._ttl_s, pid=self._holder.pid)
        return self.lease

    async def campaign(self, stop: asyncio.Event) -> Lease | None:
        """Try to take the key every ``poll_s`` until won (the lease) or ``stop`` is set (``None``)."""
        announced = False
        while not stop.is_set():
            try:
                lease = await self.try_acquire()
            except (nats.errors.Error, APIError, OSError) as exc:
                _log.warning("leader_campaign_failed", error=str(exc))
                lease = None
            if lease is not None:
                return lease
            if not announced:
                _log.info("standby_waiting_for_leadership")
                announced = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._poll_s)
        return None

    async def _write(self, lease: Lease) -> int:
        """Compare-and-set the key to our value with a fresh TTL (``kv.update`` takes no TTL)."""
        ack = await self._js.publish(
            f"$KV.{LEADER_BUCKET}.{self._key}",
            self._value,
            headers={"Nats-Expected-Last-Subject-Sequence": str(lease.revision)},
            msg_ttl=self._ttl_s,
            timeout=max(0.05, lease.deadline - self._clock()),
        )
        return int(ack.seq)

    async def _renew_once(self, lease: Lease) -> Lease | None:
        """One renewal.

        Returns the renewed lease, the same lease (outcome unknown: try again), or ``None`` when
        someone else's write is on the key (we are deposed).
        """
        sent_at = self._clock()
        try:
            return lease.renewed(await self._write(lease), sent_at)
        except BadRequestError as exc:
            if exc.err_code != _WRONG_LAST_SEQUENCE:
                _log.warning("leader_renewal_failed", error=str(exc))
                return lease
        except (nats.errors.Error, APIError, OSError, TimeoutError) as exc:
            _log.warning("leader_renewal_failed", error=str(exc))
            return lease
        return await self._reconcile(lease)

    async def _reconcile(self, lease: Lease) -> Lease | None:
        """The revision moved: ours if a renewal we never heard back from landed, else deposed."""
        try:
            entry = await (await self._bucket()).get(self._key)
        except KeyNotFoundError:
            return None
        except (nats.errors.Error, APIError, OSError) as exc:
            _log.warning("leader_renewal_failed", error=str(exc))
            return lease
        if entry.value == self._value and entry.revision is not None:
            return lease.adopted(entry.revision)
        return None

    async def keep(self) -> None:
        """Renew the lease until it is lost.

        Lost: someone else's revision is on the key, or the deadline passed (renewals failing or
        hanging, e.g. cut off from the server).
        """
        reason = "deadline_passed"
        while (lease := self.lease) is not None:
            await asyncio.sleep(max(0.0, min(lease.renew_at, lease.deadline) - self._clock()))
            remaining = lease.deadline - self._clock()
            if remaining <= 0:
                break
            try:
                renewed = await asyncio.wait_for(self._renew_once(lease), remaining)
            except TimeoutError:
                break
            if renewed is None:
                reason = "key_taken"
                break
            if renewed is lease:  # outcome unknown: retry soon, within the deadline
                await asyncio.sleep(min(self._poll_s, max(0.0, lease.deadline - self._clock())))
            if self.lease is not lease:
                # Resigned (or stepped down) while the renewal was in flight. Python 3.11's
                # wait_for can swallow the cancel of this task when the renewal lands at the
                # same moment: a late renewal must never bring a given-up lease back.
                return
            self.lease = renewed
        if self.lease is not None:
            _log.warning("leadership_lost", term=self.lease.term, reason=reason)
        self.lease = None

    async def resign(self) -> None:
        """Delete the key if it is still ours, so a standby takes over at its next poll.

        A renewal cancelled in flight may have landed: then the key holds our value at a
        revision we never heard of, and that revision is the one deleted.
        """
        lease, self.lease = self.lease, None
        if lease is None:
            return
        try:
            kv = await self._bucket()
            try:
                await kv.delete(self._key, last=lease.revision)
            except BadRequestError as exc:
                if exc.err_code != _WRONG_LAST_SEQUENCE:
                    raise
                entry = await kv.get(self._key)
                if entry.value != self._value:
                    return  # someone else's key now: not ours to delete
                await kv.delete(self._key, last=entry.revision)
        except (nats.errors.Error, APIError, OSError) as exc:  # it expires on its own then
            _log.warning("leadership_release_failed", term=lease.term, error=repr(exc))
        else:
            _log.info("leadership_released", term=lease.term)

    async def hold(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> bool:
        """Run ``lead`` while renewing the lease; cancel it the moment the lease is lost.

        Returns:
            True when leadership was lost (campaign again), False when ``lead`` ended on its own
            (the key is then released).

        Raises:
            Whatever ``lead`` raised other than a fenced append (the key is released first).
        """
        leading = asyncio.create_task(lead())
        keeping = asyncio.create_task(self.keep())
        try:
            await asyncio.wait({leading, keeping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not leading.done():  # deposed (or we are being cancelled): stop deciding now
                leading.cancel()
            keeping.cancel()
            await asyncio.gather(keeping, return_exceptions=True)
            outcome = await asyncio.gather(leading, return_exceptions=True)
        error = outcome[0]
        if self.lease is None or _is_fenced(error):
            self.lease = None
            _log.warning("stepped_down", lead_error=repr(error) if error else None)
            return True
        await self.resign()
        if isinstance(error, BaseException):
            raise error
        return False


def _is_fenced(error: object) -> bool:
    if isinstance(error, AppendFencedError):
        return True
    if isinstance(error, BaseExceptionGroup):
        return any(_is_fenced(e) for e in error.exceptions)
    return False


async def lead_when_elected(
    elector: LeaderElector, stop: asyncio.Event, lead: Callable[[], Coroutine[Any, Any, None]]
) -> None:
    """Stand by, lead while the key is held, stand by again when it is lost.

    Until ``stop`` is set or ``lead`` ends on its own.

    A projection checkpoint moving under the leader (a deposed leader's transaction that
    committed late) ends the term too: the key is released, and the next term starts over from
    the stored checkpoint instead of crashing the process. So does an outage of NATS or
    PostgreSQL that a term's start or end ran into (``DEPENDENCY_ERRORS``).
    """
    while await elector.campaign(stop) is not None:
        try:
            if not await elector.hold(lead):
                return
        except* ProjectorFencedError as group:
            _log.warning("checkpoint_moved_under_the_leader", error=str(group.exceptions[0]))
        except* DEPENDENCY_ERRORS as group:
            # NATS or PostgreSQL went away while a term started or ended (issue 13): campaign
            # again once it is back, instead of ending the process.
            _log.warning("term_ended_by_an_outage", error=repr(group.exceptions[0]))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), OUTAGE_PAUSE_S)
