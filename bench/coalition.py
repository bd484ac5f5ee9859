"""Frames per second through coalition's worker protocol beside the native lease protocol, in one
run on one stack: the same no-op frames, the same number of workers, each worker one call at a time.

- coalition: ``POST /workers/pickjob`` (form), ``/workers/heartbeat`` (a base64 log line), ``/workers/endjob``,
  as the stock ``worker.py`` sends them (3 calls a frame), on ``/compat/coalition``.
- native: ``POST /v1/workers/{id}/lease`` (max 1, no wait), ``/v1/leases/{id}/log``, ``/v1/leases/{id}/finish``
  with ``started_at`` (3 calls a frame), as ``conveyor_worker`` sends them for a short run.

Each fleet sees only its own frames (labels), submitted beforehand with ``POST /v1/jobs/bulk``.
"""

import asyncio
import base64
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import msgspec

from .http_load import Connection, basic_auth
from .stack import BenchStack

_FORM = "Content-Type: application/x-www-form-urlencoded\r\nAccept: text/plain\r\n"
_LOG = base64.b64encode(b"frame rendered\nPROGRESS:100\n").decode()


async def _bulk(port: int, label: str, n: int) -> None:
    conn = await Connection.open("127.0.0.1", port)
    job = msgspec.json.encode({"title": "frame", "command": "true", "labels": [label], "max_retries": 0})
    for start in range(0, n, 1000):
        body = b'{"jobs":[' + b",".join([job] * min(1000, n - start)) + b"]}"
        status, answer = await conn.request("POST", "/v1/jobs/bulk", body)
        if status >= 300:
            raise RuntimeError(f"bulk submit answered {status}: {answer[:300]!r}")
    conn.close()


async def _form(conn: Connection, path: str, fields: dict[str, str]) -> bytes:
    body = urlencode(fields).encode()
    extra = f"{_FORM}Content-Length: {len(body)}\r\n"
    head = f"POST {path} HTTP/1.1\r\nHost: {conn.host}\r\n{conn.extra}{extra}\r\n"
    conn.writer.write(head.encode() + body)
    status_line = await conn.reader.readline()
    length = 0
    while (line := await conn.reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    data = await conn.reader.readexactly(length) if length else b""
    if b" 200 " not in status_line:
        raise RuntimeError(f"{path} answered {status_line!r}: {data[:300]!r}")
    return data


async def _coalition_worker(port: int, name: str, deadline: float) -> int:
    conn = await Connection.open("127.0.0.1", port)
    status = {"hostname": name, "load": "[5.0, 5.0]", "free_memory": "1000", "total_memory": "2000"}
    done = 0
    while time.monotonic() < deadline:
        answer = await _form(conn, "/compat/coalition/workers/pickjob", status)
        job_id = int(answer[1 : answer.index(b",")])
        if job_id == -1:
            return done
        beat = {**status, "jobId": str(job_id), "log": _LOG}
        await _form(conn, "/compat/coalition/workers/heartbeat", beat)
        await _form(
            conn, "/compat/coalition/workers/endjob", {"hostname": name, "jobId": str(job_id), "errorCode": "0"}
        )
        done += 1
    return done


async def _native_worker(port: int, name: str, deadline: float) -> int:
    admin = await Connection.open("127.0.0.1", port)
    status, body = await admin.request("POST", "/v1/workers", msgspec.json.encode({"name": name, "labels": ["native"]}))
    registered = msgspec.json.decode(body)
    admin.close()
    conn = await Connection.open("127.0.0.1", port, basic_auth(registered["id"], registered["secret"]))
    done = 0
    log = base64.b64decode(_LOG)
    while time.monotonic() < deadline:
        started = datetime.now(UTC).isoformat()
        status, body = await conn.request("POST", f"/v1/workers/{registered['id']}/lease", b'{"max":1,"wait_s":0}')
        leases = msgspec.json.decode(body)["leases"] if status == 200 else []
        if not leases:
            return done
        lease = leases[0]["lease_id"]
        await conn.request(
            "POST", f"/v1/leases/{lease}/log?offset=0", log, "Content-Type: application/octet-stream\r\n"
        )
        finish = msgspec.json.encode({"result": "succeeded", "exit_code": 0, "started_at": started})
        await conn.request("POST", f"/v1/leases/{lease}/finish", finish)
        done += 1
    return done


async def _drain(port: int, workers: int, kind: str, time_limit_s: float) -> tuple[int, float]:
    deadline = time.monotonic() + time_limit_s
    run = _coalition_worker if kind == "coalition" else _native_worker
    started = time.perf_counter()
    counts = await asyncio.gather(*(run(port, f"bench-{kind}-{i}", deadline) for i in range(workers)))
    return sum(counts), time.perf_counter() - started


async def coalition_vs_native(
    stack: BenchStack, frames: int, workers: int, time_limit_s: float = 600
) -> list[dict[str, Any]]:
    """Both fleets drain ``frames`` frames each, one after the other, on one gateway and scheduler."""
    stack.start("scheduler")
    port = stack.start("gateway")
    rows = []
    for kind in ("coalition", "native"):
        if kind == "coalition":  # the façade's workers, registered with the frames' affinity first
            conn = await Connection.open("127.0.0.1", port)
            names = {f"bench-coalition-{i}": {"affinity": "coal"} for i in range(workers)}
            await conn.request("POST", "/compat/coalition/api/workers", msgspec.json.encode(names))
            conn.close()
        await _bulk(port, "coal" if kind == "coalition" else "native", frames)
        done, seconds = await _drain(port, workers, kind, time_limit_s)
        calls = "pickjob + heartbeat + endjob" if kind == "coalition" else "lease + log + finish"
        rows.append({"scenario": f"{kind} worker protocol, {workers} workers, {calls}", "frames": done,
                     "seconds": seconds, "frames_per_s": done / seconds})  # fmt: skip
    return rows
