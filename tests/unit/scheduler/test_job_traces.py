"""``JobTraces``: the scheduler's decisions continue the trace of the event that caused them."""

from datetime import UTC, datetime

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from conveyor_events import JobCancelled, JobEvent
from conveyor_runtime import OFF, StreamEvent, start_tracing, tracing_into
from conveyor_scheduler.job_traces import JobTraces

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE}-00f067aa0ba902b7-01"
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _traced() -> tuple[JobTraces, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing_into(provider):
        return JobTraces(start_tracing("conveyor-scheduler"), capacity=2), exporter


def _event(job_id: str) -> JobEvent:
    return JobCancelled(job_id=job_id, occurred_at=AT, event_id=f"e-{job_id}")


def _stream(seq: int, headers: dict[str, str] | None) -> StreamEvent:
    return StreamEvent(seq, "conveyor.ev.job.x", b"{}", headers)


def test_off_remembers_nothing_and_starts_no_span() -> None:
    traces = JobTraces(OFF)
    with traces.folding([_stream(1, {"traceparent": PARENT})], [(1, _event("a"))]):
        assert traces.headers("a") is None
    with traces.deciding("assign", ["a"]) as carried:
        assert carried == [None]


def test_a_folded_event_gives_its_job_a_context_under_the_events_span() -> None:
    traces, exporter = _traced()
    batch = [_stream(1, {"Nats-Msg-Id": "x", "traceparent": PARENT}), _stream(2, {"Nats-Msg-Id": "y"})]
    with traces.folding(batch, [(1, _event("a")), (2, _event("b"))]):
        carried = traces.headers("a")
        assert traces.headers("b") is None  # an event without a context leaves the job untraced
    [fold] = exporter.get_finished_spans()
    assert fold.name == "scheduler fold job.cancelled"
    assert carried is not None and carried["traceparent"].split("-")[1:3] == [TRACE, f"{fold.context.span_id:016x}"]

    with traces.deciding("assign", ["a", "b"]) as decided:
        first, second = decided
    assign = exporter.get_finished_spans()[-2]  # one span per job, the untraced one in a new trace
    assert first is not None and first["traceparent"].split("-")[1] == TRACE
    assert assign.parent is not None and assign.parent.span_id == fold.context.span_id
    assert second is not None and second["traceparent"].split("-")[1] != TRACE


def test_ended_and_oldest_jobs_are_forgotten() -> None:
    traces, _ = _traced()
    for seq, job in enumerate(("a", "b", "c"), start=1):
        with traces.folding([_stream(seq, {"traceparent": PARENT})], [(seq, _event(job))]):
            pass
    assert traces.headers("a") is None  # capacity 2: the oldest went first
    assert traces.headers("b") is not None
    traces.forget(["b"])
    assert traces.headers("b") is None
    assert traces.headers("c") is not None
