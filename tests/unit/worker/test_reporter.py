"""The worker's report batching: runs' reports share calls, each answered on its own (issue 21)."""

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, cast

import pytest
from opentelemetry.sdk.trace import TracerProvider

from conveyor_client import WorkerApi
from conveyor_client.errors import ConflictError, NotFoundError, Problem, UnavailableError
from conveyor_client.models import ReportOutcome, ReportRefusal, RunReported
from conveyor_runtime import Tracing, start_tracing, tracing_into
from conveyor_worker.decisions import classify
from conveyor_worker.reporter import Reporter


class FakeApi:
    """The worker API's report calls: records each batch; a lease id starting "gone" is refused."""

    def __init__(self, *, batched: bool = True, fail_first: bool = False, tracing: Tracing | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.singles: list[tuple[str, str]] = []
        self.tracing = tracing
        self.stamped: list[dict[str, str]] = []  # what WorkerApi's stamp puts on each call's request
        self.batched = batched
        self.fail_first = fail_first
        self.release = asyncio.Event()
        self.release.set()

    async def report(self, reports: Sequence[Mapping[str, Any]]) -> list[ReportOutcome]:
        if not self.batched:
            problem = Problem(type="/problems/route_not_found", status=404)
            raise NotFoundError("POST .../reports: 404", status=404, problem=problem)
        self.batches.append([dict(r) for r in reports])
        self._stamp()
        await self.release.wait()
        if self.fail_first:
            self.fail_first = False
            raise UnavailableError("503", status=503, problem=Problem(type="/problems/scheduler_unavailable"))
        return [
            ReportOutcome(lease_id=r["lease_id"], error=ReportRefusal(code="lease_not_current", detail="gone"))
            if r["lease_id"].startswith("gone")
            else ReportOutcome(lease_id=r["lease_id"], state="running" if r["type"] == "start" else r["result"])
            for r in reports
        ]

    async def start(self, lease_id: str) -> RunReported:
        self.singles.append(("start", lease_id))
        self._stamp()
        return RunReported(state="running")

    async def finish(self, lease_id: str, result: str, **_: Any) -> RunReported:
        self.singles.append(("finish", lease_id))
        self._stamp()
        return RunReported(state=result)

    def _stamp(self) -> None:
        if self.tracing is not None:
            self.stamped.append(self.tracing.current_headers())


def reporter_for(api: FakeApi) -> Reporter:
    return Reporter(cast(WorkerApi, api))


async def test_reports_made_while_a_call_is_on_its_way_share_the_next_call() -> None:
    api = FakeApi()
    reporter = reporter_for(api)
    api.release.clear()
    first = asyncio.create_task(reporter.finish("a", "succeeded", exit_code=0))
    await asyncio.sleep(0)  # the first call leaves at once, alone
    later = [asyncio.create_task(reporter.finish(x, "failed", exit_code=1)) for x in "bcd"]
    started = asyncio.create_task(reporter.start("e"))
    await asyncio.sleep(0)
    api.release.set()
    assert (await first).state == "succeeded"
    assert [(await t).state for t in later] == ["failed"] * 3
    assert (await started).state == "running"
    assert [[r["lease_id"] for r in batch] for batch in api.batches] == [["a"], ["b", "c", "d", "e"]]
    assert api.batches[1][0] == {"type": "finish", "lease_id": "b", "result": "failed", "exit_code": 1}
    assert (reporter.calls, reporter.reports) == (2, 5)


async def test_a_refused_report_raises_its_single_calls_error_and_the_others_succeed() -> None:
    reporter = reporter_for(FakeApi())
    ok, gone = await asyncio.gather(
        reporter.finish("ok", "succeeded"), reporter.finish("gone-1", "succeeded"), return_exceptions=True
    )
    assert isinstance(ok, RunReported)
    assert isinstance(gone, ConflictError)
    assert (gone.status, gone.code) == (409, "lease_not_current")
    assert classify(gone) == "lease_lost"  # the run stops, as after a 409 from /finish


async def test_a_failed_call_fails_each_report_for_its_run_to_retry() -> None:
    api = FakeApi(fail_first=True)
    reporter = reporter_for(api)
    with pytest.raises(UnavailableError) as failed:
        await reporter.finish("a", "succeeded")
    assert classify(failed.value) == "retry"
    assert (await reporter.finish("a", "succeeded")).state == "succeeded"


async def test_an_older_gateway_gets_single_calls_from_then_on() -> None:
    api = FakeApi(batched=False)
    reporter = reporter_for(api)
    assert (await reporter.start("a")).state == "running"
    assert (await reporter.finish("a", "succeeded")).state == "succeeded"
    assert api.singles == [("start", "a"), ("finish", "a")]
    assert not reporter.batched


def _worker_tracing() -> Tracing:
    with tracing_into(TracerProvider()):
        return start_tracing("conveyor-worker")


async def test_each_report_carries_its_own_runs_context_and_the_call_none() -> None:
    tracing = _worker_tracing()
    api = FakeApi(tracing=tracing)
    reporter = Reporter(cast(WorkerApi, api), stamp=tracing.stamp)
    contexts: dict[str, dict[str, str]] = {}

    async def run(lease_id: str) -> RunReported:
        with tracing.span("worker run"):
            contexts[lease_id] = tracing.current_headers()
            return await reporter.finish(lease_id, "succeeded", exit_code=0)

    assert [r.state for r in await asyncio.gather(*(run(x) for x in "abc"))] == ["succeeded"] * 3
    [sent] = api.batches  # three runs' finishes in one call
    assert [r["lease_id"] for r in sent] == ["a", "b", "c"]
    assert len({contexts[x]["traceparent"] for x in "abc"}) == 3
    assert [r["traceparent"] for r in sent] == [contexts[x]["traceparent"] for x in "abc"]
    assert api.stamped == [{}]  # the call was made in no run's context: it belongs to none


async def test_off_a_report_carries_no_context() -> None:
    api = FakeApi()
    reporter = reporter_for(api)
    await reporter.finish("a", "succeeded", exit_code=0)
    assert api.batches == [[{"type": "finish", "lease_id": "a", "result": "succeeded", "exit_code": 0}]]


async def test_an_older_gateways_single_calls_keep_their_runs_context() -> None:
    tracing = _worker_tracing()
    api = FakeApi(batched=False, tracing=tracing)
    reporter = Reporter(cast(WorkerApi, api), stamp=tracing.stamp)
    with tracing.span("worker run"):
        context = tracing.current_headers()
        assert (await reporter.finish("a", "succeeded")).state == "succeeded"
    assert api.stamped == [context]  # the first one: sent by the reporter after the 404
