"""An append that meets EVENTS between two leaders (its leader node just died, the other two are
electing) waits for the new leader instead of failing: on a cluster the gap is a few seconds."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import nats
import nats.errors
import pytest

from conveyor_devstack import NatsCluster
from conveyor_events import (
    EVENTS_STREAM,
    CommandPayload,
    EventAppender,
    JobSubmitted,
    ensure_streams,
    events_stream_config,
    job_subject,
    new_uuid7,
)


def _submitted() -> JobSubmitted:
    job_id = new_uuid7()
    return JobSubmitted(
        event_id=new_uuid7(), job_id=job_id, occurred_at=datetime.now(UTC), project="p", owner="o",
        payload=CommandPayload(command="true"),
    )  # fmt: skip


@pytest.mark.timeout(120)
async def test_an_append_during_a_leader_election_lands_once(tmp_path: Path) -> None:
    cluster = NatsCluster(tmp_path / "nats")
    await asyncio.to_thread(cluster.start)
    nc = await nats.connect(servers=cluster.urls.split(","), max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        js = nc.jetstream()
        for _ in range(300):  # the meta leader is elected a moment after the nodes start
            try:
                await ensure_streams(js, [events_stream_config(replicas=3)])
                info = await js.stream_info(EVENTS_STREAM)
                if info.cluster is not None and info.cluster.leader:
                    break
            except nats.errors.Error:
                pass
            await asyncio.sleep(0.1)
        assert info.cluster is not None and info.cluster.leader
        leader = info.cluster.leader
        victim = cluster.index_of(leader)
        # The appender's client is on a node that stays, so what it meets is the election alone.
        survivor = cluster.nodes[(victim + 1) % len(cluster.nodes)]
        writer = await nats.connect(survivor.url)
        appender = EventAppender(writer)
        await appender.start()
        await appender.append(job_subject(new_uuid7()), _submitted())
        await asyncio.to_thread(cluster.kill, victim)
        event = _submitted()
        appended = await appender.append(job_subject(event.job_id), event, ack_timeout_s=30)
        info = await js.stream_info(EVENTS_STREAM)
        assert info.cluster is not None and info.cluster.leader != leader
        assert appended.seq == info.state.last_seq == 2  # stored once
        await writer.close()
    finally:
        await nc.close()
        await asyncio.to_thread(cluster.stop)
