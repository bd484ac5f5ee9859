"""coalition's user API as its Python client (``api/coalition.py``) and the web front end call it,
and bad input answered with nothing stored."""

from typing import Any

import httpx

from .conftest import Stack

SEED_FIELDS = {
    "id", "parent", "title", "command", "dir", "environment", "state", "worker", "start_time", "duration",
    "ping_time", "run_done", "retry", "timeout", "priority", "affinity", "user", "finished", "errors", "working",
    "total", "total_finished", "total_errors", "total_working", "url", "progress", "progress_pattern",
}  # fmt: skip


async def new_job(api: httpx.AsyncClient, **given: Any) -> int:
    """``Connection.newJob``: every parameter with the client's defaults, answered with the id."""
    params = {"parent": 0, "title": "", "command": "", "dir": "", "environment": "", "state": "WAITING",
              "paused": False, "priority": 1000, "timeout": 0, "affinity": "", "user": "", "progress_pattern": "",
              "dependencies": []}  # fmt: skip
    response = await api.put("/api/jobs", json={**params, **given})
    assert response.status_code == 200, response.text
    return int(response.text)


async def get(api: httpx.AsyncClient, path: str) -> Any:
    response = await api.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_python_clients_calls(stack: Stack) -> None:
    api = stack.farm
    group = await new_job(api, title="client-group", user="ann", priority=40)
    first = await new_job(api, parent=group, title="a", command="echo a", priority=10, affinity="client")
    second = await new_job(api, parent=group, title="b", command="echo b", dependencies=[first], affinity="client")
    job = await get(api, f"/api/jobs/{group}")
    assert job.keys() >= SEED_FIELDS
    assert (job["title"], job["user"], job["priority"], job["total"], job["dependencies"]) == (
        "client-group", "ann", 40, 2, [])  # fmt: skip
    assert [c["id"] for c in await get(api, f"/api/jobs/{group}/children")] == [first, second]
    b = await get(api, f"/api/jobs/{second}")
    assert (b["state"], b["dependencies"], b["parent"]) == ("PENDING", [first], group)
    assert [d["id"] for d in await get(api, f"/api/jobs/{second}/dependencies")] == [first]
    assert (await api.post(f"/api/jobs/{second}/dependencies", json=[])).json() == 1  # setJobDependencies
    assert (await get(api, f"/api/jobs/{second}"))["state"] == "WAITING"
    # Attribute writes inside ``with conn:`` arrive as one POST, keys as strings.
    batch = {str(first): {"title": "renamed", "priority": 50, "timeout": 30, "affinity": "client,x"},
             str(second): {"paused": True}}  # fmt: skip
    assert (await api.post("/api/jobs", json=batch)).json() == 1
    a = await get(api, f"/api/jobs/{first}")
    assert (a["title"], a["priority"], a["timeout"], a["affinity"]) == ("renamed", 50, 30, "client,x")
    assert (await get(api, f"/api/jobs/{second}"))["state"] == "PAUSED"
    assert (await api.post("/api/startjobs", json=[second])).json() == 1
    assert (await get(api, f"/api/jobs/{second}"))["state"] == "WAITING"
    assert "ann" in await get(api, "/api/jobs/users/")
    assert 50 in await get(api, "/api/jobs/priorities/")
    assert {"client", "x"} <= set(await get(api, "/api/jobs/affinities/"))
    assert set(await get(api, "/api/jobs/states/")) <= {"WAITING", "PENDING", "WORKING", "FINISHED", "ERROR", "PAUSED"}
    assert group in [j["id"] for j in await get(api, "/api/jobs")]
    assert (await get(api, "/api/jobs/0"))["total"] >= 2
    assert "x" in (await get(api, "/api/affinities")).values()
    held = await new_job(api, parent=group, title="held", command="echo held", state="PAUSED", affinity="client")
    assert (await get(api, f"/api/jobs/{held}"))["state"] == "PAUSED"
    legacy_job: dict[str, str | int] = {
        "parent": group,
        "title": "legacy",
        "cmd": "echo l",
        "priority": 5,
        "affinity": "client",
    }
    added = await api.get("/xmlrpc/addjob", params=legacy_job)
    legacy = int(added.text)
    assert (await get(api, f"/api/jobs/{legacy}"))["command"] == "echo l"
    assert (await api.get("/xmlrpc/addjob", params={"parent": 999999, "cmd": "x"})).text == "-1"
    assert (await api.post("/api/resetjobs", json=[group])).json() == 1
    assert (await api.request("DELETE", "/api/jobs", json=[group])).json() == 1
    for gone in (group, first, legacy):
        assert (await api.get(f"/api/jobs/{gone}")).status_code == 404


