"""The log collector is SIGKILLed (a real child process) while chunks of many logs stream in:
once it runs again, every log is complete and in order, nothing lost and nothing doubled."""

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
from nats.js import JetStreamContext

from conveyor_devstack import free_port
from conveyor_events import LOGS_STREAM, LogChunk, encode_chunk, log_subject, new_uuid7

LOGS = 8
CHUNKS = 150  # per log


class CollectorProcess:
    """``python -m conveyor_logs`` as a child process, small batches so a kill lands mid-batch."""

    def __init__(self, nats_url: str, database_url: str, log: Path) -> None:
        self.env = {
            **os.environ,
            "CONVEYOR_NATS_URL": nats_url,
            "CONVEYOR_DATABASE_URL": database_url,
            "CONVEYOR_HTTP_PORT": str(free_port()),
            "CONVEYOR_LOG_JSON": "1",
            "CONVEYOR_BATCH_SIZE": "25",
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "conveyor_logs"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


async def _stored(pool: "asyncpg.Pool[Any]") -> int:
    try:
        return int(await pool.fetchval("SELECT coalesce(sum(stored), 0) FROM logs.streams") or 0)
    except asyncpg.UndefinedTableError:
        return 0


async def _publish(js: JetStreamContext, logs: dict[str, tuple[str, bytes]], rng: random.Random) -> None:
    """Every log's chunks, interleaved across logs; some published twice (a gateway retry
    with a new message id, so JetStream's dedupe does not hide it: the collector must)."""
    offsets = dict.fromkeys(logs, 0)
    sizes = {job: len(text) // CHUNKS + 1 for job, (_, text) in logs.items()}
    while any(offsets[j] < len(logs[j][1]) for j in logs):
        job = rng.choice([j for j in logs if offsets[j] < len(logs[j][1])])
        lease, text = logs[job]
        start = offsets[job]
        data = text[start : start + sizes[job]]
        chunk = LogChunk(job_id=job, lease_id=lease, attempt=1, task="", offset=start, data=data)
        for _ in range(2 if rng.random() < 0.1 else 1):
            await js.publish(log_subject(job, lease), encode_chunk(chunk), stream=LOGS_STREAM)
        offsets[job] = start + len(data)
        if rng.random() < 0.05:
            await asyncio.sleep(0.01)


async def test_sigkill_mid_write_loses_and_doubles_nothing(
    js: JetStreamContext, pool: "asyncpg.Pool[Any]", nats_url: str, database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(5)
    logs = {
        new_uuid7(): (new_uuid7(), b"".join(f"{n}:{i}:{'z' * rng.randrange(0, 200)}\n".encode() for i in range(600)))
        for n in range(LOGS)
    }
    total = sum(len(text) for _, text in logs.values())
    collector = CollectorProcess(nats_url, database_url, tmp_path / "collector.log")
    collector.start()
    try:
        writer = asyncio.create_task(_publish(js, logs, rng))
        kills = 0
        while not writer.done() or await _stored(pool) < total:
            stored = await _stored(pool)
            if 0 < stored < total and kills < 3 and stored > kills * total // 4:
                collector.kill()  # mid-stream: some batch is half applied in memory
                kills += 1
                collector.start()
            await asyncio.sleep(0.05)
            if writer.done() and kills >= 3:
                break
        await writer
        for _ in range(600):
            if await _stored(pool) == total:
                break
            await asyncio.sleep(0.05)
        assert kills >= 1
        for job, (_, text) in logs.items():
            rows = await pool.fetch(
                "SELECT start_offset, data FROM logs.chunks WHERE job_id = $1 ORDER BY start_offset", job
            )
            position = 0
            for offset, data in rows:
                assert offset == position  # contiguous: no hole, no overlap
                position += len(data)
            assert b"".join(bytes(r[1]) for r in rows) == text
        assert await _stored(pool) == total
    finally:
        collector.stop()
