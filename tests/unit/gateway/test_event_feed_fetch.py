"""``fetch_raw``: a fetch that times out is an empty batch, whichever TimeoutError nats-py raises."""

from typing import Any

import nats.errors
import pytest

from conveyor_gateway.native.events.feed import fetch_raw


class _TimingOut:
    """A pull subscription whose fetch raises ``error``, as nats-py's does when nothing arrives."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def fetch(self, batch: int, timeout: float) -> list[Any]:  # noqa: ASYNC109  # nats-py's signature
        raise self.error


@pytest.mark.parametrize(
    "error",
    # nats-py raises its own TimeoutError, or a bare asyncio.TimeoutError when the deadline ran out
    # between its two pull requests (a live event stream then broke mid-body under load).
    [nats.errors.TimeoutError(), TimeoutError()],
    ids=["nats", "asyncio"],
)
async def test_a_fetch_that_times_out_is_an_empty_batch(error: BaseException) -> None:
    assert await fetch_raw(_TimingOut(error), 10, 0.1) == []
