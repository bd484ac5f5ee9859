"""The dashboard in a real browser: sign-in, live jobs and logs, bulk restart, trees, access
requests, webhooks redelivery, access rules and CSRF."""

import asyncio
import re
from typing import Any

import httpx
from playwright.async_api import Browser, expect

from ..hooks.receiver import Receiver
from ..test_projects import as_user
from ..test_workers_api import register
from .conftest import Stack, sign_in, unique


async def _lease_and_start(api: httpx.AsyncClient, worker: Any) -> str:
    leased = await worker.lease(max=1, wait_s=5)
    [lease] = leased.json()["leases"]
    assert (await worker.start(lease["lease_id"])).status_code == 200
    return str(lease["lease_id"])


async def test_sign_in_then_watch_a_job_appear_run_and_finish_live(stack: Stack, browser: Browser) -> None:
    api, label = stack.api, unique("live")
    context, page = await sign_in(browser, stack.base_url, stack.admin_token)
    try:
        await page.goto("/ui/jobs")
        await expect(page.locator("#live-dot.on")).to_be_visible()
        job = (
            await api.post("/v1/jobs", json={"title": "render frame 7", "command": "make", "labels": [label]})
        ).json()
        row = page.locator(f"tr[data-id='{job['id']}']")
        await expect(row).to_contain_text("queued")  # appeared without a reload
        worker = await register(api, labels=[label])
        lease_id = await _lease_and_start(api, worker)
        await expect(row).to_contain_text("running")
        await page.click(f"tr[data-id='{job['id']}'] a")
        await expect(page.locator("h1")).to_contain_text("render frame 7")
        await expect(page.locator(".explain")).to_contain_text(f"running on worker builder ({worker.id})")
        log = page.locator("#log-text")
        auth = worker.auth
        line = b"compiling \x1b[31merror-free\x1b[0m\n"
        sent = await api.post(f"/v1/leases/{lease_id}/log", params={"offset": 0}, content=line, auth=auth,
                              headers={"content-type": "application/octet-stream"})  # fmt: skip
        assert sent.status_code in (200, 202, 204), sent.text
        await expect(log).to_contain_text("compiling error-free")  # followed live, escape codes rendered
        await expect(log.locator("span.a-f1")).to_have_text("error-free")
        done = await api.post(f"/v1/leases/{lease_id}/finish", json={"result": "succeeded", "exit_code": 0}, auth=auth)
        assert done.status_code == 200, done.text
        await expect(page.locator("#log-status")).to_contain_text("the job ended: succeeded")
        await page.goto("/ui/jobs")
        await expect(page.locator(f"tr[data-id='{job['id']}']")).to_contain_text("succeeded")
        # sign-out ends the session: a page asks to sign in again
        await page.click("text=Sign out")
        await page.goto("/ui/jobs")
        await expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    finally:
        await context.close()


async def test_filter_failures_then_restart_them_in_bulk_after_a_confirmation(stack: Stack, browser: Browser) -> None:
    api, label, tag = stack.api, unique("bulk"), unique("nightly")
    worker = await register(api, capacity=3, labels=[label])
    ids = [
        (await api.post("/v1/jobs", json={"title": f"nightly {i}", "command": "make", "max_retries": 0,
                                          "tags": [tag], "labels": [label]})).json()["id"]
        for i in range(3)
    ]  # fmt: skip
    leases = (await worker.lease(max=3, wait_s=5)).json()["leases"]
    assert len(leases) == 3
    auth = worker.auth
    for n, lease in enumerate(leases):
        await worker.start(lease["lease_id"])
        body = {"result": "failed" if n < 2 else "succeeded", "exit_code": 1 if n < 2 else 0}
        assert (await api.post(f"/v1/leases/{lease['lease_id']}/finish", json=body, auth=auth)).status_code == 200
    failed = {lease["job"]["id"] for lease in leases[:2]}
    context, page = await sign_in(browser, stack.base_url, stack.admin_token)
    try:
        await page.goto(f"/ui/jobs?tag={tag}")
        await page.select_option("select[name=state]", "failed")
        await page.click("button:text('Filter')")
        await expect(page.locator("#jobs-table tbody tr")).to_have_count(2)
        assert {await r.get_attribute("data-id") for r in await page.locator("#jobs-table tbody tr").all()} == failed
        await page.select_option("select[name=scope]", "filter")
        await page.click("button[value=restart]")
        await expect(page.locator("#confirm-text")).to_contain_text("This will restart 2 jobs")
        await page.click("button:text('Yes, restart 2 jobs')")
        await expect(page.locator("#bulk-result")).to_contain_text("Restart: 2 jobs done")
        for job_id in ids:
            state = (await api.get(f"/v1/jobs/{job_id}")).json()["state"]
            assert state == ("queued" if job_id in failed else "succeeded")
    finally:
        await context.close()


