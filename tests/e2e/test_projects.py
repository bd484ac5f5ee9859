"""Projects over HTTP: visibility, roles, and job access that follows them."""

import httpx

ALL = ["jobs:read", "jobs:write", "projects"]


class UserClient(httpx.AsyncClient):
    """A client that calls as one user, with that user's id at hand for assertions."""

    user_id: str


async def as_user(api: httpx.AsyncClient, name: str, scopes: list[str] = ALL) -> UserClient:
    user = await api.post("/v1/users", json={"name": name})
    assert user.status_code == 201, user.text
    token = await api.post(f"/v1/users/{user.json()['id']}/tokens", json={"name": "t", "scopes": scopes})
    assert token.status_code == 201, token.text
    client = UserClient(
        base_url=str(api.base_url), timeout=10, headers={"Authorization": f"Bearer {token.json()['token']}"}
    )
    client.user_id = user.json()["id"]
    return client


async def test_visibility_hides_hidden_projects_and_secrets(api: httpx.AsyncClient) -> None:
    alice, bob = await as_user(api, "alice"), await as_user(api, "bob")
    async with alice, bob:
        created = await alice.post("/v1/projects", json={"name": "p1", "priority": 5, "motd": "hi"})
        assert created.status_code == 201, created.text
        assert created.json()["secret"] and created.json()["webhook_secret"]
        assert created.json()["your_roles"] == ["edit", "maintenance", "manage_access", "read", "secret"]
        assert (await alice.post("/v1/projects", json={"name": "p1"})).status_code == 409
        hidden = await alice.post("/v1/projects", json={"name": "h1", "visibility": "hidden"})
        assert hidden.status_code == 201
        seen = await bob.get("/v1/projects/p1")
        assert seen.status_code == 200 and seen.json()["your_roles"] == []
        assert "secret" not in seen.json() and "webhook_secret" not in seen.json()
        assert created.json()["secret"] not in seen.text
        missing = await bob.get("/v1/projects/h1")
        nothing = await bob.get("/v1/projects/nope")
        assert missing.status_code == nothing.status_code == 404
        assert missing.json()["title"] == nothing.json()["title"]
        assert [p["name"] for p in (await bob.get("/v1/projects")).json()["items"]] == ["p1"]
        assert [p["name"] for p in (await alice.get("/v1/projects")).json()["items"]] == ["h1", "p1"]
        assert (await bob.patch("/v1/projects/p1", json={"motd": "mine"})).status_code == 403
        assert (await bob.put(f"/v1/projects/p1/roles/{bob.user_id}", json={"roles": ["read"]})).status_code == 403
        assert (await bob.patch("/v1/projects/h1", json={"motd": "x"})).status_code == 404
        changed = await alice.patch("/v1/projects/p1", json={"version": "abc123", "paused": True})
        assert changed.status_code == 200 and changed.json()["version"] == "abc123" and changed.json()["paused"]
        bad = await alice.patch("/v1/projects/p1", json={"visibility": "open", "priority": 5000})
        assert bad.status_code == 422
        assert {e["pointer"] for e in bad.json()["errors"]} == {"/visibility", "/priority"}


async def test_job_access_follows_ownership_and_project_roles(api: httpx.AsyncClient) -> None:
    alice, bob, carol = await as_user(api, "alice"), await as_user(api, "bob"), await as_user(api, "carol")
    async with alice, bob, carol:
        assert (await alice.post("/v1/projects", json={"name": "team"})).status_code == 201
        assert (await alice.post("/v1/projects", json={"name": "open", "visibility": "public"})).status_code == 201
        job = (await alice.post("/v1/jobs", json={"project": "team", "command": "true"})).json()
        public_job = (await alice.post("/v1/jobs", json={"project": "open", "command": "true"})).json()
        own = (await bob.post("/v1/jobs", json={"project": "default", "command": "true"})).json()
        assert job["owner"] == alice.user_id
        # bob: no role on "team": the job does not exist for him, in reads, lists and commands
        assert (await bob.get(f"/v1/jobs/{job['id']}")).status_code == 404
        assert (await bob.get(f"/v1/jobs/{job['id']}/explain")).status_code == 404
        assert (await bob.post(f"/v1/jobs/{job['id']}/cancel")).status_code == 404
        listed = {j["id"] for j in (await bob.get("/v1/jobs", params={"limit": 500})).json()["items"]}
        assert listed == {own["id"], public_job["id"]}
        assert (await carol.get(f"/v1/jobs/{public_job['id']}")).status_code == 200  # public read
        assert (await carol.post(f"/v1/jobs/{public_job['id']}/cancel")).status_code == 403  # not write
        assert (await bob.post("/v1/jobs", json={"project": "team", "command": "x"})).status_code == 403
        bulk = await bob.post("/v1/jobs/bulk", json={"jobs": [{"project": "team", "command": "x"}]})
        assert bulk.status_code == 403
        # a reader sees the job but may not change it; an editor may
        granted = await alice.put(f"/v1/projects/team/roles/{bob.user_id}", json={"roles": ["read"]})
        assert granted.status_code == 200
        assert (await bob.get(f"/v1/jobs/{job['id']}")).status_code == 200
        assert job["id"] in {j["id"] for j in (await bob.get("/v1/jobs")).json()["items"]}
        assert (await bob.post(f"/v1/jobs/{job['id']}/cancel")).status_code == 403
        assert (
            await alice.put(f"/v1/projects/team/roles/{bob.user_id}", json={"roles": ["read", "edit"]})
        ).status_code == 200
        assert (await bob.post(f"/v1/jobs/{job['id']}/cancel")).status_code == 200
        assert (await bob.post("/v1/jobs", json={"project": "team", "command": "x"})).status_code == 201
        roles = (await alice.get("/v1/projects/team/roles")).json()["items"]
        assert {r["user_id"]: r["roles"] for r in roles}[bob.user_id] == ["read", "edit"]
        # the admin sees everything
        assert job["id"] in {j["id"] for j in (await api.get("/v1/jobs", params={"limit": 500})).json()["items"]}
