"""`conveyor projects` and `conveyor tokens` through the real stack: tables, --json, errors with the fix."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from .conftest import CliResult

Conveyor = Callable[..., Awaitable[CliResult]]


async def test_projects_commands_print_tables_and_json(conveyor: Conveyor, api: httpx.AsyncClient) -> None:
    created = await conveyor("projects", "create", "web", "--visibility", "public", "--priority", "4", "--motd", "hi")
    assert created.status == 0, created.stderr
    assert "project web" in created.stdout and "public" in created.stdout and "secret" in created.stdout
    made = await conveyor("projects", "create", "vault", "--visibility", "hidden", "--assign-rate", "2", "--json")
    assert made.status == 0 and made.json()["assign_rate"] == 2 and made.json()["visibility"] == "hidden"
    table = await conveyor("projects", "ls")
    assert table.status == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "VISIBILITY", "STATE", "PRIORITY"]
    assert [line.split()[0] for line in lines[1:]] == ["vault", "web"]
    shown = await conveyor("projects", "show", "web")
    assert "motd" in shown.stdout and "hi" in shown.stdout and "rate limits" in shown.stdout
    updated = await conveyor("projects", "update", "web", "--motd", "bye", "--submit-rate", "1.5", "--json")
    assert (updated.json()["motd"], updated.json()["submit_rate"]) == ("bye", 1.5)
    paused = await conveyor("projects", "pause", "web")
    assert paused.status == 0 and "paused" in paused.stdout
    assert (await api.get("/v1/projects/web")).json()["paused"] is True
    assert (await conveyor("projects", "resume", "web", "--json")).json()["paused"] is False
    # errors: nothing to change, an unknown project, a bad value; each says what to do
    nothing = await conveyor("projects", "update", "web")
    assert nothing.status == 2 and "nothing to change" in nothing.stderr
    missing = await conveyor("projects", "show", "nowhere")
    assert missing.status == 1 and "404" in missing.stderr and "conveyor projects ls" in missing.stderr
    bad = await conveyor("projects", "create", "bad", "--priority", "100000")
    assert bad.status == 1 and "/priority" in bad.stderr


async def test_tokens_commands_create_list_and_revoke(conveyor: Conveyor, api_url: str) -> None:
    created = await conveyor("tokens", "create", "ci", "--scope", "jobs:read", "--scope", "jobs:write")
    assert created.status == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("cvy_") and "shown only now" in created.stderr
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}) as mine:
        assert (await mine.get("/v1/me")).json()["scopes"] == ["jobs:read", "jobs:write"]
    issued = (
        await conveyor("tokens", "create", "short", "--scope", "jobs:read", "--expires-in", "3600", "--json")
    ).json()
    assert issued["expires_at"] is not None and issued["token"].startswith("cvy_")
    listed = (await conveyor("tokens", "ls", "--json")).json()["items"]
    ci = next(t for t in listed if t["name"] == "ci")
    assert "token" not in ci and {t["name"] for t in listed} >= {"ci", "short"}
    revoked = await conveyor("tokens", "revoke", ci["id"])
    assert revoked.status == 0 and f"token {ci['id']} revoked" in revoked.stdout
    table = await conveyor("tokens", "ls")
    row = next(line for line in table.stdout.splitlines() if line.startswith(ci["id"]))
    assert "revoked" in row and "jobs:read,jobs:write" in row
    assert "active" in next(line for line in table.stdout.splitlines() if line.startswith(issued["id"]))
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}) as mine:
        for _ in range(50):  # revocation reaches the gateway's token cache within seconds
            if (await mine.get("/v1/me")).status_code == 401:
                break
            await asyncio.sleep(0.1)
        assert (await mine.get("/v1/me")).status_code == 401
    # an unknown token id says how to find yours
    unknown = await conveyor("tokens", "revoke", "0190c5a8-7b1e-7c3d-9a4b-1f2e3d4c5b6a")
    assert unknown.status == 1 and "conveyor tokens ls" in unknown.stderr
