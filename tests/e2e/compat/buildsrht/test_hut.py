"""``hut builds`` against the façade: its GraphQL operations (submit, monitor, show, jobs, cancel,
version, me) with ``Authorization: Bearer``, and its ``submit -f`` loop tailing every log with
``Range: bytes=<offset>-`` exactly as hut does (206 required; the first byte of a range not
starting at 0 dropped; the next offset is the range's inclusive end)."""

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from ...conftest import Service
from ...hooks.conftest import start_dispatcher  # noqa: F401 - a fixture used below
from .conftest import Builds

SUBMIT = (
    "mutation submit($manifest: String!, $note: String) {"
    " submit(manifest: $manifest, note: $note) { id owner { canonicalName } } }"
)
MONITOR = "query monitor($id: Int!) { job(id: $id) { status log { fullURL } tasks { name status log { fullURL } } } }"
SHOW = (
    "query show($id: Int!) { job(id: $id) { id runner status note tags log { fullURL }"
    " tasks { name status log { fullURL last128KiB } } } }"
)
JOBS = "query jobs { jobs { results { id status note tags tasks { name status } } cursor } }"
CANCEL = "mutation cancel($jobId: Int!) { cancel(jobId: $jobId) { id } }"
WEBHOOK_CREATE = "mutation c($config: UserWebhookInput!) { createUserWebhook(config: $config) { id url events query } }"
MANIFEST = """\
image: alpine/edge
tasks:
  - build: |
      for i in 1 2 3; do echo "line $i of $JOB_ID"; sleep 0.2; done
  - check: |
      echo checked
"""


async def _graphql(client: httpx.AsyncClient, query: str, **variables: Any) -> Any:
    answer = await client.post("/query", json={"query": query, "variables": variables})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


class _Log:
    def __init__(self) -> None:
        self.offset = 0
        self.done = False
        self.text = b""


async def _fetch(plain: httpx.AsyncClient, log: _Log, url: str) -> None:
    """hut's fetchBuildLogs, step for step."""
    if log.done:
        return
    answer = await plain.get(url, headers={"Range": f"bytes={log.offset}-"})
    assert answer.status_code == 206, (answer.status_code, answer.text)
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\S+)", answer.headers["content-range"])
    assert match is not None, answer.headers["content-range"]
    start, end = int(match[1]), int(match[2])
    body = answer.content[1:] if start > 0 else answer.content
    log.text += body
    log.offset = end


async def _follow(client: httpx.AsyncClient, number: int) -> tuple[dict[str, Any], dict[str, _Log]]:
    """hut's followJob: poll ``monitor``, tail each log that has started, stop at a final status."""
    logs: dict[str, _Log] = {}
    async with httpx.AsyncClient(timeout=10) as plain, asyncio.timeout(30):  # hut: http.DefaultClient
        while True:
            job = (await _graphql(client, MONITOR, id=number))["job"]
            if not logs:
                logs = {"": _Log(), **{t["name"]: _Log() for t in job["tasks"]}}
            if job["status"] not in ("PENDING", "QUEUED"):
                await _fetch(plain, logs[""], job["log"]["fullURL"])
                logs[""].done = job["status"] not in ("RUNNING",)
            for task in job["tasks"]:
                if task["status"] != "PENDING":
                    await _fetch(plain, logs[task["name"]], task["log"]["fullURL"])
                    logs[task["name"]].done = task["status"] != "RUNNING"
            if job["status"] not in ("PENDING", "QUEUED", "RUNNING"):
                return job, logs
            await asyncio.sleep(0.2)  # hut ticks every second


