"""The lease protocol as use cases: lease jobs, heartbeat, report a run's start, its tasks and its finish.

Each one is a NATS request to the active scheduler (``conveyor_events.scheduler_api``), because
the answer depends on the scheduler's current state: is this lease still the job's? The caller has
already proved which worker it is; nothing here knows HTTP.
"""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final, TypeVar

import msgspec
from nats.errors import NoRespondersError

from conveyor_events import TaskReport, scheduler_subject
from conveyor_events.scheduler_api import (
    FinishRequest,
    HeartbeatReply,
    HeartbeatRequest,
    LeaseReply,
    LeaseRequest,
    ReportBatchItem,
    ReportBatchReply,
    ReportBatchRequest,
    ReportReply,
    StartRequest,
    TaskRequest,
)

from ..errors import (
    LeaseNotCurrentError,
    SchedulerUnavailableError,
    UnauthenticatedError,
    UnknownTaskError,
    VerificationRequiredError,
    WorkerPausedError,
)
from .bodies import JobView
from .context import State
from .worker_bodies import (
    FinishReport,
    Heartbeat,
    HeartbeatAnswer,
    LeaseAsk,
    LeaseView,
    ReportOutcome,
    ReportRefusal,
    RunFinish,
    RunReport,
    StartReport,
    StopView,
)
from .worker_status import WorkerStatus

R = TypeVar("R", bound=msgspec.Struct)

CALL_TIMEOUT_S: Final = 5.0
# A lease call waits up to wait_s in the scheduler; this is the margin for the round trip on top.
LEASE_GRACE_S: Final = 5.0
NO_RESPONDERS_RETRY_S: Final = 0.1
_encoder: Final = msgspec.json.Encoder()
_job_decoder: Final = msgspec.json.Decoder(JobView)
_LEASE_LOST: Final = (
    "this lease is no longer the job's: it expired, was cancelled or reassigned; stop the run and lease again"
)


async def call_scheduler(state: State, call: str, ask: msgspec.Struct, reply_type: type[R], timeout_s: float) -> R:
    """One request/reply round trip to the scheduler.

    A scheduler failover leaves a moment in which no scheduler listens (the new leader catches
    up with the stream before it serves calls). "No responders" means nobody received the
    request, so it is sent again every ``NO_RESPONDERS_RETRY_S`` until ``timeout_s`` runs out:
    a worker's call rides through a failover instead of failing.

    Raises:
        SchedulerUnavailableError: No scheduler listens, or it did not answer within ``timeout_s``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    payload = _encoder.encode(ask)
    while True:
        try:
            msg = await state["requester"].request(scheduler_subject(call), payload, max(0.01, deadline - loop.time()))
        except NoRespondersError:
            if deadline - loop.time() <= NO_RESPONDERS_RETRY_S:
                raise SchedulerUnavailableError("no scheduler is running; retry shortly") from None
            await asyncio.sleep(NO_RESPONDERS_RETRY_S)
            continue
        except TimeoutError:
            raise SchedulerUnavailableError(f"the scheduler did not answer within {timeout_s:g} s") from None
        return msgspec.json.decode(msg.data, type=reply_type)


_REJECTIONS: Final = {
    "unknown_task": UnknownTaskError,
    "unknown_task_state": UnknownTaskError,
    "verification_required": VerificationRequiredError,
}


def raise_for(state: State, worker_id: str, error: str | None, detail: str | None = None) -> None:
    """Turn a scheduler error code into the gateway's error; unknown codes are bugs (500)."""
    if error is None:
        return
    if error in _REJECTIONS:
        raise _REJECTIONS[error](detail or error)
    if error in ("unknown_worker", "worker_deleted"):
        state["auth"].forget(worker_id)
        raise UnauthenticatedError("the scheduler does not know this worker (deleted, or not registered)")
    if error == "worker_paused":
        raise WorkerPausedError(f"worker {worker_id} is paused; it gets no jobs until it is resumed")
    if error == "lease_not_current":
        raise LeaseNotCurrentError(_LEASE_LOST)
    raise RuntimeError(f"the scheduler answered with an unknown error code {error!r}")


async def lease(state: State, worker_id: str, ask: LeaseAsk) -> list[LeaseView]:
    """Up to ``ask.max`` jobs for ``worker_id``, waiting up to ``ask.wait_s`` for one.

    Raises:
        SchedulerUnavailableError: No scheduler answered.
        WorkerPausedError: The worker is paused.
        UnauthenticatedError: The scheduler does not know the worker.
    """
    return [view for view, _ in await lease_numbered(state, worker_id, ask)]


class _Numbered(msgspec.Struct):
    submitted_seq: int = 0


_numbered_decoder: Final = msgspec.json.Decoder(_Numbered)


