"""The permission matrix: every kind of caller against the endpoints, and nothing leaks.

Callers: anonymous, another user, a reader and a writer of the project, the owner, the admin,
and workers with and without assign access. Each row gives the status each caller must get.
"""

from collections.abc import Awaitable, Callable

import httpx

from .test_projects import as_user
from .test_workers_api import register

CALLERS = ("anonymous", "other", "reader", "writer", "owner", "admin")
NOBODY = "0190c5a8-7b1e-7c3d-9a4b-1f2e3d4c5b6a"

# (method, path, body, expected status per caller in CALLERS order); {job}, {oscar} filled in.
MATRIX: list[tuple[str, str, object, tuple[int, ...]]] = [
    ("GET", "/v1/jobs/{job}", None, (401, 404, 200, 200, 200, 200)),
    ("GET", "/v1/jobs/{job}/explain", None, (401, 404, 200, 200, 200, 200)),
    ("POST", "/v1/jobs/{job}/pause", None, (401, 404, 403, 200, 200, 200)),
    ("POST", "/v1/jobs/{job}/resume", None, (401, 404, 403, 200, 200, 200)),
    ("PUT", "/v1/jobs/{job}/dependencies", {"depends_on": []}, (401, 404, 403, 200, 200, 200)),
    ("PATCH", "/v1/jobs/{job}", {"note": "edited"}, (401, 404, 403, 200, 200, 200)),
    ("GET", "/v1/jobs/{job}/children", None, (401, 404, 200, 200, 200, 200)),
    ("GET", "/v1/jobs/{job}/artifacts", None, (401, 404, 200, 200, 200, 200)),
    ("POST", "/v1/jobs", {"project": "matrix", "command": "x", "execute": False}, (401, 403, 403, 201, 201, 201)),
    ("GET", "/v1/projects/matrix", None, (401, 200, 200, 200, 200, 200)),
    ("PATCH", "/v1/projects/matrix", {"motd": "hello"}, (401, 403, 403, 200, 200, 200)),
    ("GET", "/v1/projects/matrix/roles", None, (401, 403, 200, 200, 200, 200)),
    ("PUT", "/v1/projects/matrix/roles/{oscar}", {"roles": []}, (401, 403, 403, 403, 200, 200)),
    ("GET", "/v1/projects/matrix/workers", None, (401, 403, 403, 403, 200, 200)),
    ("POST", "/v1/projects/matrix/maintenance/reset-failed", None, (401, 403, 403, 403, 200, 200)),
    ("GET", "/v1/projects/vault", None, (401, 404, 404, 404, 200, 200)),
    ("POST", "/v1/jobs", {"project": "vault", "command": "x", "execute": False}, (401, 403, 403, 403, 201, 201)),
    ("POST", "/v1/jobs", {"project": "nowhere", "command": "x", "execute": False}, (401, 403, 403, 403, 403, 201)),
    ("GET", "/v1/users", None, (401, 403, 403, 403, 403, 200)),
    ("GET", "/v1/workers", None, (401, 403, 403, 403, 403, 200)),
    ("POST", "/v1/workers", {"name": "w"}, (401, 403, 403, 403, 403, 201)),
    ("GET", "/v1/me", None, (401, 200, 200, 200, 200, 200)),
]


