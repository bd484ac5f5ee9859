"""The worker agent as a real subprocess against the real stack: what it runs, reports and stops."""

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from .conftest import WorkerProcess

StartWorker = Callable[..., Awaitable[WorkerProcess]]


async def wait_for_state(api: httpx.AsyncClient, job_id: str, *states: str, timeout_s: float = 30) -> dict[str, Any]:
    job: dict[str, Any] = {}
    for _ in range(int(timeout_s / 0.1)):
        job = (await api.get(f"/v1/jobs/{job_id}")).json()
        if job["state"] in states:
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} stayed {job.get('state')}, wanted {states}")


async def submit(api: httpx.AsyncClient, **body: Any) -> str:
    # A keep-alive connection the server closes just as a request goes out fails with ReadError; the
    # dedupe key makes sending it again safe (a second send answers 200 with the same job).
    body.setdefault("dedupe_key", str(uuid.uuid4()))
    for attempt in range(3):
        try:
            response = await api.post("/v1/jobs", json=body)
            break
        except (httpx.ReadError, httpx.RemoteProtocolError):
            if attempt == 2:
                raise
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead, only not reaped yet
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


async def wait_until_dead(pids: list[int], timeout_s: float = 15) -> list[int]:
    for _ in range(int(timeout_s / 0.1)):
        alive = [pid for pid in pids if is_alive(pid)]
        if not alive:
            return []
        await asyncio.sleep(0.1)
    return alive


def listed_pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


async def read_pids(path: Path, count: int, timeout_s: float = 20) -> list[int]:
    for _ in range(int(timeout_s / 0.05)):
        pids = listed_pids(path)
        if len(pids) >= count:
            return pids
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never listed {count} pids")


# A job that starts a tree: a child, a grandchild, and one in a session of its own; prints their pids.
TREE = (
    "sleep 300 & echo $! >> {pids}; "
    "sh -c 'sleep 300 & echo $! >> {pids}; wait' & "
    "{python} -c 'import os, time; os.setsid(); print(os.getpid(), flush=True); time.sleep(300)' >> {pids} & "
    "echo $$ >> {pids}; wait"
)


async def test_the_job_environment_and_exit_code_reach_the_job(
    api: httpx.AsyncClient, start_worker: StartWorker, tmp_path: Path
) -> None:
    worker = await start_worker()
    out = tmp_path / "env.json"
    dump = f"import json, os; json.dump({{**os.environ, 'PWD': os.getcwd()}}, open({str(out)!r}, 'w'))"
    job_id = await submit(api, command=f'{sys.executable} -c "{dump}"; exit 7', env={"MINE": "1"}, max_retries=0)
    job = await wait_for_state(api, job_id, "failed")
    env = json.loads(out.read_text())
    assert (job["exit_code"], job["worker_id"]) == (7, await worker.registered())
    assert env["CONVEYOR_JOB_ID"] == job_id
    assert (env["CONVEYOR_ATTEMPT"], env["CONVEYOR_WORKER_ID"], env["MINE"]) == ("1", worker.id, "1")
    assert len(env["CONVEYOR_LEASE_ID"]) == 36  # a UUID; the job shows no lease once finished
    assert env["CONVEYOR_URL"] == str(api.base_url).rstrip("/")
    assert env["PWD"] == env["CONVEYOR_WORKDIR"]
    assert env["PATH"].endswith(os.environ["PATH"])  # the worker's environment, with the job's merged over it


async def test_cancel_kills_the_whole_process_tree(
    api: httpx.AsyncClient, start_worker: StartWorker, tmp_path: Path
) -> None:
    await start_worker("--kill-grace", "1")
    pids_file = tmp_path / "pids"
    job_id = await submit(api, command=TREE.format(pids=pids_file, python=sys.executable))
    pids = await read_pids(pids_file, 4)
    await wait_for_state(api, job_id, "running")
    assert all(is_alive(pid) for pid in pids)
    assert (await api.post(f"/v1/jobs/{job_id}/cancel", json={"reason": "test"})).status_code == 200
    await wait_for_state(api, job_id, "cancelled")
    assert await wait_until_dead(pids) == []


async def test_sigterm_drains_then_gives_back_what_did_not_finish(
    api: httpx.AsyncClient, start_worker: StartWorker, tmp_path: Path
) -> None:
    worker = await start_worker("--capacity", "2", "--grace", "3", "--kill-grace", "1")
    quick = await submit(api, command="sleep 1; echo done")
    pids_file = tmp_path / "pids"
    slow = await submit(api, command=TREE.format(pids=pids_file, python=sys.executable), max_retries=0)
    pids = await read_pids(pids_file, 4)
    await wait_for_state(api, quick, "running")
    worker.signal(signal.SIGTERM)
    later = await submit(api, command="true")
    assert await worker.wait(30) == 0
    # The quick job finished within the grace period; the slow one was stopped and given back unrun
    # (skipped: the attempt is not counted), and the drained worker took nothing new.
    assert (await wait_for_state(api, quick, "succeeded"))["state"] == "succeeded"
    slow_job = await wait_for_state(api, slow, "queued")
    assert (slow_job["attempts"], slow_job["reason"]) == (0, "skipped")
    assert (await api.get(f"/v1/jobs/{later}")).json()["state"] == "queued"
    assert await wait_until_dead(pids) == []


