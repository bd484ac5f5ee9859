"""The engine's leases stay exact under every command, in any interleaving (issue 13).

The lifecycle machine (``test_lifecycle_properties.py``) checks the decider alone; this one drives
the ``Engine`` itself the way the service does: workers lease, report and heartbeat through it,
its timer expires leases and releases retries, and between those clients and operators submit,
cancel, pause, resume, edit, restart, reset and delete jobs, which reach the engine only when
the fold loop gets to them (it lags, and may report a state the engine already overtook).

The stream is modelled in memory (the one fake: an appender that checks each decision's
expected version against the job's history, as JetStream does). After every step:

- the engine never raised, and a lease call handed out only what the stream took;
- its indexes agree with the job states it holds: the ready queue holds exactly the jobs a worker
  may be handed now, the retry timer those waiting for their time, the leases those leased;
- once the fold loop has caught up, the engine holds exactly the live jobs at their stream
  versions, and every ready job is leasable by a matching idle worker (a worker with the job's
  labels that never voted on it is handed every one of them).
"""

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar, cast

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from conveyor_events import (
    AppendConflictError,
    Appended,
    AppendError,
    CommandPayload,
    EventAppender,
    JobCancelRequested,
    JobDeleteRequested,
    JobEdited,
    JobEvent,
    JobPauseRequested,
    JobResetRequested,
    JobResumeRequested,
    JobStartRequested,
    JobSubmitted,
    ManifestPayload,
    ManifestTask,
    PendingAppend,
    TaskReport,
)
from conveyor_events.job import JobEventBase
from conveyor_events.scheduler_api import (
    FinishRequest,
    HeartbeatRequest,
    LeaseReply,
    LeaseRequest,
    ReportBatchItem,
    ReportBatchRequest,
    ReportReply,
    ReportResult,
    StartRequest,
    TaskRequest,
)
from conveyor_scheduler.decider import LEASED, Advance, JobState, RetryPolicy, apply, decide
from conveyor_scheduler.engine import Engine
from conveyor_scheduler.workers import WorkerState

T = TypeVar("T")
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MAX_JOBS = 4
WORKERS = {"w-any": (), "w-gpu": ("gpu",), "w-gpu-linux": ("gpu", "linux")}
LABELS: list[tuple[str, ...]] = [(), (), ("gpu",), ("gpu", "linux")]

indexes = st.integers(0, 63)
worker_ids = st.sampled_from(sorted(WORKERS))
commands = st.sampled_from(["cancel", "pause", "resume", "start", "edit", "restart", "reset", "delete"])
report_kinds = st.sampled_from(["start", "finish", "finish", "task", "heartbeat"])
lease_choices = st.sampled_from(["current", "current", "current", "old", "wrong_worker"])
results: st.SearchStrategy[ReportResult] = st.sampled_from(["succeeded", "failed", "skipped"])
task_states = st.sampled_from(["running", "succeeded", "failed", "skipped"])
folds = st.sampled_from([True, True, False])  # the fold loop is usually quick to tell the engine
time_steps = st.sampled_from([0, 1, 5, 30, 61, 400]).map(lambda s: timedelta(seconds=s))


def is_ready(state: JobState) -> bool:
    """Whether a worker may be handed the job (at its retry time, if it has one): the spec."""
    return (
        state.state in ("queued", "awaiting_verification")
        and state.payload is not None
        and not (state.paused or state.cancel_requested or state.deleted)
    )


def _job_id(n: int) -> str:
    return f"0190c5a8-7b1e-7000-8000-{n:012d}"


