"""builds.sr.ht's legacy REST API on Conveyor, driven as its PHP and Go clients drive it: a
three-task build whose second task fails, held builds started and cancelled, access lists for a
second user, and bad manifests refused in sourcehut's error shape with nothing stored."""

import asyncio
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Builds, wait_status

MANIFEST = """\
image: alpine/edge
environment:
  GREETING: hello
sources:
  - {source}
tasks:
  - first: |
      echo "$GREETING from $CI_NAME job $JOB_ID at $JOB_URL"
      cat src/README
  - second: |
      echo "about to fail"
      false
      echo "never printed"
  - third: |
      echo "never run"
"""


async def _log_when(client: httpx.AsyncClient, url: str, text: str) -> str:
    async with asyncio.timeout(15):
        while True:
            body = (await client.get(url)).text
            if text in body:
                return body
            await asyncio.sleep(0.05)


@pytest.fixture
def git_source(tmp_path: Path) -> str:
    """A git repository with a README on branch ``topic``, as a ``sources`` entry cloning it to ``src``."""
    path = tmp_path / "repo"
    path.mkdir()
    (path / "README").write_text("cloned from the source\n")
    for argv in (
        ("init", "-q", "-b", "topic"),
        ("add", "README"),
        ("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "readme"),
    ):
        subprocess.run(["git", "-C", str(path), *argv], check=True)
    return f"src::file://{path}#topic"


async def test_a_build_runs_its_tasks_in_order_and_shows_them_as_sourcehut_does(
    builds_user: Callable[..., Awaitable[Builds]], start_worker: Callable[..., Awaitable[Any]], git_source: str
) -> None:
    alice, bob = await builds_user("alice"), await builds_user("bob")
    await start_worker("--label", "image.alpine.edge")
    manifest = MANIFEST.format(source=git_source)
    submitted = await alice.post(
        "/api/jobs", json={"manifest": manifest, "note": "three tasks", "tags": ["ci", "main"]}
    )
    assert submitted.status_code == 200, submitted.text
    created = submitted.json()
    number = created["id"]
    assert isinstance(number, int)
    assert created["owner"] == {"canonical_name": "~alice", "name": "alice"}
    assert created["tags"] == "ci/main" and created["note"] == "three tasks"
    assert [t["name"] for t in created["tasks"]] == ["first", "second", "third"]

    job = await wait_status(alice, number, {"failed", "success"})
    assert job["status"] == "failed"
    assert [(t["name"], t["status"]) for t in job["tasks"]] == [
        ("first", "success"),
        ("second", "failed"),
        ("third", "pending"),  # sourcehut leaves the tasks after a failure pending
    ]
    first = await _log_when(alice, job["tasks"][0]["log"], "cloned from")
    assert f"hello from sourcehut job {number} at " in first and f"/~alice/job/{number}" in first
    assert "cloned from the source" in first
    second = await _log_when(alice, job["tasks"][1]["log"], "about to fail")
    assert "never printed" not in second

    # Range from an offset answers 206 with Content-Range.
    tail = await alice.get(job["tasks"][1]["log"], headers={"Range": "bytes=6-"})
    assert tail.status_code == 206, tail.text
    size = len(second.encode())
    assert tail.headers["content-range"] == f"bytes 6-{size - 1}/{size}"
    assert tail.content == second.encode()[6:]
    # Past the end: the last byte, which hut drops (it asks from the last byte it printed).
    end = await alice.get(job["tasks"][1]["log"], headers={"Range": f"bytes={size + 5}-"})
    assert end.status_code == 206 and end.headers["content-range"] == f"bytes {size - 1}-{size - 1}/{size}"

    # access:read defaults to "*": another user reads it, and (public) hut reads logs without a token;
    # only the owner (or access:write) may change it.
    assert (await bob.get(f"/api/jobs/{number}")).json()["id"] == number
    async with httpx.AsyncClient(timeout=10) as anonymous:
        assert (await anonymous.get(job["tasks"][0]["log"])).status_code == 200
    refused = await bob.post(f"/api/jobs/{number}/cancel")
    assert refused.status_code == 403 and refused.json()["errors"][0]["reason"]

    stored = await alice.get(f"/api/jobs/{number}/manifest")
    assert stored.status_code == 200 and "image: alpine/edge" in stored.text and "false" in stored.text
    assert "sources:" in stored.text and "git clone" not in stored.text
    listed = (await alice.get("/api/jobs")).json()
    assert listed["total"] == 1 and listed["results"][0]["id"] == number and listed["next"] is None


async def test_held_builds_access_lists_and_bad_manifests(builds_user: Callable[..., Awaitable[Builds]]) -> None:
    alice, bob, carol = await builds_user("alice"), await builds_user("bob"), await builds_user("carol")
    body = {"manifest": "image: debian/12\ntasks:\n  - build: make\n", "execute": False}
    held = await alice.post("/api/jobs", json=body | {"access:read": ["~bob"], "access:write": ["carol"]})
    assert held.status_code == 200, held.text
    number = held.json()["id"]
    assert held.json()["status"] == "pending"

    assert (await bob.get(f"/api/jobs/{number}")).status_code == 200
    hidden = await bob.get(f"/api/jobs/{number}/manifest")
    assert hidden.status_code == 200
    assert (await bob.post(f"/api/jobs/{number}/start")).status_code == 403
    outsider = await builds_user("dave")
    for path in (f"/api/jobs/{number}", f"/api/jobs/{number}/manifest", f"/logs/{number}/log"):
        answer = await outsider.get(path)
        assert answer.status_code == 404 and answer.json() == {"errors": [{"reason": "Not found"}]}, path
    async with httpx.AsyncClient(timeout=10) as anonymous:
        assert (await anonymous.get(f"{str(alice.base_url).rstrip('/')}/logs/{number}/log")).status_code == 404

    # carol (access:write) starts it; no worker has debian/12, so it waits queued; started twice: 400.
    assert (await carol.post(f"/api/jobs/{number}/start")).json() == {}
    assert (await alice.get(f"/api/jobs/{number}")).json()["status"] == "queued"
    again = await alice.post(f"/api/jobs/{number}/start")
    assert again.status_code == 400 and again.json() == {"errors": [{"reason": "This job is already queued"}]}
    assert (await alice.post(f"/api/jobs/{number}/cancel")).json() == {}
    assert (await wait_status(alice, number, {"cancelled"}))["status"] == "cancelled"

    # A job group of two held builds: started together (they wait, no worker has debian/12),
    # cancelled together; the group is no build, and no build a group.
    first, second = [(await alice.post("/api/jobs", json=body)).json()["id"] for _ in range(2)]
    made = await alice.post("/api/job-group", json={"jobs": [first, second], "note": "pair"})
    assert made.status_code == 200, made.text
    group = made.json()
    assert [j["id"] for j in group["jobs"]] == [first, second] and group["status"] == "pending"
    assert group["note"] == "pair" and group["owner"]["name"] == "alice" and group["id"] not in (first, second)
    assert (await alice.get(f"/api/jobs/{group['id']}")).status_code == 404
    assert (await alice.get(f"/api/job-group/{first}")).status_code == 404
    assert (await bob.post(f"/api/job-group/{group['id']}/start")).status_code == 404  # not his
    assert (await alice.post(f"/api/job-group/{group['id']}/start")).json() == {}
    started = (await alice.get(f"/api/job-group/{group['id']}")).json()
    assert [j["status"] for j in started["jobs"]] == ["queued", "queued"] and started["status"] == "running"
    assert (await alice.post(f"/api/job-group/{group['id']}/cancel")).json() == {}
    assert (await wait_status(alice, second, {"cancelled"}))["status"] == "cancelled"
    regroup = await alice.post("/api/job-group", json={"jobs": [first]})
    assert regroup.status_code == 400 and regroup.json()["errors"][0]["field"] == "jobs"  # not pending

    bad: list[tuple[dict[str, Any], str]] = [
        ({"manifest": "image: [unclosed\ntasks: {"}, "manifest"),
        ({"manifest": "image: alpine/edge\ntasks:\n  - Bad Name!: true\n"}, "tasks[0]"),
        ({"manifest": "image: alpine/edge\ntasks:\n  - a: " + "x" * 16_400 + "\n"}, "manifest"),
        ({"manifest": "tasks:\n  - a: b\n"}, "image"),
        ({"manifest": "image: alpine/edge\ntasks:\n  - a: b\n", "tags": ["no spaces"]}, "tags"),
        ({"manifest": "image: alpine/edge\ntasks:\n  - a: b\n", "access:read": ["~nobody"]}, "access:read"),
    ]
    for request, field in bad:
        refused = await alice.post("/api/jobs", json=request)
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"][0]["field"] == field and refused.json()["errors"][0]["reason"]
    assert (await alice.get("/api/jobs")).json()["total"] == 3  # nothing stored (and the group is no job)
    assert (await carol.get("/api/jobs")).json()["total"] == 0

    async with httpx.AsyncClient(timeout=10) as unauthenticated:
        assert (await unauthenticated.get(f"{str(alice.base_url).rstrip('/')}/api/jobs")).status_code == 401
    reader = await builds_user("erin", scopes=("jobs:read",))
    denied = await reader.post("/api/jobs", json=body)
    assert denied.status_code == 403 and "jobs:write" in denied.json()["errors"][0]["reason"]
