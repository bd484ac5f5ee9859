"""Folding event batches into job and worker states, and appending the decisions they call for."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

from conveyor_events import (
    AppendConflictError,
    Event,
    EventAppender,
    JobDependenciesSet,
    JobEvent,
    JobSubmitted,
    JobSucceeded,
    PendingAppend,
    WorkerEvent,
    decode_event,
    job_subject,
)
from conveyor_events.job import JobEventBase
from conveyor_events.subjects import EVENTS_PREFIX
from conveyor_events.worker import WorkerEventBase
from conveyor_runtime import DbConnection, StreamEvent, decode_batch, get_logger

from .chaining import chained_copy
from .decider import Advance, JobState, apply, decide
from .job_traces import JobTraces
from .projection import JobTable
from .workers import WorkerState, apply_worker

_log = get_logger("scheduler")
_MAX_DECISION_ROUNDS: Final = 8
_MAX_TREE_DEPTH: Final = 64
_OURS: Final = (f"{EVENTS_PREFIX}.job.", f"{EVENTS_PREFIX}.worker.")  # the aggregates this folder keeps

Observer = Callable[[Sequence[JobState], Sequence[WorkerState]], None]


class JobFolder:
    """The scheduler's batch handler: fold events, decide, append decisions, save rows.

    Decisions are appended before the transaction commits, with the job's version as the expected
    last subject sequence, and folded into the rows at once (their stream sequence becomes the
    row's version). When such an event is later read back from the stream it is skipped without
    a transaction (``is_applied``) or by the row's version. A decision that conflicts was
    overtaken by a newer event; the job is decided again when that event is read.

    Args:
        table: Where job and worker states live.
        appender: Appends decisions; ``None`` folds only (rebuild).
        clock: Returns the current time (decision timestamps).
        observer: Told every job and worker state once its rows are written (the engine).
        traces: The jobs' trace contexts: decisions continue the trace of the event that caused them.
    """

    def __init__(
        self,
        table: JobTable,
        appender: EventAppender | None,
        clock: Callable[[], datetime],
        observer: Observer | None = None,
        traces: JobTraces | None = None,
    ) -> None:
        self._table = table
        self._traces = traces or JobTraces()
        self._appender = appender
        self._clock = clock
        self._observer = observer
        self._echoes: set[int] = set()  # sequences of committed decisions not yet read back
        self._uncommitted: list[int] = []  # decisions appended in the open transaction
        self._unobserved: tuple[list[JobState], list[WorkerState]] = ([], [])

    def is_applied(self, event: StreamEvent) -> bool:
        """True for a decision this scheduler appended and committed: reading it back is a no-op."""
        if event.seq in self._echoes:
            self._echoes.discard(event.seq)
            return True
        return False

    def trust_commit(self) -> None:
        """The open transaction committed: skip its decisions' echoes; tell the observer what
        ``reconcile`` decided (a batch's states were told as soon as they were written)."""
        self._echoes.update(self._uncommitted)
        self._uncommitted.clear()
        if len(self._echoes) > 100_000:  # echoes that never came back (e.g. duplicates already read)
            self._echoes.clear()  # safe: the row versions skip them anyway, at the cost of a query
        jobs, workers = self._unobserved
        self._unobserved = ([], [])
        if self._observer is not None:
            self._observer(jobs, workers)

    async def __call__(self, conn: DbConnection, batch: Sequence[StreamEvent]) -> None:
        """Fold a batch, append its decisions, save its rows; then tell the observer at once.

        The observer (the engine, which leases) hears of the new states as soon as their rows
        are written, not after the commit (issue 21: a job is leasable one checkpoint update and
        one COMMIT sooner). That is safe because every state told is a fold of events already on
        the stream, the source of truth: if the commit fails, the batch is folded again from the
        same events into the same states (told again, a no-op for the engine), and every
        decision the engine takes on them is appended on the job's stream version, so none can
        apply twice. What could not be folded or stored (the save raises) is told nothing.
        """
        self._uncommitted.clear()  # a retried batch starts over
        job_events, worker_events = decode_jobs_and_workers(batch)
        with self._traces.folding(batch, job_events):
            jobs = await self._fold_jobs(conn, job_events)
        workers = await self._fold_workers(conn, worker_events)
        if self._observer is not None and (jobs or workers):
            self._observer(jobs, workers)

    async def _fold_jobs(self, conn: DbConnection, decoded: list[tuple[int, JobEvent]]) -> list[JobState]:
        if not decoded:
            return []
        states = await self._table.load(conn, {e.job_id for _, e in decoded})
        touched: set[str] = set()
        succeeded: set[str] = set()
        edges: dict[str, tuple[str, ...]] = {}
        for seq, event in decoded:
            current = states.get(event.job_id)
            if current is not None and seq <= current.version:
                continue  # a decision this scheduler already folded in when it appended it
            new = apply(current or JobState(), event, seq)
            states[event.job_id] = new
            touched.add(event.job_id)
            if (
                isinstance(event, JobSucceeded)
                and new.state == "succeeded"
                and (current is None or not current.is_terminal)
            ):
                succeeded.add(event.job_id)
            # A new job has no edges to replace: only write when there is something to store.
            wants_edges = isinstance(event, JobDependenciesSet) or bool(
                isinstance(event, JobSubmitted) and event.depends_on
            )
            if wants_edges and new.state != "new":
                edges[event.job_id] = new.depends_on
        if self._appender is not None:
            candidates = touched | await self._dependents_of_ended(conn, states, touched)
            await self.decide_and_append(conn, states, candidates, touched)
            await self._roll_up(conn, states, touched)
            await self._chain(conn, [states[i] for i in succeeded])
        saved = [states[i] for i in touched if states[i].state != "new"]
        if self._traces.is_on:
            self._traces.forget([s.id for s in saved if s.is_terminal])
        await self._table.save(conn, saved)
        await self._table.save_dependencies(conn, {i: d for i, d in edges.items() if i in states})
        return saved

    async def _chain(self, conn: DbConnection, succeeded: list[JobState]) -> None:
        """Submit a copy of each job that just succeeded into its project's chain target.

        The copy is a new job: it is folded like any submission when it is read back (not an
        echo), and appending it again after a crash is refused by its expected sequence 0.
        """
        assert self._appender is not None
        targets = await self._table.chain_targets(conn, {j.project for j in succeeded}) if succeeded else {}
        now = self._clock()
        copies = [(c, j.id) for j in succeeded if (c := chained_copy(j, targets.get(j.project, ""), now)) is not None]
        if not copies:
            return
        pending = [PendingAppend(job_subject(c.job_id), c, 0, self._traces.headers(i)) for c, i in copies]
        for item, outcome in zip(pending, await self._appender.append_batch(pending), strict=True):
            if isinstance(outcome, AppendConflictError):
                _log.info("chained_copy_exists", job_id=item.subject)

    async def _dependents_of_ended(
        self, conn: DbConnection, states: dict[str, JobState], touched: set[str]
    ) -> set[str]:
        """Jobs waiting on a job that just finished or was deleted: they may now be decided."""
        ended = [i for i in touched if states[i].is_terminal or states[i].deleted]
        if not ended:
            return set()
        dependents = set(await self._table.dependents(conn, ended))
        missing = dependents - states.keys()
        if missing:
            states.update(await self._table.load(conn, missing))
        return {i for i in dependents if i in states}

    async def _fold_workers(self, conn: DbConnection, decoded: list[tuple[int, WorkerEvent]]) -> list[WorkerState]:
        if not decoded:
            return []
        states = await self._table.load_workers(conn, {e.worker_id for _, e in decoded})
        touched: set[str] = set()
        for seq, event in decoded:
            current = states.get(event.worker_id)
            if current is not None and seq <= current.version:
                continue
            states[event.worker_id] = apply_worker(current or WorkerState(), event, seq)
            touched.add(event.worker_id)
        saved = [states[i] for i in touched if states[i].id]
        await self._table.save_workers(conn, saved)
        return saved

    async def decide_and_append(
        self, conn: DbConnection, states: dict[str, JobState], candidates: set[str], changed: set[str]
    ) -> None:
        """Append what each candidate's state calls for; fold successes into ``states`` and add
        their ids to ``changed``."""
        assert self._appender is not None
        for _ in range(_MAX_DECISION_ROUNDS):
            now = self._clock()
            deps = await self._dependency_states(conn, states, candidates)
            # A group is decided on its children as they are now, never on counters that may lag.
            groups = {i for i in candidates if states[i].is_group}
            counts = await self._children_counts(conn, states, groups)
            pending = [
                PendingAppend(job_subject(i), event, states[i].version, self._traces.headers(i))
                for i in sorted(candidates)
                for event in decide(
                    Advance(
                        job_id=i,
                        issued_at=now,
                        dependencies={d: deps.get(d, "unknown") for d in states[i].depends_on},
                        children=counts.get(i, {}) if i in groups else None,
                    ),
                    states[i],
                )[:1]
            ]
            if not pending:
                return
            candidates = await self._append_decisions(pending, states, changed)  # only those are decided again
            ended = {i for i in candidates if states[i].is_terminal}  # e.g. failed for a failed dependency
            if ended:
                candidates |= await self._dependents_of_ended(conn, states, ended)

    async def _append_decisions(
        self, pending: list[PendingAppend], states: dict[str, JobState], changed: set[str]
    ) -> set[str]:
        """Append decisions on their jobs' versions and fold the ones the stream took into
        ``states`` (their echoes skipped later); return those jobs' ids, also added to ``changed``."""
        assert self._appender is not None
        moved: set[str] = set()
        for item, outcome in zip(pending, await self._appender.append_batch(pending), strict=True):
            assert isinstance(item.event, JobEventBase)
            job_id = item.event.job_id
            if isinstance(outcome, AppendConflictError):
                _log.info("decision_overtaken", job_id=job_id, expected=item.expected_last_subject_seq)
                continue
            states[job_id] = apply(states[job_id], item.event, outcome.seq)
            self._uncommitted.append(outcome.seq)
            moved.add(job_id)
        changed |= moved
        return moved

    async def _roll_up(self, conn: DbConnection, states: dict[str, JobState], changed: set[str]) -> None:
        """Recount the children of every parent whose children changed, level by level up the
        tree, and append what the new counters call for (a ``JobRolledUp``, or a group's end)."""
        assert self._appender is not None
        level = {p for i in changed if (p := states[i].parent_id) is not None}
        for _ in range(_MAX_TREE_DEPTH):
            missing = level - states.keys()
            if missing:
                states.update(await self._table.load(conn, missing))
            level &= states.keys()
            if not level:
                return
            counts = await self._children_counts(conn, states, level)
            now = self._clock()
            pending = [
                PendingAppend(job_subject(p), event, states[p].version, self._traces.headers(p))
                for p in sorted(level)
                for event in decide(Advance(job_id=p, issued_at=now, children=counts.get(p, {})), states[p])[:1]
            ]
            if not pending:
                return
            moved = await self._append_decisions(pending, states, changed)
            ended = {i for i in moved if states[i].is_terminal}
            if ended:  # a group that ended may release (or fail) the jobs that depend on it
                dependents = await self._dependents_of_ended(conn, states, ended)
                await self.decide_and_append(conn, states, dependents, changed)
            level = {p for i in moved if (p := states[i].parent_id) is not None}

    async def _children_counts(
        self, conn: DbConnection, states: dict[str, JobState], parents: set[str]
    ) -> dict[str, dict[str, int]]:
        """Children of ``parents`` by state: the rows, overlaid with the newer states held here."""
        if not parents:
            return {}
        counts = await self._table.children_counts(conn, parents, states.keys())
        for child in states.values():
            if child.parent_id in parents and not child.deleted and child.state != "new":
                bucket = counts.setdefault(child.parent_id, {})
                bucket[child.state] = bucket.get(child.state, 0) + 1
        return counts

    async def _dependency_states(
        self, conn: DbConnection, states: dict[str, JobState], candidates: set[str]
    ) -> dict[str, str]:
        wanted = {d for i in candidates for d in states[i].depends_on}
        known = {d: ("deleted" if states[d].deleted else states[d].state) for d in wanted if d in states}
        missing = wanted - known.keys()
        return known | (await self._table.dependency_states(conn, missing) if missing else {})

    async def reconcile(self, conn: DbConnection) -> int:
        """Decide for every job left waiting on a decision (e.g. after a rebuild); return how many.

        Runs in the caller's transaction; call ``trust_commit`` once it has committed.
        """
        self._uncommitted.clear()
        waiting = {s.id: s for s in await self._table.needing_decision(conn)}
        touched: set[str] = set()
        await self.decide_and_append(conn, waiting, set(waiting), touched)
        await self._table.save(conn, [waiting[i] for i in touched])
        self._unobserved = ([waiting[i] for i in touched], [])
        return len(touched)


def decode_jobs_and_workers(
    batch: Sequence[StreamEvent],
) -> tuple[list[tuple[int, JobEvent]], list[tuple[int, WorkerEvent]]]:
    """The batch's job and worker events, in stream order (unknown ones skipped with a warning)."""
    jobs: list[tuple[int, JobEvent]] = []
    workers: list[tuple[int, WorkerEvent]] = []
    decoded: list[tuple[int, Event]] = decode_batch(batch, _decode_ours)
    for seq, event in decoded:
        if isinstance(event, JobEventBase):
            jobs.append((seq, event))
        elif isinstance(event, WorkerEventBase):  # users and projects are folded by conveyor_identity
            workers.append((seq, event))
    return jobs, workers


def _decode_ours(item: StreamEvent) -> Event | None:
    if not item.subject.startswith(_OURS):
        return None  # another aggregate's event (progress, identities, ...): not the scheduler's
    return decode_event(item.subject, item.data)
