"""The output buffer: order, offsets per log, bounded memory with a marker, batching."""

from hypothesis import given
from hypothesis import strategies as st

from conveyor_worker.output import (
    FLUSH_DELAY_S,
    MAX_CHUNK_BYTES,
    OutputBuffer,
    WriteTimes,
    dropped_marker,
    gap_means_accepted,
    send_deadline,
    should_send,
)


def drain(buffer: OutputBuffer, max_bytes: int = MAX_CHUNK_BYTES) -> list[tuple[int, str | None, int, bytes]]:
    sent = []
    while buffer.pending:
        chunk = buffer.take(max_bytes)
        sent.append((chunk.job_offset, chunk.task, chunk.task_offset, chunk.data))
        buffer.ack(len(chunk.data))
    return sent


def test_chunks_come_out_in_order_with_running_offsets() -> None:
    buffer = OutputBuffer()
    buffer.append(b"hello ")
    buffer.append(b"world\n")
    assert drain(buffer, max_bytes=4) == [(0, None, 0, b"hell"), (4, None, 0, b"o wo"), (8, None, 0, b"rld\n")]
    assert buffer.log_size() == 12


def test_a_retried_chunk_is_identical_until_acked() -> None:
    buffer = OutputBuffer()
    buffer.append(b"abc")
    first = buffer.take()
    buffer.append(b"def")
    assert buffer.take(3) == first
    buffer.ack(3)
    assert buffer.take().data == b"def" and buffer.take().job_offset == 3


def test_a_chunk_never_spans_two_tasks_and_each_task_log_counts_from_zero() -> None:
    buffer = OutputBuffer()
    buffer.append(b"setup\n")
    buffer.set_task("build")
    buffer.append(b"make\n")
    buffer.set_task("test")
    buffer.append(b"ok\n")
    buffer.set_task(None)
    buffer.append(b"end\n")
    assert drain(buffer) == [
        (0, None, 0, b"setup\n"),
        (6, "build", 0, b"make\n"),
        (11, "test", 0, b"ok\n"),
        (14, None, 0, b"end\n"),
    ]
    assert (buffer.log_size(), buffer.log_size("build"), buffer.log_size("test")) == (18, 5, 3)


def test_a_task_that_wrote_nothing_leaves_no_mark() -> None:
    buffer = OutputBuffer()
    buffer.set_task("quiet")
    buffer.set_task("loud")
    buffer.append(b"x")
    assert drain(buffer) == [(0, "loud", 0, b"x")]


def test_what_does_not_fit_is_dropped_and_marked_once_there_is_room() -> None:
    buffer = OutputBuffer(capacity=200)
    buffer.append(b"a" * 150)
    buffer.append(b"b" * 100)  # 50 fit, 50 dropped
    buffer.append(b"c" * 10)  # no room for the marker yet: dropped too
    assert (buffer.pending, buffer.dropped) == (200, 60)
    buffer.ack(200)
    buffer.append(b"d")
    assert buffer.take().data == dropped_marker(60) + b"d"


def test_closing_writes_the_last_marker_even_into_a_full_buffer() -> None:
    buffer = OutputBuffer(capacity=10)
    buffer.append(b"x" * 20)
    buffer.close()
    assert buffer.take().data == b"x" * 10 + dropped_marker(10)
    buffer.ack(buffer.pending)
    assert buffer.is_done


def test_rebase_renumbers_only_the_log_named() -> None:
    buffer = OutputBuffer()
    buffer.set_task("t")
    buffer.append(b"abc")
    buffer.rebase("t", 7)
    chunk = buffer.take()
    assert (chunk.job_offset, chunk.task_offset) == (0, 7)


@given(st.lists(st.tuples(st.sampled_from([None, "a", "b"]), st.binary(max_size=50)), max_size=30), st.integers(1, 64))
def test_whatever_fits_arrives_complete_and_in_order(writes: list[tuple[str | None, bytes]], max_bytes: int) -> None:
    buffer = OutputBuffer(capacity=10_000)
    for task, data in writes:
        buffer.set_task(task)
        buffer.append(data)
    sent = drain(buffer, max_bytes)
    assert b"".join(data for *_, data in sent) == b"".join(data for _, data in writes)
    for task in ("a", "b"):
        assert b"".join(d for _, t, _, d in sent if t == task) == b"".join(d for t, d in writes if t == task)
        offsets = [o for _, t, o, _ in sent if t == task]
        assert offsets == sorted(offsets)


def test_output_waits_at_most_the_flush_delay_from_its_first_unsent_byte() -> None:
    assert not should_send(pending=0, urgent=True, now=10.0, unsent_since=0.0)
    assert not should_send(pending=10, urgent=False, now=10.05, unsent_since=10.0)
    assert should_send(pending=10, urgent=False, now=10.01 + FLUSH_DELAY_S, unsent_since=10.0)
    # The delay runs from the first unsent byte: a quiet spell before it does not hold it back longer.
    assert should_send(pending=10, urgent=False, now=100.01 + FLUSH_DELAY_S, unsent_since=100.0)
    assert should_send(pending=MAX_CHUNK_BYTES, urgent=False, now=10.0, unsent_since=10.0)
    assert should_send(pending=1, urgent=True, now=10.0, unsent_since=10.0)
    assert send_deadline(None) is None
    assert send_deadline(10.0) == 10.0 + FLUSH_DELAY_S


def test_a_gap_right_after_the_chunk_means_it_was_stored() -> None:
    assert gap_means_accepted(offset=100, size=20, expected=120)
    assert not gap_means_accepted(offset=100, size=20, expected=90)


def test_write_times_give_the_oldest_unsent_bytes_time_never_a_later_one() -> None:
    times = WriteTimes(granularity_s=0.005)
    assert times.written_at(0) is None
    times.wrote(0, 1.0)
    times.wrote(10, 1.002)  # within the granularity: counted as written at 1.0
    times.wrote(20, 2.0)
    assert times.written_at(0) == 1.0
    assert times.written_at(15) == 1.0
    assert times.written_at(20) == 2.0
    assert times.written_at(25) == 2.0
    times.wrote(30, 9.0)  # after a quiet spell
    assert times.written_at(30) == 9.0


def test_write_times_hold_a_bounded_number_of_marks() -> None:
    times = WriteTimes(granularity_s=0.0, max_marks=3)
    for n in range(10):
        times.wrote(n, float(n))
    assert times.written_at(9) == 2.0  # early, never late
