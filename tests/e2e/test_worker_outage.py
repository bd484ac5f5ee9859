"""A worker cut off from the gateway: output kept and delivered in order, a lease lost meanwhile stops the job."""

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from conveyor_devstack import free_port
from conveyor_worker.output import dropped_marker

from .test_worker_agent import StartWorker, is_alive, read_pids, submit, wait_for_state, wait_until_dead
from .test_worker_output import read_log

pytestmark = pytest.mark.usefixtures("log_collector")


class Outage:
    """A TCP proxy in front of the gateway that can be cut (refused connections, open ones closed)."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


@pytest.fixture
async def outage(api: httpx.AsyncClient) -> AsyncIterator[Outage]:
    """A proxy to the test's gateway, up."""
    proxy = Outage(api.base_url.port or 80)
    await proxy.up()
    yield proxy
    with contextlib.suppress(AssertionError):
        await proxy.down()


async def test_output_written_while_the_gateway_is_unreachable_arrives_complete_and_in_order(
    api: httpx.AsyncClient, start_worker: StartWorker, outage: Outage, tmp_path: Path
) -> None:
    await start_worker(env={"CONVEYOR_URL": f"http://127.0.0.1:{outage.port}"})
    script = tmp_path / "ticks.py"
    script.write_text("import time\nfor i in range(300):\n    print(f'tick {i:03d}', flush=True)\n    time.sleep(0.01)")
    job_id = await submit(api, command=f"{sys.executable} {script}")
    await wait_for_state(api, job_id, "running")
    await asyncio.sleep(0.5)
    await outage.down()
    await asyncio.sleep(3)  # the job ends meanwhile; its output waits in the worker's buffer
    await outage.up()
    await wait_for_state(api, job_id, "succeeded")
    expected = "".join(f"tick {i:03d}\n" for i in range(300)).encode()
    assert await read_log(api, job_id, len(expected)) == expected


async def test_a_lease_lost_while_unreachable_stops_the_job_and_the_worker_carries_on(
    api: httpx.AsyncClient, start_worker: StartWorker, outage: Outage, tmp_path: Path
) -> None:
    worker = await start_worker("--kill-grace", "1", env={"CONVEYOR_URL": f"http://127.0.0.1:{outage.port}"})
    pids = tmp_path / "pids"
    job_id = await submit(api, command=f"echo $$ >> {pids}; exec sleep 300", lease_s=5)
    [first] = await read_pids(pids, 1)
    await wait_for_state(api, job_id, "running")
    await outage.down()
    # Heartbeats fail for longer than the 5 s lease: the worker stops the job by itself.
    assert await wait_until_dead([first], timeout_s=12) == []
    assert worker.proc.returncode is None
    await outage.up()
    # The scheduler gave the job out again once the lease expired; the worker, back online, runs it.
    [_, second] = await read_pids(pids, 2, timeout_s=30)
    assert is_alive(second)
    job = await wait_for_state(api, job_id, "running")
    assert job["attempts"] == 2


async def test_output_past_the_buffer_while_unreachable_is_dropped_behind_a_marker(
    api: httpx.AsyncClient, start_worker: StartWorker, outage: Outage, tmp_path: Path
) -> None:
    worker = await start_worker("--output-buffer", "10000", env={"CONVEYOR_URL": f"http://127.0.0.1:{outage.port}"})
    marker = tmp_path / "go"
    # Waits for the outage, writes 50 kB during it (5 times the buffer), then a last line once it is over.
    command = f"echo before; while [ ! -e {marker} ]; do sleep 0.05; done; head -c 50000 /dev/zero | tr '\\0' x; " \
              f"while [ -e {marker} ]; do sleep 0.05; done; echo; echo after"  # fmt: skip
    job_id = await submit(api, command=command)
    await wait_for_state(api, job_id, "running")
    await read_log(api, job_id, 7)  # "before" went out while the job waited, before the outage
    await asyncio.sleep(0.5)
    await outage.down()
    marker.touch()
    await asyncio.sleep(2)
    await outage.up()
    await read_log(api, job_id, 7 + 10_000)  # the buffer's 10 kB went out once the gateway was back
    marker.unlink()
    job = await wait_for_state(api, job_id, "succeeded")
    log = await read_log(api, job_id, 7 + 10_000 + len(dropped_marker(40_000)) + 7)
    assert job["state"] == "succeeded"
    assert log == b"before\n" + b"x" * 10_000 + dropped_marker(40_000) + b"\nafter\n"
    # Operators see it in the worker's own log too.
    notes: list[dict[str, str]] = []
    for _ in range(50):
        notes = (await api.get(f"/v1/workers/{worker.id}/log", params={"level": "warn"})).json()["items"]
        if notes:
            break
        await asyncio.sleep(0.1)
    assert [(n["level"], n["scope"], n["message"]) for n in notes] == [
        ("warn", f"job {job_id} attempt 1", "40000 bytes of output dropped: gateway unreachable")
    ]
