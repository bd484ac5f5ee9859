"""A job's output on its way to the gateway: a bounded buffer with byte offsets, and when to send.

Pure (no I/O, no clock): the sender passes the time in. Output arrives in order and leaves in
order; what does not fit while the gateway is unreachable is dropped and replaced by one marker
line saying how much, never held without bound.
"""

from collections import deque
from dataclasses import dataclass, field

FLUSH_DELAY_S = 0.1  # output goes out at most this long after its first unsent byte was written
MAX_CHUNK_BYTES = 512 * 1024  # half the gateway's default body limit (1 MiB)
DEFAULT_CAPACITY_BYTES = 8 * 1024 * 1024


def dropped_marker(count: int) -> bytes:
    """The line put in place of output that did not fit in the buffer."""
    return f"\n[conveyor worker: {count} bytes of output dropped: the gateway was unreachable]\n".encode()


@dataclass(frozen=True)
class Chunk:
    """Output to send: to the job's log at ``job_offset``, and to ``task``'s log at ``task_offset``."""

    data: bytes
    job_offset: int
    task: str | None
    task_offset: int


@dataclass
class OutputBuffer:
    """Output not yet accepted by the gateway.

    Everything goes to the job's log; a manifest task's output goes to that task's log as well, so
    the job's log reads as the whole story and each task's log as its own. Each log has its own
    byte offsets. `take` gives the next chunk (from the start, so a retried chunk is identical)
    and where it goes; `ack` drops it once the gateway accepted it.
    """

    capacity: int = DEFAULT_CAPACITY_BYTES
    _offsets: dict[str | None, int] = field(default_factory=dict)  # task -> bytes its log has
    _data: bytearray = field(default_factory=bytearray)
    _dropped: int = 0
    dropped_total: int = 0  # bytes ever dropped, for the worker's own report
    is_closed: bool = False
    # (position in _data, task) where a manifest task's output begins; the first entry covers 0.
    _tasks: list[tuple[int, str | None]] = field(default_factory=lambda: [(0, None)])

    def log_size(self, task: str | None = None) -> int:
        """Bytes the gateway accepted into a log (the job's, or a task's)."""
        return self._offsets.get(task, 0)

    @property
    def pending(self) -> int:
        """Bytes held, waiting to be sent."""
        return len(self._data)

    @property
    def dropped(self) -> int:
        """Bytes dropped since the last marker was written."""
        return self._dropped

    def set_task(self, task: str | None) -> None:
        """Output appended from now on belongs to ``task`` (a chunk never spans two tasks)."""
        position, current = self._tasks[-1]
        if task == current:
            return
        if position == len(self._data):
            self._tasks[-1] = (position, task)
        else:
            self._tasks.append((len(self._data), task))

    def append(self, data: bytes) -> None:
        """Add output; what does not fit is counted as dropped, to be marked once room is back."""
        if self._dropped:
            marker = dropped_marker(self._dropped)
            if len(self._data) + len(marker) + len(data) > self.capacity:
                self._dropped += len(data)
                self.dropped_total += len(data)
                return
            self._data += marker
            self._dropped = 0
        room = self.capacity - len(self._data)
        if len(data) <= room:
            self._data += data
            return
        self._data += data[:room]
        self._dropped += len(data) - room
        self.dropped_total += len(data) - room

    def close(self) -> None:
        """No more output will come; the marker for a last drop is written even into a full buffer."""
        if self._dropped:
            self._data += dropped_marker(self._dropped)
            self._dropped = 0
        self.is_closed = True

    def take(self, max_bytes: int = MAX_CHUNK_BYTES) -> Chunk:
        """The next chunk to send and where it goes; the same chunk until `ack`."""
        end = max_bytes
        if len(self._tasks) > 1:
            end = min(end, self._tasks[1][0])
        task = self._tasks[0][1]
        return Chunk(
            data=bytes(self._data[:end]), job_offset=self._offsets.get(None, 0), task=task,
            task_offset=self._offsets.get(task, 0) if task is not None else 0,
        )  # fmt: skip

    def ack(self, size: int) -> None:
        """The gateway accepted ``size`` bytes from the start."""
        del self._data[:size]
        head = self._tasks[0][1]
        self._offsets[None] = self._offsets.get(None, 0) + size
        if head is not None:
            self._offsets[head] = self._offsets.get(head, 0) + size
        shifted = [(max(0, position - size), task) for position, task in self._tasks]
        # Drop task marks whose output is all sent, keeping the last one that starts at 0.
        while len(shifted) > 1 and shifted[1][0] == 0:
            shifted.pop(0)
        self._tasks = shifted

    def rebase(self, task: str | None, offset: int) -> None:
        """The gateway says a log (the job's for None) ends at ``offset``: number what we hold from there."""
        self._offsets[task] = offset

    @property
    def is_done(self) -> bool:
        """Closed and everything sent."""
        return self.is_closed and not self._data and not self._dropped


@dataclass
class WriteTimes:
    """When output was written, coarsely: enough to tell how long the oldest unsent byte has waited.

    Positions count every byte that entered the buffer (sent ones too). A mark ``(position, time)``
    says the bytes from ``position`` on were written at ``time`` or later; marks closer than
    ``granularity_s`` are not kept, so a byte's time may read a little early (it goes out a little
    sooner), never late. At most ``max_marks`` are held (a writer that goes on during an outage).
    """

    granularity_s: float = 0.005
    max_marks: int = 1024
    _marks: deque[tuple[int, float]] = field(default_factory=deque)

    def wrote(self, position: int, now: float) -> None:
        """Output starting at ``position`` was written at ``now``."""
        if self._marks and (now - self._marks[-1][1] < self.granularity_s or len(self._marks) >= self.max_marks):
            return
        self._marks.append((position, now))

    def written_at(self, position: int) -> float | None:
        """When the byte at ``position`` was written, at the earliest (None: nothing was written)."""
        while len(self._marks) > 1 and self._marks[1][0] <= position:
            self._marks.popleft()
        return self._marks[0][1] if self._marks else None


def should_send(*, pending: int, urgent: bool, now: float, unsent_since: float | None) -> bool:
    """Send when a full chunk is waiting, when it is urgent (the output ended, the writer waits for
    room, a flush was asked for), or once the oldest unsent byte has waited ``FLUSH_DELAY_S``.

    The delay runs from the first byte not yet sent, not from the last send: a line written after a
    quiet minute goes out 100 ms later, and a burst within those 100 ms goes out as one chunk.
    """
    if pending == 0:
        return False
    if pending >= MAX_CHUNK_BYTES or urgent:
        return True
    return unsent_since is not None and now - unsent_since >= FLUSH_DELAY_S


def send_deadline(unsent_since: float | None) -> float | None:
    """When the oldest unsent byte must go out (None: nothing is waiting)."""
    return None if unsent_since is None else unsent_since + FLUSH_DELAY_S


def gap_means_accepted(*, offset: int, size: int, expected: int) -> bool:
    """A 409 ``log_gap`` for the chunk at ``offset``: True when the log already ends right after it.

    That happens when a reply was lost and the chunk is sent again: it is stored, so ack it. Any
    other expected offset means our numbering is off; the sender rebases and sends the chunk again.
    """
    return expected == offset + size
