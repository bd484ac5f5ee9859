"""``stream_seq`` reads a delivered message's stream sequence as nats-py's metadata would."""

from typing import Any

import pytest
from nats.aio.msg import Msg

from conveyor_runtime.feed import stream_seq

V1 = "$JS.ACK.EVENTS.scheduler.1.4711.12.1763800000000000000.33"
V2 = "$JS.ACK._.ACCHASH.EVENTS.scheduler.1.4711.12.1763800000000000000.33.RANDOM"


@pytest.mark.parametrize("reply", [V1, V2])
def test_the_stream_sequence_is_the_one_nats_py_parses(reply: str) -> None:
    msg = Msg(_client=Any, subject="conveyor.ev.job.x", reply=reply, data=b"")  # type: ignore[arg-type]  # no connection needed
    assert stream_seq(msg) == msg.metadata.sequence.stream == 4711
