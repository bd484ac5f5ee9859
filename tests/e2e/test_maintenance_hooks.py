"""Project maintenance (reset failed, reclaim assigned, hard reset) and inbound push hooks."""

import asyncio
import hashlib
import hmac
import json

import httpx

from .test_projects import as_user
from .test_workers_api import register


async def _states(api: httpx.AsyncClient, project: str) -> dict[str, str]:
    page = await api.get("/v1/jobs", params={"project": project, "limit": 500})
    return {j["id"]: j["state"] for j in page.json()["items"]}


async def _eventually(api: httpx.AsyncClient, project: str, expected: dict[str, str]) -> None:
    """Leases answer before the projection folds them: poll the reads a little."""
    for _ in range(100):
        if await _states(api, project) == expected:
            return
        await asyncio.sleep(0.05)
    assert await _states(api, project) == expected


async def test_maintenance_needs_the_role_and_acts_on_the_projects_jobs(api: httpx.AsyncClient) -> None:
    bob = await as_user(api, "bob")
    async with bob:
        assert (await api.post("/v1/projects", json={"name": "ci", "visibility": "public"})).status_code == 201
        failing = (await api.post("/v1/jobs", json={"project": "ci", "command": "false", "max_retries": 0})).json()
        worker = await register(api, capacity=1)
        lease = (await worker.lease()).json()["leases"][0]
        assert (await worker.finish(lease["lease_id"], "failed", 1)).json()["state"] == "failed"
        held = (await api.post("/v1/jobs", json={"project": "ci", "command": "sleep 9"})).json()
        assert (await worker.lease()).json()["leases"][0]["job"]["id"] == held["id"]
        await _eventually(api, "ci", {failing["id"]: "failed", held["id"]: "assigned"})
        assert (await bob.post("/v1/projects/ci/maintenance/reset-failed")).status_code == 403
        reset = await api.post("/v1/projects/ci/maintenance/reset-failed")
        assert reset.json() == {"project": "ci", "action": "reset-failed", "jobs": 1}
        assert (await _states(api, "ci"))[failing["id"]] == "queued"
        reclaimed = await api.post("/v1/projects/ci/maintenance/reclaim-assigned")
        assert reclaimed.json()["jobs"] == 1
        assert await _states(api, "ci") == {failing["id"]: "queued", held["id"]: "queued"}
        wiped = await api.post("/v1/projects/ci/maintenance/hard-reset")
        assert wiped.json()["jobs"] == 2
        assert await _states(api, "ci") == {}
        assert (await api.get(f"/v1/jobs/{held['id']}")).status_code == 404
        assert (await api.post("/v1/projects/nope/maintenance/hard-reset")).status_code == 404


def _github(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "push", "content-type": "application/json"}


async def test_push_hooks_set_the_version_only_with_a_valid_signature(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    created = (await api.post("/v1/projects", json={"name": "repo", "visibility": "hidden"})).json()
    secret = created["webhook_secret"]
    body = json.dumps({"ref": "refs/heads/main", "after": "0123456789abcdef0123456789abcdef01234567"}).encode()
    ok = await anonymous.post("/v1/projects/repo/hooks/push", content=body, headers=_github(secret, body))
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"project": "repo", "version": "0123456789abcdef0123456789abcdef01234567", "source": "github"}
    assert (await api.get("/v1/projects/repo")).json()["version"] == "0123456789abcdef0123456789abcdef01234567"
    forged = await anonymous.post("/v1/projects/repo/hooks/push", content=body, headers=_github("guess", body))
    unknown = await anonymous.post("/v1/projects/other/hooks/push", content=body, headers=_github(secret, body))
    unsigned = await anonymous.post("/v1/projects/repo/hooks/push", content=body)
    assert forged.status_code == unknown.status_code == unsigned.status_code == 401
    assert forged.json()["detail"] == unknown.json()["detail"]  # no hint that "repo" exists
    assert secret not in forged.text
    gogs_body = json.dumps({"after": "fedcba9876543210fedcba9876543210fedcba98"}).encode()
    gogs = hmac.new(secret.encode(), gogs_body, hashlib.sha256).hexdigest()
    answer = await anonymous.post(
        "/v1/projects/repo/hooks/push",
        content=gogs_body,
        headers={"X-Gogs-Signature": gogs, "content-type": "application/json"},
    )
    assert answer.json()["source"] == "gogs"
    assert (await api.get("/v1/projects/repo")).json()["version"] == "fedcba9876543210fedcba9876543210fedcba98"
