"""How long until a project's assignment bucket has a token, read without taking one.

The scheduler takes assignment tokens (``project_policy``); a surface whose clients expect to
hear "too many requests" with a delay before asking (task_tracker's 429 with
``rate_limit_delay``) reads the bucket first. A race with the scheduler only means an answer of
"no task" instead of 429, never a job handed out over the rate.
"""

from datetime import UTC, datetime
from typing import Final

from conveyor_identity import RATE_SCHEMA, burst_of, refill

from .context import State
from .reader import fetch_projection

_PEEK: Final = f"SELECT tokens, updated_at FROM {RATE_SCHEMA}.buckets WHERE project = $1 AND kind = 'assign'"


async def assign_wait_s(state: State, project: str, rate: float, burst: int) -> float:
    """Seconds until ``project``'s assignment bucket holds a token (0: now; always 0 without a rate)."""
    if rate <= 0:
        return 0.0
    rows = await fetch_projection(state["projects"].pool, _PEEK, project)
    if not rows:
        return 0.0
    elapsed = (datetime.now(UTC) - rows[0]["updated_at"]).total_seconds()
    tokens = refill(float(rows[0]["tokens"]), elapsed, rate, burst_of(rate, burst))
    return 0.0 if tokens >= 1.0 else max((1.0 - tokens) / rate, 0.001)
