"""The real drones' flow through the task_tracker façade, against the real NATS and PostgreSQL:
create workers → request access → a manager accepts → submit (dedupe) → get → release OK/FAIL/
SKIP → retries → quorum of two workers → bulk submit → logs → chain; every task a Conveyor job."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from conveyor_gateway.http.ports import parse_port_map
from conveyor_gateway.settings import Settings as GatewaySettings

from .drone import PREFIX, Drone, make_worker, post, until


async def create_project(api: httpx.AsyncClient, **fields: Any) -> int:
    """``/project/create`` as a manager (the admin's API token stands for its session)."""
    r = await api.post(f"{PREFIX}/project/create", content=json.dumps(fields).encode())
    assert r.status_code == 200, r.text
    number: int = r.json()["content"]["id"]
    assert number > 0
    return number


async def grant(api: httpx.AsyncClient, drone: Drone, project: int, *, assign: bool, submit: bool) -> None:
    asked = await drone.post("/project/request_access", {"assign": assign, "submit": submit, "project": project})
    assert asked.json() == {"ok": True}, asked.text
    accepted = await api.post(f"{PREFIX}/project/accept_request/{project}/{drone.id}")
    assert accepted.json() == {"ok": True}, accepted.text


async def jobs_of(api: httpx.AsyncClient, project: str) -> list[dict[str, Any]]:
    r = await api.get("/v1/jobs", params={"project": project, "limit": 100})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_the_drones_flow_end_to_end(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, log_collector: None, gateway_settings: GatewaySettings
) -> None:
    index = await anonymous.get(f"{PREFIX}/")
    assert index.json() == {"ok": True, "content": {"name": "task_tracker", "version": "1.1"}}
    after = await create_project(api, name="after", public=True, version="1.0")
    main = await create_project(api, name="My project", clone_url="http://github.com/test/test", version="1.0",
                                priority=999, chain=after, motd="hi")  # fmt: skip
    a = await make_worker(anonymous, "some alias")
    # b talks to the façade at the root of its own port, as a drone pointed at host:port does.
    own_port = parse_port_map(gateway_settings.compat_ports)["task_tracker"]
    b = await make_worker(anonymous, "", prefix=f"http://127.0.0.1:{own_port}")
    assert (await anonymous.get(f"http://127.0.0.1:{own_port}/v1/jobs")).status_code == 404
    assert a.id != b.id and len(base64.b64decode(a.secret)) == 32

    # A private project hands nothing out, and takes no task, before a manager accepts.
    assert await a.fetch_task(main) is None
    refused = await a.submit(main, "nope")
    assert (refused.status_code, refused.json()) == (400, {"ok": False, "message": "unauthorized task submit"})
    await grant(api, a, main, assign=True, submit=True)
    await grant(api, b, main, assign=True, submit=False)
    again = await a.post("/project/request_access", {"assign": True, "submit": True, "project": main})
    assert again.status_code == 400 and again.json()["ok"] is False

    listed = (await a.get("/project/list")).json()["content"]["projects"]
    mine = next(p for p in listed if p["id"] == main)
    assert mine == {"id": main, "priority": 999, "name": "My-project", "clone_url": "http://github.com/test/test",
                    "git_repo": "test/test", "version": "1.0", "motd": "hi", "public": False, "hidden": False,
                    "chain": after, "paused": False, "assign_rate": 0.0, "submit_rate": 0.0}  # fmt: skip
    secret = await a.get(f"/project/secret/{main}")
    assert secret.status_code == 200 and isinstance(secret.json()["content"]["secret"], str)

    # Submit with dedupe: hash_u64, the document's hash64, unique_string; a collision stores nothing.
    recipe = '{"url": "http://x/1",  "n": 1}'
    assert (await a.submit(main, recipe, hash_u64=42)).json() == {"ok": True}
    collision = await a.submit(main, "other", hash64=42)
    assert collision.status_code == 400 and "duplicate key" in collision.json()["message"]
    assert (await a.submit(main, "by string", unique_string="abc", priority=0)).json() == {"ok": True}
    assert (await a.submit(main, "again", unique_string="abc")).status_code == 400
    both = await a.submit(main, "bad", hash_u64=7, unique_string="x")
    assert (both.status_code, both.json()) == (400, {"ok": False, "message": "Invalid task"})
    native = await jobs_of(api, "My-project")
    assert sorted(j["payload"]["recipe"] for j in native) == sorted([recipe, "by string"])

    # Get (priority first) and release OK: the job succeeds, and a copy is chained into "after".
    task = await a.fetch_task(main)
    assert task is not None and task["recipe"] == recipe and task["assignee"] == a.id
    assert task["project"]["id"] == main and task["status"] == 1 and task["verification_count"] == 1
    done = await a.release(task["id"], 0)
    assert done == {"ok": True, "content": {"updated": True}}
    copy = await a.wait_task(after)
    assert copy["recipe"] == recipe and copy["project"]["id"] == after
    assert (await a.release(copy["id"], 0))["content"]["updated"] is True
    # A job submitted natively into a task_tracker project is handed out by /task/get.
    native_job = await api.post("/v1/jobs", json={"project": "after", "recipe": {"from": "native"}})
    assert native_job.status_code in (201, 202), native_job.text
    handed = await a.wait_task(after)
    assert json.loads(handed["recipe"]) == {"from": "native"}
    assert (await a.release(handed["id"], 0))["content"]["updated"] is True
    stale = await a.release(task["id"], 0)
    assert stale == {"ok": True, "message": "Task was not marked as closed", "content": {"updated": False}}

    # SKIP gives it back uncounted; FAIL retries until max_retries runs, then FAILED.
    second = await a.fetch_task(main)
    assert second is not None and second["recipe"] == "by string"
    assert (await a.release(second["id"], 2))["content"]["updated"] is True
    assert (await b.fetch_task(main) or {}).get("id") == second["id"]
    assert (await b.release(second["id"], 1))["content"]["updated"] is True
    assert (await a.submit(main, "fails", max_retries=1)).json() == {"ok": True}
    failing = await a.wait_task(main)
    if failing["recipe"] != "fails":  # "by string" came back first after its backoff
        await a.release(failing["id"], 0)
        failing = await a.wait_task(main)
    assert failing["recipe"] == "fails" and failing["max_retries"] == 1
    assert (await a.release(failing["id"], 1))["content"]["updated"] is True
    failed = await until(lambda: _state_of(api, "My-project", "fails", "failed"))
    assert failed["attempts"] == 1

    # A quorum of two: the same hash from two different workers closes the task.
    assert (await a.submit(main, "vote", verification_count=2, priority=5)).json() == {"ok": True}
    vote = await a.wait_task(main)
    while vote["recipe"] != "vote":
        await a.release(vote["id"], 0)
        vote = await a.wait_task(main)
    first = await a.release(vote["id"], 0, verification=-32315129)
    assert first == {"ok": True, "message": "Task was not marked as closed", "content": {"updated": False}}
    assert await a.fetch_task(main) is None  # a worker never verifies its own result
    other = await b.wait_task(main)
    assert other["id"] == vote["id"]
    assert (await b.release(vote["id"], 0, verification=-32315129))["content"]["updated"] is True
    await until(lambda: _state_of(api, "My-project", "vote", "succeeded"))

    # Bulk submit (one project only), then logs: 204, readable through /logs.
    bulk = {"requests": [{"project": main, "recipe": f"bulk {i}", "hash_u64": 1000 + i} for i in range(3)]}
    assert (await a.post("/task/bulk_submit", bulk)).json() == {"ok": True}
    mixed = {"requests": [{"project": main, "recipe": "x"}, {"project": after, "recipe": "y"}]}
    refused_bulk = await a.post("/task/bulk_submit", mixed)
    assert refused_bulk.json()["message"] == "All the tasks in a bulk submit must be of the same project"
    assert len([j for j in await jobs_of(api, "My-project") if j["payload"]["recipe"].startswith("bulk")]) == 3
    since = int(time.time()) - 5
    line = {"level": 5, "scope": "drone", "message": "cloned", "timestamp": int(time.time())}
    logged = await a.post("/log/info", line)
    assert (logged.status_code, logged.content) == (204, b"")
    bad = await a.post("/log/warn", {**line, "timestamp": 0})
    assert (bad.status_code, bad.json()) == (400, {"ok": False, "message": "Could not parse request"})

    async def logs() -> list[dict[str, Any]]:
        r = await post(anonymous, "/logs", {"level": 5, "since": since}, {})
        found: list[dict[str, Any]] = r.json()["content"]["logs"]
        return found

    entry = (await until(logs))[0]
    assert entry["message"] == "cloned" and entry["level"] == 5 and f'"worker":{a.id}' in entry["data"]

    # Monitoring, assignees, maintenance and the push hook; a line logged while holding a task
    # is in that job's log too.
    held = await a.wait_task(main)
    assert (await a.post("/log/warn", {**line, "message": "while holding"})).status_code == 204
    held_job = next(j for j in await jobs_of(api, "My-project") if j["payload"]["recipe"] == held["recipe"])

    async def job_log() -> bool:
        r = await api.get(f"/v1/jobs/{held_job['id']}/log")
        return r.status_code in (200, 206) and b"[warn] drone: while holding" in r.content

    assert await until(job_log)
    snapshot = (await anonymous.get(f"{PREFIX}/project/monitoring/{main}?count=5")).json()["content"]["snapshots"][0]
    assert snapshot["failed_task_count"] == 1 and snapshot["worker_access_count"] == 2
    assert snapshot["closed_task_count"] >= 2 and snapshot["new_task_count"] >= 3
    top = (await anonymous.get(f"{PREFIX}/project/assignees/{main}")).json()["content"]["assignees"]
    assert top == [{"assignee": "some-alias", "task_count": 1}]
    assert (await anonymous.post(f"{PREFIX}/project/reset_failed_tasks/{main}")).status_code == 401
    reset = await api.post(f"{PREFIX}/project/reset_failed_tasks/{main}")
    assert reset.json() == {"ok": True, "content": {"affected_tasks": 1}}
    reclaimed = await api.post(f"{PREFIX}/project/reclaim_assigned_tasks/{main}")
    assert reclaimed.json()["content"]["affected_tasks"] == 1
    assert (await a.release(held["id"], 0))["content"]["updated"] is False  # reclaimed: no longer its lease
    secret = (await api.get(f"{PREFIX}/project/webhook_secret/{main}")).json()["content"]["webhook_secret"]
    push = json.dumps({"ref": "refs/heads/master", "after": "abc123", "repository": {"full_name": "test/test"}})
    signature = hmac.new(secret.encode(), push.encode(), hashlib.sha256).hexdigest()
    wrong = await anonymous.post(f"{PREFIX}/git/receivehook", content=push, headers={"X-Gogs-Signature": "0" * 64})
    assert wrong.status_code == 403
    hooked = await anonymous.post(f"{PREFIX}/git/receivehook", content=push, headers={"X-Gogs-Signature": signature})
    assert hooked.json() == {"ok": True}
    assert (await anonymous.get(f"{PREFIX}/project/get/{main}")).json()["content"]["project"]["version"] == "abc123"
    wiped = await api.post(f"{PREFIX}/project/hard_reset/{main}")
    assert wiped.json()["content"]["affected_tasks"] >= 5
    assert await until(lambda: _no_jobs(api, "My-project"))


async def _no_jobs(api: httpx.AsyncClient, project: str) -> bool:
    return not await jobs_of(api, project)


async def _state_of(api: httpx.AsyncClient, project: str, recipe: str, state: str) -> dict[str, Any] | None:
    for job in await jobs_of(api, project):
        if job["payload"]["recipe"] == recipe and job["state"] == state:
            return job
    return None
