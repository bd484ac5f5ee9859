"""``decode_batch``: the one loop every projector decodes with."""

from datetime import UTC, datetime

import msgspec
from structlog.testing import capture_logs

from conveyor_events import CommandPayload, JobSubmitted, UnknownEventError, encode_event, job_subject
from conveyor_runtime import StreamEvent, decode_batch, decode_stream_event


def _submitted(job_id: str) -> JobSubmitted:
    return JobSubmitted(
        event_id=f"e-{job_id}",
        job_id=job_id,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        project="p",
        owner="o",
        payload=CommandPayload(command="true"),
    )


def test_unknown_events_are_skipped_with_a_warning_and_the_rest_kept_in_order() -> None:
    batch = [
        StreamEvent(1, job_subject("a"), encode_event(_submitted("a"))),
        StreamEvent(2, job_subject("b"), msgspec.json.encode({"type": "job.from_the_future"})),
        StreamEvent(3, "conveyor.ev.gadget.x", b"{}"),
        StreamEvent(4, job_subject("c"), encode_event(_submitted("c"))),
    ]
    with capture_logs() as logs:
        decoded = decode_batch(batch, decode_stream_event)
    assert [(seq, getattr(e, "job_id", None)) for seq, e in decoded] == [(1, "a"), (4, "c")]
    assert [(log["event"], log["stream_seq"]) for log in logs] == [("event_skipped", 2), ("event_skipped", 3)]


def test_events_the_projection_does_not_keep_are_skipped_silently() -> None:
    def only_c(item: StreamEvent) -> str | None:
        if item.seq == 3:
            raise UnknownEventError("garbage")
        return item.subject if item.subject.endswith(".c") else None

    batch = [StreamEvent(i, job_subject(x), b"{}") for i, x in enumerate("abc", start=1)]
    with capture_logs() as logs:
        assert decode_batch(batch, only_c) == []
    assert [log["stream_seq"] for log in logs] == [3]
