"""Least power and no existence leaks (issue 13): what one user learns of another's jobs and
workers through dedupe keys, dependencies, parents, the events query and worker commands."""

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from .conftest import WorkerProcess
from .test_projects import UserClient, as_user
from .test_worker_agent import wait_for_state
from .test_workers_api import register

NOBODY = "0190c5a8-7b1e-7c3d-9a4b-1f2e3d4c5b6a"


_SCOPES = ["jobs:read", "jobs:write", "projects", "workers"]


async def _share(alice: UserClient, bob: UserClient) -> None:
    """alice owns project ``shared``; bob may submit to it (``edit``) but not read her jobs."""
    assert (await alice.post("/v1/projects", json={"name": "shared", "visibility": "private"})).status_code == 201
    granted = await alice.put(f"/v1/projects/shared/roles/{bob.user_id}", json={"roles": ["edit"]})
    assert granted.status_code == 200, granted.text


async def test_a_dedupe_key_is_per_owner_and_never_discloses_another_users_job(api: httpx.AsyncClient) -> None:
    alice, bob = await as_user(api, "alice", _SCOPES), await as_user(api, "bob", _SCOPES)
    async with alice, bob:
        await _share(alice, bob)
        job = {"project": "shared", "command": "deploy", "env": {"API_KEY": "s3cr3t"}, "execute": False}
        first = await alice.post("/v1/jobs", json={**job, "dedupe_key": "nightly"})
        assert first.status_code == 201, first.text
        assert (await bob.get(f"/v1/jobs/{first.json()['id']}")).status_code == 404
        reused = await bob.post("/v1/jobs", json={"project": "shared", "command": "x", "dedupe_key": "nightly"})
        assert reused.status_code == 201, reused.text  # a job of bob's own, not alice's
        assert reused.json()["id"] != first.json()["id"]
        assert reused.json()["owner"] == bob.user_id
        assert "s3cr3t" not in reused.text
        again = await alice.post("/v1/jobs", json={**job, "dedupe_key": "nightly"})  # the owner's retry dedupes
        assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])

        # squatting a key first does not capture the other user's later submission
        squat = await bob.post("/v1/jobs", json={"project": "shared", "command": "evil", "dedupe_key": "release"})
        assert squat.status_code == 201
        victim = await alice.post("/v1/jobs", json={**job, "dedupe_key": "release"})
        assert victim.status_code == 201, victim.text
        assert victim.json()["id"] != squat.json()["id"]
        assert victim.json()["owner"] == alice.user_id
        bulk = await bob.post(
            "/v1/jobs/bulk", json={"jobs": [{"project": "shared", "command": "x", "dedupe_key": "nightly"}]}
        )
        assert bulk.status_code == 201, bulk.text
        assert bulk.json()["jobs"] == [{"id": reused.json()["id"], "status": "existing"}]  # bob's own, not alice's


def _shape(answer: httpx.Response, hidden: str) -> tuple[int, str]:
    """Status and body, with the id asked about replaced so a hidden and a missing job compare."""
    return answer.status_code, answer.text.replace(hidden, NOBODY)