async def test_a_form_without_its_csrf_token_is_refused(
    api: httpx.AsyncClient, browser: Browser, admin_token: str
) -> None:
    job = (await api.post("/v1/jobs", json={"title": "keep me", "command": "make"})).json()
    context, page = await sign_in(browser, str(api.base_url), admin_token)
    try:
        for form in ({"action": "cancel", "id": job["id"], "confirmed": "yes"},
                     {"action": "cancel", "id": job["id"], "confirmed": "yes", "csrf": "forged"}):  # fmt: skip
            refused = await page.request.post("/ui/jobs/bulk", form=form)
            assert refused.status == 403
            assert "CSRF" in await refused.text()
        refused = await page.request.post(f"/ui/jobs/{job['id']}/cancel", form={})
        assert refused.status == 403
        assert (await api.get(f"/v1/jobs/{job['id']}")).json()["state"] == "queued"
    finally:
        await context.close()


async def test_a_user_without_access_sees_nothing_of_a_private_project(stack: Stack, browser: Browser) -> None:
    api = stack.api
    alice, bob = await as_user(api, unique("alice")), await as_user(api, unique("bob"))
    async with alice, bob:
        # hidden: not even its name is shown (a private project's name and settings are listed to
        # everyone by the API's rule; its jobs are not, as the job checks below show for both)
        hidden = {"name": "secret-farm", "visibility": "hidden"}
        assert (await alice.post("/v1/projects", json=hidden)).status_code == 201
        job = (
            await alice.post(
                "/v1/jobs",
                json={"project": "secret-farm", "title": "classified", "command": "x", "labels": [unique("none")]},
            )
        ).json()
        bob_token = bob.headers["Authorization"].removeprefix("Bearer ")
        context, page = await sign_in(browser, stack.base_url, bob_token)
        try:
            await expect(page.locator("#depth")).not_to_contain_text("secret-farm")
            await page.goto("/ui/jobs")
            await expect(page.locator("#jobs-table")).to_contain_text("No jobs match.")
            await page.goto("/ui/jobs?project=secret-farm")
            await expect(page.locator("#jobs-table")).not_to_contain_text("classified")
            missing = await page.goto(f"/ui/jobs/{job['id']}")
            assert missing is not None and missing.status == 404
            await page.goto("/ui/projects")
            await expect(page.locator("main")).not_to_contain_text("secret-farm")
            streamed = await page.request.get(f"/ui/api/jobs/{job['id']}/log")
            assert streamed.status == 404
        finally:
            await context.close()


async def test_walk_a_tree_of_200_children(stack: Stack, browser: Browser) -> None:
    api, label = stack.api, unique("none")
    parent = (await api.post("/v1/jobs", json={"title": "scene", "command": "true", "labels": [label]})).json()
    children = [
        {"title": f"tile {i:03}", "command": "true", "parent": parent["id"], "labels": [label]} for i in range(200)
    ]
    stored = await api.post("/v1/jobs/bulk", json={"jobs": children})
    assert stored.status_code == 201, stored.text
    context, page = await sign_in(browser, stack.base_url, stack.admin_token)
    try:
        await page.goto(f"/ui/jobs/{parent['id']}")
        await expect(page.locator("#children tbody tr")).to_have_count(200)
        await expect(page.locator("section h2", has_text="Children")).to_contain_text("200 queued")
        await page.click("#children a:text('tile 137')")
        await expect(page.locator("h1")).to_contain_text("tile 137")
        await page.click("dd a.mono")  # its parent
        await expect(page.locator("h1")).to_contain_text("scene")
    finally:
        await context.close()


