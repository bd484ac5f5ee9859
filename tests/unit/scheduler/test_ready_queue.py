"""ReadyQueue (labels, priority, submission order, lazy removal) and DelayedJobs, without fair share.

Every ``take`` here passes neither ``now`` nor ``held``: no aging and no share cost, so the order is
priority then submission order, the baseline the fair-share weights adjust.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from conveyor_scheduler.ready_queue import DelayedJobs, ReadyQueue

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def heaps_left(queue: ReadyQueue) -> int:
    """How many label groups the queue still keeps (private: lazy cleanup leaves no trace otherwise)."""
    return len(queue._heaps)


# labels


def test_take_hands_out_only_jobs_whose_labels_the_worker_has() -> None:
    queue = ReadyQueue()
    queue.add("plain", [], 0, 1)
    queue.add("gpu", ["gpu"], 0, 2)
    queue.add("gpu-linux", ["gpu", "linux"], 0, 3)
    queue.add("arm", ["arm"], 0, 4)
    assert queue.take(["linux"], 10) == ["plain"]
    assert queue.take(["gpu"], 10) == ["gpu"]
    assert queue.take(["linux", "gpu", "x86"], 10) == ["gpu-linux"]
    assert queue.take([], 10) == []
    assert len(queue) == 1
    assert "arm" in queue


def test_a_worker_without_labels_gets_only_jobs_without_labels() -> None:
    queue = ReadyQueue()
    queue.add("gpu", ["gpu"], 5, 1)
    queue.add("plain", (), 0, 2)
    assert queue.take((), 10) == ["plain"]
    assert list(queue.take(("gpu",), 10)) == ["gpu"]


def test_duplicate_labels_count_once() -> None:
    queue = ReadyQueue()
    queue.add("gpu", ["gpu", "gpu"], 0, 1)
    assert queue.take(["gpu"], 1) == ["gpu"]


# order


def test_higher_priority_goes_first_across_label_groups() -> None:
    queue = ReadyQueue()
    queue.add("low", [], -1, 1)
    queue.add("mid", ["gpu"], 0, 2)
    queue.add("high", ["linux"], 7, 3)
    queue.add("top", ["gpu", "linux"], 8, 4)
    assert queue.take(["gpu", "linux"], 10) == ["top", "high", "mid", "low"]


def test_equal_priority_goes_in_submission_order() -> None:
    queue = ReadyQueue()
    for job_id, labels, seq in [("c", [], 30), ("a", ["gpu"], 10), ("d", ["gpu"], 40), ("b", [], 20)]:
        queue.add(job_id, labels, 1, seq)
    assert queue.take(["gpu"], 10) == ["a", "b", "c", "d"]


def test_take_hands_out_at_most_n() -> None:
    queue = ReadyQueue()
    for seq in range(1, 6):
        queue.add(f"j{seq}", [], 0, seq)
    assert queue.take([], 0) == []
    assert queue.take([], 2) == ["j1", "j2"]
    assert queue.take([], 2) == ["j3", "j4"]
    assert queue.take([], 2) == ["j5"]
    assert queue.take([], 2) == []


def test_take_removes_what_it_hands_out() -> None:
    queue = ReadyQueue()
    queue.add("a", [], 0, 1)
    queue.add("b", [], 0, 2)
    assert queue.take([], 1) == ["a"]
    assert "a" not in queue
    assert len(queue) == 1


# lazy removal


def test_a_removed_job_is_never_handed_out() -> None:
    queue = ReadyQueue()
    queue.add("a", [], 9, 1)
    queue.add("b", [], 0, 2)
    queue.remove("a")
    queue.remove("never-added")
    assert "a" not in queue
    assert len(queue) == 1
    assert queue.take([], 10) == ["b"]


def test_a_removed_and_added_again_job_is_handed_out_once() -> None:
    queue = ReadyQueue()
    queue.add("a", [], 0, 1)
    queue.remove("a")
    queue.add("a", [], 0, 1)  # same rank: the old heap entry is equal to the new one
    queue.add("b", [], 0, 2)
    assert queue.take([], 10) == ["a", "b"]
    assert queue.take([], 10) == []


def test_a_job_added_again_as_another_owner_or_time_is_handed_out_once() -> None:
    """A stale entry equal in rank to the current one is told apart by identity, and the two
    compare (in the heap) on their owner and queue time without error."""
    queue = ReadyQueue()
    queue.add("a", [], 0, 1)  # no queue time
    queue.add("a", [], 0, 1, owner="x", queued_at=T0)
    queue.add("a", [], 0, 1, owner="y", queued_at=at(5))
    queue.add("b", [], 0, 2, owner="y", queued_at=at(1))
    assert queue.take([], 10, now=at(10)) == ["a", "b"]
    assert queue.take([], 10) == []


def test_adding_a_present_job_again_re_ranks_it() -> None:
    queue = ReadyQueue()
    queue.add("a", [], 0, 1)
    queue.add("b", [], 0, 2)
    queue.add("c", [], 0, 3)
    queue.add("a", [], -5, 1)  # demoted
    queue.add("c", [], 5, 3)  # promoted
    assert len(queue) == 3
    assert queue.take([], 10) == ["c", "b", "a"]


def test_a_job_taken_then_added_again_comes_back() -> None:
    queue = ReadyQueue()
    queue.add("a", [], 0, 1)
    assert queue.take([], 1) == ["a"]
    queue.add("a", [], 0, 1)  # e.g. released by its worker
    assert queue.take([], 1) == ["a"]


def test_adding_a_job_again_with_other_labels_moves_it() -> None:
    queue = ReadyQueue()
    queue.add("a", ["gpu"], 0, 1)
    queue.add("a", ["gpu", "cuda"], 0, 1)  # same priority and seq: the old entry in the gpu group looks current
    assert queue.take(["gpu"], 1) == []


def test_emptied_label_groups_are_dropped() -> None:
    queue = ReadyQueue()
    queue.add("a", ["gpu"], 0, 1)
    queue.add("b", ["linux"], 0, 2)
    queue.remove("a")
    assert queue.take(["gpu"], 5) == []
    assert heaps_left(queue) == 1  # the gpu group went when a worker found it empty
    assert queue.take(["linux"], 1) == ["b"]
    assert queue.take(["linux"], 1) == []
    assert heaps_left(queue) == 0


# reference model


# few jobs and few labels, so that re-adds and shared groups come up often
labels = st.frozensets(st.sampled_from(["gpu", "linux"]))
JOBS = [f"job-{i}" for i in range(5)]


class ReadyQueueAgainstAList(RuleBasedStateMachine):
    """Whatever the adds, removes and takes, ``take`` hands out what a sorted, filtered list would."""

    def __init__(self) -> None:
        super().__init__()
        self.queue = ReadyQueue()
        self.model: dict[str, int] = {}  # job -> priority it was last added with
        self.labels: dict[str, frozenset[str]] = {}
        self.seq = {job: i + 1 for i, job in enumerate(JOBS)}  # a job keeps its submission order

    @initialize(job_labels=st.lists(labels, min_size=len(JOBS), max_size=len(JOBS)))
    def give_jobs_their_labels(self, job_labels: list[frozenset[str]]) -> None:
        self.labels = dict(zip(JOBS, job_labels, strict=True))

    @rule(job=st.sampled_from(JOBS), priority=st.integers(-2, 2))
    def add(self, job: str, priority: int) -> None:
        self.queue.add(job, sorted(self.labels[job]), priority, self.seq[job])
        self.model[job] = priority

    @rule(job=st.sampled_from(JOBS))
    def remove(self, job: str) -> None:
        self.queue.remove(job)
        self.model.pop(job, None)

    @rule(worker=labels, n=st.integers(0, 4))
    def take(self, worker: frozenset[str], n: int) -> None:
        eligible = [job for job in self.model if self.labels[job] <= worker]
        expected = sorted(eligible, key=lambda job: (-self.model[job], self.seq[job]))[:n]
        assert self.queue.take(worker, n) == expected
        for job in expected:
            del self.model[job]

    @invariant()
    def holds_the_same_jobs(self) -> None:
        assert len(self.queue) == len(self.model)
        assert all((job in self.queue) == (job in self.model) for job in JOBS)


ReadyQueueAgainstAList.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestReadyQueueAgainstAList = ReadyQueueAgainstAList.TestCase


# DelayedJobs


def test_pop_due_returns_the_due_jobs_earliest_first() -> None:
    delayed = DelayedJobs()
    delayed.add("c", at(3))
    delayed.add("a", at(1))
    delayed.add("late", at(10))
    delayed.add("b", at(2))
    assert delayed.pop_due(at(0)) == []
    assert delayed.pop_due(at(3)) == ["a", "b", "c"]  # due at exactly now counts
    assert delayed.pop_due(at(3)) == []  # popped jobs are gone
    assert delayed.pop_due(at(9.999)) == []
    assert delayed.pop_due(at(10)) == ["late"]


def test_pop_due_orders_jobs_due_at_the_same_time_by_id() -> None:
    delayed = DelayedJobs()
    for job_id in ("b", "c", "a"):
        delayed.add(job_id, at(1))
    assert delayed.pop_due(at(1)) == ["a", "b", "c"]


def test_a_removed_job_never_comes_due() -> None:
    delayed = DelayedJobs()
    delayed.add("a", at(1))
    delayed.add("b", at(2))
    delayed.remove("a")
    delayed.remove("never-added")
    assert delayed.pop_due(at(5)) == ["b"]


def test_adding_a_job_again_moves_its_time() -> None:
    delayed = DelayedJobs()
    delayed.add("later", at(1))
    delayed.add("later", at(5))
    delayed.add("sooner", at(5))
    delayed.add("sooner", at(1))
    assert delayed.pop_due(at(2)) == ["sooner"]
    assert delayed.pop_due(at(10)) == ["later"]
    assert delayed.pop_due(at(10)) == []


def test_adding_a_job_again_at_the_same_time_makes_it_due_once() -> None:
    delayed = DelayedJobs()
    delayed.add("a", at(1))
    delayed.add("a", at(1))
    assert delayed.pop_due(at(1)) == ["a"]
    delayed.add("a", at(2))  # a new retry after the first came due
    assert delayed.pop_due(at(2)) == ["a"]


delayed_ops = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "pop_due"]), st.sampled_from(JOBS[:4]), st.integers(0, 6)),
    max_size=40,
)


@settings(max_examples=100)
@given(delayed_ops)
def test_pop_due_matches_a_dict_of_due_times(ops: list[tuple[str, str, int]]) -> None:
    delayed = DelayedJobs()
    model: dict[str, datetime] = {}
    for op, job, seconds in ops:
        match op:
            case "add":
                delayed.add(job, at(seconds))
                model[job] = at(seconds)
            case "remove":
                delayed.remove(job)
                model.pop(job, None)
            case _:
                due = sorted((when, job) for job, when in model.items() if when <= at(seconds))
                assert delayed.pop_due(at(seconds)) == [job for _, job in due]
                for _, job in due:
                    del model[job]
