"""``Requester``: the gateway's request/reply to the scheduler, on a real nats-server."""

import asyncio

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import NoRespondersError

from conveyor_gateway.core.requester import Requester


async def _echo(nc: NatsClient, subject: str, delay_s: float = 0.0) -> None:
    async def answer(msg: Msg) -> None:
        await asyncio.sleep(delay_s)
        await msg.respond(b"re:" + msg.data)

    await nc.subscribe(subject, cb=answer)


async def test_concurrent_calls_each_get_their_own_reply(nc: NatsClient) -> None:
    requester = Requester(nc)
    await requester.start()
    await _echo(nc, "svc.echo")
    replies = await asyncio.gather(*(requester.request("svc.echo", str(i).encode(), 5.0) for i in range(200)))
    assert [r.data for r in replies] == [f"re:{i}".encode() for i in range(200)]
    assert requester.waiting == 0
    await requester.stop()


async def test_no_responders_is_raised_at_once(nc: NatsClient) -> None:
    requester = Requester(nc)
    await requester.start()
    started = asyncio.get_running_loop().time()
    with pytest.raises(NoRespondersError):
        await requester.request("svc.nobody", b"x", 5.0)
    assert asyncio.get_running_loop().time() - started < 2.0
    assert requester.waiting == 0


async def test_a_slow_answer_times_out_and_a_late_reply_is_dropped(nc: NatsClient) -> None:
    requester = Requester(nc)
    await requester.start()
    await _echo(nc, "svc.slow", delay_s=0.3)
    with pytest.raises(TimeoutError):
        await requester.request("svc.slow", b"late", 0.05)
    assert requester.waiting == 0
    await asyncio.sleep(0.4)  # the late reply arrives and finds no caller
    assert (await requester.request("svc.slow", b"next", 5.0)).data == b"re:next"


async def test_a_cancelled_call_leaves_nothing_waiting(nc: NatsClient) -> None:
    requester = Requester(nc)
    await requester.start()
    await _echo(nc, "svc.slow", delay_s=0.3)
    call = asyncio.create_task(requester.request("svc.slow", b"x", 5.0))
    await asyncio.sleep(0.05)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert requester.waiting == 0


async def test_calling_before_start_is_a_bug(nc: NatsClient) -> None:
    with pytest.raises(RuntimeError):
        await Requester(nc).request("svc.echo", b"x", 1.0)