async def test_approve_a_workers_access_request(stack: Stack, browser: Browser) -> None:
    api, farm = stack.api, unique("farm")
    alice = await as_user(api, unique("alice"))
    async with alice:
        assert (await alice.post("/v1/projects", json={"name": farm})).status_code == 201
        worker = await register(api, labels=[unique("none")])
        asked = await api.post(f"/v1/workers/{worker.id}/access-requests", json={"project": farm}, auth=worker.auth)
        assert asked.status_code == 202
        for _ in range(100):  # folded shortly after its 202
            if (await alice.get(f"/v1/projects/{farm}/workers")).json()["items"]:
                break
            await asyncio.sleep(0.02)
        token = alice.headers["Authorization"].removeprefix("Bearer ")
        context, page = await sign_in(browser, stack.base_url, token)
        try:
            await page.goto("/ui/projects")
            row = page.locator(f"tr[data-worker='{worker.id}']")
            await expect(row).to_contain_text("requested")
            await row.locator("button[value=granted]").click()
            await expect(page.locator(f"tr[data-worker='{worker.id}']")).to_contain_text("granted")
        finally:
            await context.close()
        [item] = (await alice.get(f"/v1/projects/{farm}/workers")).json()["items"]
        assert item["status"] == "granted" and item["assign"] is True


async def test_redeliver_a_webhook_delivery(stack: Stack, browser: Browser) -> None:
    api, project = stack.api, unique("hooked")
    assert (await api.post("/v1/projects", json={"name": project})).status_code == 201
    receiver = Receiver()
    await receiver.start()
    try:
        hook = (await api.post("/v1/hooks", json={"url": receiver.url(), "events": ["job.submitted"],
                                                  "project": project})).json()  # fmt: skip
        job = {"project": project, "title": "notify", "command": "x", "labels": [unique("none")]}
        assert (await api.post("/v1/jobs", json=job)).status_code == 201
        [first] = await receiver.wait_for(lambda r: len(r) >= 1)
        context, page = await sign_in(browser, stack.base_url, stack.admin_token)
        try:
            await page.goto("/ui/hooks")
            await page.click(f"a:text('{receiver.url()}')")
            row = page.locator("#deliveries tbody tr").first
            for _ in range(100):  # the dispatcher records the answer just after sending
                if "delivered" in (await row.inner_text()):
                    break
                await page.reload()
            await expect(row).to_contain_text("delivered")
            await expect(row).to_contain_text("200")
            await row.locator("button:text('Redeliver')").click()
            _, second = await receiver.wait_for(lambda r: len(r) >= 2)
            assert second.webhook_id == first.webhook_id and second.body == first.body
            second.verify(hook["secret"])
        finally:
            await context.close()
    finally:
        await receiver.stop()


async def test_pages_and_actions_need_the_scopes_the_api_asks_for(stack: Stack, browser: Browser) -> None:
    reader = await as_user(stack.api, unique("reader"), ["jobs:read"])
    async with reader:
        job = (await stack.api.post("/v1/jobs", json={"title": "not yours to stop", "command": "x",
                                                      "labels": [unique("none")]})).json()  # fmt: skip
        token = reader.headers["Authorization"].removeprefix("Bearer ")
        context, page = await sign_in(browser, stack.base_url, token)
        try:
            for path in ("/ui/workers", "/ui/projects", "/ui/hooks"):
                refused = await page.goto(path)
                assert refused is not None and refused.status == 403, path
                assert "scope" in await refused.text()
            await page.goto("/ui/jobs")
            csrf = await page.locator("#bulk input[name=csrf]").get_attribute("value")
            form = {"csrf": csrf or "", "action": "cancel", "id": job["id"], "confirmed": "yes"}
            answer = await page.request.post("/ui/jobs/bulk", form=form)
            assert answer.status == 403 and "jobs:write" in await answer.text()
            assert (await stack.api.get(f"/v1/jobs/{job['id']}")).json()["state"] == "queued"
        finally:
            await context.close()
