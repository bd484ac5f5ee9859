"""Parent/child trees: a group's state and progress derive from its children's states. Pure.

A *group* is a job without a payload of its own (coalition's group node). Any job may have
children and every parent keeps counters of its children by state; only a group's state follows
them:

- no children yet, or every child still waiting (submitted, pending, blocked, queued): ``queued``;
- some child started or finished while others have not ended: ``running``;
- every child ended: ``failed`` if any failed or timed out, else ``cancelled`` if any was
  cancelled, else ``succeeded``.

Progress is the share of children that ended, in percent.
"""

from collections.abc import Mapping
from typing import Final

from conveyor_events.states import TERMINAL

WAITING_STATES: Final = frozenset({"submitted", "pending", "blocked", "queued"})


def group_state(children: Mapping[str, int]) -> tuple[str, str]:
    """The state a group with these children counts is in, and why (in words)."""
    total = sum(children.values())
    if total == 0:
        return "queued", "no children yet"
    ended = sum(n for s, n in children.items() if s in TERMINAL)
    if ended == total:
        failed = children.get("failed", 0) + children.get("timed_out", 0)
        if failed:
            return "failed", f"{failed} of {total} children failed"
        cancelled = children.get("cancelled", 0)
        if cancelled:
            return "cancelled", f"{cancelled} of {total} children cancelled"
        return "succeeded", f"all {total} children succeeded"
    waiting = sum(n for s, n in children.items() if s in WAITING_STATES)
    if waiting == total:
        return "queued", f"{total} children waiting"
    return "running", f"{ended} of {total} children ended"


def group_progress(children: Mapping[str, int]) -> float | None:
    """Percent of children that ended; ``None`` without children."""
    total = sum(children.values())
    if total == 0:
        return None
    ended = sum(n for s, n in children.items() if s in TERMINAL)
    return round(100.0 * ended / total, 2)


def tally(states: Mapping[str, str]) -> dict[str, int]:
    """Counters of children by state from ``child id -> state``."""
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    return counts