async def test_an_unreadable_job_answers_exactly_as_a_missing_one(api: httpx.AsyncClient) -> None:
    alice, bob = await as_user(api, "alice", _SCOPES), await as_user(api, "bob", _SCOPES)
    async with alice, bob:
        await _share(alice, bob)
        hidden = (await alice.post("/v1/jobs", json={"project": "shared", "command": "x", "execute": False})).json()
        ended = (await alice.post("/v1/jobs", json={"project": "shared", "command": "x", "execute": False})).json()
        assert (await alice.post(f"/v1/jobs/{ended['id']}/cancel")).status_code == 200
        mine = (await bob.post("/v1/jobs", json={"command": "x", "execute": False})).json()

        for job in (hidden, ended):
            bodies: tuple[dict[str, object], ...] = (
                {"command": "x", "depends_on": ["{}"]},
                {"command": "x", "parent": "{}"},
            )
            for body in bodies:

                def ask(target: str, body: dict[str, object] = body) -> dict[str, object]:
                    return {
                        k: ([target] if k == "depends_on" else target if k == "parent" else v) for k, v in body.items()
                    }

                seen = await bob.post("/v1/jobs", json=ask(job["id"]))
                missing = await bob.post("/v1/jobs", json=ask(NOBODY))
                assert missing.status_code == 422
                assert _shape(seen, job["id"]) == _shape(missing, NOBODY), body
                seen = await bob.post("/v1/jobs/bulk", json={"jobs": [ask(job["id"])]})
                missing = await bob.post("/v1/jobs/bulk", json={"jobs": [ask(NOBODY)]})
                assert _shape(seen, job["id"]) == _shape(missing, NOBODY), body
            seen = await bob.put(f"/v1/jobs/{mine['id']}/dependencies", json={"depends_on": [job["id"]]})
            missing = await bob.put(f"/v1/jobs/{mine['id']}/dependencies", json={"depends_on": [NOBODY]})
            assert missing.status_code == 422
            assert _shape(seen, job["id"]) == _shape(missing, NOBODY)
            seen = await bob.get("/v1/events", params={"job": job["id"]})
            missing = await bob.get("/v1/events", params={"job": NOBODY})
            assert missing.json() == {"items": [], "next_cursor": None, "more": False}
            assert _shape(seen, job["id"]) == _shape(missing, NOBODY)
        assert (await bob.get(f"/v1/jobs/{mine['id']}/explain")).status_code == 200
        assert hidden["id"] not in (await bob.get(f"/v1/jobs/{mine['id']}/explain")).text
        # the owner still gets everything
        theirs = await alice.get("/v1/events", params={"job": hidden["id"]})
        assert theirs.json()["items"] and theirs.json()["next_cursor"] is not None
        depends = await alice.post("/v1/jobs", json={"project": "shared", "command": "x", "depends_on": [hidden["id"]]})
        assert depends.status_code == 201, depends.text


async def test_only_a_workers_owner_or_an_admin_may_pause_drain_or_delete_it(api: httpx.AsyncClient) -> None:
    alice, bob = await as_user(api, "alice", _SCOPES), await as_user(api, "bob", _SCOPES)
    async with alice, bob:
        registered = await alice.post("/v1/workers", json={"name": "alices-box"})
        assert registered.status_code == 201, registered.text
        worker = registered.json()["id"]
        for action in ("pause", "drain", "resume"):
            refused = await bob.post(f"/v1/workers/{worker}/{action}")
            assert refused.status_code == 403, (action, refused.text)
        assert (await bob.delete(f"/v1/workers/{worker}")).status_code == 403
        seen = await bob.get(f"/v1/workers/{worker}")  # every holder of the workers scope may read it
        assert (seen.status_code, seen.json()["mode"]) == (200, "active")  # nothing changed
        assert seen.json()["owner"] == alice.user_id
        assert (await alice.post(f"/v1/workers/{worker}/pause")).json()["mode"] == "paused"
        assert (await api.post(f"/v1/workers/{worker}/drain")).json()["mode"] == "draining"  # an admin may
        assert (await alice.delete(f"/v1/workers/{worker}")).status_code == 204
        assert (await bob.post(f"/v1/workers/{NOBODY}/pause")).status_code == 404


def _written(path: Path) -> str:
    return path.read_text() if path.exists() else ""


async def _file(path: Path, timeout_s: float = 30) -> str:
    for _ in range(int(timeout_s / 0.05)):
        if text := _written(path):
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} was never written")


