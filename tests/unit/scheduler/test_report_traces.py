"""A batched report call keeps each run in its own trace (issues 21 and 22).

One ``conveyor.sched.reports`` call carries the finishes of two runs, each with its run's own
``traceparent``. Each report gets its own ``scheduler finish`` span under its run's context
(linked to the call's span), and the events it appends carry that span's context: run A's
``job.succeeded`` continues run A's trace, never run B's, nor the call's.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import cast

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from conveyor_events import (
    AppendConflictError,
    Appended,
    CommandPayload,
    EventAppender,
    JobEvent,
    JobSubmitted,
    PendingAppend,
)
from conveyor_events.job import JobEventBase
from conveyor_events.scheduler_api import FinishRequest, LeaseRequest, ReportBatchRequest, StartRequest
from conveyor_runtime import OFF, Tracing, start_tracing, tracing_into
from conveyor_scheduler.commands import Advance
from conveyor_scheduler.decider import JobState, RetryPolicy, apply, decide
from conveyor_scheduler.engine import Engine
from conveyor_scheduler.job_traces import JobTraces
from conveyor_scheduler.workers import WorkerState

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
RUN_A = "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-00000000000000a1-01"
RUN_B = "00-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-00000000000000b1-01"
CALL = "00-cccccccccccccccccccccccccccccccc-00000000000000c1-01"


class Stream:
    """Job subjects in memory: every append is taken, and its own headers recorded."""

    def __init__(self) -> None:
        self.seq = 0
        self.jobs: dict[str, JobState] = {}
        self.appended: list[tuple[JobEvent, Mapping[str, str] | None]] = []

    def record(self, event: JobEvent) -> None:
        self.seq += 1
        self.jobs[event.job_id] = apply(self.jobs.get(event.job_id, JobState()), event, self.seq)

    async def append_batch(self, items: list[PendingAppend]) -> list[Appended | AppendConflictError]:
        outcomes: list[Appended | AppendConflictError] = []
        for item in items:
            assert isinstance(item.event, JobEventBase)
            self.record(item.event)
            self.appended.append((item.event, item.headers))
            outcomes.append(Appended(self.seq))
        return outcomes


async def _two_leased_runs(tracing: Tracing) -> tuple[Engine, Stream, list[str]]:
    """An engine holding two jobs leased to worker ``w``; returns their lease ids."""
    stream = Stream()
    ids = iter(range(1, 100))
    engine = Engine(
        cast(EventAppender, stream), clock=lambda: T0, jitter=lambda: 0.5, new_id=lambda: f"lease-{next(ids)}",
        policy=RetryPolicy(base_s=2.0, cap_s=60.0), traces=JobTraces(tracing),
    )  # fmt: skip
    engine.observe_worker(WorkerState(id="w", name="w", capacity=2, version=1))
    for job_id in ("job-a", "job-b"):
        stream.record(JobSubmitted(
            event_id=f"e-{job_id}", job_id=job_id, occurred_at=T0, project="demo", owner="alice",
            payload=CommandPayload(command="true"), lease_s=60,
        ))  # fmt: skip
        for event in decide(Advance(job_id=job_id, issued_at=T0), stream.jobs[job_id]):
            stream.record(event)
        engine.observe_job(stream.jobs[job_id])
    leased = await engine.lease(LeaseRequest(worker_id="w", max=2))
    by_job = {lease.job_id: lease.lease_id for lease in leased.leases}
    stream.appended.clear()
    return engine, stream, [by_job["job-a"], by_job["job-b"]]


async def test_two_runs_finished_in_one_batch_keep_their_own_traces() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing_into(provider):
        tracing = start_tracing("conveyor-scheduler")
    engine, stream, (lease_a, lease_b) = await _two_leased_runs(tracing)
    items = (
        StartRequest(worker_id="w", lease_id=lease_a, traceparent=RUN_A, tracestate="run=a"),
        FinishRequest(worker_id="w", lease_id=lease_a, result="succeeded", exit_code=0, traceparent=RUN_A),
        FinishRequest(worker_id="w", lease_id=lease_b, result="succeeded", exit_code=0, started_at=T0,
                      traceparent=RUN_B),
        StartRequest(worker_id="w", lease_id="stray"),  # no context of its own: the call's
    )  # fmt: skip
    exporter.clear()
    with tracing.span("scheduler reports", parent={"traceparent": CALL}):
        reply = await engine.report_batch(ReportBatchRequest(worker_id="w", items=items))
    assert [r.state for r in reply.replies] == ["running", "succeeded", "succeeded", None]

    spans = exporter.get_finished_spans()
    [call] = [s for s in spans if s.name == "scheduler reports"]
    mine = {(s.name, _attribute(s, "conveyor.lease_id")): s for s in spans if s is not call}
    assert sorted(mine) == sorted([("scheduler start", lease_a), ("scheduler finish", lease_a),
                                   ("scheduler finish", lease_b), ("scheduler start", "stray")])  # fmt: skip
    for lease, run in ((lease_a, RUN_A), (lease_b, RUN_B)):  # under its run, linked to the call
        for name in ("scheduler start", "scheduler finish") if lease == lease_a else ("scheduler finish",):
            span = mine[(name, lease)]
            assert span.parent is not None and f"{span.parent.span_id:016x}" == run.split("-")[2]
            assert f"{span.context.trace_id:032x}" == run.split("-")[1]
            assert [link.context.span_id for link in span.links] == [call.context.span_id]
    stray = mine[("scheduler start", "stray")]
    assert stray.parent is not None and stray.parent.span_id == call.context.span_id and not stray.links

    # Each event carries its own report's span as parent: run B's start travelled with its finish.
    under = {
        (event.job_id, _tag(event)): headers["traceparent"].split("-")[2]
        for event, headers in stream.appended
        if headers is not None
    }
    assert len(under) == len(stream.appended) == 4
    assert under == {
        ("job-a", "job.started"): _span_id(mine[("scheduler start", lease_a)]),
        ("job-a", "job.succeeded"): _span_id(mine[("scheduler finish", lease_a)]),
        ("job-b", "job.started"): _span_id(mine[("scheduler finish", lease_b)]),
        ("job-b", "job.succeeded"): _span_id(mine[("scheduler finish", lease_b)]),
    }
    first = stream.appended[0][1]
    assert first is not None and first.get("tracestate") == "run=a"  # the run's tracestate goes along


def _attribute(span: ReadableSpan, key: str) -> str:
    assert span.attributes is not None
    return str(span.attributes[key])


def _span_id(span: ReadableSpan) -> str:
    return f"{span.context.span_id:016x}"


def _tag(event: JobEvent) -> str:
    return str(type(event).__struct_config__.tag)


async def test_off_carries_no_context_of_its_own() -> None:
    engine, stream, (lease_a, lease_b) = await _two_leased_runs(OFF)
    items = tuple(
        FinishRequest(worker_id="w", lease_id=lease, result="succeeded", started_at=T0, traceparent=run)
        for lease, run in ((lease_a, RUN_A), (lease_b, RUN_B))
    )
    reply = await engine.report_batch(ReportBatchRequest(worker_id="w", items=items))
    assert [r.state for r in reply.replies] == ["succeeded", "succeeded"]
    assert [headers for _, headers in stream.appended] == [None] * 4  # the appender's stamp (none when off)