async def test_every_caller_gets_the_expected_status_and_nothing_leaks(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    full = ["jobs:read", "jobs:write", "projects"]
    owner, other = await as_user(api, "alice", full), await as_user(api, "oscar", full)
    reader = await as_user(api, "rita", ["jobs:read", "projects"])
    writer = await as_user(api, "walt", full)
    clients = dict(zip(CALLERS, (anonymous, other, reader, writer, owner, api), strict=True))
    async with owner, other, reader, writer:
        assert (await owner.post("/v1/projects", json={"name": "matrix"})).status_code == 201
        assert (await owner.post("/v1/projects", json={"name": "vault", "visibility": "hidden"})).status_code == 201
        for who, roles in ((reader, ["read"]), (writer, ["read", "edit"])):
            granted = await owner.put(f"/v1/projects/matrix/roles/{who.user_id}", json={"roles": roles})
            assert granted.status_code == 200
        job = (await owner.post("/v1/jobs", json={"project": "matrix", "command": "make", "execute": False})).json()
        names = {"job": job["id"], "oscar": other.user_id}
        failures = []
        for method, template, body, expected in MATRIX:
            path = template.format(**names)
            for caller, status in zip(CALLERS, expected, strict=True):
                answer = await clients[caller].request(method, path, json=body)
                if answer.status_code != status:
                    failures.append(f"{method} {template} as {caller}: {answer.status_code} != {status}")
        assert not failures, "\n".join(failures)

        # a job you may not read looks exactly like one that does not exist
        hidden_job = await other.get(f"/v1/jobs/{job['id']}")
        missing = await other.get(f"/v1/jobs/{NOBODY}")
        assert (hidden_job.json()["type"], hidden_job.json()["title"]) == (
            missing.json()["type"],
            missing.json()["title"],
        )
        # named anywhere else, a hidden job is a missing one too: dependencies, events, dedupe keys
        probes: tuple[Callable[[str], Awaitable[httpx.Response]], ...] = (
            lambda target: other.post("/v1/jobs", json={"command": "x", "depends_on": [target], "execute": False}),
            lambda target: other.get("/v1/events", params={"job": target}),
        )
        for probe in probes:
            seen, absent = await probe(job["id"]), await probe(NOBODY)
            assert (seen.status_code, seen.text.replace(job["id"], NOBODY)) == (absent.status_code, absent.text)
        # lists: the other user's page holds none of the project's jobs; the reader's holds all
        others = (await other.get("/v1/jobs", params={"limit": 500})).json()
        assert all(j["project"] != "matrix" for j in others["items"])
        readers = (await reader.get("/v1/jobs", params={"project": "matrix", "limit": 500})).json()
        assert job["id"] in {j["id"] for j in readers["items"]}
        assert [p["name"] for p in (await other.get("/v1/projects")).json()["items"]] == ["matrix"]
        # trees: a child goes only under a job you may change, and a hidden parent looks missing
        child = {"command": "x", "parent": job["id"], "execute": False}
        assert (await writer.post("/v1/jobs", json={**child, "project": "matrix"})).status_code == 201
        assert (await other.get("/v1/jobs", params={"parent": job["id"]})).json()["items"] == []
        foreign = await other.post("/v1/jobs", json=child)  # into a project of their own
        assert (foreign.status_code, foreign.json()["errors"][0]["pointer"]) == (422, "/parent")
        nothing = (await other.post("/v1/jobs", json={"command": "x", "parent": NOBODY})).json()
        assert (nothing["type"], nothing["detail"]) == (foreign.json()["type"], foreign.json()["detail"])
        # submitting: a hidden project one cannot read refuses exactly as a missing one does
        into_hidden = await other.post("/v1/jobs", json={"project": "vault", "command": "x"})
        into_missing = await other.post("/v1/jobs", json={"project": "nowhere", "command": "x"})
        assert into_hidden.status_code == into_missing.status_code == 403
        assert into_hidden.json()["type"] == into_missing.json()["type"]
        assert into_hidden.json()["detail"].replace("'vault'", "'nowhere'") == into_missing.json()["detail"]
        bulk_hidden = await other.post("/v1/jobs/bulk", json={"jobs": [{"project": "vault", "command": "x"}]})
        assert bulk_hidden.json()["detail"] == into_hidden.json()["detail"]
        assert (await other.post("/v1/jobs", json={"command": "x", "execute": False})).status_code == 201  # default
        # secrets only for holders of the secret role
        for caller in ("other", "reader", "writer"):
            assert "secret" not in (await clients[caller].get("/v1/projects/matrix")).json()
        assert "secret" in (await owner.get("/v1/projects/matrix")).json()

        # workers: a user token is not worker credentials, and private jobs need a grant
        runnable = (await owner.post("/v1/jobs", json={"project": "matrix", "command": "make"})).json()
        with_access, without = await register(api, capacity=5), await register(api, capacity=5)
        grant = {"status": "granted", "assign": True}
        assert (await owner.put(f"/v1/projects/matrix/workers/{with_access.id}", json=grant)).status_code == 200
        assert (await owner.post(f"/v1/workers/{with_access.id}/lease", json={})).status_code == 401
        assert (await without.lease(max=5)).json() == {"leases": []}
        leased = (await with_access.lease(max=5)).json()["leases"]
        assert [lease["job"]["id"] for lease in leased] == [runnable["id"]]
        assert (await api.get(f"/v1/workers/{with_access.id}/projects", auth=without.auth)).status_code == 403
        assert "vault" not in (await api.get(f"/v1/workers/{without.id}/projects", auth=without.auth)).text

        # workers submitting with their own credentials: only with submit access granted
        submission = {"project": "matrix", "command": "x", "execute": False}
        for worker in (with_access, without):  # assign access alone, and nothing
            assert (await api.post("/v1/jobs", json=submission, auth=worker.auth)).status_code == 403
        hidden = await api.post("/v1/jobs", json={**submission, "project": "vault"}, auth=without.auth)
        absent = await api.post("/v1/jobs", json={**submission, "project": "nowhere"}, auth=without.auth)
        assert hidden.json()["detail"].replace("'vault'", "'nowhere'") == absent.json()["detail"]
        grant = {"status": "granted", "assign": True, "submit": True}
        assert (await owner.put(f"/v1/projects/matrix/workers/{with_access.id}", json=grant)).status_code == 200
        mine = await api.post("/v1/jobs", json=submission, auth=with_access.auth)
        assert (mine.status_code, mine.json()["owner"]) == (201, f"worker:{with_access.id}")
        assert (await api.post("/v1/jobs/bulk", json={"jobs": [submission]}, auth=without.auth)).status_code == 403
