"""Webhooks end to end: a hook's deliveries are signed (checked with the reference package),
retried until the receiver answers, stopped by 410, redelivered on demand; job triggers fire
on the job's end."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ..conftest import Service
from ..logs.conftest import start_run
from .conftest import deliveries, wait_until
from .receiver import Receiver, WebhookVerificationError


async def create_hook(api: httpx.AsyncClient, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    created = await api.post("/v1/hooks", json={"url": url, "events": events, **extra})
    assert created.status_code == 201, created.text
    hook: dict[str, Any] = created.json()
    return hook


async def test_a_hook_delivers_signed_payloads_of_its_event_types(
    hooks_api: httpx.AsyncClient, receiver: Receiver
) -> None:
    hook = await create_hook(hooks_api, receiver.url(), ["job.submitted"])
    assert hook["secret"].startswith("whsec_") and hook["active"] is True
    read = await hooks_api.get(f"/v1/hooks/{hook['id']}")
    assert read.status_code == 200 and "secret" not in read.json()
    assert hook["secret"] not in (await hooks_api.get("/v1/hooks")).text

    job = (await hooks_api.post("/v1/jobs", json={"command": "make", "title": "t1"})).json()
    [got] = await receiver.wait_for(lambda r: len(r) >= 1)
    got.verify(hook["secret"])
    with pytest.raises(WebhookVerificationError):
        got.verify("whsec_" + "QUJD" * 11)  # another secret does not verify
    payload = got.json()
    assert payload["type"] == "job.submitted"
    data: Any = payload["data"]
    assert data["job"]["id"] == job["id"] and data["job"]["state"] == "queued" and data["job"]["title"] == "t1"
    assert data["version"] == 1 and data["stream_seq"] > 0  # queued by its submission alone
    items = await wait_until(lambda: _delivered(hooks_api, hook["id"]))
    assert items[0]["id"] == got.webhook_id and items[0]["attempts"][0]["status"] == 200
    assert items[0]["attempts"][0]["response"] == "ok from receiver"


async def _delivered(api: httpx.AsyncClient, hook_id: str) -> list[dict[str, Any]] | None:
    items = await deliveries(api, hook_id)
    return items if items and all(d["status"] == "delivered" for d in items) else None


async def test_receiver_down_then_up_is_delivered_after_a_retry(hooks_api: httpx.AsyncClient) -> None:
    receiver = Receiver()  # not started: connections are refused
    hook = await create_hook(hooks_api, receiver.url(), ["job.submitted"])
    await hooks_api.post("/v1/jobs", json={"command": "make"})

    async def failed_once() -> bool:
        items = await deliveries(hooks_api, hook["id"])
        return bool(items) and len(items[0]["attempts"]) >= 1

    await wait_until(failed_once)
    [first] = await deliveries(hooks_api, hook["id"])
    assert first["status"] == "pending" and first["attempts"][0]["status"] is None and first["attempts"][0]["error"]
    await receiver.start()
    try:
        [got] = await receiver.wait_for(lambda r: len(r) >= 1)
        got.verify(hook["secret"])
        assert got.webhook_id == first["id"]  # the same webhook-id on every attempt
        [done] = await wait_until(lambda: _delivered(hooks_api, hook["id"]))
        assert len(done["attempts"]) >= 2 and done["attempts"][-1]["status"] == 200
    finally:
        await receiver.stop()


async def test_retry_after_is_honoured(hooks_api: httpx.AsyncClient, receiver: Receiver) -> None:
    receiver.answers = [(503, {"Retry-After": "2"})]
    hook = await create_hook(hooks_api, receiver.url(), ["job.submitted"])
    await hooks_api.post("/v1/jobs", json={"command": "make"})
    first, second = await receiver.wait_for(lambda r: len(r) >= 2)
    assert first.webhook_id == second.webhook_id
    [done] = await wait_until(lambda: _delivered(hooks_api, hook["id"]))
    t0, t1 = (a["attempted_at"] for a in done["attempts"])
    from datetime import datetime

    gap = (datetime.fromisoformat(t1) - datetime.fromisoformat(t0)).total_seconds()
    assert gap >= 1.9  # the backoff alone would be under half a second


async def test_410_stops_and_disables_the_hook_until_re_enabled(
    hooks_api: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.default = 410
    hook = await create_hook(hooks_api, receiver.url(), ["job.submitted"])
    await hooks_api.post("/v1/jobs", json={"command": "make"})
    await receiver.wait_for(lambda r: len(r) >= 1)

    async def gone() -> dict[str, Any] | None:
        read = (await hooks_api.get(f"/v1/hooks/{hook['id']}")).json()
        return read if not read["active"] else None

    disabled = await wait_until(gone)
    assert disabled["disabled_reason"] == "gone" and disabled["disabled_at"]
    [delivery] = await deliveries(hooks_api, hook["id"])
    assert delivery["status"] == "gone" and len(delivery["attempts"]) == 1
    await hooks_api.post("/v1/jobs", json={"command": "make"})  # not delivered to a disabled hook
    enabled = await hooks_api.patch(f"/v1/hooks/{hook['id']}", json={"active": True})
    assert enabled.status_code == 200 and enabled.json()["active"] is True
    assert "disabled_reason" not in enabled.json()
    receiver.default = 200
    await hooks_api.post("/v1/jobs", json={"command": "make"})
    await receiver.wait_for(lambda r: len(r) >= 2)
    assert len(receiver.received) == 2 and len(await deliveries(hooks_api, hook["id"])) == 2


async def test_sustained_failure_disables_and_re_enabling_resumes(
    api: httpx.AsyncClient, start_dispatcher: Callable[..., Service], receiver: Receiver
) -> None:
    start_dispatcher(hook_disable_after_failures=3, hook_disable_after_s=0.0)
    receiver.default = 500
    hook = await create_hook(api, receiver.url(), ["job.submitted"])
    await api.post("/v1/jobs", json={"command": "make"})

    async def disabled() -> dict[str, Any] | None:
        read = (await api.get(f"/v1/hooks/{hook['id']}")).json()
        return read if not read["active"] else None

    read = await wait_until(disabled)
    assert read["disabled_reason"] == "failing" and read["consecutive_failures"] >= 3
    [pending] = await deliveries(api, hook["id"])
    assert pending["status"] == "pending"  # kept, not sent while the hook is off
    receiver.default = 200
    enabled = await api.patch(f"/v1/hooks/{hook['id']}", json={"active": True})
    assert enabled.json()["active"] is True and enabled.json()["consecutive_failures"] == 0
    [done] = await wait_until(lambda: _delivered(api, hook["id"]))
    assert done["attempts"][-1]["status"] == 200


async def test_redelivery_sends_the_same_message_again(hooks_api: httpx.AsyncClient, receiver: Receiver) -> None:
    hook = await create_hook(hooks_api, receiver.url(), ["job.submitted"])
    await hooks_api.post("/v1/jobs", json={"command": "make"})
    [first] = await receiver.wait_for(lambda r: len(r) >= 1)
    [done] = await wait_until(lambda: _delivered(hooks_api, hook["id"]))
    again = await hooks_api.post(f"/v1/hooks/{hook['id']}/deliveries/{done['id']}/redeliver")
    assert again.status_code == 202, again.text
    _, second = await receiver.wait_for(lambda r: len(r) >= 2)
    second.verify(hook["secret"])
    assert second.webhook_id == first.webhook_id and second.body == first.body
    missing = await hooks_api.post(f"/v1/hooks/{hook['id']}/deliveries/{hook['id']}/redeliver")
    assert missing.status_code == 404 and missing.json()["type"].endswith("delivery_not_found")


async def test_job_triggers_fire_on_the_matching_end(hooks_api: httpx.AsyncClient, receiver: Receiver) -> None:
    secret = "whsec_" + "c2VjcmV0LXRyaWdnZXI="
    triggers = [
        {"on": "success", "url": receiver.url("/ok"), "secret": secret},
        {"on": "failure", "url": receiver.url("/bad")},
        {"on": "always", "url": receiver.url("/any")},
    ]
    run = await start_run(hooks_api, triggers=triggers)
    assert (await run.finish("succeeded")).status_code == 200
    got = await receiver.wait_for(lambda r: len(r) >= 2)
    assert sorted(r.path for r in got) == ["/any", "/ok"]
    ok = next(r for r in got if r.path == "/ok")
    ok.verify(secret)
    assert ok.json()["type"] == "job.succeeded"
    anyone = next(r for r in got if r.path == "/any")
    assert "webhook-signature" not in anyone.headers and anyone.headers["webhook-id"]
    bad = await hooks_api.post("/v1/jobs", json={"command": "x", "triggers": [{"on": "sometimes", "url": "ftp://x"}]})
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} >= {"/triggers/0/on"}


async def test_redirects_are_not_followed(hooks_api: httpx.AsyncClient, receiver: Receiver) -> None:
    receiver.answers = [(302, {"Location": receiver.url("/elsewhere")})]
    hook = await create_hook(hooks_api, receiver.url(), ["job.submitted"])
    await hooks_api.post("/v1/jobs", json={"command": "make"})
    [done] = await wait_until(lambda: _delivered(hooks_api, hook["id"]))
    assert [a["status"] for a in done["attempts"]] == [302, 200]  # a redirect is a failed attempt
    assert [r.path for r in receiver.received] == ["/hook", "/hook"]
