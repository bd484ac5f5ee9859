"""A term that an outage of NATS or PostgreSQL ends makes the service campaign again (issue 13)."""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, cast

import asyncpg
import pytest

from conveyor_runtime import leadership
from conveyor_runtime.leadership import LeaderElector, lead_when_elected


class _Elector:
    """Wins two campaigns; the first term ends with ``error``, the second ends on its own."""

    def __init__(self, error: BaseException) -> None:
        self.errors: list[BaseException | None] = [error, None]
        self.terms = 0

    async def campaign(self, stop: asyncio.Event) -> object | None:
        return object() if self.errors else None

    async def hold(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> bool:
        self.terms += 1
        error = self.errors.pop(0)
        if error is not None:
            raise error
        return False  # lead ended on its own


async def _lead() -> None:
    return None


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "refused"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        ExceptionGroup("lead", [asyncpg.CannotConnectNowError("the database system is starting up")]),
    ],
    ids=["refused", "pg-connection-lost", "in-a-task-group"],
)
async def test_an_outage_ends_the_term_not_the_process(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    monkeypatch.setattr(leadership, "OUTAGE_PAUSE_S", 0)
    elector = _Elector(error)
    await lead_when_elected(cast(LeaderElector, elector), asyncio.Event(), _lead)
    assert elector.terms == 2  # campaigned again and led


async def test_a_bug_still_ends_the_process() -> None:
    with pytest.raises(KeyError):
        await lead_when_elected(cast(LeaderElector, _Elector(KeyError("bug"))), asyncio.Event(), _lead)
