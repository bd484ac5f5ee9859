"""Progress patterns (coalition's %percent and %one, or a regex) and the rate bound."""

import pytest

from conveyor_logs.progress import Throttle, last_progress


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("PROGRESS:%percent", "a\nPROGRESS:10\nb\nPROGRESS:42.5\n", 42.5),
        ("PROGRESS:%percent", "no progress here", None),
        ("PROGRESS:%percent", "PROGRESS:250", 100.0),  # clamped
        ("[%one]", "frame [0.25] then [0.5]", 50.0),
        ("[%one]", "[.75]", 75.0),
        (r"(\d+)% done", "3% done, 7% done", 7.0),
        (r"done", "done", None),  # a regex without a group cannot carry a number
        (r"(unclosed", "(unclosed", None),  # an invalid regex parses nothing instead of failing
        ("a.b %percent", "axb 5 a.b 6", 6.0),  # the literal part is literal, not a regex
    ],
)
def test_last_match_wins(pattern: str, text: str, expected: float | None) -> None:
    assert last_progress(pattern, text) == expected


def test_throttle_lets_one_value_per_interval_and_keeps_the_latest() -> None:
    throttle = Throttle(1.0)
    throttle.offer("j", 10, None)
    assert throttle.due(100.0) == [("j", 10, None)]
    throttle.offer("j", 20, None)
    throttle.offer("j", 30, "build")
    assert throttle.due(100.5) == []  # too soon: held back
    assert throttle.due(101.0) == [("j", 30, "build")]  # the latest, not each one
    throttle.offer("j", 30, "build")
    assert throttle.due(105.0) == []  # unchanged: nothing to emit
