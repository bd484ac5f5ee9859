"""Leader election on a real nats-server: one leader, fencing of a deposed one, hand-over."""

import asyncio
import time
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from conveyor_events import EVENTS_STREAM, EventAppender, job_subject, new_uuid7
from conveyor_runtime import connect_nats
from conveyor_runtime.leadership import (
    LEADER_BUCKET,
    LEADER_KEY,
    TERM_HEADER,
    LeaderElector,
    NotLeaderError,
    current_holder,
)
from conveyor_scheduler.app import serve
from conveyor_scheduler.settings import Settings

from .support import submitted
from .test_projection import wait_quiet

TTL_S = 2


class Leading:
    """A stand-in for the scheduler's lead task: appends through the fenced appender until
    cancelled, and records when it stopped."""

    def __init__(self, nc: NatsClient, elector: LeaderElector) -> None:
        self.appender = EventAppender(nc, fence=elector.fence)
        self.appended: list[int] = []
        self.stopped_at: float | None = None

    async def __call__(self) -> None:
        try:
            while True:
                event = submitted()
                self.appended.append((await self.appender.append(job_subject(event.job_id), event)).seq)
                await asyncio.sleep(0.05)
        finally:
            self.stopped_at = time.monotonic()


async def won_at(elector: LeaderElector, stop: asyncio.Event) -> float:
    assert await elector.campaign(stop) is not None
    return time.monotonic()


async def test_of_two_candidates_exactly_one_leads_until_it_resigns(js: JetStreamContext) -> None:
    a, b = (LeaderElector(js, ttl_s=TTL_S, poll_s=0.05) for _ in range(2))
    stop = asyncio.Event()
    campaigns = {asyncio.create_task(won_at(e, stop)): e for e in (a, b)}
    [winner], [waiting] = await asyncio.wait(campaigns, return_when=asyncio.FIRST_COMPLETED)
    leader, other = campaigns[winner], campaigns[waiting]
    keeping = asyncio.create_task(leader.keep())
    await asyncio.sleep(2 * TTL_S)  # the leader renews past its TTL; the standby keeps waiting
    assert not waiting.done(), "the standby took a key that was being renewed"
    held = await current_holder(js)
    assert held is not None and held[0] == leader.holder
    assert leader.lease is not None and leader.fence() == {TERM_HEADER: str(leader.lease.term)}
    with pytest.raises(NotLeaderError):
        other.fence()
    keeping.cancel()
    resigned = time.monotonic()
    await leader.resign()
    took_over = await asyncio.wait_for(waiting, 2)
    assert took_over - resigned < 1.0  # a clean resignation hands over at the next poll
    with pytest.raises(NotLeaderError):
        leader.fence()
    assert other.fence()[TERM_HEADER] != str(held[1])  # a new term


async def test_a_leader_whose_key_was_taken_stops_before_the_standby_leads(
    nc: NatsClient, js: JetStreamContext, nats_url: str
) -> None:
    a = LeaderElector(js, ttl_s=TTL_S, poll_s=0.05)
    assert await a.try_acquire() is not None
    lead = Leading(nc, a)
    holding = asyncio.create_task(a.hold(lead))
    await asyncio.sleep(0.3)
    assert lead.appended, "the leader appended nothing"
    term = a.lease.term if a.lease else 0
    msg = await js.get_msg(EVENTS_STREAM, seq=lead.appended[0])
    assert msg.headers is not None and msg.headers[TERM_HEADER] == str(term)
    # Behind its back (as after a partition during which its key expired), someone writes the key.
    other_nc = await connect_nats(nats_url, name="usurper", timeout_s=5)
    try:
        usurper = other_nc.jetstream()
        entry = await (await usurper.key_value(LEADER_BUCKET)).get(LEADER_KEY)
        await usurper.publish(
            f"$KV.{LEADER_BUCKET}.{LEADER_KEY}",
            b'{"host":"elsewhere","pid":1,"nonce":"x"}',
            headers={"Nats-Expected-Last-Subject-Sequence": str(entry.revision)},
            msg_ttl=TTL_S,
        )
        written = time.monotonic()
        b = LeaderElector(usurper, ttl_s=TTL_S, poll_s=0.05)
        standby = asyncio.create_task(won_at(b, asyncio.Event()))
        assert await asyncio.wait_for(holding, TTL_S) is True  # deposed: campaign again
        stepped_down_at_seq = (await js.stream_info(EVENTS_STREAM)).state.last_seq
        assert lead.stopped_at is not None and lead.stopped_at - written < TTL_S
        b_leads = await asyncio.wait_for(standby, TTL_S + 3)
        assert lead.stopped_at < b_leads  # the old leader had stopped before the new one began
        event = submitted()
        with pytest.raises(NotLeaderError):  # and its appends are refused, nothing is published
            await lead.appender.append(job_subject(event.job_id), event)
        assert (await js.stream_info(EVENTS_STREAM)).state.last_seq == stepped_down_at_seq
        await b.resign()
    finally:
        await other_nc.close()


async def test_a_leader_cut_off_from_the_server_stops_before_its_key_expires(
    nc: NatsClient, js: JetStreamContext, monkeypatch: Any
) -> None:
    a = LeaderElector(js, ttl_s=TTL_S, poll_s=0.05)
    assert await a.try_acquire() is not None
    lead = Leading(nc, a)
    holding = asyncio.create_task(a.hold(lead))
    await asyncio.sleep(0.2)

    async def lost_in_the_network(*_: Any) -> int:
        await asyncio.Event().wait()  # renewals never arrive and are never answered
        return 0

    monkeypatch.setattr(a, "_write", lost_in_the_network)
    cut_off = time.monotonic()
    b = LeaderElector(js, ttl_s=TTL_S, poll_s=0.05)
    standby = asyncio.create_task(won_at(b, asyncio.Event()))
    assert await asyncio.wait_for(holding, TTL_S + 1) is True
    b_leads = await asyncio.wait_for(standby, TTL_S + 3)
    assert lead.stopped_at is not None
    assert lead.stopped_at < b_leads  # it stopped deciding before the key could expire
    assert lead.stopped_at - cut_off < TTL_S
    event = submitted()
    with pytest.raises(NotLeaderError):
        await lead.appender.append(job_subject(event.job_id), event)
    await b.resign()


async def test_the_schedulers_decisions_carry_its_term(
    nc: NatsClient, js: JetStreamContext, pool: Any, scheduler_settings: Settings
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(scheduler_settings, stop))
    try:
        job = submitted(depends_on=(new_uuid7(),))  # a decision to make: it fails, its dependency unknown
        stored = await EventAppender(nc).append(job_subject(job.job_id), job, expected_last_subject_seq=0)
        last = await wait_quiet(js, pool)
        held = await current_holder(js)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    assert held is not None and last > stored.seq
    request = await js.get_msg(EVENTS_STREAM, seq=stored.seq)
    assert TERM_HEADER not in (request.headers or {})  # a request event: nobody's term
    decision = await js.get_msg(EVENTS_STREAM, seq=last)
    assert decision.headers is not None
    term = int(decision.headers[TERM_HEADER])
    assert 0 < term <= held[1]  # the term is the revision the leader won; renewals come after