async def lease_numbered(
    state: State, worker_id: str, ask: LeaseAsk, project: str | None = None
) -> list[tuple[LeaseView, int]]:
    """``lease``, with each job's ``submitted_seq`` (the façades' integer task id); ``project``
    restricts it to that project's jobs (task_tracker's ``/task/get/:project``).

    Raises:
        As ``lease``.
    """
    lease_ask = LeaseRequest(worker_id=worker_id, max=ask.max, wait_s=ask.wait_s, project=project)
    reply = await call_scheduler(state, "lease", lease_ask, LeaseReply, ask.wait_s + LEASE_GRACE_S)
    raise_for(state, worker_id, reply.error)
    return [
        (
            LeaseView(
                lease_id=lj.lease_id,
                attempt=lj.attempt,
                lease_s=lj.lease_s,
                job=_job_decoder.decode(lj.job),
                traceparent=lj.traceparent,
                tracestate=lj.tracestate,
            ),
            _numbered_decoder.decode(lj.job).submitted_seq,
        )
        for lj in reply.leases
    ]


async def claim(state: State, worker_id: str, job_id: str) -> LeaseView | None:
    """Lease the job ``job_id`` to ``worker_id`` if it is queued now and the worker may run it;
    None when it is not (another claim or worker took it first, or it is not ready). The
    scheduler decides, so of two claims of one job at most one gets it.

    Raises:
        SchedulerUnavailableError: No scheduler answered.
        WorkerPausedError: The worker is paused.
        UnauthenticatedError: The scheduler does not know the worker.
    """
    reply = await call_scheduler(state, "lease", LeaseRequest(worker_id=worker_id, job_id=job_id), LeaseReply,
                                 CALL_TIMEOUT_S)  # fmt: skip
    raise_for(state, worker_id, reply.error)
    return next(
        (LeaseView(lease_id=lj.lease_id, attempt=lj.attempt, lease_s=lj.lease_s, job=_job_decoder.decode(lj.job))
         for lj in reply.leases),
        None,
    )  # fmt: skip


async def heartbeat(state: State, worker_id: str, beat: Heartbeat) -> HeartbeatAnswer:
    """Renew the leases ``worker_id`` holds, record its liveness and load, and say what to stop."""
    ask = HeartbeatRequest(worker_id=worker_id, leases=tuple(lease.lower() for lease in beat.leases))
    reply = await call_scheduler(state, "heartbeat", ask, HeartbeatReply, CALL_TIMEOUT_S)
    raise_for(state, worker_id, reply.error)
    await record_status(state, worker_id, beat)
    stop = [StopView(lease_id=s.lease_id, reason=s.reason) for s in reply.stop]
    return HeartbeatAnswer(stop=stop, lease_s=reply.lease_s)


async def record_status(state: State, worker_id: str, beat: Heartbeat) -> None:
    """Record that ``worker_id`` was seen now, with its load and memory (what ``GET /v1/workers`` shows)."""
    status = WorkerStatus(
        last_seen_at=datetime.now(UTC),
        load=beat.load,
        memory_free_mb=beat.memory_free_mb,
        memory_total_mb=beat.memory_total_mb,
    )
    await state["statuses"].put(worker_id, status)


async def start_run(state: State, worker_id: str, lease_id: str) -> str | None:
    """The run under ``lease_id`` began; returns the job's state after the report.

    Raises:
        LeaseNotCurrentError: The lease is no longer the job's.
    """
    reply = await call_scheduler(state, "start", StartRequest(worker_id=worker_id, lease_id=lease_id), ReportReply,
                                 CALL_TIMEOUT_S)  # fmt: skip
    raise_for(state, worker_id, reply.error)
    return reply.state


async def finish_run(state: State, worker_id: str, lease_id: str, done: RunFinish) -> str | None:
    """The run under ``lease_id`` ended with ``done.result`` (its tasks' last states reported first);
    returns the job's state.

    Raises:
        LeaseNotCurrentError: The lease is no longer the job's.
        VerificationRequiredError: The job needs a verification hash and none was given.
    """
    ask = FinishRequest(
        worker_id=worker_id,
        lease_id=lease_id,
        result=done.result,
        exit_code=done.exit_code,
        verification=done.verification,
        started_at=done.started_at,
    )
    for task in done.tasks:  # the tasks' last states first: they belong to the run being closed
        await report_task(state, worker_id, lease_id, TaskReport(name=task.name, state=task.state,
                                                                 exit_code=task.exit_code))  # fmt: skip
    reply = await call_scheduler(state, "finish", ask, ReportReply, CALL_TIMEOUT_S)
    raise_for(state, worker_id, reply.error, reply.detail)
    return reply.state