async def test_a_second_sigterm_stops_at_once(api: httpx.AsyncClient, start_worker: StartWorker) -> None:
    worker = await start_worker("--grace", "60", "--kill-grace", "1")
    job_id = await submit(api, command="sleep 300")
    await wait_for_state(api, job_id, "running")
    worker.signal(signal.SIGTERM)
    await asyncio.sleep(0.5)
    worker.signal(signal.SIGTERM)
    assert await worker.wait(15) == 0
    assert (await wait_for_state(api, job_id, "queued"))["state"] == "queued"


async def test_a_sigkilled_workers_job_runs_elsewhere_after_its_lease_expires(
    api: httpx.AsyncClient, start_worker: StartWorker, tmp_path: Path
) -> None:
    first = await start_worker(name="first")
    marker = tmp_path / "ran-on"
    job_id = await submit(
        api, command=f'echo "$CONVEYOR_WORKER_ID" >> {marker}; sleep 2; [ "$CONVEYOR_ATTEMPT" -ge 2 ]', lease_s=5
    )
    await wait_for_state(api, job_id, "running")
    first_id = await first.registered()
    first.signal(signal.SIGKILL)
    await first.wait()
    second = await start_worker(name="second")
    job = await wait_for_state(api, job_id, "succeeded", timeout_s=40)
    assert job["worker_id"] == await second.registered() != first_id
    assert marker.read_text().split() == [first_id, job["worker_id"]]


async def test_a_recipe_job_posts_its_follow_up_jobs(
    api: httpx.AsyncClient, start_worker: StartWorker, tmp_path: Path
) -> None:
    handler = tmp_path / "handler.py"
    handler.write_text(
        "import json, os, sys\n"
        "recipe = json.load(sys.stdin)\n"
        "assert json.loads(os.environ['CONVEYOR_RECIPE']) == recipe\n"
        "print('working on', recipe['name'], file=sys.stderr)\n"
        "jobs = [{'title': f'part {i}', 'command': 'true'} for i in range(recipe['parts'])]\n"
        "print(json.dumps({'result': 'succeeded', 'verification': 'abc123', 'log': ['done'], 'jobs': jobs}))\n"
    )
    worker = await start_worker("--recipe-handler", f"{sys.executable} {handler}")
    # the worker submits the follow-ups as itself: the project must grant it submit access
    assert (await api.post("/v1/projects", json={"name": "drones"})).status_code == 201
    grant = {"status": "granted", "assign": True, "submit": True}
    assert (await api.put(f"/v1/projects/drones/workers/{await worker.registered()}", json=grant)).status_code == 200
    job_id = await submit(api, project="drones", recipe={"name": "tile", "parts": 2})
    await wait_for_state(api, job_id, "succeeded")
    children: list[dict[str, Any]] = []
    for _ in range(100):
        children = [
            j
            for j in (await api.get("/v1/jobs", params={"project": "drones"})).json()["items"]
            if j["parent_id"] == job_id
        ]
        if len(children) == 2:
            break
        await asyncio.sleep(0.1)
    assert sorted(child["title"] for child in children) == ["part 0", "part 1"]
    assert {child["owner"] for child in children} == {f"worker:{await worker.registered()}"}
    for child in children:
        await wait_for_state(api, child["id"], "succeeded")


async def test_a_timeout_and_a_pause_stop_the_process_tree(
    api: httpx.AsyncClient, start_worker: StartWorker, tmp_path: Path
) -> None:
    await start_worker("--kill-grace", "1", "--capacity", "2")
    timed_pids, paused_pids = tmp_path / "timed", tmp_path / "paused"
    timed = await submit(api, command=TREE.format(pids=timed_pids, python=sys.executable), timeout_s=2, max_retries=0)
    paused = await submit(api, command=TREE.format(pids=paused_pids, python=sys.executable))
    first_tree, second_tree = await read_pids(timed_pids, 4), await read_pids(paused_pids, 4)
    await wait_for_state(api, paused, "running")
    assert (await api.post(f"/v1/jobs/{paused}/pause")).status_code == 200
    assert await wait_until_dead(second_tree) == []
    assert (await wait_for_state(api, timed, "timed_out", "failed"))["state"] == "timed_out"
    assert await wait_until_dead(first_tree) == []
    job = (await api.get(f"/v1/jobs/{paused}")).json()
    assert job["paused"] is True and job["state"] in ("queued", "pending")


async def test_a_job_that_cannot_run_here_fails_and_the_worker_goes_on(
    api: httpx.AsyncClient, start_worker: StartWorker, tmp_path: Path
) -> None:
    await start_worker()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    bad_dir = await submit(api, command="true", workdir=str(blocker / "sub"), max_retries=0)
    no_handler = await submit(api, recipe={"x": 1}, max_retries=0)
    assert (await wait_for_state(api, bad_dir, "failed", "succeeded"))["state"] == "failed"
    assert (await wait_for_state(api, no_handler, "failed", "succeeded"))["state"] == "failed"
    assert (await wait_for_state(api, await submit(api, command="true"), "succeeded"))["state"] == "succeeded"