async def test_a_job_holds_a_run_token_that_only_submits_its_follow_ups_while_it_runs(
    api: httpx.AsyncClient, start_worker: Callable[..., Awaitable[WorkerProcess]], tmp_path: Path
) -> None:
    await start_worker()
    alice = await as_user(api, "alice", _SCOPES)
    async with alice, httpx.AsyncClient(base_url=str(api.base_url), timeout=10) as anyone:
        assert (await alice.post("/v1/projects", json={"name": "mine", "visibility": "public"})).status_code == 201
        out, release = tmp_path / "env.json", tmp_path / "release"
        part = f"{out}.part"
        dump = f"import json, os; json.dump(dict(os.environ), open({part!r}, 'w')); os.replace({part!r}, {str(out)!r})"
        command = f'{sys.executable} -c "{dump}"; while [ ! -e {release} ]; do sleep 0.05; done'
        job = (await alice.post("/v1/jobs", json={"project": "mine", "command": command})).json()
        env = json.loads(await _file(out))
        run_token = env["CONVEYOR_RUN_TOKEN"]
        assert env["CONVEYOR_TOKEN"] == run_token  # `conveyor submit` in the job uses it
        assert run_token.startswith("cvr_") and "cvy_" not in json.dumps(env)
        as_run = {"Authorization": f"Bearer {run_token}"}

        follow = await anyone.post("/v1/jobs", json={"project": "mine", "command": "x"}, headers=as_run)
        assert follow.status_code == 201, follow.text
        assert (follow.json()["parent_id"], follow.json()["owner"]) == (job["id"], alice.user_id)
        bulk = await anyone.post("/v1/jobs/bulk", json={"jobs": [{"command": "y"}]}, headers=as_run)  # its project
        assert bulk.status_code == 201, bulk.text
        # nothing but follow-ups of its own job, in its project
        elsewhere = await anyone.post("/v1/jobs", json={"command": "x", "parent": NOBODY}, headers=as_run)
        assert elsewhere.status_code == 403
        assert (
            await anyone.post("/v1/jobs", json={"project": "other", "command": "x"}, headers=as_run)
        ).status_code == 403
        for method, path in (("GET", f"/v1/jobs/{job['id']}"), ("GET", "/v1/jobs"), ("GET", "/v1/workers"),
                             ("POST", f"/v1/jobs/{job['id']}/cancel"), ("GET", "/v1/me")):  # fmt: skip
            assert (await anyone.request(method, path, headers=as_run)).status_code == 401, (method, path)
        forged = run_token[:-4] + ("0000" if not run_token.endswith("0000") else "1111")
        assert (
            await anyone.post("/v1/jobs", json={"command": "x"}, headers={"Authorization": f"Bearer {forged}"})
        ).status_code == 401

        release.touch()
        await wait_for_state(alice, job["id"], "succeeded")
        after = await anyone.post("/v1/jobs", json={"project": "mine", "command": "x"}, headers=as_run)
        assert after.status_code == 401, after.text  # it died with the run


async def test_a_worker_names_as_dependencies_only_jobs_it_could_parent(api: httpx.AsyncClient) -> None:
    alice = await as_user(api, "alice", _SCOPES)
    async with alice:
        for name in ("farm", "vault"):
            assert (await alice.post("/v1/projects", json={"name": name, "visibility": "private"})).status_code == 201
        worker = await register(api)
        grant = {"status": "granted", "assign": True, "submit": True}
        assert (await alice.put(f"/v1/projects/farm/workers/{worker.id}", json=grant)).status_code == 200
        in_farm = (await alice.post("/v1/jobs", json={"project": "farm", "command": "x", "execute": False})).json()
        in_vault = (await alice.post("/v1/jobs", json={"project": "vault", "command": "x", "execute": False})).json()
        job = {"project": "farm", "command": "x", "execute": False}
        ok = await api.post("/v1/jobs", json={**job, "depends_on": [in_farm["id"]]}, auth=worker.auth)
        assert ok.status_code == 201, ok.text
        hidden = await api.post("/v1/jobs", json={**job, "depends_on": [in_vault["id"]]}, auth=worker.auth)
        missing = await api.post("/v1/jobs", json={**job, "depends_on": [NOBODY]}, auth=worker.auth)
        assert missing.status_code == 422
        assert _shape(hidden, in_vault["id"]) == _shape(missing, NOBODY)


async def test_explain_shows_no_state_of_a_dependency_that_became_unreadable(api: httpx.AsyncClient) -> None:
    alice, bob = await as_user(api, "alice", _SCOPES), await as_user(api, "bob", _SCOPES)
    async with alice, bob:
        await _share(alice, bob)
        roles = await alice.put(f"/v1/projects/shared/roles/{bob.user_id}", json={"roles": ["read"]})
        assert roles.status_code == 200
        theirs = (await alice.post("/v1/jobs", json={"project": "shared", "command": "x", "execute": False})).json()
        mine = await bob.post("/v1/jobs", json={"command": "x", "depends_on": [theirs["id"]]})
        assert mine.status_code == 201, mine.text
        assert "pending" in (await bob.get(f"/v1/jobs/{mine.json()['id']}/explain")).text  # readable: its state
        roles = await alice.put(f"/v1/projects/shared/roles/{bob.user_id}", json={"roles": []})
        assert roles.status_code == 200
        assert (await bob.get(f"/v1/jobs/{theirs['id']}")).status_code == 404
        explained = (await bob.get(f"/v1/jobs/{mine.json()['id']}/explain")).text
        assert "pending" not in explained, explained
