"""The ready queue skips projects the project policy holds back (paused, out of rate tokens)."""

from conveyor_scheduler.ready_queue import ReadyQueue


def test_held_back_projects_are_skipped_and_keep_their_jobs() -> None:
    queue = ReadyQueue()
    queue.add("a1", [], 10, 1, project="paused")
    queue.add("b1", [], 0, 2, project="open")
    queue.add("b2", [], 0, 3, project="open")
    taken = queue.take([], 5, allowed=lambda project: project != "paused")
    assert taken == ["b1", "b2"]
    assert "a1" in queue and len(queue) == 1
    assert queue.take([], 5, allowed=lambda project: True) == ["a1"]


def test_allowed_is_asked_again_after_each_pick() -> None:
    queue = ReadyQueue()
    for i in range(3):
        queue.add(f"j{i}", [], 0, i, project="limited")
    budget = {"limited": 2}

    def allowed(project: str) -> bool:
        return budget[project] > 0

    taken: list[str] = []
    while (picked := queue.take([], 1, allowed=allowed)) and len(taken) < 10:
        budget["limited"] -= 1
        taken += picked
    assert taken == ["j0", "j1"] and len(queue) == 1
