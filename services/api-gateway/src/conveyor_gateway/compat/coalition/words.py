"""coalition's words and Conveyor's, both ways: states, the worker's tuple literal, environment
strings, affinities, priorities, the job document. Pure functions, no I/O."""

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ...core.bodies import CommandView, JobView

IDLE: Final = "(-1, '', '', '', None)"
"""``/workers/pickjob``'s answer when there is no job: what the stock worker ``eval``s."""

USER_TAG: Final = "coalition.user="
PRIORITY_TAG: Final = "coalition.priority="
RETRY_TAG: Final = "coalition.retry="
DEFAULT_PROGRESS_PATTERN: Final = "PROGRESS:%percent"
MAX_PRIORITY: Final = 255

_STATES: Final[Mapping[str, str]] = {
    "submitted": "WAITING",
    "queued": "WAITING",
    "awaiting_verification": "WAITING",
    "pending": "PAUSED",  # held until started: coalition's "created PAUSED"
    "blocked": "PENDING",
    "assigned": "WORKING",
    "running": "WORKING",
    "succeeded": "FINISHED",
    "failed": "ERROR",
    "timed_out": "ERROR",
    "cancelled": "ERROR",
}
STATES: Final = ("WAITING", "PENDING", "WORKING", "FINISHED", "ERROR", "PAUSED")


def state_word(state: str, *, paused: bool) -> str:
    """coalition's state of a job in Conveyor's ``state``; the paused flag shows as PAUSED."""
    if paused and state not in ("succeeded", "failed", "timed_out", "cancelled"):
        return "PAUSED"
    return _STATES.get(state, "WAITING")


_ESCAPES: Final = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def py_str(text: str) -> str:
    """A Python string literal of ``text`` that both Python 2 and 3 ``eval`` back to its text.

    Non-ASCII characters stay as they are (the answer is UTF-8): Python 2 reads them as the
    UTF-8 bytes its shell wants, Python 3 as the characters. Control characters are escaped.
    """
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def env_string(env: Mapping[str, str]) -> str:
    """coalition's environment: ``KEY=VALUE`` pairs joined by a literal backslash-n."""
    return "\\n".join(f"{k}={v}" for k, v in env.items())


def parse_env(text: str) -> dict[str, str]:
    """The pairs of a coalition environment string (literal ``\\n`` or real newlines between them).

    Raises:
        ValueError: A pair without ``=``.
    """
    env: dict[str, str] = {}
    for item in re.split(r"\\n|\r?\n", text):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"environment entry {item!r} is not KEY=VALUE")
        env[key.strip()] = value
    return env


def job_tuple(job_number: int, job: JobView) -> str:
    """``/workers/pickjob``'s answer for a leased job: ``(id, 'cmd', 'dir', 'user', 'env')``."""
    payload = job.payload if isinstance(job.payload, CommandView) else CommandView(command="")
    return (
        f"({job_number}, {py_str(payload.command)}, {py_str(payload.workdir or '.')}, "
        f"{py_str(tag_value(job.tags, USER_TAG) or '')}, {py_str(env_string(payload.env))})"
    )


def parse_affinity(text: str) -> list[str]:
    """A job's affinity (``"linux,gpu"``) or a worker's (``"linux\\ngpu"``) as labels, in order."""
    return list(dict.fromkeys(word.strip() for word in re.split(r"[,\n]", text) if word.strip()))


def parse_load(text: str) -> float | None:
    """The mean of a worker's ``load`` field: a Python repr of per-CPU figures (``[12.0, 3.5]``),
    of ``os.getloadavg()``, or one number. None when there is no number (``-1`` means unknown)."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text[:4096])]
    numbers = [n for n in numbers if n >= 0 and math.isfinite(n)]
    return sum(numbers) / len(numbers) if numbers else None


def parse_int(text: str | None) -> int | None:
    """A form field's integer, or None when absent or not one."""
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def clamp_priority(value: int) -> int:
    return max(0, min(MAX_PRIORITY, value))


def scheduler_priority(top: int, own: int, *, is_top: bool) -> int:
    """Conveyor's priority (-1000..1000) for a coalition priority ``own`` under a top-level job of
    priority ``top``: the top-level priority dominates (coalition's ``h_priority``), the job's own
    picks among 7 steps under it. A top-level job sits in the middle of its own band."""
    step = 3 if is_top else clamp_priority(own) * 7 // 256
    return (clamp_priority(top) - 128) * 7 + step


def tag_value(tags: Iterable[str], prefix: str) -> str | None:
    for tag in tags:
        if tag.startswith(prefix):
            return tag[len(prefix) :]
    return None


def with_tag(tags: Iterable[str], prefix: str, value: str) -> list[str]:
    return [t for t in tags if not t.startswith(prefix)] + [f"{prefix}{value}"]


def coalition_priority(job: JobView) -> int:
    found = tag_value(job.tags, PRIORITY_TAG)
    return int(found) if found is not None and found.isdigit() else 0


def epoch(moment: Any) -> int:
    return int(moment.timestamp()) if moment is not None else 0
