"""Each live job's trace context, so the scheduler's decisions continue the trace that caused them.

When the fold reads a job event carrying a ``traceparent`` (the gateway's request, a worker's
report), it starts a ``CONSUMER`` span under it and remembers that span's context for the job.
The decisions appended for the job (queued, assigned, retried, timed out...) carry it, and so
does the lease the worker gets. Only in memory and bounded: after a restart a queued job's next
decision starts from whatever call makes it (issue 22). With tracing off, nothing here runs.

A batched report call (``conveyor.sched.reports``) carries the reports of several runs, each
with its run's own context: each report gets its own span under that context (``reporting``),
and its events carry that span's, so one run's ``job.succeeded`` never continues another's trace.
"""

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Final

from opentelemetry.trace import Span, SpanKind

from conveyor_events import JobEvent
from conveyor_events.scheduler_api import ReportBatchItem
from conveyor_runtime import OFF, StreamEvent, Tracing, trace_headers

_CAPACITY: Final = 100_000  # jobs remembered; the oldest are forgotten first


def _tag(event: JobEvent) -> str:
    return str(type(event).__struct_config__.tag)


class JobTraces:
    """The trace context of each job's latest traced event, and the scheduler's spans under it.

    Args:
        tracing: The scheduler's tracing; ``OFF`` makes every method a no-op.
        capacity: Most jobs remembered at once.
    """

    def __init__(self, tracing: Tracing = OFF, *, capacity: int = _CAPACITY) -> None:
        self.tracing = tracing
        self.is_on = tracing.is_on
        self._capacity = capacity
        self._by_job: OrderedDict[str, dict[str, str]] = OrderedDict()

    def headers(self, job_id: str) -> Mapping[str, str] | None:
        """The context a decision about ``job_id`` carries; ``None``: the appender's own stamp."""
        return self._by_job.get(job_id) if self.is_on else None

    def _remember(self, job_id: str, headers: dict[str, str] | None) -> None:
        if headers is None:
            return
        self._by_job[job_id] = headers
        self._by_job.move_to_end(job_id)
        while len(self._by_job) > self._capacity:
            self._by_job.popitem(last=False)

    def forget(self, job_ids: Iterable[str]) -> None:
        """Drop ended jobs: nothing more is decided about them."""
        for job_id in job_ids:
            self._by_job.pop(job_id, None)

    @contextmanager
    def folding(self, batch: Sequence[StreamEvent], decoded: Sequence[tuple[int, JobEvent]]) -> Iterator[None]:
        """Spans for the batch's traced job events, open while the batch is folded and decided."""
        if not self.is_on:
            yield
            return
        carried = {e.seq: found for e in batch if (found := trace_headers(e.headers)) is not None}
        spans: list[Span] = []
        for seq, event in decoded:
            parent = carried.get(seq)
            if parent is None:
                continue
            span = self.tracing.start_span(
                f"scheduler fold {_tag(event)}",
                parent=parent,
                kind=SpanKind.CONSUMER,
                attributes={"conveyor.job_id": event.job_id, "messaging.message.id": str(seq)},
            )
            if span is not None:
                spans.append(span)
                self._remember(event.job_id, self.tracing.headers_of(span))
        try:
            yield
        finally:
            for span in spans:
                span.end()

    @contextmanager
    def deciding(self, name: str, job_ids: Sequence[str]) -> Iterator[list[Mapping[str, str] | None]]:
        """One span per job for a decision the scheduler makes on its own (an assignment, a timer's
        verdict), under the job's context; yields the headers each decision carries."""
        if not self.is_on:
            yield [None] * len(job_ids)
            return
        spans = [
            self.tracing.start_span(f"scheduler {name}", parent=self._by_job.get(i), attributes={"conveyor.job_id": i})
            for i in job_ids
        ]
        headers = [self.tracing.headers_of(span) for span in spans]
        for job_id, carried in zip(job_ids, headers, strict=True):
            self._remember(job_id, carried)
        try:
            yield list(headers)
        finally:
            for span in spans:
                if span is not None:
                    span.end()

    @contextmanager
    def reporting(self, items: Sequence[ReportBatchItem]) -> Iterator[list[Mapping[str, str] | None] | None]:
        """One ``scheduler <start|finish|task>`` span per report of a batched call, open while the
        batch is decided: under the report's own context (its run's ``traceparent``) and linked to
        the call's span, or under the call's span when it brings none. Yields the headers each
        report's events carry, in the items' order; ``None`` when off (no work per report)."""
        if not self.is_on:
            yield None
            return
        spans: list[Span | None] = []
        for item in items:
            own = _context_of(item)
            spans.append(
                self.tracing.start_span(
                    f"scheduler {_report_kind(item)}",
                    parent=own,
                    attributes={"conveyor.lease_id": item.lease_id},
                    link_current=own is not None,
                )
            )
        try:
            yield [self.tracing.headers_of(span) for span in spans]
        finally:
            for span in spans:
                if span is not None:
                    span.end()


def _context_of(item: ReportBatchItem) -> dict[str, str] | None:
    if not item.traceparent:
        return None
    if item.tracestate:
        return {"traceparent": item.traceparent, "tracestate": item.tracestate}
    return {"traceparent": item.traceparent}


def _report_kind(item: ReportBatchItem) -> str:
    return str(type(item).__struct_config__.tag)
