"""VirtShell's tasks API over Conveyor (issue 18): signed calls, the document's calls and answers,
and dispatchers driving tasks, two at once, with no task taken twice."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import msgspec
import pytest

from conveyor_devstack import free_port
from conveyor_gateway.settings import Settings as GatewaySettings

from .virtshell_client import VirtShellSigner, issue_token

DOC = "/compat/virtshell/api/virtshell/v1/tasks"  # the document's paths
REAL = "/compat/virtshell/tasks"  # the real server's paths


@pytest.fixture
def gateway_settings(gateway_settings: GatewaySettings) -> GatewaySettings:
    """The façade also at the root of a port of its own, as the real server was mounted."""
    return msgspec.structs.replace(gateway_settings, compat_ports=f"virtshell={free_port()}")


@pytest.fixture
async def virtshell(api: httpx.AsyncClient, log_collector: None) -> AsyncIterator[httpx.AsyncClient]:
    """A signing VirtShell client of the admin user (scopes jobs:read, jobs:write)."""
    token_id, token = await issue_token(api, "virtshell")
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10, auth=VirtShellSigner(token_id, token)) as client:
        yield client


async def test_every_call_is_signed_and_bad_input_stores_nothing(
    api: httpx.AsyncClient, virtshell: httpx.AsyncClient, gateway_settings: GatewaySettings
) -> None:
    token_id, token = await issue_token(api, "other")
    unsigned = await api.get(f"{REAL}/", headers={"Authorization": ""})
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "MissingSecurityHeader"
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as plain:
        skewed = await plain.get(f"{REAL}/", auth=VirtShellSigner(token_id, token, skew=timedelta(minutes=16)))
        assert skewed.status_code == 401 and skewed.json()["code"] == "RequestTimeTooSkewed"
        wrong = await plain.get(f"{REAL}/", auth=VirtShellSigner(token_id, "cvy_not-the-token"))
        assert wrong.status_code == 401 and wrong.json()["code"] == "SignatureDoesNotMatch"
        # A signature over another path does not carry over.
        signer = VirtShellSigner(token_id, token)
        request = plain.build_request("GET", f"{DOC}/")
        signed = next(signer.auth_flow(request))
        moved = await plain.get(f"{REAL}/", headers=dict(signed.headers))
        assert moved.json()["code"] == "SignatureDoesNotMatch"
        # On its own port the façade answers at the root, signed over the path as requested there.
        own_port = gateway_settings.compat_ports.partition("=")[2]
        own = await plain.get(f"http://127.0.0.1:{own_port}/tasks/", auth=VirtShellSigner(token_id, token))
        assert own.status_code == 200 and own.json() == {"tasks": []}
        # And at the document's own path on the API port (no /compat prefix), as its clients call it.
        at_seed_path = await plain.get("/api/virtshell/v1/tasks/", auth=VirtShellSigner(token_id, token))
        assert at_seed_path.status_code == 200 and at_seed_path.json() == {"tasks": []}
        reader_id, reader = await issue_token(api, "reader", ("jobs:read",))
        refused = await plain.post(f"{REAL}/", json={"description": "x"}, auth=VirtShellSigner(reader_id, reader))
        assert refused.status_code == 403
    # Another user neither sees nor changes the admin's tasks.
    mine = (await virtshell.post(f"{REAL}/", json={"description": "admin's"})).json()["task_id"]
    carol = (await api.post("/v1/users", json={"name": "carol"})).json()
    issued = await api.post(
        f"/v1/users/{carol['id']}/tokens", json={"name": "vs", "scopes": ["jobs:read", "jobs:write"]}
    )
    async with httpx.AsyncClient(
        base_url=api.base_url, timeout=10, auth=VirtShellSigner(issued.json()["id"], issued.json()["token"])
    ) as as_carol:
        assert (await as_carol.get(f"{REAL}/")).json() == {"tasks": []}
        assert "not found" in (await as_carol.get(f"{REAL}/{mine}")).json()["error"]
        assert (await as_carol.put(f"{REAL}/{mine}", json={"status": "dispatching"})).json()["update"] == "error"
        assert (await as_carol.delete(f"{REAL}/{mine}")).json()["delete"] == "error"
        assert (await as_carol.delete(f"{REAL}/")).json() == {"delete": "success", "deleted": 0}
    assert (await virtshell.get(f"{REAL}/{mine}")).json()["status"] == "pending"
    before = (await api.get("/v1/jobs")).json()["items"]
    for body in (b"", b"[1]", b'{"description": 5}', b'{"status": ""}', b"{not json"):
        answer = await virtshell.post(f"{DOC}", content=body)
        assert answer.status_code == 200 and answer.json()["create"] == "error" and answer.json()["reason"]
    assert (await api.get("/v1/jobs")).json()["items"] == before
    unknown = await virtshell.post(f"{DOC}/status/pending")
    assert unknown.status_code == 405 and unknown.json()["error"]
    missing = await virtshell.get(f"{DOC}/ab8076c0-db91-11e2-82ce-0002a5d5c51b")
    assert missing.status_code == 200 and "not found" in missing.json()["error"]
    bad_put = await virtshell.put(f"{DOC}/ab8076c0-db91-11e2-82ce-0002a5d5c51b", json={"status": "sucess"})
    assert bad_put.json()["update"] == "error"


@pytest.fixture
async def second_dispatcher(api: httpx.AsyncClient, virtshell: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """Another dispatcher: a signing client with a token of its own."""
    token_id, token = await issue_token(api, "second-dispatcher")
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10, auth=VirtShellSigner(token_id, token)) as client:
        yield client


async def _claim(client: httpx.AsyncClient, task_id: str) -> bool:
    answer = await client.put(f"{REAL}/{task_id}", json={"status": "dispatching", "log": "picked"})
    return bool(answer.json() == {"update": "success"})


async def test_two_dispatchers_never_take_the_same_task(
    api: httpx.AsyncClient, virtshell: httpx.AsyncClient, second_dispatcher: httpx.AsyncClient
) -> None:
    # The document's create call, its body sent as curl -d sends it (a form content-type).
    created = await virtshell.post(
        DOC,
        content=b'{ "description": "clone virtual machine database_01", "status" : "pending",'
        b' "type": "create_instance", "object_uuid": "a62ad146-ccf4-11e5-9956-625662870761"}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert created.json()["create"] == "success"
    ids = [created.json()["task_id"]]
    for n in range(5):
        answer = await virtshell.post(
            f"{REAL}/", json={"description": f"create container web_{n}", "type": "create_instance"}
        )
        ids.append(answer.json()["task_id"])
    first = (await virtshell.get(f"{DOC}/{ids[0]}")).json()
    assert first["status"] == "pending" and first["type"] == "create_instance"
    assert first["created"]["by"] and first["created"]["at"].isdigit() and first["status_history"] == []
    # The native API sees the same jobs.
    assert (await api.get(f"/v1/jobs/{ids[0]}")).json()["state"] == "queued"

    dispatchers = (virtshell, second_dispatcher)
    polls = await asyncio.gather(*(d.get(f"{REAL}/status/pending") for d in dispatchers))
    for poll in polls:
        assert {t["uuid"] for t in poll.json()["tasks"]} >= set(ids)
    pairs = [(task_id, d) for task_id in ids for d in dispatchers]
    claims = await asyncio.gather(*(_claim(d, task_id) for task_id, d in pairs))
    won = Counter(task_id for (task_id, _), ok in zip(pairs, claims, strict=True) if ok)
    assert won == Counter(ids)  # each task claimed exactly once, by one of the two
    assert not {t["uuid"] for t in (await virtshell.get(f"{REAL}/status/pending")).json()["tasks"]} & set(ids)
    holder = {task_id: d for (task_id, d), ok in zip(pairs, claims, strict=True) if ok}

    task = ids[0]
    loser = dispatchers[1] if holder[task] is dispatchers[0] else dispatchers[0]
    refused = (await loser.put(f"{DOC}/{task}", json={"status": "dispatched"})).json()
    assert refused["update"] == "error" and "held by another dispatcher" in refused["reason"]
    for status, log in (("dispatched", "sent to host-3"), ("received", "agent got it"), ("creating", "docker run")):
        assert (await holder[task].put(f"{DOC}/{task}", json={"status": status, "log": log})).json() == {
            "update": "success"
        }
    running = (await virtshell.get(f"{DOC}/{task}")).json()
    assert running["status"] == "creating" and running["log"] == "docker run"
    assert (await api.get(f"/v1/jobs/{task}")).json()["state"] == "running"
    assert (await holder[task].put(f"{DOC}/{task}", json={"status": "sucess", "log": "done"})).json() == {
        "update": "success"
    }
    done = (await virtshell.get(f"{DOC}/{task}")).json()
    assert done["status"] == "sucess" and done["log"] == "done"
    assert [h[0] for h in done["status_history"]] == ["pending", "dispatching", "dispatched", "received", "creating"]
    assert (await api.get(f"/v1/jobs/{task}")).json()["state"] == "succeeded"
    assert [t["uuid"] for t in (await virtshell.get(f"{DOC}/sucess")).json()["tasks"]] == [task]  # GET /tasks/:status
    ended = (await holder[task].put(f"{DOC}/{task}", json={"status": "creating"})).json()
    assert ended["update"] == "error" and "ended" in ended["reason"]

    failed = ids[1]
    assert (
        await holder[failed].put(f"{REAL}/{failed}", json={"status": "error", "log": "task not supported"})
    ).json() == {"update": "success"}
    assert (await virtshell.get(f"{REAL}/{failed}")).json()["status"] == "error"
    assert (await api.get(f"/v1/jobs/{failed}")).json()["state"] == "failed"

    assert (await virtshell.delete(f"{REAL}/{failed}")).json() == {"delete": "success"}
    assert "not found" in (await virtshell.get(f"{REAL}/{failed}")).json()["error"]
    listed = {t["uuid"] for t in (await virtshell.get(f"{DOC}")).json()["tasks"]}
    assert failed not in listed and task in listed

    # The document's create example posts "in progress": its creator holds the task at once.
    example = await virtshell.post(
        DOC, json={"description": "clone virtual machine database_01", "status": "in progress"}
    )
    held = (await virtshell.get(f"{DOC}/{example.json()['task_id']}")).json()
    assert held["status"] == "in progress" and [h[0] for h in held["status_history"]] == ["pending"]
    assert (await api.get(f"/v1/jobs/{held['uuid']}")).json()["state"] == "running"
    cleared = (await virtshell.delete(f"{REAL}/")).json()
    assert cleared["delete"] == "success" and cleared["deleted"] == len(listed) + 1  # all were created by the admin
    assert (await virtshell.get(f"{REAL}/")).json() == {"tasks": []}
