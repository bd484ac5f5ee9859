"""task_tracker-style get/release throughput through the façade, beside the native lease/finish
on the same stack in the same run (issue 15: the façade should cost little on top).

Both sides drain the same number of no-op recipe jobs from a public project of their own, with
the same number of closed-loop clients, each a worker doing one task at a time:

- façade: ``GET /compat/task_tracker/task/get/<project>`` then ``POST .../task/release``
  ``{"task_id", "result": 0}``, with the ``X-Worker-Id``/``X-Secret`` headers and no content
  type, as the real drones send them;
- native: ``POST /v1/workers/<id>/lease`` ``{"max": 1}`` then ``POST /v1/leases/<id>/finish``
  ``{"result": "succeeded"}`` with HTTP Basic credentials.

The jobs are queued first (bulk), so the figure is the worker protocol's alone.
"""

import asyncio
import json
import time
from typing import Any

import msgspec

from .http_load import Connection, basic_auth
from .stack import BenchStack

TT = "/compat/task_tracker"


async def _raw(port: int, headers: dict[str, str]) -> Connection:
    """A connection sending exactly ``headers`` (no API token: a drone has none)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return Connection(reader, writer, "127.0.0.1", port, extra)


async def _queue(admin: Connection, project: str, n: int) -> None:
    status, answer = await admin.request(
        "POST", "/v1/projects", json.dumps({"name": project, "visibility": "public"}).encode()
    )
    assert status in (201, 202), answer
    for start in range(0, n, 1000):
        jobs = [{"project": project, "recipe": json.dumps({"n": i})} for i in range(start, min(n, start + 1000))]
        status, answer = await admin.request("POST", "/v1/jobs/bulk", json.dumps({"jobs": jobs}).encode())
        assert 200 <= status < 300, answer[:300]


async def _wait_queued(admin: Connection, project: str, n: int) -> None:
    for _ in range(600):
        status, answer = await admin.get(f"/v1/jobs?project={project}&state=queued&limit=500")
        items = json.loads(answer)["items"] if status == 200 else []
        if len(items) >= min(n, 500):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the jobs of {project} were not queued")


async def _tt_client(port: int, project_id: int, done: list[int], n: int) -> None:
    anon = await _raw(port, {"User-Agent": "tt_py_client1.0"})
    _, answer = await anon.request("POST", f"{TT}/worker/create", b'{"alias": "bench"}')
    worker = json.loads(answer)["content"]["worker"]
    anon.close()
    conn = await _raw(
        port, {"User-Agent": "tt_py_client1.0", "X-Worker-Id": str(worker["id"]), "X-Secret": worker["secret"]}
    )
    while done[0] < n:
        status, answer = await conn.get(f"{TT}/task/get/{project_id}")
        body = json.loads(answer)
        if not body["ok"]:
            if body.get("message") == "No task available":
                if done[0] >= n:
                    break
                await asyncio.sleep(0.01)
                continue
            raise RuntimeError(f"task/get answered {status}: {answer[:300]!r}")
        task_id = body["content"]["task"]["id"]
        release = msgspec.json.encode({"task_id": task_id, "result": 0, "verification": 0})
        status, answer = await conn.request("POST", f"{TT}/task/release", release)
        if status != 200 or not json.loads(answer)["content"]["updated"]:
            raise RuntimeError(f"task/release answered {status}: {answer[:300]!r}")
        done[0] += 1
    conn.close()


async def _native_client(port: int, done: list[int], n: int) -> None:
    admin = await Connection.open("127.0.0.1", port)
    _, answer = await admin.request("POST", "/v1/workers", b'{"name": "bench", "capacity": 1}')
    reg = json.loads(answer)
    admin.close()
    conn = await _raw(port, basic_auth(reg["id"], reg["secret"]))
    finish = msgspec.json.encode({"result": "succeeded", "exit_code": 0})
    while done[0] < n:
        status, answer = await conn.request("POST", f"/v1/workers/{reg['id']}/lease", b'{"max": 1, "wait_s": 0}')
        leases = json.loads(answer)["leases"] if status == 200 else None
        if leases is None:
            raise RuntimeError(f"lease answered {status}: {answer[:300]!r}")
        if not leases:
            await asyncio.sleep(0.01)
            continue
        status, answer = await conn.request("POST", f"/v1/leases/{leases[0]['lease_id']}/finish", finish)
        if status != 200:
            raise RuntimeError(f"finish answered {status}: {answer[:300]!r}")
        done[0] += 1
    conn.close()


async def tt_figures(stack: BenchStack, *, jobs: int, clients: int) -> list[dict[str, Any]]:
    """Tasks per second through the façade and through the native protocol, same run."""
    stack.start("scheduler")
    port = stack.start("gateway")
    admin = await Connection.open("127.0.0.1", port)
    rows: list[dict[str, Any]] = []
    for side in ("task_tracker", "native"):
        project = f"bench-{side.replace('_', '-')}"
        await _queue(admin, project, jobs)
        await _wait_queued(admin, project, jobs)
        done = [0]
        started = time.perf_counter()
        if side == "task_tracker":
            _, answer = await admin.get(f"{TT}/project/list")
            number = next(p["id"] for p in json.loads(answer)["content"]["projects"] if p["name"] == project)
            await asyncio.gather(*(_tt_client(port, number, done, jobs) for _ in range(clients)))
            label = "task_tracker façade: GET /task/get + POST /task/release"
        else:
            await asyncio.gather(*(_native_client(port, done, jobs) for _ in range(clients)))
            label = "native: POST /v1/workers/{id}/lease + POST /v1/leases/{id}/finish"
        seconds = time.perf_counter() - started
        rows.append(
            {
                "scenario": f"{label}, {jobs:,} jobs, {clients} workers",
                "jobs": done[0],
                "seconds": seconds,
                "jobs_per_s": done[0] / seconds,
            }
        )
    admin.close()
    rows.append(
        {"scenario": "task_tracker façade / native, jobs/s", "ratio": rows[0]["jobs_per_s"] / rows[1]["jobs_per_s"]}
    )
    stack.stop("gateway")
    stack.stop("scheduler")
    return rows