class Stream:
    """The job subjects of the events stream: each job's history, and JetStream's optimistic
    concurrency check (an append on a stale version is refused)."""

    def __init__(self) -> None:
        self.seq = 0
        self.jobs: dict[str, JobState] = {}
        self.history: dict[str, list[JobState]] = {}
        self.on_conflict: Callable[[str], None] = lambda _job_id: None
        self.meanwhile: list[Callable[[], None]] = []  # what lands while a call awaits its round trip
        self.fail_next: Literal["lost", "stored"] | None = None  # the next append's answer never comes

    def record(self, event: JobEvent) -> JobState:
        self.seq += 1
        state = apply(self.jobs.get(event.job_id, JobState()), event, self.seq)
        self.jobs[event.job_id] = state
        self.history.setdefault(event.job_id, []).append(state)
        return state

    async def append_batch(self, items: list[PendingAppend]) -> list[Appended | AppendConflictError]:
        await asyncio.sleep(0)  # the round trip: other tasks (the fold loop) may run meanwhile
        _run_all(self.meanwhile)
        failure, self.fail_next = self.fail_next, None
        if failure == "lost":
            raise AppendError("unacknowledged: nothing stored")
        outcomes: list[Appended | AppendConflictError] = []
        for item in items:
            event = item.event
            assert isinstance(event, JobEventBase)
            current = self.jobs[event.job_id].version
            if item.expected_last_subject_seq is not None and item.expected_last_subject_seq != current:
                outcomes.append(AppendConflictError(item.subject, item.expected_last_subject_seq))
                # the newer event is on its way to the fold loop, which tells the engine soon
                asyncio.get_running_loop().call_soon(self.on_conflict, event.job_id)
                continue
            self.record(event)
            outcomes.append(Appended(self.seq))
        if failure == "stored":
            raise AppendError("unacknowledged: stored, but the acknowledgement was lost")
        return outcomes


def _run_all(callbacks: list[Callable[[], None]]) -> None:
    while callbacks:
        callbacks.pop(0)()


class Rates:
    """Projects' assignment rates: jobs of the ``limited`` project go out only while its bucket
    has tokens. Taking a token is a round trip to PostgreSQL, so the fold loop may run meanwhile."""

    def __init__(self, meanwhile: list[Callable[[], None]]) -> None:
        self.has_tokens = True
        self.meanwhile = meanwhile

    def may_assign(self, worker_id: str, project: str) -> bool:
        return True

    async def admit(self, project: str, now: datetime) -> bool:
        await asyncio.sleep(0)
        _run_all(self.meanwhile)
        return self.has_tokens or project != "limited"


