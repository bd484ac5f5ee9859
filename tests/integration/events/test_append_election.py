"""Appending to an R3 EVENTS on a three-node cluster.

An append that meets EVENTS between two leaders (its leader node just died, the other two are
electing) waits for the new leader instead of failing: on a cluster the gap is a few seconds. And a
clustered stream that cannot confirm an expected sequence answers with its own error code, which
is a conflict all the same.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import StreamInfo

from conveyor_devstack import NatsCluster
from conveyor_events import (
    EVENTS_STREAM,
    AppendConflictError,
    CommandPayload,
    EventAppender,
    JobSubmitted,
    PendingAppend,
    ensure_streams,
    events_stream_config,
    job_subject,
    new_uuid7,
)


def _submitted(job_id: str | None = None) -> JobSubmitted:
    return JobSubmitted(
        event_id=new_uuid7(), job_id=job_id or new_uuid7(), occurred_at=datetime.now(UTC), project="p", owner="o",
        payload=CommandPayload(command="true"),
    )  # fmt: skip


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    """Three routed nats-servers with EVENTS at R3 and a leader elected."""
    nodes = NatsCluster(tmp_path / "nats")
    await asyncio.to_thread(nodes.start)
    try:
        nc = await nats.connect(servers=nodes.urls.split(","))
        try:
            await _events_at_r3(nc)
        finally:
            await nc.close()
        yield nodes
    finally:
        await asyncio.to_thread(nodes.stop)


async def _events_at_r3(nc: NatsClient) -> StreamInfo:
    js = nc.jetstream()
    for _ in range(300):  # the meta leader is elected a moment after the nodes start
        try:
            await ensure_streams(js, [events_stream_config(replicas=3)])
            info = await js.stream_info(EVENTS_STREAM)
            if info.cluster is not None and info.cluster.leader:
                return info
        except nats.errors.Error:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError("the cluster did not elect a leader for EVENTS")


@pytest.mark.timeout(120)
async def test_an_append_during_a_leader_election_lands_once(cluster: NatsCluster) -> None:
    nc = await nats.connect(servers=cluster.urls.split(","))
    info = await _events_at_r3(nc)
    await nc.close()
    assert info.cluster is not None and info.cluster.leader
    leader = info.cluster.leader
    victim = cluster.index_of(leader)
    # The appender's client is on a node that stays, so what it meets is the election alone.
    writer = await nats.connect(cluster.nodes[(victim + 1) % len(cluster.nodes)].url)
    try:
        appender = EventAppender(writer)
        await appender.append(job_subject(new_uuid7()), _submitted())
        await asyncio.to_thread(cluster.kill, victim)
        event = _submitted()
        appended = await appender.append(job_subject(event.job_id), event, ack_timeout_s=30)
        info = await writer.jetstream().stream_info(EVENTS_STREAM)
        assert info.cluster is not None and info.cluster.leader != leader
        assert appended.seq == info.state.last_seq == 2  # stored once
    finally:
        await writer.close()


@pytest.mark.timeout(120)
async def test_a_wrong_expected_sequence_is_a_conflict_on_a_cluster(cluster: NatsCluster) -> None:
    """A clustered stream answers 10164 (not 10071) when it cannot confirm the expected sequence
    because another append to the subject is still being replicated: a conflict, not a failure.

    Two appends to one subject in one pipelined batch show it every time (one node would store
    both; no caller batches dependent appends to one subject). In the drill, a lease call raced a
    decision on the same job and the scheduler answered ``internal`` (the gateway 500) instead of
    treating it as overtaken.
    """
    nc = await nats.connect(servers=cluster.urls.split(","))
    try:
        appender = EventAppender(nc)
        job_id = new_uuid7()
        first, second = await appender.append_batch(
            [
                PendingAppend(job_subject(job_id), _submitted(job_id), 0),
                PendingAppend(job_subject(job_id), _submitted(job_id), 1),
            ]
        )
        assert not isinstance(first, AppendConflictError)
        assert isinstance(second, AppendConflictError)
        with pytest.raises(AppendConflictError):  # and a plain stale expectation, as on one node
            await appender.append(job_subject(job_id), _submitted(job_id), expected_last_subject_seq=0)
    finally:
        await nc.close()
