"""The scheduler's working state and the decisions that need an answer now or on a timer.

The fold loop tells the engine about every job and worker state it commits (``observe_*``);
the engine hands out leases, checks reports against the current lease (the fencing token),
renews leases on heartbeats, and expires leases, times out runs and releases retries on its
timer. Every decision is appended with the job's version as the expected subject sequence, so a
decision made on a stale view is refused by the stream instead of applied twice; the fold loop
projects the engine's events into PostgreSQL like any other.
"""

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

import msgspec

from conveyor_events import Appended, EventAppender, JobAssigned, JobEvent, PendingAppend, job_subject
from conveyor_events.scheduler_api import (
    FinishRequest,
    HeartbeatReply,
    HeartbeatRequest,
    LeasedJob,
    LeaseReply,
    LeaseRequest,
    ReportBatchItem,
    ReportBatchReply,
    ReportBatchRequest,
    ReportReply,
    StartRequest,
    StopOrder,
    TaskRequest,
)
from conveyor_events.states import LEASED, READY
from conveyor_runtime import get_logger

from .compact import Compactor
from .decider import (
    Assign,
    Command,
    ExpireLease,
    JobState,
    ReleaseLease,
    ReportFinish,
    ReportStart,
    ReportTask,
    RetryPolicy,
    TimeOut,
    apply,
    decide,
)
from .errors import LeaseNotCurrentError, ReportRejectedError
from .job_traces import JobTraces
from .project_policy import ProjectPolicy
from .ready_queue import DelayedJobs, FairShare, ReadyQueue, RecentUsage
from .workers import WorkerState

_log = get_logger("engine")
_encoder: Final = msgspec.json.Encoder()
_ENDED_MEMORY: Final = 10_000
_GONE_MEMORY: Final = 200_000  # far more jobs than end while the fold loop lags a few seconds
_LIVE: Final = READY | LEASED
_NOBODY: Final[frozenset[str]] = frozenset()  # shared: most jobs exclude no worker
WORKER_PAUSED: Final = "worker_paused"
_END_REASONS: Final = {
    "cancelled": "cancelled",
    "timed_out": "timed_out",
    "queued": "lease_lost",
}


def is_ready(state: JobState) -> bool:
    """Whether a worker may be handed the job (now, or at its retry time): the one rule for what
    the ready queue holds, the same as the decider's for an ``Assign``."""
    return (
        state.state in READY
        and not state.is_group
        and not state.paused
        and not state.cancel_requested
        and not state.deleted
    )


def _why_lease_ended(state: JobState) -> str:
    """What a worker still running under an ended lease is told (its stop order's reason)."""
    if state.deleted:
        return "deleted"
    if state.paused:
        return "paused"
    if state.reason == WORKER_PAUSED:
        return WORKER_PAUSED
    if state.state in ("submitted", "queued") and state.attempts == 0:
        return "reset"  # only a reset clears the attempts of a job that was leased
    return _END_REASONS.get(state.state, "finished")


class Lease(msgspec.Struct, kw_only=True):
    """A live lease and when it lapses unless renewed."""

    lease_id: str
    job_id: str
    worker_id: str
    expires_at: datetime