async def test_workers_are_edited_as_the_client_sends_them_back(stack: Stack) -> None:
    api = stack.farm
    assert (await api.post("/api/workers", json={"edit-w": {"affinity": "one\ntwo", "active": 1}})).json() == 1
    workers = {w["name"]: w for w in await get(api, "/api/workers")}
    assert (workers["edit-w"]["affinity"], workers["edit-w"]["active"]) == ("one\ntwo", 1)
    # editWorkers with the documents getWorkers gave, one attribute changed
    assert (await api.post("/api/workers", json={"edit-w": {**workers["edit-w"], "active": 0}})).json() == 1
    assert {w["name"]: w for w in await get(api, "/api/workers")}["edit-w"]["active"] == 0
    assert (await api.request("DELETE", "/api/workers", json=["edit-w"])).json() == 1
    assert "edit-w" not in [w["name"] for w in await get(api, "/api/workers")]


async def test_bad_input_is_refused_and_nothing_is_stored(stack: Stack) -> None:
    api = stack.farm
    group = await new_job(api, title="bad-input")
    leaf = await new_job(api, parent=group, title="leaf", command="echo", affinity="client")  # no worker takes it
    before = await get(api, f"/api/jobs/{group}/children")
    refused = [
        await api.put("/api/jobs", content=b"{not json", headers={"content-type": "application/json"}),
        await api.put("/api/jobs", json={"parent": leaf, "command": "x"}),  # not a group
        await api.put("/api/jobs", json={"parent": group, "command": "x", "affinity": "two words"}),
        await api.put("/api/jobs", json={"parent": group, "command": "x", "environment": "NOEQUALS"}),
        await api.put("/api/jobs", json={"parent": group, "priority": "high"}),
        await api.put("/api/jobs", json={"parent": group, "command": "x", "state": "FINISHED"}),
        await api.put("/api/jobs", json=[1, 2]),
        await api.post("/api/jobs", json={str(leaf): {"parent": 0}}),
        await api.post("/api/jobs", json={str(leaf): {"state": "FINISHED"}}),
        await api.post("/api/jobs", json=[leaf]),
        await api.get("/api/jobs/where/", params={"where_clause": "1=1; DROP TABLE jobs"}),
        await api.get("/api/jobs/count/where/", params={"where_clause": "1=1"}),
        await api.post("/api/affinities", json={"1": "linux"}),
    ]
    assert [r.status_code for r in refused] == [400] * len(refused), [r.text for r in refused]
    assert "where_clause" in refused[10].text
    missing = [
        await api.put("/api/jobs", json={"parent": 999999, "command": "x"}),
        await api.post("/api/jobs", json={str(leaf): {"title": "changed"}, "999999": {"title": "y"}}),
        await api.request("DELETE", "/api/jobs", json=[leaf, 999999]),
        await api.get("/api/jobs/999999"),
        await api.get("/api/jobs/abc/children"),
    ]
    assert [r.status_code for r in missing] == [404] * len(missing), [r.text for r in missing]
    assert (await api.patch("/api/jobs", json={})).status_code == 405
    unknown = await api.get("/api/nothing")
    assert (unknown.status_code, unknown.text) == (404, "Web service not found.")
    assert await get(api, f"/api/jobs/{group}/children") == before  # nothing stored, nothing changed


async def _token_of(stack: Stack, name: str) -> dict[str, str]:
    user = await stack.native.post("/v1/users", json={"name": name})
    assert user.status_code == 201, user.text
    scopes = {"name": "coalition", "scopes": ["jobs:read", "jobs:write", "workers"]}
    token = await stack.native.post(f"/v1/users/{user.json()['id']}/tokens", json=scopes)
    return {"Authorization": f"Bearer {token.json()['token']}"}


async def test_a_users_jobs_are_theirs(stack: Stack) -> None:
    api = stack.farm
    alice, bob = await _token_of(stack, "coal-alice"), await _token_of(stack, "coal-bob")
    created = await api.put(
        "/api/jobs", json={"title": "alice's", "command": "echo", "affinity": "client"}, headers=alice
    )
    number = int(created.text)
    assert (await api.get(f"/api/jobs/{number}", headers=alice)).json()["title"] == "alice's"
    assert (await api.get(f"/api/jobs/{number}", headers=bob)).status_code == 404
    assert number not in [j["id"] for j in (await api.get("/api/jobs", headers=bob)).json()]
    assert (await api.post("/api/jobs", json={str(number): {"title": "bob's"}}, headers=bob)).status_code == 404
    assert (await api.post("/api/pausejobs", json=[number], headers=bob)).status_code == 404
    assert (await api.put("/api/jobs", json={"parent": number, "command": "x"}, headers=bob)).status_code == 404
    assert (await api.get(f"/api/jobs/{number}", headers=alice)).json()["title"] == "alice's"
