"""The log sender's timing: a line goes out within the flush delay; bursts and large output coalesce."""

import asyncio
from typing import Any, cast

from conveyor_client import WorkerApi
from conveyor_worker.output import FLUSH_DELAY_S, MAX_CHUNK_BYTES, OutputBuffer
from conveyor_worker.sender import LogSender


class RecordingApi:
    """Accepts every chunk and notes when it arrived (loop time)."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, int, bytes]] = []
        self.arrived = asyncio.Event()

    async def append_log(self, lease_id: str, offset: int, data: bytes, task: str | None = None) -> None:
        self.sent.append((asyncio.get_running_loop().time(), offset, data))
        self.arrived.set()


def sender_with(api: RecordingApi) -> LogSender:
    return LogSender(cast(WorkerApi, api), "lease", OutputBuffer())


async def next_chunk(api: RecordingApi, timeout_s: float = 5.0) -> tuple[float, int, bytes]:
    api.arrived.clear()
    await asyncio.wait_for(api.arrived.wait(), timeout_s)
    return api.sent[-1]


async def stop(sender: LogSender, running: "asyncio.Task[Any]") -> None:
    sender.close()
    await asyncio.wait_for(running, 5.0)


async def test_a_line_goes_out_within_the_flush_delay_while_the_run_goes_on() -> None:
    api = RecordingApi()
    sender = sender_with(api)
    running = asyncio.create_task(sender.run())
    loop = asyncio.get_running_loop()
    for n in range(3):  # each line after a quiet spell, as a job printing a line now and then
        await asyncio.sleep(0.3)
        written = loop.time()
        await sender.put(f"line {n}\n".encode())
        at, _, data = await next_chunk(api)
        assert data == f"line {n}\n".encode()
        assert FLUSH_DELAY_S * 0.9 <= at - written < FLUSH_DELAY_S + 0.5
    await stop(sender, running)
    assert [offset for _, offset, _ in api.sent] == [0, 7, 14]


async def test_a_burst_within_the_delay_goes_out_as_one_chunk() -> None:
    api = RecordingApi()
    sender = sender_with(api)
    running = asyncio.create_task(sender.run())
    for n in range(50):
        await sender.put(f"{n:02d}\n".encode())
    _, offset, data = await next_chunk(api)
    assert (offset, data) == (0, b"".join(f"{n:02d}\n".encode() for n in range(50)))
    await stop(sender, running)
    assert len(api.sent) == 1


async def test_large_output_goes_in_full_chunks_without_waiting_for_the_delay() -> None:
    api = RecordingApi()
    sender = sender_with(api)
    running = asyncio.create_task(sender.run())
    block = b"x" * 65536
    for _ in range(4 * MAX_CHUNK_BYTES // len(block)):
        await sender.put(block)
    while len(api.sent) < 4:  # sent while the run goes on: a full chunk does not wait for the end
        await next_chunk(api)
    assert [len(data) for _, _, data in api.sent] == [MAX_CHUNK_BYTES] * 4
    await stop(sender, running)
    assert len(api.sent) == 4
