"""Words for states: the CSS class that colours a job state (the word is always shown too)."""

from typing import Final

_CLASSES: Final = {
    "succeeded": "ok",
    "failed": "bad",
    "timed_out": "bad",
    "cancelled": "muted",
    "running": "run",
    "assigned": "run",
    "queued": "wait",
    "pending": "wait",
    "waiting": "wait",
    "blocked": "warn",
}


def state_class(state: str) -> str:
    return "st st-" + _CLASSES.get(state, "other")
