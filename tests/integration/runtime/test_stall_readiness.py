"""``/readyz`` checks of a projector against real NATS and PostgreSQL: not ready while messages
wait and its position stays put past the bound, ready again once it folds them (issue 13)."""

from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext

from conveyor_events import EVENTS_FILTER, EVENTS_STREAM
from conveyor_runtime import (
    CHECKPOINT_MIGRATION,
    DbConnection,
    Projector,
    StreamEvent,
    apply_migrations,
    stall_checks,
)
from conveyor_runtime.stall import ProjectorStuckError

SCHEMA = "stall_test"


async def ignore(conn: DbConnection, batch: Sequence[StreamEvent]) -> None:
    """Folds nothing: only the checkpoint moves."""


async def test_a_projector_that_does_not_fold_is_named_not_ready(
    js: JetStreamContext, pool: "asyncpg.Pool[Any]"
) -> None:
    await apply_migrations(pool, SCHEMA, [CHECKPOINT_MIGRATION])
    p = Projector(
        name="stalled", schema=SCHEMA, js=js, pool=pool, stream=EVENTS_STREAM, filter_subject=EVENTS_FILTER,
        handler=ignore, fetch_timeout_s=0.2,
    )  # fmt: skip
    await p.prepare()
    now = [0.0]
    checks = stall_checks([p], js, max_lag=1000, stall_s=10, clock=lambda: now[0])
    [(name, check)] = checks.items()
    assert name == "projector:stalled"
    await check()  # nothing waits
    last = 0
    for i in range(3):
        last = (await js.publish(f"conveyor.ev.job.j{i}", b"{}")).seq
    await check()  # waiting, but only just
    now[0] = 10.0
    with pytest.raises(ProjectorStuckError, match="3 messages waiting, position 0"):
        await check()
    await p.catch_up(last, timeout_s=30)
    now[0] = 11.0
    await check()  # folded: ready again
    await p.close()