class EngineLeases(RuleBasedStateMachine):
    """Workers, operators, the fold loop and the timer, interleaved against one engine."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.now = T0
        self.stream = Stream()
        self.rates = Rates(self.stream.meanwhile)
        self.ids = 0
        self.engine = Engine(
            cast(EventAppender, self.stream),
            clock=lambda: self.now,
            jitter=lambda: 0.5,
            new_id=self._new_lease_id,
            policy=RetryPolicy(base_s=2.0, cap_s=60.0),
            projects=self.rates,
        )
        self.stream.on_conflict = lambda job_id: self.engine.observe_job(self.stream.jobs[job_id])
        self.job_ids: list[str] = []
        self.labels = dict(WORKERS)  # worker id -> its labels
        self.issued: dict[str, tuple[str, str]] = {}  # lease id -> (job id, worker id)
        for n, (worker_id, labels) in enumerate(WORKERS.items(), start=1):
            self.engine.observe_worker(
                WorkerState(id=worker_id, name=worker_id, labels=labels, capacity=MAX_JOBS, version=n)
            )

    def teardown(self) -> None:
        self.loop.close()

    # plumbing

    def _new_lease_id(self) -> str:
        self.ids += 1
        return f"lease-{self.ids}"

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def _job(self, index: int) -> str:
        return self.job_ids[index % len(self.job_ids)]

    def _fold(self, job_id: str) -> None:
        """What the fold loop does with a job's new events: decide what they call for (queue,
        block, cancel, release a paused run), append it, and tell the engine once committed."""
        for _ in range(4):
            state = self.stream.jobs[job_id]
            deps = {d: self._dependency_state(d) for d in state.depends_on}
            events = decide(Advance(job_id=job_id, issued_at=self.now, dependencies=deps), state)[:1]
            if not events:
                break
            self.stream.record(events[0])  # on the version it was decided on: nothing came between
        self.engine.observe_job(self.stream.jobs[job_id])

    def _dependency_state(self, job_id: str) -> str:
        state = self.stream.jobs.get(job_id)
        return "unknown" if state is None else "deleted" if state.deleted else state.state

    def _caught_up(self) -> bool:
        """The fold loop has told the engine every job's latest state and has nothing to decide."""
        for job_id, state in self.stream.jobs.items():
            deps = {d: self._dependency_state(d) for d in state.depends_on}
            if decide(Advance(job_id=job_id, issued_at=self.now, dependencies=deps), state):
                return False
            held = self.engine.jobs.get(job_id)
            if held is not None and held.version != state.version:
                return False
            if held is None and state.state in {"queued", "awaiting_verification", *LEASED} and not state.deleted:
                return False
        return True

    def _leases_of(self, worker_id: str) -> list[str]:
        return [lease_id for lease_id, (_, w) in self.issued.items() if w == worker_id]

    # rules: clients and operators (through the stream; the engine hears of them from the fold loop)

    @initialize()
    def first_job(self) -> None:
        self.submit(0, 1, 0, depends=False, manifest=False)

    @precondition(lambda self: len(self.job_ids) < MAX_JOBS)
    @rule(
        labels=st.integers(0, len(LABELS) - 1),
        quorum=st.sampled_from([1, 1, 2]),
        retries=st.integers(0, 2),
        depends=st.booleans(),
        manifest=st.booleans(),
        limited=st.booleans(),
        folded=folds,
    )
    def submit(
        self,
        labels: int,
        quorum: int,
        retries: int,
        depends: bool,
        manifest: bool,
        limited: bool = False,
        folded: bool = False,
    ) -> None:
        job_id = _job_id(len(self.job_ids) + 1)
        payload = (
            ManifestPayload(tasks=(ManifestTask(name="build", script="make"),))
            if manifest
            else CommandPayload(command="true")
        )
        self.stream.record(
            JobSubmitted(
                event_id=f"e-{job_id}",
                job_id=job_id,
                occurred_at=self.now,
                project="limited" if limited else "demo",
                owner="alice",
                labels=LABELS[labels],
                payload=payload,
                max_retries=retries,
                lease_s=60,
                verification=quorum,
                depends_on=(self.job_ids[-1],) if depends and self.job_ids else (),
            )
        )
        self.job_ids.append(job_id)
        if folded:
            self._fold(job_id)

    @rule(
        index=indexes,
        action=commands,
        labels=st.integers(0, len(LABELS) - 1),
        priority=st.integers(-5, 5),
        folded=folds,
    )
    def someone_asks(self, index: int, action: str, labels: int, priority: int, folded: bool = False) -> None:
        """A client cancels, or an operator pauses, resumes, starts, edits (and restarts), resets or deletes."""
        job_id = self._job(index)
        eid, at = f"e-{action}-{self.stream.seq}", self.now
        events: list[JobEvent]
        match action:
            case "cancel":
                events = [JobCancelRequested(event_id=eid, job_id=job_id, occurred_at=at, reason="stop")]
            case "pause":
                events = [JobPauseRequested(event_id=eid, job_id=job_id, occurred_at=at, requested_by="ops")]
            case "resume":
                events = [JobResumeRequested(event_id=eid, job_id=job_id, occurred_at=at, requested_by="ops")]
            case "start":
                events = [JobStartRequested(event_id=eid, job_id=job_id, occurred_at=at, requested_by="ops")]
            case "edit" | "restart":
                edit = JobEdited(
                    event_id=eid, job_id=job_id, occurred_at=at, labels=LABELS[labels], priority=priority,
                    lease_s=30 + labels, requested_by="ops",
                )  # fmt: skip
                events = [edit]
                if action == "restart" and self.stream.jobs[job_id].is_terminal:
                    events.append(
                        JobResetRequested(event_id=f"{eid}-r", job_id=job_id, occurred_at=at, requested_by="ops")
                    )
            case "reset":
                events = [JobResetRequested(event_id=eid, job_id=job_id, occurred_at=at, requested_by="ops")]
            case _:
                events = [JobDeleteRequested(event_id=eid, job_id=job_id, occurred_at=at, requested_by="ops")]
        for event in events:
            self.stream.record(event)
        if folded:
            self._fold(job_id)

    # rules: the fold loop, late and out of date

    @rule(index=indexes)
    def the_fold_loop_reaches_a_job(self, index: int) -> None:
        self._fold(self._job(index))

    @rule()
    def the_fold_loop_catches_up(self) -> None:
        for _ in range(3):  # a job that ended may release its dependents, which are decided next
            for job_id in self.job_ids:
                self._fold(job_id)

    @rule(index=indexes, back=st.integers(1, 4))
    def the_fold_loop_reports_an_old_state(self, index: int, back: int) -> None:
        """A state the engine may have overtaken with its own decisions: it must be ignored."""
        history = self.stream.history[self._job(index)]
        self.engine.observe_job(history[max(0, len(history) - 1 - back)])

    # rules: workers and the timer (through the engine)

    @rule(has_tokens=st.booleans())
    def the_limited_projects_bucket_changes(self, has_tokens: bool) -> None:
        self.rates.has_tokens = has_tokens

    @rule(
        index=indexes,
        action=commands,
        labels=st.integers(0, len(LABELS) - 1),
        priority=st.integers(-5, 5),
        worker_id=worker_ids,
        n=st.integers(1, 3),
    )
    def a_command_lands_while_a_lease_call_is_in_flight(
        self, index: int, action: str, labels: int, priority: int, worker_id: str, n: int
    ) -> None:
        """The lease call picked its jobs; while it awaits a token or its append, a command on
        one of them is appended and folded (the call's decision on it is then refused)."""

        def lands() -> None:
            self.someone_asks(index, action, labels, priority)
            self._fold(self._job(index))

        self.stream.meanwhile.append(lands)
        self.a_worker_leases(worker_id, n)
        self.stream.meanwhile.clear()  # the call picked nothing and awaited nothing

    @rule(worker_id=worker_ids, n=st.integers(1, 3))
    def a_worker_leases(self, worker_id: str, n: int) -> None:
        try:
            reply = self._run(self.engine.lease(LeaseRequest(worker_id=worker_id, max=n)))
        except AppendError:
            return  # the worker's call fails (503); what the call picked is queued again
        self._granted(worker_id, reply)

    @rule(first=worker_ids, second=worker_ids, n=st.integers(1, 3), has_tokens=st.booleans())
    def two_workers_lease_at_once(self, first: str, second: str, n: int, has_tokens: bool) -> None:
        """Two lease calls interleave at each await (a token, an append): no job goes to both."""
        self.rates.has_tokens = has_tokens

        async def both() -> list[LeaseReply | BaseException]:
            calls = [self.engine.lease(LeaseRequest(worker_id=w, max=n)) for w in (first, second)]
            return await asyncio.gather(*calls, return_exceptions=True)

        granted: list[str] = []
        for worker_id, reply in zip((first, second), self._run(both()), strict=True):
            if isinstance(reply, AppendError):
                continue
            assert isinstance(reply, LeaseReply), reply
            granted += self._granted(worker_id, reply)
        assert len(granted) == len(set(granted))

    @rule(first=worker_ids, second=worker_ids, index=indexes, has_tokens=st.booleans())
    def two_workers_claim_one_job_at_once(self, first: str, second: str, index: int, has_tokens: bool) -> None:
        """Two claims of one named job (the VirtShell façade's) interleave: at most one gets it,
        and it gets nothing else."""
        self.rates.has_tokens = has_tokens
        job_id = self._job(index)

        async def both() -> list[LeaseReply | BaseException]:
            calls = [self.engine.lease(LeaseRequest(worker_id=w, job_id=job_id)) for w in (first, second)]
            return await asyncio.gather(*calls, return_exceptions=True)

        granted: list[str] = []
        for worker_id, reply in zip((first, second), self._run(both()), strict=True):
            if isinstance(reply, AppendError):
                continue
            assert isinstance(reply, LeaseReply), reply
            granted += self._granted(worker_id, reply)
        assert granted in ([], [job_id])

    def _granted(self, worker_id: str, reply: LeaseReply) -> list[str]:
        """Check what a lease call handed out against the stream, and remember the leases."""
        assert reply.error is None
        for leased in reply.leases:
            state = self.stream.jobs[leased.job_id]
            assert (state.state, state.lease_id, state.worker_id) == ("assigned", leased.lease_id, worker_id)
            assert set(state.labels) <= set(self.labels[worker_id])
            self.issued[leased.lease_id] = (leased.job_id, worker_id)
        return [leased.job_id for leased in reply.leases]

    @precondition(lambda self: self.issued)
    @rule(
        kind=report_kinds,
        index=indexes,
        choice=lease_choices,
        result=results,
        task_state=task_states,
        early=st.booleans(),
    )
    def a_worker_reports(
        self, kind: str, index: int, choice: str, result: ReportResult, task_state: str, early: bool
    ) -> None:
        """Start, finish (with or without a start reported first), a task's state, or a heartbeat,
        under the job's current lease, an older one, or as a worker that does not hold it."""
        live = [i for i, (job, _) in self.issued.items() if self.stream.jobs[job].lease_id == i]
        pool = live if choice == "current" and live else list(self.issued)
        lease_id = pool[index % len(pool)]
        job_id, worker_id = self.issued[lease_id]
        if choice == "wrong_worker":
            worker_id = next(w for w in sorted(WORKERS) if w != worker_id)
        lease = self.engine.leases.get(lease_id)
        holds = lease is not None and lease.worker_id == worker_id == self.issued[lease_id][1]
        try:
            reply = self._run(self._report(kind, worker_id, lease_id, result, task_state, early))
        except AppendError:
            return  # the report fails; the worker retries it
        if reply is None:
            return  # a heartbeat, checked on its own
        assert reply.error in (None, "lease_not_current", "unknown_task"), reply
        if not holds:
            assert reply.error == "lease_not_current"  # the lease id is a fencing token
        else:
            assert reply.error != "lease_not_current" or self.stream.jobs[job_id].lease_id != lease_id

    @precondition(lambda self: self.issued)
    @rule(
        picks=st.lists(
            st.tuples(st.sampled_from(["start", "finish", "task"]), indexes, lease_choices, results, st.booleans()),
            min_size=1,
            max_size=5,
        ),
        worker_id=worker_ids,
    )
    def a_worker_reports_a_batch(self, picks: list[tuple[str, int, str, ReportResult, bool]], worker_id: str) -> None:
        """One batched call of several starts, tasks and finishes (issue 21), some on leases the
        worker does not hold, some on the same lease twice: each item is fenced on its own."""
        live = [i for i, (job, w) in self.issued.items() if self.stream.jobs[job].lease_id == i and w == worker_id]
        items: list[ReportBatchItem] = []
        held_at_start: list[bool] = []
        for kind, index, choice, result, early in picks:
            pool = live if choice == "current" and live else list(self.issued)
            lease_id = pool[index % len(pool)]
            lease = self.engine.leases.get(lease_id)
            held_at_start.append(lease is not None and lease.worker_id == worker_id == self.issued[lease_id][1])
            if kind == "start":
                items.append(StartRequest(worker_id=worker_id, lease_id=lease_id))
            elif kind == "task":
                report = TaskReport(name="build", state="running", exit_code=None)
                items.append(TaskRequest(worker_id=worker_id, lease_id=lease_id, task=report))
            else:
                items.append(FinishRequest(
                    worker_id=worker_id, lease_id=lease_id, result=result, exit_code=0, verification="h1",
                    started_at=self.now if early else None,
                ))  # fmt: skip
        try:
            answer = self._run(self.engine.report_batch(ReportBatchRequest(worker_id=worker_id, items=tuple(items))))
        except AppendError:
            return  # the call fails as a whole; the worker sends the batch again
        assert len(answer.replies) == len(items)
        for item, held, reply in zip(items, held_at_start, answer.replies, strict=True):
            assert reply.error in (None, "lease_not_current", "unknown_task"), reply
            if not held:
                assert reply.error == "lease_not_current", (item, reply)  # each lease id fences its own item
            job = self.stream.jobs[self.issued[item.lease_id][0]]
            if reply.error is None and isinstance(item, FinishRequest):
                assert job.lease_id != item.lease_id or job.state not in LEASED, (item, job)  # the run ended
            if reply.error is None and isinstance(item, StartRequest):  # it ran under this lease
                assert any(s.lease_id == item.lease_id and s.state == "running" for s in self.stream.history[job.id])

    async def _report(
        self, kind: str, worker_id: str, lease_id: str, result: ReportResult, task_state: str, early: bool
    ) -> ReportReply | None:
        match kind:
            case "start":
                return await self.engine.start(StartRequest(worker_id=worker_id, lease_id=lease_id))
            case "finish":
                request = FinishRequest(
                    worker_id=worker_id, lease_id=lease_id, result=result, exit_code=0, verification="h1",
                    started_at=self.now if early else None,
                )  # fmt: skip
                return await self.engine.finish(request)
            case "task":
                report = TaskReport(name="build", state=task_state, exit_code=0)
                return await self.engine.task(TaskRequest(worker_id=worker_id, lease_id=lease_id, task=report))
            case _:
                beat = self.engine.heartbeat(
                    HeartbeatRequest(worker_id=worker_id, leases=tuple(self._leases_of(worker_id)))
                )
                assert beat.error is None
                stopped = {order.lease_id for order in beat.stop}
                for held in self._leases_of(worker_id):
                    job = self.engine.jobs.get(self.issued[held][0])
                    if job is not None and job.lease_id == held and not job.cancel_requested:
                        assert held not in stopped  # a lease the engine knows as current is renewed
                return None

    @rule(step=time_steps)
    def time_passes(self, step: timedelta) -> None:
        """The engine's timer: leases expire, runs time out, retries come due."""
        self.now += step
        with contextlib.suppress(AppendError):  # the timer tries again at its next tick
            self._run(self.engine.tick())

    @rule(how=st.sampled_from(["lost", "stored"]))
    def the_next_append_is_not_acknowledged(self, how: Literal["lost", "stored"]) -> None:
        """NATS does not answer the next append in time: the event was lost, or stored all the same."""
        self.stream.fail_next = how

    @precondition(lambda self: self._caught_up())
    @rule(labels=st.integers(0, len(LABELS) - 1))
    def an_idle_matching_worker_is_handed_every_ready_job(self, labels: int) -> None:
        """A new idle worker whose labels match is handed every ready job they match."""
        self.stream.fail_next = None
        self._run(self.engine.tick())  # retries whose time came are released by the timer first
        self.rates.has_tokens = True
        worker_id = f"w-new-{self.ids}-{labels}"
        self.ids += 1
        have = LABELS[labels]
        self.engine.observe_worker(WorkerState(id=worker_id, labels=have, capacity=MAX_JOBS, version=1))
        ready = {
            job_id
            for job_id, state in self.stream.jobs.items()
            if is_ready(state)
            and (state.retry_at is None or state.retry_at <= self.now)
            and set(state.labels) <= set(have)
        }
        reply = self._run(self.engine.lease(LeaseRequest(worker_id=worker_id, max=MAX_JOBS)))
        assert reply.error is None
        assert {leased.job_id for leased in reply.leases} == ready
        for leased in reply.leases:
            self.issued[leased.lease_id] = (leased.job_id, worker_id)
        self.labels[worker_id] = have

    # invariants

    @invariant()
    def the_engine_indexes_agree_with_the_states_it_holds(self) -> None:
        engine = self.engine
        queued = {job_id for job_id in self.job_ids if job_id in engine.queue}
        delayed = {job_id for job_id in self.job_ids if job_id in engine._delayed}
        assert not queued & delayed
        for job_id in queued | delayed:
            assert job_id in engine.jobs
        for job_id, state in engine.jobs.items():
            assert state.state in {"queued", "awaiting_verification", *LEASED}
            assert not state.deleted
            assert state.version <= self.stream.jobs[job_id].version
            # every job a worker may be handed is queued (or waits for its retry time): none dropped
            assert (job_id in queued or job_id in delayed) == is_ready(state)
            if job_id in delayed:
                assert state.retry_at is not None
            if state.state in LEASED:
                assert state.lease_id is not None
                lease = engine.leases[state.lease_id]
                assert (lease.job_id, lease.worker_id) == (job_id, state.worker_id)
        for lease_id, lease in engine.leases.items():
            assert engine.jobs[lease.job_id].lease_id == lease_id
        held = {lease_id for ids in engine._held.values() for lease_id in ids}
        assert held == set(engine.leases)

    @invariant()
    def once_caught_up_the_engine_holds_every_live_job_as_it_is(self) -> None:
        if not self._caught_up():
            return
        live = {
            job_id: state
            for job_id, state in self.stream.jobs.items()
            if state.state in {"queued", "awaiting_verification", *LEASED} and not state.deleted
        }
        assert {job_id: s.version for job_id, s in self.engine.jobs.items()} == {
            job_id: s.version for job_id, s in live.items()
        }
        for job_id, state in live.items():
            if is_ready(state) and (state.retry_at is None or state.retry_at <= self.now):
                assert job_id in self.engine.queue or job_id in self.engine._delayed


EngineLeases.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestEngineLeases = EngineLeases.TestCase


def test_a_job_edited_while_a_lease_call_awaits_a_token_is_not_handed_out_as_it_was() -> None:
    """A lease call picks two jobs; while it takes the first one's token, the second is given a
    label the worker lacks. The call must not hand out the second under its new spec."""
    machine = EngineLeases()
    try:
        machine.first_job()
        machine.submit(labels=0, quorum=1, retries=0, depends=False, manifest=False)
        machine.the_fold_loop_catches_up()
        machine.a_command_lands_while_a_lease_call_is_in_flight(
            index=1, action="edit", labels=2, priority=0, worker_id="w-any", n=2
        )
        machine.the_engine_indexes_agree_with_the_states_it_holds()
        machine.the_fold_loop_catches_up()
        machine.once_caught_up_the_engine_holds_every_live_job_as_it_is()
        machine.an_idle_matching_worker_is_handed_every_ready_job(labels=2)
    finally:
        machine.teardown()
