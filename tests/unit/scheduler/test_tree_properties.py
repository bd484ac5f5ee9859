"""Random trees whose leaves live random lives: after every step and the scheduler's roll-up,
every parent's counters equal the tally of its children's states, and a group's state is the one
its children call for (until it ended)."""

from datetime import UTC, datetime

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from conveyor_events import (
    CommandPayload,
    JobCancelRequested,
    JobEvent,
    JobSubmitted,
)
from conveyor_events.scheduler_api import ReportResult
from conveyor_scheduler.decider import INITIAL, Advance, Assign, JobState, ReportFinish, apply, decide
from conveyor_scheduler.groups import group_state, tally

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MAX_JOBS = 12

indexes = st.integers(0, 1000)
moves = st.sampled_from(["assign", "succeed", "fail", "cancel"])


class TreeLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, JobState] = {}
        self.order: list[str] = []
        self.seq = 0

    def _apply(self, job_id: str, events: list[JobEvent]) -> bool:
        for event in events[:1]:
            self.seq += 1
            self.jobs[job_id] = apply(self.jobs.get(job_id, INITIAL), event, self.seq)
        return bool(events)

    def _children(self, parent: str) -> dict[str, str]:
        return {i: s.state for i, s in self.jobs.items() if s.parent_id == parent}

    def _settle(self) -> None:
        """What the scheduler's fold does after a batch: decide every job, deepest first, until
        nothing changes (decisions, then the counters they move up the tree)."""
        for _ in range(100):
            changed = False
            for job_id in reversed(self.order):
                state = self.jobs[job_id]
                children = tally(self._children(job_id))
                changed |= self._apply(job_id, decide(Advance(job_id=job_id, issued_at=T0, children=children), state))
            if not changed:
                return
        raise AssertionError("the roll-up never settled")

    def _submit(self, parent: str | None, is_group: bool) -> None:
        job_id = f"job-{len(self.order)}"
        payload = None if is_group else CommandPayload(command="true")
        event = JobSubmitted(event_id=job_id, job_id=job_id, occurred_at=T0, project="p", owner="o",
                             payload=payload, parent_id=parent, max_retries=0)  # fmt: skip
        self.order.append(job_id)
        self._apply(job_id, [event])
        self._settle()

    @initialize()
    def root(self) -> None:
        self._submit(None, is_group=True)

    @rule(index=indexes, is_group=st.booleans())
    def add_a_child(self, index: int, is_group: bool) -> None:
        if len(self.order) >= MAX_JOBS:
            return
        open_parents = [i for i in self.order if not self.jobs[i].is_terminal]
        if open_parents:  # a finished tree does not grow (the gateway refuses it)
            self._submit(open_parents[index % len(open_parents)], is_group)

    @rule(index=indexes, move=moves)
    def a_leaf_moves(self, index: int, move: str) -> None:
        runnable = [i for i in self.order if not self.jobs[i].is_group and not self.jobs[i].is_terminal]
        if not runnable:
            return
        job_id = runnable[index % len(runnable)]
        state = self.jobs[job_id]
        match move:
            case "assign":
                self._apply(job_id, decide(Assign(job_id=job_id, lease_id=f"l{self.seq}", worker_id="w",
                                                  issued_at=T0), state))  # fmt: skip
            case "succeed" | "fail" if state.lease_id is not None:
                result: ReportResult = "succeeded" if move == "succeed" else "failed"
                self._apply(job_id, decide(ReportFinish(job_id=job_id, lease_id=state.lease_id, result=result,
                                                        exit_code=0, issued_at=T0), state))  # fmt: skip
            case "cancel":
                self._apply(job_id, [JobCancelRequested(event_id=f"c{self.seq}", job_id=job_id, occurred_at=T0)])
        self._settle()

    @invariant()
    def counters_equal_the_children_tally(self) -> None:
        for job_id, state in self.jobs.items():
            assert state.children == tally(self._children(job_id))
            assert sum(state.children.values()) == len(self._children(job_id))

    @invariant()
    def an_open_groups_state_is_what_its_children_call_for(self) -> None:
        for state in self.jobs.values():
            if state.is_group and not state.is_terminal:
                assert state.state == group_state(state.children)[0]
            if state.is_group and state.is_terminal:
                assert all(s in ("succeeded", "failed", "timed_out", "cancelled") for s in state.children) or (
                    state.cancel_requested
                )


TreeLifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestTreeLifecycle = TreeLifecycle.TestCase