async def report_task(state: State, worker_id: str, lease_id: str, task: TaskReport) -> str | None:
    """A manifest task of the run under ``lease_id`` changed state; returns the job's state.

    Raises:
        UnknownTaskError: The job has no such task, or the state is not one.
        LeaseNotCurrentError: The lease is no longer the job's.
    """
    ask = TaskRequest(worker_id=worker_id, lease_id=lease_id, task=task)
    reply = await call_scheduler(state, "task", ask, ReportReply, CALL_TIMEOUT_S)
    raise_for(state, worker_id, reply.error, reply.detail)
    return reply.state


_BUSY: Final = "the job changed under this report too often; send it again"
# A refused report of a batch carries the code its single call's problem would (errors.py).
_REFUSALS: Final = {
    "lease_not_current": (LeaseNotCurrentError.code, _LEASE_LOST),
    "unknown_task": (UnknownTaskError.code, "the job has no such task"),
    "unknown_task_state": (UnknownTaskError.code, "not a task state"),
    "verification_required": (VerificationRequiredError.code, "this job needs a verification hash"),
    "busy": ("scheduler_busy", _BUSY),
}


def _item(worker_id: str, report: RunReport) -> ReportBatchItem:
    """The scheduler's item for one report; its trace context (its run's) travels with it."""
    lease_id, parent, state = report.lease_id.lower(), report.traceparent, report.tracestate
    if isinstance(report, StartReport):
        return StartRequest(worker_id=worker_id, lease_id=lease_id, traceparent=parent, tracestate=state)
    if isinstance(report, FinishReport):
        return FinishRequest(
            worker_id=worker_id, lease_id=lease_id, result=report.result, exit_code=report.exit_code,
            verification=report.verification, started_at=report.started_at, traceparent=parent, tracestate=state,
        )  # fmt: skip
    task = TaskReport(name=report.name, state=report.state, exit_code=report.exit_code)
    return TaskRequest(worker_id=worker_id, lease_id=lease_id, task=task, traceparent=parent, tracestate=state)


def _outcome(state: State, worker_id: str, lease_id: str, reply: ReportReply) -> ReportOutcome:
    if reply.error is None:
        return ReportOutcome(lease_id=lease_id, state=reply.state)
    if reply.error not in _REFUSALS:
        raise_for(state, worker_id, reply.error, reply.detail)  # the worker's own standing: the whole call fails
    code, detail = _REFUSALS[reply.error]
    return ReportOutcome(lease_id=lease_id, error=ReportRefusal(code=code, detail=reply.detail or detail))


async def _send_batch(state: State, worker_id: str, items: list[ReportBatchItem]) -> list[ReportReply]:
    ask = ReportBatchRequest(worker_id=worker_id, items=tuple(items))
    reply = await call_scheduler(state, "reports", ask, ReportBatchReply, CALL_TIMEOUT_S)
    if len(reply.replies) != len(items):
        raise SchedulerUnavailableError("the scheduler does not take batched reports yet; retry shortly")
    return list(reply.replies)


async def report_batch(state: State, worker_id: str, reports: Sequence[RunReport]) -> list[ReportOutcome]:
    """Several run reports of ``worker_id`` in one scheduler call; one outcome per report, in order.

    Each report is fenced by its own lease and accepted or refused on its own (a refusal is an
    outcome, not an error); reports on one lease are applied in the order given. A finish that
    carries its tasks' last states reports those first, in a call before the others, and is
    refused (unsent) when one of them is, as ``finish_run`` is.

    Raises:
        SchedulerUnavailableError: No scheduler answered (nothing may have been applied, or some:
            each report is idempotent under its lease, so the worker sends the batch again).
        UnauthenticatedError: The scheduler does not know the worker.
    """
    outcomes: list[ReportOutcome | None] = [None] * len(reports)
    task_items: list[tuple[int, ReportBatchItem]] = [
        (n, TaskRequest(worker_id=worker_id, lease_id=r.lease_id.lower(),
                        task=TaskReport(name=t.name, state=t.state, exit_code=t.exit_code),
                        traceparent=r.traceparent, tracestate=r.tracestate))
        for n, r in enumerate(reports) if isinstance(r, FinishReport) for t in r.tasks
    ]  # fmt: skip
    if task_items:
        replies = await _send_batch(state, worker_id, [item for _, item in task_items])
        for (n, item), reply in zip(task_items, replies, strict=True):
            if reply.error is not None and outcomes[n] is None:
                outcomes[n] = _outcome(state, worker_id, item.lease_id, reply)
    wanted = [n for n in range(len(reports)) if outcomes[n] is None]
    items = [_item(worker_id, reports[n]) for n in wanted]
    if items:
        for n, item, reply in zip(wanted, items, await _send_batch(state, worker_id, items), strict=True):
            outcomes[n] = _outcome(state, worker_id, item.lease_id, reply)
    return [o for o in outcomes if o is not None]