class Engine:
    """Live jobs, workers and leases, and the decisions made on them.

    Args:
        appender: Appends decision events.
        clock: The current UTC time.
        jitter: A number in [0, 1) for retry backoff.
        new_id: A new lease id.
        policy: Retry backoff.
        traces: The jobs' trace contexts (assignments and timer decisions continue them).
    """

    def __init__(
        self,
        appender: EventAppender,
        *,
        clock: Callable[[], datetime],
        jitter: Callable[[], float],
        new_id: Callable[[], str],
        policy: RetryPolicy,
        fair: FairShare | None = None,
        usage_half_life_s: float = 60.0,
        projects: ProjectPolicy | None = None,
        traces: JobTraces | None = None,
    ) -> None:
        self._appender = appender
        self._traces = traces or JobTraces()
        self._clock = clock
        self._jitter = jitter
        self._new_id = new_id
        self._policy = policy
        self.jobs: dict[str, JobState] = {}
        self.workers: dict[str, WorkerState] = {}
        self.leases: dict[str, Lease] = {}
        self._held: dict[str, set[str]] = {}  # worker id -> lease ids
        self._usage = RecentUsage(half_life_s=usage_half_life_s)  # fair share: recent assignments
        self._ended: OrderedDict[str, str] = OrderedDict()  # lease id -> why it ended
        self._gone: OrderedDict[str, int] = OrderedDict()  # job id -> last version, for jobs that left
        self.queue = ReadyQueue(fair)
        self._delayed = DelayedJobs()
        self._work = asyncio.Event()
        self._changed: dict[str, asyncio.Event] = {}
        self._closing = False
        self._projects = projects  # paused projects and assignment rates (issue 7)
        self._compact = Compactor()

    # --- what the fold loop reports -------------------------------------------------------

    def observe_job(self, state: JobState) -> None:
        """A committed job state; older than what the engine knows is ignored.

        The fold loop lags the engine's own decisions: it may report a job as assigned after the
        engine already saw it finish. Jobs that left the engine keep their last version here, so
        such a report cannot bring back a finished job or its lease.
        """
        known = self.jobs.get(state.id)
        known_version = known.version if known is not None else self._gone.get(state.id, 0)
        if state.version > known_version:
            self._set_job(state)

    def observe_worker(self, worker: WorkerState) -> None:
        if worker.exists:
            self.workers[worker.id] = worker
        else:
            self.workers.pop(worker.id, None)

    def _set_job(self, state: JobState) -> None:
        """Hold the job's new state and place it in exactly the indexes that state calls for."""
        job_id = state.id
        previous = self.jobs.get(job_id)
        self.queue.remove(job_id)
        self._delayed.remove(job_id)
        if state.state in _LIVE and not state.deleted:
            state = self._compact(state, previous)  # a million may be queued: share what repeats
            self.jobs[job_id] = state
            self._gone.pop(job_id, None)
        else:
            self.jobs.pop(job_id, None)
            self._gone[job_id] = state.version
            while len(self._gone) > _GONE_MEMORY:
                self._gone.popitem(last=False)
        if previous is not None and previous.lease_id and previous.lease_id != state.lease_id:
            self._end_lease(previous.lease_id, _why_lease_ended(state))
        if state.state in LEASED and state.lease_id and state.lease_id not in self.leases:
            self._start_lease(state)
        if self._place(state):
            self._wake()
        changed = self._changed.pop(job_id, None)
        if changed is not None:
            changed.set()

    def _place(self, state: JobState) -> bool:
        """Queue a job a worker may be handed (or hold it until its retry time); True if queued."""
        if not is_ready(state):
            return False
        if state.retry_at is not None and state.retry_at > self._clock():
            self._delayed.add(state.id, state.retry_at)
            return False
        self.queue.add(
            state.id,
            state.labels,
            state.priority,
            state.submitted_seq,
            project=state.project,
            owner=state.owner,
            queued_at=state.updated_at,
            excluded=frozenset(v.worker_id for v in state.votes) if state.votes else _NOBODY,
        )
        return True

    def _put_back(self, job_id: str) -> None:
        """A job a lease call picked but did not hand out goes back where its current state
        belongs, without waking the lease calls (they would pick it again at once and spin).

        A job the call did hand out, or that changed or left meanwhile, is already placed.
        """
        state = self.jobs.get(job_id)
        if state is not None and job_id not in self.queue and job_id not in self._delayed:
            self._place(state)

    def _start_lease(self, state: JobState) -> None:
        assert state.lease_id is not None and state.worker_id is not None
        expires = self._clock() + timedelta(seconds=state.lease_s)
        self.leases[state.lease_id] = Lease(
            lease_id=state.lease_id,
            job_id=state.id,
            worker_id=state.worker_id,
            expires_at=expires,
        )
        self._held.setdefault(state.worker_id, set()).add(state.lease_id)

    def _end_lease(self, lease_id: str, reason: str) -> None:
        lease = self.leases.pop(lease_id, None)
        if lease is not None:
            self._held.get(lease.worker_id, set()).discard(lease_id)
        self._ended[lease_id] = reason
        while len(self._ended) > _ENDED_MEMORY:
            self._ended.popitem(last=False)

    def stop_waiting(self) -> None:
        """The scheduler is stepping down: lease calls grant nothing more and waiting ones answer
        now, so a worker's long poll (up to a minute) does not hold up the hand-over."""
        self._closing = True
        self._wake()

    def _wake(self) -> None:
        self._work.set()
        self._work = asyncio.Event()

    # --- worker calls -----------------------------------------------------------------------

    async def lease(self, req: LeaseRequest) -> LeaseReply:
        """Hand out up to ``req.max`` jobs, waiting up to ``req.wait_s`` for the first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, req.wait_s)
        while True:
            if self._closing:
                return LeaseReply()
            worker = self.workers.get(req.worker_id)
            if worker is None:
                return LeaseReply(error="unknown_worker")
            if worker.mode == "paused":
                return LeaseReply(error="worker_paused")
            free = worker.capacity - len(self._held.get(worker.id, ()))
            if worker.mode == "draining" or free <= 0:
                return LeaseReply()
            if req.job_id is not None:  # a claim of one job: now or never, no waiting
                return LeaseReply(leases=tuple(await self._assign(worker, 1, job_id=req.job_id)))
            granted = await self._assign(worker, min(req.max, free), only=req.project)
            remaining = deadline - loop.time()
            if granted or remaining <= 0:
                return LeaseReply(leases=tuple(granted))
            work = self._work
            try:
                await asyncio.wait_for(work.wait(), remaining)
            except TimeoutError:
                return LeaseReply()

    def wake_lease_calls(self) -> None:
        """Let waiting lease calls look again (a project resumed, or its rate bucket refilled)."""
        self._wake()

    async def _assign(
        self, worker: WorkerState, n: int, *, job_id: str | None = None, only: str | None = None
    ) -> list[LeasedJob]:
        now = self._clock()
        policy = self._projects

        def allowed(project: str) -> bool:
            return (only is None or project == only) and (policy is None or policy.may_assign(worker.id, project))

        if job_id is not None:
            picked = (
                [job_id] if self.queue.take_job(job_id, worker.labels, worker_id=worker.id, allowed=allowed) else []
            )
        else:
            picked = self.queue.take(
                worker.labels, n, now=now, held=self._recent_use, allowed=allowed, worker_id=worker.id
            )
        # Decided on the states they had when picked, whatever the fold loop brings while this call
        # awaits a project's token: a job edited (new labels), paused or deleted meanwhile has a
        # newer version, so the stream refuses its assignment.
        states = [job for job_id in picked if (job := self.jobs.get(job_id)) is not None]
        try:
            plans: list[tuple[JobState, JobEvent]] = []
            for job in states:
                if policy is not None and not await policy.admit(job.project, now):
                    continue
                command = Assign(job_id=job.id, lease_id=self._new_id(), worker_id=worker.id, issued_at=now)
                events = decide(command, job)
                if events:
                    plans.append((job, events[0]))
            granted: list[LeasedJob] = []
            with self._traces.deciding("assign", [job.id for job, _ in plans]) as traced:
                for (_, new), carried in zip(await self._append(plans, traced), traced, strict=True):
                    if new is None:
                        continue  # overtaken: the fold loop will tell us what the job is now
                    granted.append(
                        LeasedJob(
                            lease_id=new.lease_id or "",
                            job_id=new.id,
                            attempt=new.attempts,
                            lease_s=new.lease_s,
                            job=msgspec.Raw(_encoder.encode(new)),
                            traceparent=carried.get("traceparent") if carried else None,
                            tracestate=carried.get("tracestate") if carried else None,
                        )
                    )
            return granted
        finally:
            # Whatever this call did not hand out (refused by its project's rate, overtaken, or the
            # call failed or was cancelled half-way) is queued again as its current state says.
            for job_id in picked:
                self._put_back(job_id)

    def _recent_use(self, project: str, owner: str) -> tuple[float, float]:
        """Recent assignments of a project and of an owner (the fair-share input)."""
        now = self._clock()
        return self._usage.value(f"p:{project}", now), self._usage.value(f"o:{owner}", now)

    def heartbeat(self, req: HeartbeatRequest) -> HeartbeatReply:
        """Renew the worker's leases; list the ones it must stop."""
        worker = self.workers.get(req.worker_id)
        if worker is None:
            return HeartbeatReply(error="unknown_worker")
        now = self._clock()
        stop: list[StopOrder] = []
        for lease_id in req.leases:
            lease = self.leases.get(lease_id)
            if lease is None or lease.worker_id != worker.id:
                stop.append(StopOrder(lease_id=lease_id, reason=self._ended.get(lease_id, "lease_lost")))
                continue
            job = self.jobs.get(lease.job_id)
            lease.expires_at = now + timedelta(seconds=job.lease_s if job else 60)
            if job is not None and job.cancel_requested:
                stop.append(StopOrder(lease_id=lease_id, reason="cancelled"))
        held = [job.lease_s for i in self._held.get(worker.id, ()) if (job := self._leased_job(i)) is not None]
        lease_s = min(held, default=0)
        return HeartbeatReply(stop=tuple(stop), lease_s=lease_s)

    async def start(self, req: StartRequest) -> ReportReply:
        return await self._report(req.worker_id, req.lease_id, lambda job, at: ReportStart(
            job_id=job.id, lease_id=req.lease_id, issued_at=at
        ))  # fmt: skip

    async def task(self, req: TaskRequest) -> ReportReply:
        return await self._report(req.worker_id, req.lease_id, lambda job, at: ReportTask(
            job_id=job.id, lease_id=req.lease_id, task=req.task, issued_at=at
        ))  # fmt: skip

    async def finish(self, req: FinishRequest) -> ReportReply:
        return await self._report(req.worker_id, req.lease_id, lambda job, at: ReportFinish(
            job_id=job.id, lease_id=req.lease_id, result=req.result, exit_code=req.exit_code, issued_at=at,
            verification=req.verification, jitter=self._jitter(), policy=self._policy, started_at=req.started_at,
        ))  # fmt: skip

    def _command_for(self, item: ReportBatchItem) -> Callable[[JobState, datetime], Command]:
        """How to build the decider's command for one report (start, task or finish)."""
        match item:
            case StartRequest():
                return lambda job, at: ReportStart(job_id=job.id, lease_id=item.lease_id, issued_at=at)
            case TaskRequest():
                return lambda job, at: ReportTask(job_id=job.id, lease_id=item.lease_id, task=item.task, issued_at=at)
            case FinishRequest():
                return lambda job, at: ReportFinish(
                    job_id=job.id, lease_id=item.lease_id, result=item.result, exit_code=item.exit_code, issued_at=at,
                    verification=item.verification, jitter=self._jitter(), policy=self._policy,
                    started_at=item.started_at,
                )  # fmt: skip

    async def report_batch(self, req: ReportBatchRequest) -> ReportBatchReply:
        """Several reports of one worker, each fenced by its lease and answered on its own.

        The reports are decided in waves: a wave holds at most one report per lease (a lease's
        later reports wait for the next wave, so they are decided on the state the earlier one
        reached), and the events of a wave go to the stream in one pipelined ``append_batch``
        per step (a finish that carries its start is two steps: ``JobStarted``, then the end).
        So a batch costs the stream a few round trips, not one per report, and its events land
        side by side, folded by the fold loop in one transaction. A report overtaken by another
        event is decided again on its own, as a single report is.

        With tracing on, each report's events carry the context of its own span, under its run's
        trace (``JobTraces.reporting``), not the call's.
        """
        replies: list[ReportReply | None] = [None] * len(req.items)
        pending = list(range(len(req.items)))
        with self._traces.reporting(req.items) as contexts:
            while pending:
                wave: list[int] = []
                later: list[int] = []
                seen: set[str] = set()
                for i in pending:
                    lease_id = req.items[i].lease_id
                    (later if lease_id in seen else wave).append(i)
                    seen.add(lease_id)
                await self._report_wave(req, wave, replies, contexts)
                pending = later
        return ReportBatchReply(replies=tuple(r if r is not None else ReportReply(error="internal") for r in replies))

    async def _report_wave(
        self,
        req: ReportBatchRequest,
        wave: list[int],
        replies: list[ReportReply | None],
        contexts: Sequence[Mapping[str, str] | None] | None,
    ) -> None:
        """Decide one report per lease; append their events step by step, each step in one batch.

        ``contexts``: each report's trace context (by item index), or ``None`` when not tracing."""
        chains: list[tuple[int, JobState, list[JobEvent]]] = []  # item, the job as decided on, its events
        for i in wave:
            item = req.items[i]
            lease = self.leases.get(item.lease_id)
            job = self._leased_job(item.lease_id)
            if item.worker_id != req.worker_id or lease is None or job is None or lease.worker_id != req.worker_id:
                replies[i] = ReportReply(error="lease_not_current")
                continue
            try:
                events = decide(self._command_for(item)(job, self._clock()), job)
            except LeaseNotCurrentError:
                replies[i] = ReportReply(error="lease_not_current")
                continue
            except ReportRejectedError as exc:
                replies[i] = ReportReply(error=exc.code, detail=exc.detail)
                continue
            if not events:
                replies[i] = ReportReply(state=job.state)
                continue
            chains.append((i, job, events))
        overtaken: list[int] = []
        while chains:
            own = None if contexts is None else [contexts[i] for i, _, _ in chains]
            outcomes = await self._append([(current, events[0]) for _, current, events in chains], own)
            following: list[tuple[int, JobState, list[JobEvent]]] = []
            for (i, _, events), (_, new) in zip(chains, outcomes, strict=True):
                if new is None:
                    overtaken.append(i)
                elif len(events) > 1:
                    following.append((i, new, events[1:]))
                else:
                    replies[i] = ReportReply(state=new.state)
            chains = following
        for i in overtaken:  # rare: decided again on the newer state, the single report's way
            item = req.items[i]
            carried = None if contexts is None else contexts[i]
            replies[i] = await self._report(req.worker_id, item.lease_id, self._command_for(item), carried)

    async def _report(
        self,
        worker_id: str,
        lease_id: str,
        build: Callable[[JobState, datetime], Command],
        headers: Mapping[str, str] | None = None,
    ) -> ReportReply:
        """Decide and append one report; ``headers``: its events' own trace context, if any (else
        the appender's stamp: the call's)."""
        for _ in range(5):
            lease = self.leases.get(lease_id)
            job = self._leased_job(lease_id)
            if lease is None or job is None or lease.worker_id != worker_id:
                return ReportReply(error="lease_not_current")
            try:
                events = decide(build(job, self._clock()), job)
            except LeaseNotCurrentError:
                return ReportReply(error="lease_not_current")
            except ReportRejectedError as exc:
                return ReportReply(error=exc.code, detail=exc.detail)
            if not events:
                return ReportReply(state=job.state)
            current = job
            for event in events:  # in order, each on the version the one before reached
                [(_, outcome)] = await self._append([(current, event)], None if headers is None else [headers])
                if outcome is None:
                    break
                current = outcome
            else:
                return ReportReply(state=current.state)
            if current is job:
                await self._await_change(job.id, 2.0)  # overtaken: decide again on the newer state
        return ReportReply(error="busy")

    def _leased_job(self, lease_id: str) -> JobState | None:
        """The job a live lease is for, while it holds that lease."""
        lease = self.leases.get(lease_id)
        job = None if lease is None else self.jobs.get(lease.job_id)
        return job if job is not None and job.lease_id == lease_id else None

    async def _await_change(self, job_id: str, timeout_s: float) -> None:
        event = self._changed.setdefault(job_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)

    async def _append(
        self, plans: list[tuple[JobState, JobEvent]], headers: Sequence[Mapping[str, str] | None] | None = None
    ) -> list[tuple[JobState, JobState | None]]:
        """Append each event on its job's version; fold successes in. ``None`` marks a conflict.

        ``headers``: each event's own (its job's trace context); by default the appender's stamp
        (the context of the call being served)."""
        if not plans:
            return []
        own = headers or [None] * len(plans)
        pending = [
            PendingAppend(job_subject(job.id), event, job.version, carried)
            for (job, event), carried in zip(plans, own, strict=True)
        ]
        outcomes = await self._appender.append_batch(pending)
        results: list[tuple[JobState, JobState | None]] = []
        for (job, event), outcome in zip(plans, outcomes, strict=True):
            if isinstance(outcome, Appended):
                new = apply(job, event, outcome.seq)
                self.observe_job(new)
                if isinstance(event, JobAssigned):
                    self._usage.add(f"p:{job.project}", new.updated_at)
                    self._usage.add(f"o:{job.owner}", new.updated_at)
                results.append((job, new))
            else:
                _log.info("decision_overtaken", job_id=job.id, expected=job.version)
                results.append((job, None))
        return results

    # --- the timer --------------------------------------------------------------------------

    async def tick(self) -> None:
        """Expire unrenewed leases, time out long runs, release retries that are due."""
        now = self._clock()
        for job_id in self._delayed.pop_due(now):
            job = self.jobs.get(job_id)
            if job is not None:
                self._set_job(job)
        plans: list[tuple[JobState, JobEvent]] = []
        for lease in list(self.leases.values()):
            job = self.jobs.get(lease.job_id)
            if job is None or job.lease_id != lease.lease_id:
                continue
            worker = self.workers.get(lease.worker_id)
            command = _timer_command(job, lease, now, self._jitter(), self._policy)
            if command is None and worker is not None and worker.mode == "paused":
                # A paused worker's runs are taken back, uncounted, to run elsewhere; its next
                # heartbeat tells it to stop them (drain is the mode that lets them finish).
                command = ReleaseLease(job_id=job.id, lease_id=lease.lease_id, reason=WORKER_PAUSED, issued_at=now)
            if command is not None:
                try:
                    events: list[JobEvent] = decide(command, job)
                except LeaseNotCurrentError:
                    continue
                if events:
                    plans.append((job, events[0]))
        with self._traces.deciding("timer", [job.id for job, _ in plans]) as traced:
            await self._append(plans, traced)


def _timer_command(job: JobState, lease: Lease, now: datetime, jitter: float, policy: RetryPolicy) -> Command | None:
    if lease.expires_at <= now:
        return ExpireLease(job_id=job.id, lease_id=lease.lease_id, issued_at=now, jitter=jitter, policy=policy)
    if (
        job.state == "running"
        and job.timeout_s is not None
        and job.started_at is not None
        and job.started_at + timedelta(seconds=job.timeout_s) <= now
    ):
        return TimeOut(job_id=job.id, lease_id=lease.lease_id, issued_at=now)
    return None
