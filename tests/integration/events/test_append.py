"""Appends against a real nats-server: optimistic concurrency, dedupe, pipelined batches."""

from datetime import UTC, datetime

import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from conveyor_events import (
    EVENTS_STREAM,
    AppendConflictError,
    Appended,
    AppendError,
    EventAppender,
    JobQueued,
    PendingAppend,
    job_subject,
    new_uuid7,
)


@pytest.fixture
async def appender(nc: NatsClient) -> EventAppender:
    """An appender on the test's connection."""
    a = EventAppender(nc)
    await a.start()
    return a


async def test_append_without_a_stream_is_a_clear_error(nc: NatsClient) -> None:
    a = EventAppender(nc)
    job = new_uuid7()
    with pytest.raises(AppendError, match="no stream"):
        await a.append(f"nowhere.{job}", queued(job))


def queued(job_id: str, event_id: str | None = None) -> JobQueued:
    return JobQueued(event_id=event_id or new_uuid7(), job_id=job_id, occurred_at=datetime.now(UTC))


async def test_expected_sequence_guards_the_aggregate(js: JetStreamContext, appender: EventAppender) -> None:
    job = new_uuid7()
    subject = job_subject(job)
    first = await appender.append(subject, queued(job), expected_last_subject_seq=0)
    with pytest.raises(AppendConflictError) as info:
        await appender.append(subject, queued(job), expected_last_subject_seq=0)
    assert info.value.subject == subject
    assert info.value.expected == 0
    second = await appender.append(subject, queued(job), expected_last_subject_seq=first.seq)
    with pytest.raises(AppendConflictError):
        await appender.append(subject, queued(job), expected_last_subject_seq=first.seq)  # stale now
    state = (await js.stream_info(EVENTS_STREAM, subjects_filter=subject)).state
    assert state.messages == 2
    assert second.seq > first.seq


async def test_other_subjects_do_not_conflict(js: JetStreamContext, appender: EventAppender) -> None:
    a, b = new_uuid7(), new_uuid7()
    await appender.append(job_subject(a), queued(a), expected_last_subject_seq=0)
    await appender.append(job_subject(b), queued(b), expected_last_subject_seq=0)


async def test_retried_event_id_is_a_duplicate_with_the_original_sequence(
    js: JetStreamContext, appender: EventAppender
) -> None:
    job = new_uuid7()
    event = queued(job)
    first = await appender.append(job_subject(job), event)
    again = await appender.append(job_subject(job), event)
    assert again == Appended(seq=first.seq, duplicate=True)


async def test_retry_of_a_guarded_append_is_a_duplicate_or_a_conflict_never_a_second_event(
    js: JetStreamContext, appender: EventAppender
) -> None:
    """The scheduler re-sends a decision after a crash with the same id and the same (now stale)
    expectation. The stream must not store it twice; either answer is handled by the caller."""
    job = new_uuid7()
    subject = job_subject(job)
    event = queued(job)
    first = await appender.append(subject, event, expected_last_subject_seq=0)
    try:
        again = await appender.append(subject, event, expected_last_subject_seq=0)
    except AppendConflictError:
        pass
    else:
        assert again.seq == first.seq
    assert (await js.stream_info(EVENTS_STREAM, subjects_filter=subject)).state.messages == 1


async def test_pipelined_batch_keeps_order_and_reports_conflicts_in_place(
    js: JetStreamContext, appender: EventAppender
) -> None:
    jobs = [new_uuid7() for _ in range(500)]
    taken = jobs[7]
    await appender.append(job_subject(taken), queued(taken))
    items = [PendingAppend(job_subject(j), queued(j), 0) for j in jobs]
    outcomes = await appender.append_batch(items)
    assert len(outcomes) == 500
    assert isinstance(outcomes[7], AppendConflictError)
    seqs = [o.seq for o in outcomes if isinstance(o, Appended)]
    assert len(seqs) == 499
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 499
