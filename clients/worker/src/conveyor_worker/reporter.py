"""Run reports in batches: the starts and finishes of every run on this worker share calls.

A run hands its report to the `Reporter` and awaits its own outcome, as it would await a single
call; the reporter sends whatever is waiting in one ``POST /v1/workers/{id}/reports`` (up to
``MAX_BATCH``), one call at a time, so reports that come in while a call is on its way go in the
next one. No report waits for company: an idle worker's report leaves at once.

Each report is fenced by its own lease: a refused one raises for its run alone the error its
single call would have (409 ``lease_not_current``, ...), so the run's retry and stop logic is
the same either way. A failed call (the gateway away) fails each report in it, and each run
retries as before. A gateway without the batched call (404) is remembered, and the reports go
one by one from then on.

With tracing on (a ``stamp``), each report carries the trace context of the run that made it,
taken when it is queued (inside the run's span): the scheduler continues each run's own trace.
The batch call itself is sent outside any run's context, so it belongs to no run's trace.
"""

import asyncio
import contextvars
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from conveyor_client import NotFoundError, WorkerApi
from conveyor_client.errors import ApiError, ConflictError, InvalidRequestError, Problem, UnavailableError
from conveyor_client.models import ReportOutcome, RunReported, TaskResult
from conveyor_client.worker_api import finish_report, start_report

MAX_BATCH: Final = 100  # the gateway's limit per call
# A refused report raises what its single call's answer would (its status decides the class).
_STATUS: Final = {"lease_not_current": 409, "scheduler_busy": 503}
_CLASS: Final[dict[int, type[ApiError]]] = {409: ConflictError, 503: UnavailableError, 422: InvalidRequestError}


def refusal_error(outcome: ReportOutcome) -> ApiError:
    """The error a single call would have raised for this refused report."""
    assert outcome.error is not None
    code, detail = outcome.error.code, outcome.error.detail
    status = _STATUS.get(code, 422)
    problem = Problem(type=f"/problems/{code}", title=code.replace("_", " "), status=status, detail=detail)
    return _CLASS[status](f"report on lease {outcome.lease_id}: {status} {code}: {detail}", status=status,
                          problem=problem)  # fmt: skip


_Waiting = tuple[dict[str, Any], Callable[[], Any], "asyncio.Future[RunReported]", contextvars.Context | None]
"""A queued report, its single call (for an older gateway), its run's future and its run's context
(kept only when tracing, so the single call still goes in the run's trace)."""


class Reporter:
    """Batches the run reports of one worker (see the module's description).

    Args:
        api: The worker's API client.
        max_batch: Most reports per call.
        stamp: The current trace context's headers (``Tracing.stamp``); ``None`` when not tracing.
    """

    def __init__(
        self, api: WorkerApi, *, max_batch: int = MAX_BATCH, stamp: Callable[[], Mapping[str, str]] | None = None
    ) -> None:
        self._api = api
        self._max_batch = max_batch
        self._stamp = stamp
        self._waiting: list[_Waiting] = []
        self._sending: asyncio.Task[None] | None = None
        self.batched = True  # False once the gateway said it has no batched call
        self.calls = 0  # batched calls made (for tests and the bench)
        self.reports = 0  # reports sent in them

    async def start(self, lease_id: str) -> RunReported:
        """Report that the run under ``lease_id`` started (as ``WorkerApi.start``)."""
        return await self._submit(start_report(lease_id), lambda: self._api.start(lease_id))

    async def finish(
        self,
        lease_id: str,
        result: str,
        *,
        exit_code: int | None = None,
        verification: str | None = None,
        tasks: list[TaskResult] | None = None,
        started_at: datetime | None = None,
    ) -> RunReported:
        """Report how the run ended (as ``WorkerApi.finish``)."""
        report = finish_report(
            lease_id, result, exit_code=exit_code, verification=verification, tasks=tasks or (), started_at=started_at
        )
        return await self._submit(report, lambda: self._api.finish(
            lease_id, result, exit_code=exit_code, verification=verification, tasks=tasks or (), started_at=started_at
        ))  # fmt: skip

    async def _submit(self, report: Mapping[str, Any], single: Callable[[], Any]) -> RunReported:
        if not self.batched:
            result: RunReported = await single()
            return result
        loop = asyncio.get_running_loop()
        future: asyncio.Future[RunReported] = loop.create_future()
        item, run_context = dict(report), None
        if self._stamp is not None:  # queued from inside the run's span: its context goes along
            item.update(self._stamp())
            run_context = contextvars.copy_context()
        self._waiting.append((item, single, future, run_context))
        if self._sending is None or self._sending.done():
            # In a context of its own: the batch is not the run's that happened to start it.
            self._sending = loop.create_task(self._send_all(), context=contextvars.Context())
        return await future

    async def _send_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            try:
                outcomes = await self._api.report([report for report, _, _, _ in batch])
            except NotFoundError as exc:
                if exc.code != "route_not_found":
                    _fail(batch, exc)
                    continue
                self.batched = False  # an older gateway: each report on its own from now on
                loop = asyncio.get_running_loop()
                for _, single, future, run_context in batch:
                    _chain(loop.create_task(single(), context=run_context), future)
                continue
            except Exception as exc:  # each run decides about its own report (retry, give up)
                _fail(batch, exc)
                continue
            if len(outcomes) != len(batch):
                _fail(batch, RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} reports"))
                continue
            self.calls += 1
            self.reports += len(batch)
            for (_, _, future, _), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if outcome.error is None:
                    future.set_result(RunReported(state=outcome.state))
                else:
                    future.set_exception(refusal_error(outcome))


def _fail(batch: list[_Waiting], exc: BaseException) -> None:
    for _, _, future, _ in batch:
        if not future.done():
            future.set_exception(exc)


def _chain(source: "asyncio.Future[Any]", target: "asyncio.Future[RunReported]") -> None:
    def copy(done: "asyncio.Future[Any]") -> None:
        if target.done():
            return
        if done.cancelled():
            target.cancel()
        elif (error := done.exception()) is not None:
            target.set_exception(error)
        else:
            target.set_result(done.result())

    source.add_done_callback(copy)
