"""Job access lists: read and write lists by user id, ``*`` for public read; only the owner edits them."""

import httpx

from .test_projects import as_user


async def test_access_lists_grant_reads_and_writes_to_named_users(api: httpx.AsyncClient) -> None:
    alice, bob = await as_user(api, "alice"), await as_user(api, "bob")
    carol, dave = await as_user(api, "carol"), await as_user(api, "dave")
    async with alice, bob, carol, dave:
        body = {"command": "make", "project": "default", "read_access": [bob.user_id], "write_access": [carol.user_id]}
        job = (await alice.post("/v1/jobs", json=body)).json()
        path = f"/v1/jobs/{job['id']}"
        assert (await bob.get(path)).status_code == 200
        assert job["id"] in {j["id"] for j in (await bob.get("/v1/jobs")).json()["items"]}
        assert (await bob.post(f"{path}/pause")).status_code == 403  # read only
        assert (await carol.post(f"{path}/pause")).status_code == 200  # the write list may change it
        assert (await dave.get(path)).status_code == 404
        assert job["id"] not in {j["id"] for j in (await dave.get("/v1/jobs")).json()["items"]}
        assert (await alice.get(f"{path}/access")).json() == {"read": [bob.user_id], "write": [carol.user_id]}
        assert (await carol.put(f"{path}/access", json={"read": ["*"]})).status_code == 403  # only the owner
        opened = await alice.put(f"{path}/access", json={"read": ["*"], "write": []})
        assert opened.json() == {"read": ["*"], "write": []}
        assert (await dave.get(path)).status_code == 200  # "*": anyone with jobs:read
        assert (await carol.post(f"{path}/resume")).status_code == 403  # no longer on the write list
        bad = await alice.post("/v1/jobs", json={"command": "x", "read_access": ["everyone"], "write_access": ["*"]})
        assert bad.status_code == 422
        assert {e["pointer"] for e in bad.json()["errors"]} == {"/read_access/0", "/write_access/0"}
