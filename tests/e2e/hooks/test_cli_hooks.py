"""`conveyor hooks` against the real stack with the hook dispatcher running."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from ..conftest import CliResult

Conveyor = Callable[..., Awaitable[CliResult]]


async def test_hooks_commands_create_list_change_and_show_deliveries(
    conveyor: Conveyor, hooks_api: httpx.AsyncClient
) -> None:
    created = await conveyor("hooks", "create", "http://93.184.216.34/hook", "--event", "job.succeeded", "--json")
    assert created.status == 0, created.stderr
    hook = created.json()
    assert hook["secret"].startswith("whsec_") and hook["events"] == ["job.succeeded"]
    human = await conveyor("hooks", "create", "http://93.184.216.34/other")
    assert "secret: whsec_" in human.stdout and "shown only now" in human.stdout
    for _ in range(100):  # the dispatcher folds the new hook shortly after a 202
        if hook["id"] in (await hooks_api.get("/v1/hooks")).text:
            break
        await asyncio.sleep(0.1)
    table = await conveyor("hooks", "ls")
    assert hook["id"] in table.stdout and "job.succeeded" in table.stdout and "active" in table.stdout
    assert (await conveyor("hooks", "show", hook["id"], "--json")).json().get("secret") is None  # shown once only
    disabled = (await conveyor("hooks", "disable", hook["id"], "--json")).json()
    assert disabled["active"] is False
    changed = (await conveyor("hooks", "update", hook["id"], "--event", "job.*", "--json")).json()
    assert changed["events"] == ["job.*"]
    assert (await conveyor("hooks", "enable", hook["id"], "--json")).json()["active"] is True
    assert "No deliveries yet." in (await conveyor("hooks", "deliveries", hook["id"])).stdout
    nothing = await conveyor("hooks", "update", hook["id"])
    assert nothing.status != 0 and "nothing to change" in nothing.stderr
    assert (await conveyor("hooks", "delete", hook["id"])).status == 0
    gone = await conveyor("hooks", "show", hook["id"])
    assert gone.status == 1 and "404" in gone.stderr
