"""The stock worker's protocol against the façade: a job picked, its log and progress stored where
the native API reads them, its end reported; a worker registered on first contact with its load."""

import asyncio
from typing import Any

import httpx

from .conftest import Stack
from .stock_worker import FORM, StockWorker


async def _native_id(stack: Stack, title: str) -> str:
    page = (await stack.native.get("/v1/jobs", params={"limit": 500})).json()
    return str(next(j["id"] for j in page["items"] if j["title"] == title))


async def _until(read: Any, check: Any, what: str) -> Any:
    for _ in range(200):
        value = await read()
        if check(value):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: last {value!r}")


async def job_in(api: httpx.AsyncClient, number: int, state: str) -> dict[str, Any]:
    """The job once it is in ``state`` (the worker's calls answer before readers see their effect)."""
    response = await _until(lambda: api.get(f"/api/jobs/{number}"), lambda r: r.json()["state"] == state, state)
    return dict(response.json())


async def test_a_job_runs_through_pickjob_heartbeat_and_endjob(stack: Stack) -> None:
    api = stack.coalition
    body = {"title": "proto-1", "command": "render -f 1", "dir": "/farm", "environment": "A=1\\nB=2",
            "user": "artist", "affinity": "proto", "timeout": 600, "priority": 100}  # fmt: skip
    created = await api.put("/api/jobs", json=body)
    assert created.status_code == 200 and isinstance(created.json(), int)
    number = created.json()
    await api.post("/api/workers", json={"proto-w1": {"affinity": "proto"}})
    worker = StockWorker(stack.farm, "proto-w1")
    picked = await worker.pick()
    assert picked == (number, "render -f 1", "/farm", "artist", "A=1\\nB=2")
    job = await job_in(api, number, "WORKING")
    assert (job["state"], job["worker"], job["user"], job["affinity"], job["timeout"]) == (
        "WORKING", "proto-w1", "artist", "proto", 600)  # fmt: skip
    assert await worker.beat(number, b"frame 1\nPROGRESS:40\n")
    assert await worker.beat(number, b"more\n")
    native_id = await _native_id(stack, "proto-1")
    log = await _until(lambda: stack.native.get(f"/v1/jobs/{native_id}/log"), lambda r: b"more" in r.content, "log")
    assert log.content == b"frame 1\nPROGRESS:40\nmore\n"
    progress = await _until(lambda: api.get(f"/api/jobs/{number}"), lambda r: r.json()["progress"] > 0, "progress")
    assert progress.json()["progress"] == 0.4
    await worker.end(number, 0)
    done = await job_in(api, number, "FINISHED")
    assert done["progress"] == 1.0
    assert (await api.get(f"/api/jobs/{number}/log")).json() == "frame 1\nPROGRESS:40\nmore\n"
    assert await worker.pick() == (-1, "", "", "", None)
    workers = {w["name"]: w for w in (await api.get("/api/workers")).json()}
    w1 = workers["proto-w1"]
    assert (w1["free_memory"], w1["total_memory"], w1["cpu"], w1["finished"], w1["active"]) == (
        1500, 4096, "[8]", 1, 1)  # fmt: skip
    assert not await worker.beat(number, b"late")  # the run is over: stop


async def test_unknown_worker_is_registered_and_a_failed_run_is_an_error(stack: Stack) -> None:
    api = stack.coalition
    number = (await api.put("/api/jobs", json={"title": "proto-fail", "command": "false", "affinity": "fails"})).json()
    worker = StockWorker(stack.farm, "proto-w2")
    await api.post("/api/workers", json={"proto-w2": {"affinity": "fails"}})
    assert (await worker.pick())[0] == number
    await worker.end(number, 3)
    await job_in(api, number, "ERROR")
    events = (await api.get("/api/events", params={"job": number, "howlong": 600})).json()
    assert [(e["job_id"], e["worker"], e["state"]) for e in events] == [(number, "proto-w2", "ERROR")]


async def test_a_paused_job_stops_its_run_and_a_stopped_worker_gets_nothing(stack: Stack) -> None:
    api = stack.coalition
    number = (await api.put("/api/jobs", json={"title": "proto-pause", "command": "sleep 9", "affinity": "pz"})).json()
    await api.post("/api/workers", json={"proto-w3": {"affinity": "pz"}})
    worker = StockWorker(stack.farm, "proto-w3")
    assert (await worker.pick())[0] == number
    await job_in(api, number, "WORKING")
    assert (await api.post("/api/pausejobs", json=[number])).json() == 1
    assert not await worker.beat(number, b"")  # false: the worker kills the process
    assert (await api.get(f"/api/jobs/{number}")).json()["state"] == "PAUSED"
    assert (await api.post("/api/stopworkers", json=["proto-w3"])).json() == 1
    assert (await api.post("/api/startjobs", json=[number])).json() == 1
    assert (await api.get(f"/api/jobs/{number}")).json()["state"] == "WAITING"
    assert (await worker.pick())[0] == -1  # inactive
    assert (await api.post("/api/startworkers", json=["proto-w3"])).json() == 1
    assert (await worker.pick())[0] == number


async def test_credentials_or_a_trusted_network(stack: Stack) -> None:
    untrusted = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.port}", transport=untrusted) as outsider:
        response = await outsider.post("/workers/pickjob", data={"hostname": "nobody"}, headers=FORM)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
        assert (await outsider.get("/api/jobs")).status_code == 401
        # A browser's Basic credentials with a Conveyor token as the password are accepted anywhere.
        assert (await outsider.get("/api/jobs", auth=httpx.BasicAuth("anyone", stack.token))).status_code == 200
        bearer = {"Authorization": f"Bearer {stack.token}"}
        assert (await outsider.get("/api/workers", headers=bearer)).status_code == 200
        assert (await outsider.get("/api/jobs", headers={"Authorization": "Bearer cvy_wrong"})).status_code == 401
    names = [w["name"] for w in (await stack.farm.get("/api/workers")).json()]
    assert "nobody" not in names  # the refused pick registered nothing


async def test_retry_retries_progress_follows_the_jobs_pattern_and_the_top_priority_dominates(stack: Stack) -> None:
    api = stack.coalition
    await api.post("/api/workers", json={"proto-w4": {"affinity": "rt"}})
    worker = StockWorker(stack.farm, "proto-w4")
    body = {"title": "retried", "command": "flaky", "affinity": "rt", "retry": 1, "progress_pattern": "done %one"}
    number = (await api.put("/api/jobs", json=body)).json()
    assert (await worker.pick())[0] == number
    assert await worker.beat(number, b"done 0.25\n")
    await _until(lambda: api.get(f"/api/jobs/{number}"), lambda r: r.json()["progress"] == 0.25, "progress")
    await worker.end(number, 1)  # fails once: retried, not ERROR
    assert (await _until(worker.pick, lambda t: t[0] == number, "retried pick"))[0] == number
    await worker.end(number, 0)
    done = await job_in(api, number, "FINISHED")
    assert done["run_done"] == 2
    # A low top-level job's high-priority frame waits behind a high top-level job's low-priority frame.
    low = (await api.put("/api/jobs", json={"title": "low", "priority": 10, "affinity": "rt"})).json()
    high = (await api.put("/api/jobs", json={"title": "high", "priority": 200, "affinity": "rt"})).json()
    eager = (await api.put("/api/jobs", json={"parent": low, "command": "a", "priority": 255})).json()
    modest = (await api.put("/api/jobs", json={"parent": high, "command": "b", "priority": 0})).json()
    assert [(await worker.run_one()), (await worker.run_one())] == [modest, eager]
