"""A claim takes one named job from the ready queue, only as ``take`` would hand it to that worker."""

from conveyor_scheduler.ready_queue import ReadyQueue


def test_a_queued_job_is_taken_once() -> None:
    queue = ReadyQueue()
    queue.add("a", ["virtshell"], 0, 1, project="p")
    queue.add("b", [], 0, 2, project="p")
    assert queue.take_job("a", ["virtshell"])
    assert not queue.take_job("a", ["virtshell"])  # the second claim finds it gone
    assert "a" not in queue and queue.take(["virtshell"], 5) == ["b"]


def test_a_job_the_worker_may_not_run_stays_queued() -> None:
    queue = ReadyQueue()
    queue.add("gpu", ["gpu"], 0, 1, project="p")
    queue.add("voted", [], 0, 2, project="p", excluded=frozenset({"w1"}))
    queue.add("paused", [], 0, 3, project="held")
    assert not queue.take_job("gpu", ["virtshell"])
    assert not queue.take_job("voted", [], worker_id="w1")
    assert not queue.take_job("paused", [], allowed=lambda project: project != "held")
    assert not queue.take_job("missing", [])
    assert len(queue) == 3
