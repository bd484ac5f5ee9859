"""Three nats-servers joined by routes: an R3 stream keeps taking writes with one node killed, and the
node comes back on its own store."""

import asyncio
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.js.api import StreamConfig

from conveyor_devstack import NatsCluster


async def _stream_at_r3(js: nats.js.JetStreamContext) -> str:
    """Create the stream at R3 once the cluster has elected its meta leader; return the stream's leader."""
    for _ in range(300):
        try:
            info = await js.add_stream(StreamConfig(name="DRILL", subjects=["drill.>"], num_replicas=3))
            if info.cluster is not None and info.cluster.leader:
                return info.cluster.leader
        except nats.errors.Error:  # no meta leader yet
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError("the cluster did not create an R3 stream")


@pytest.mark.timeout(90)
async def test_an_r3_stream_survives_a_killed_node(tmp_path: Path) -> None:
    cluster = NatsCluster(tmp_path / "nats")
    await asyncio.to_thread(cluster.start)
    nc = await nats.connect(servers=cluster.urls.split(","), max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        js = nc.jetstream()
        leader = await _stream_at_r3(js)
        assert len(cluster.urls.split(",")) == 3
        await js.publish("drill.a", b"1")
        victim = cluster.index_of(leader)
        await asyncio.to_thread(cluster.kill, victim)
        for _ in range(300):  # the two left elect a new stream leader
            try:
                await js.publish("drill.a", b"2", timeout=1)
                break
            except nats.errors.Error:  # no responders, no stream response, timeouts while it elects
                await asyncio.sleep(0.1)
        info = await js.stream_info("DRILL")
        assert info.state.messages == 2
        assert info.cluster is not None and info.cluster.leader != leader
        await asyncio.to_thread(cluster.start, victim)
        for _ in range(300):  # the node rejoins and catches up as a replica
            info = await js.stream_info("DRILL")
            assert info.cluster is not None
            if any(r.name == leader and r.current for r in info.cluster.replicas or []):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"{leader} did not catch up: {info.cluster}")
    finally:
        await nc.close()
        await asyncio.to_thread(cluster.stop)
