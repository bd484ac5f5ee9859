"""Publishing log chunks on ``LOGS`` in order, once each.

Each attempt's log (of a job or a task) has its own subject. The writer knows the subject's
last stream sequence and the log's next offset (cached; read back with a direct get of the
subject's last message on a miss), and publishes with ``Nats-Expected-Last-Subject-Sequence``:
two writers racing on one log cannot interleave, and a chunk that was already published (a
retry) is recognised by its offset and not stored again. ``Nats-Msg-Id`` = lease:task:offset
also lets JetStream drop a retried publish whose acknowledgement was lost.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Final

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError

from conveyor_events import LOGS_STREAM, HeaderStamp, LogChunk, decode_chunk, encode_chunk, log_subject

from ..errors import LogGapError

PIECE_BYTES: Final = 256 * 1024  # one message per piece, well under the stream's 1 MiB limit
_WRONG_LAST_SEQUENCE: Final = 10071
_CACHE: Final = 10_000


class LogWriter:
    """Appends chunks to logs; one instance per gateway process.

    Args:
        js: JetStream context.
        stored_offset: Where the collector says a log ends, for a log whose messages already
            left the (bounded) stream: ``(job_id, attempt, task) -> received bytes``.
        stamp: Headers to add to each chunk (the worker's trace context, when tracing is on).
    """

    def __init__(
        self,
        js: JetStreamContext,
        stored_offset: Callable[[str, int, str], Awaitable[int]],
        *,
        stamp: HeaderStamp | None = None,
    ) -> None:
        self._js = js
        self._stamp = stamp
        self._stored_offset = stored_offset
        self._tails: OrderedDict[str, tuple[int, int]] = OrderedDict()  # subject -> (last seq, next offset)
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    async def _tail(self, subject: str, job_id: str, attempt: int, task: str) -> tuple[int, int]:
        cached = self._tails.get(subject)
        if cached is not None:
            self._tails.move_to_end(subject)
            return cached
        try:
            msg = await self._js.get_last_msg(LOGS_STREAM, subject, direct=True)
        except NotFoundError:
            tail = (0, await self._stored_offset(job_id, attempt, task))
        else:
            last = decode_chunk(msg.data or b"")
            tail = (msg.seq or 0, last.offset + len(last.data))
        self._remember(subject, tail)
        return tail

    def _remember(self, subject: str, tail: tuple[int, int]) -> None:
        self._tails[subject] = tail
        self._tails.move_to_end(subject)
        while len(self._tails) > _CACHE:
            self._tails.popitem(last=False)

    async def append(self, chunk: LogChunk) -> int:
        """Publish the part of ``chunk`` the log does not have yet; return the log's next offset.

        Raises:
            LogGapError: The chunk starts past the log's end (``expected_offset`` says where).
        """
        return await self._locked(chunk, at_end=False)

    async def append_at_end(self, chunk: LogChunk) -> int:
        """Publish all of ``chunk`` at the log's end, whatever its ``offset`` (for writers that keep
        no offsets, e.g. a façade appending a status line); return the log's next offset."""
        return await self._locked(chunk, at_end=True)

    async def _locked(self, chunk: LogChunk, *, at_end: bool) -> int:
        subject = log_subject(chunk.job_id, chunk.lease_id, chunk.task)
        entry = self._locks.setdefault(subject, (asyncio.Lock(), [0]))
        entry[1][0] += 1  # writers using this lock; the entry goes when the last one leaves
        try:
            async with entry[0]:
                try:
                    return await self._append(subject, await self._placed(subject, chunk, at_end))
                except APIError as exc:
                    if exc.err_code != _WRONG_LAST_SEQUENCE:
                        raise
                    self._tails.pop(subject, None)  # another gateway wrote: read the tail again
                    return await self._append(subject, await self._placed(subject, chunk, at_end))
        finally:
            entry[1][0] -= 1
            if entry[1][0] == 0:
                self._locks.pop(subject, None)

    async def _placed(self, subject: str, chunk: LogChunk, at_end: bool) -> LogChunk:
        if not at_end:
            return chunk
        _, end = await self._tail(subject, chunk.job_id, chunk.attempt, chunk.task)
        return msgspec.structs.replace(chunk, offset=end)

    async def _append(self, subject: str, chunk: LogChunk) -> int:
        seq, next_offset = await self._tail(subject, chunk.job_id, chunk.attempt, chunk.task)
        if chunk.offset > next_offset:
            raise LogGapError(
                f"the chunk starts at {chunk.offset} but the log ends at {next_offset}", expected_offset=next_offset
            )
        data = memoryview(chunk.data)[next_offset - chunk.offset :]
        offset = next_offset
        while data:
            piece = bytes(data[:PIECE_BYTES])
            message = LogChunk(
                job_id=chunk.job_id,
                lease_id=chunk.lease_id,
                attempt=chunk.attempt,
                task=chunk.task,
                offset=offset,
                data=piece,
            )
            headers = {
                "Nats-Msg-Id": f"{chunk.lease_id}:{chunk.task}:{offset}",
                "Nats-Expected-Last-Subject-Sequence": str(seq),
            }
            if self._stamp is not None:
                headers.update(self._stamp())
            try:
                ack = await self._js.publish(subject, encode_chunk(message), stream=LOGS_STREAM, headers=headers)
            except Exception:
                self._tails.pop(subject, None)
                raise
            seq = ack.seq
            offset += len(piece)
            data = data[len(piece) :]
            self._remember(subject, (seq, offset))
        return offset