async def test_hut_submits_follows_every_log_and_lists(
    builds_user: Callable[..., Awaitable[Builds]],
    start_worker: Callable[..., Awaitable[Any]],
    start_dispatcher: Callable[..., Service],  # noqa: F811 - the fixture imported above
) -> None:
    start_dispatcher()  # user webhooks are Conveyor hooks: the dispatcher folds them
    hut = await builds_user("frank", scopes=("jobs:read", "jobs:write", "hooks"), scheme="Bearer")
    await start_worker("--label", "image.alpine.edge")
    version = await _graphql(hut, "{ version { major minor patch settings { sshUser buildTimeout } } }")
    assert version["version"]["settings"] == {"sshUser": "", "buildTimeout": "45m"}
    me = (await _graphql(hut, "{ me { id canonicalName username } }"))["me"]
    assert me["canonicalName"] == "~frank" and me["username"] == "frank" and me["id"] > 0

    submitted = (await _graphql(hut, SUBMIT, manifest=MANIFEST, note="from hut"))["submit"]
    assert submitted["owner"] == {"canonicalName": "~frank"}
    number = submitted["id"]
    job, logs = await _follow(hut, number)
    assert job["status"] == "SUCCESS"
    assert [(t["name"], t["status"]) for t in job["tasks"]] == [("build", "SUCCESS"), ("check", "SUCCESS")]

    # What hut printed is each log whole, once: read the logs again now that the collector has all.
    show = (await _graphql(hut, SHOW, id=number))["job"]
    assert show["note"] == "from hut" and show["runner"]
    build_log = show["tasks"][0]["log"]["last128KiB"]
    assert build_log.count(f"of {number}") == 3
    assert build_log.startswith(logs["build"].text.decode())  # hut's copy is a prefix, never garbled

    listed = (await _graphql(hut, JOBS))["jobs"]
    assert [j["id"] for j in listed["results"]] == [number] and listed["cursor"] is None

    held = (
        await _graphql(
            hut, 'mutation { submit(manifest: "image: plan9/4\\ntasks:\\n  - a: b\\n", execute: false) { id status } }'
        )
    )["submit"]
    assert held["status"] == "PENDING"
    started = (await _graphql(hut, "mutation s($id: Int!) { start(jobID: $id) { status } }", id=held["id"]))["start"]
    assert started["status"] == "QUEUED"  # no worker has plan9/4
    assert (await _graphql(hut, CANCEL, jobId=held["id"]))["cancel"] == {"id": held["id"]}

    pair = [
        (
            await _graphql(
                hut, 'mutation { submit(manifest: "image: plan9/4\\ntasks:\\n  - a: b\\n", execute: false) { id } }'
            )
        )["submit"]["id"]
        for _ in range(2)
    ]
    made = (
        await _graphql(
            hut,
            'mutation g($ids: [Int!]!) { createGroup(jobIds: $ids, note: "g") { id note jobs { id status } } }',
            ids=pair,
        )
    )["createGroup"]
    assert made["note"] == "g" and made["jobs"] == [
        {"id": pair[0], "status": "PENDING"},
        {"id": pair[1], "status": "PENDING"},
    ]
    started = (
        await _graphql(hut, "mutation s($id: Int!) { startGroup(groupId: $id) { jobs { status } } }", id=made["id"])
    )["startGroup"]
    assert started["jobs"] == [{"status": "QUEUED"}, {"status": "QUEUED"}]

    bad = await hut.post("/query", json={"query": SUBMIT, "variables": {"manifest": "tasks: [", "note": ""}})
    assert bad.json()["errors"][0]["message"].startswith("manifest:")
    assert (await _graphql(hut, JOBS))["jobs"]["results"][0]["id"] == pair[1]
    assert len((await _graphql(hut, JOBS))["jobs"]["results"]) == 4  # the bad manifest stored nothing

    # User webhooks, as `hut builds user-webhook create|list|delete` sends them.
    config = {"url": "http://127.0.0.1:9/hook", "events": ["JOB_CREATED"], "query": "query { me { canonicalName } }"}
    created = (await _graphql(hut, WEBHOOK_CREATE, config=config))["createUserWebhook"]
    assert (
        created["url"] == config["url"] and created["events"] == ["JOB_CREATED"] and created["query"] == config["query"]
    )
    listed_hooks = (await _graphql(hut, "{ userWebhooks { results { id url } cursor } }"))["userWebhooks"]
    assert listed_hooks == {"results": [{"id": created["id"], "url": config["url"]}], "cursor": None}
    deleted = await _graphql(hut, "mutation d($id: Int!) { deleteUserWebhook(id: $id) { id } }", id=created["id"])
    assert deleted["deleteUserWebhook"] == {"id": created["id"]}
    assert (await _graphql(hut, "{ userWebhooks { results { id } } }"))["userWebhooks"]["results"] == []
