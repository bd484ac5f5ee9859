"""One ordered log sender per job run: sends output within 100 ms of its writing (bursts coalesced,
large output in big chunks) and retries a chunk until accepted."""

import asyncio
import contextlib
import random
from typing import Any

import structlog

from conveyor_client import ApiError, ConnectionFailedError, ConveyorError, UnavailableError, WorkerApi

from .calls import DEFAULT_BACKOFF
from .decisions import Backoff, classify
from .output import MAX_CHUNK_BYTES, Chunk, OutputBuffer, WriteTimes, gap_means_accepted, send_deadline, should_send

_log = structlog.get_logger("conveyor_worker.sender")


class LogSender:
    """Sends a run's output in order. ``lease_lost`` is set when the gateway says the lease is gone."""

    def __init__(
        self, api: WorkerApi, lease_id: str, buffer: OutputBuffer, *, backoff: Backoff = DEFAULT_BACKOFF
    ) -> None:
        self._api = api
        self._lease_id = lease_id
        self.buffer = buffer
        self._backoff = backoff
        self._wake = asyncio.Event()
        self.lease_lost = asyncio.Event()
        self._idle = asyncio.Event()
        self._room = asyncio.Event()
        self.is_healthy = True  # the last send reached the gateway
        self.is_blocked = False  # the job's output waits for room in the buffer
        self.is_supported = True
        self.sent_bytes = 0
        self._written = WriteTimes()  # when each part of the output was written (loop time)
        self._flush_asked = False

    def write(self, data: bytes) -> None:
        """Queue output (called from the process pump in the event loop; never blocks)."""
        if data and self.is_supported and not self.lease_lost.is_set():
            position = self.sent_bytes + self.buffer.pending
            self._written.wrote(position, asyncio.get_running_loop().time())
            if not self.buffer.pending:
                self._wake.set()  # the sender waits without a deadline: this byte starts one
            self.buffer.append(data)
            if self.buffer.pending >= MAX_CHUNK_BYTES:
                self._wake.set()

    async def put(self, data: bytes) -> None:
        """Queue output from the job's pipe. While the gateway accepts chunks, wait for room in the
        buffer (the job's writes block: nothing is dropped); while it is unreachable, do not wait, so
        the job goes on and what does not fit is dropped behind a marker."""
        view = memoryview(data)
        while view:
            if not self._waits_for_room():
                self.write(bytes(view))
                return
            room = self.buffer.capacity - self.buffer.pending
            if room <= 0:
                self.is_blocked = True
                self._room.clear()
                self._wake.set()  # a full buffer goes out now, not at the flush deadline
                await self._room.wait()
                self.is_blocked = False
                continue
            self.write(bytes(view[:room]))
            view = view[room:]

    def _waits_for_room(self) -> bool:
        return self.is_healthy and self.is_supported and not self.lease_lost.is_set()

    def set_task(self, task: str | None) -> None:
        """Output from now on belongs to this manifest task."""
        self.buffer.set_task(task)

    def close(self) -> None:
        """No more output: send what is left, then stop."""
        self.buffer.close()
        self._wake.set()

    async def run(self) -> None:
        """Send until closed and empty, the lease is lost, or the gateway has no log endpoint."""
        loop = asyncio.get_running_loop()
        failures = 0
        while not self.buffer.is_done and not self.lease_lost.is_set() and self.is_supported:
            now = loop.time()
            # Nothing is in flight here: the oldest unsent byte is the first one not accepted yet.
            unsent_since = self._written.written_at(self.sent_bytes) if self.buffer.pending else None
            if not should_send(
                pending=self.buffer.pending,
                urgent=self.buffer.is_closed or self.is_blocked or self._flush_asked,
                now=now,
                unsent_since=unsent_since,
            ):
                self._wake.clear()
                deadline = send_deadline(unsent_since)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), timeout=None if deadline is None else max(0.0, deadline - now)
                    )
                continue
            chunk = self.buffer.take()
            error = await self._send(chunk)
            if error is None:
                failures = 0
                self.is_healthy = True
                self._room.set()
                continue
            failures += 1
            if isinstance(error, ConnectionFailedError | UnavailableError):
                self.is_healthy = False
                self._room.set()  # a producer waiting for room goes on: it must not stall with the gateway
            await asyncio.sleep(self._backoff.delay_s(failures, random.random()))
        self._idle.set()
        self._room.set()

    async def flushed(self, timeout_s: float) -> bool:
        """Send what is pending now and wait until it was accepted (at most ``timeout_s``); whether it was."""
        self._flush_asked = True
        self._wake.set()
        deadline = asyncio.get_running_loop().time() + timeout_s
        try:
            while self.buffer.pending and self.is_supported and not self.lease_lost.is_set():
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    return False
                self._idle.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), min(left, 0.05))
            return True
        finally:
            self._flush_asked = False

    async def _send(self, chunk: Chunk) -> ConveyorError | None:
        """One attempt at the job's log, then the task's; acks when both have the chunk.

        A retry sends both again: the gateway stores only what a log does not have yet.
        """
        logs = [(None, chunk.job_offset)] + ([(chunk.task, chunk.task_offset)] if chunk.task is not None else [])
        for task, offset in logs:
            try:
                await self._api.append_log(self._lease_id, offset, chunk.data, task)
            except ConveyorError as exc:
                error = self._handle_error(exc, task, offset, chunk.data)
                if error is not None or self.lease_lost.is_set() or not self.is_supported:
                    return error
        self.buffer.ack(len(chunk.data))
        self.sent_bytes += len(chunk.data)
        self._idle.set()
        return None

    def _handle_error(self, exc: ConveyorError, task: str | None, offset: int, chunk: bytes) -> ConveyorError | None:
        """None when the chunk counts as stored in this log; the error when it must be sent again."""
        if isinstance(exc, ApiError) and exc.code == "log_gap" and exc.problem.expected_offset is not None:
            expected = exc.problem.expected_offset
            if gap_means_accepted(offset=offset, size=len(chunk), expected=expected):
                return None
            # Our numbering is off (a log cut by the collector, say): number from where it ends, resend.
            _log.warning("log_offset_rebased", lease_id=self._lease_id, task=task, offset=offset, expected=expected)
            self.buffer.rebase(task, expected)
            return exc
        verdict = classify(exc)
        fields: dict[str, Any] = {"lease_id": self._lease_id, "error": str(exc).splitlines()[0]}
        if verdict == "retry":
            _log.warning("log_send_retrying", pending=self.buffer.pending, **fields)
            return exc
        if verdict == "lease_lost":
            self.lease_lost.set()
        elif verdict == "unsupported":
            _log.warning("log_endpoint_missing", **fields)
            self.is_supported = False
        else:
            _log.error("log_chunk_refused", task=task, offset=offset, size=len(chunk), **fields)
        return None
