"""Screenshots of every dashboard page, light and dark, for docs/dashboard/ (``make screenshots``).

Runs only when ``CONVEYOR_SCREENSHOTS`` names the output directory: it is a picture maker, not a
check, and costs the suite nothing otherwise. It seeds a small farm through the API first.
"""

import os
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser

from ..hooks.receiver import Receiver
from ..test_workers_api import register
from .conftest import Stack, sign_in

OUT = os.environ.get("CONVEYOR_SCREENSHOTS", "")
if not OUT:
    pytest.skip("set CONVEYOR_SCREENSHOTS=<directory> to make screenshots", allow_module_level=True)

LOG = (
    "\x1b[1m==> building web (make -j4)\x1b[0m\n"
    "cc -O2 -c src/server.c\ncc -O2 -c src/routes.c\n"
    "\x1b[33mwarning:\x1b[0m unused variable 'retries' in src/routes.c:88\n"
    "cc -O2 -o web src/*.o\n\x1b[32m✓ 214 tests passed\x1b[0m\n"
    "\x1b[36m==> packaging\x1b[0m web-1.4.2.tar.gz (3.1 MB)\n"
)


async def _seed(api: httpx.AsyncClient, receiver: Receiver) -> dict[str, str]:
    for name, visibility in (("web", "public"), ("render", "private"), ("docs", "public")):
        await api.post("/v1/projects", json={"name": name, "visibility": visibility, "motd": f"{name} builds"})
    await api.post("/v1/hooks", json={"url": receiver.url(), "events": ["job.failed", "job.succeeded"],
                                      "description": "CI status"})  # fmt: skip
    worker = await register(api, name="builder-1", labels=["linux", "shots"], capacity=4)
    await register(api, name="gpu-2", labels=["gpu", "shots"], capacity=2)
    await api.post(f"/v1/workers/{worker.id}/access-requests", json={"project": "render"}, auth=worker.auth)

    async def job(**body: object) -> str:
        answer = await api.post("/v1/jobs", json={"command": "make", "labels": ["shots"], **body})
        return str(answer.json()["id"])

    ids = {}
    for i, (project, outcome) in enumerate([("web", "succeeded"), ("docs", "succeeded"), ("web", "failed"),
                                            ("docs", "succeeded"), ("web", "failed")]):  # fmt: skip
        ids[outcome] = await job(project=project, title=f"{project} build #{40 + i}", max_retries=0, tags=["nightly"])
        [lease] = (await worker.lease(max=1, wait_s=5)).json()["leases"]
        await worker.start(lease["lease_id"])
        body = {"result": outcome, "exit_code": 0 if outcome == "succeeded" else 2}
        await api.post(f"/v1/leases/{lease['lease_id']}/finish", json=body, auth=worker.auth)
    ids["running"] = await job(project="web", title="web release 1.4.2", tags=["release"])
    [lease] = (await worker.lease(max=1, wait_s=5)).json()["leases"]
    await worker.start(lease["lease_id"])
    await api.post(f"/v1/leases/{lease['lease_id']}/log", params={"offset": 0}, content=LOG.encode(),
                   auth=worker.auth, headers={"content-type": "application/octet-stream"})  # fmt: skip
    await worker.heartbeat(lease["lease_id"])  # online, with its load
    parent = await job(project="render", title="scene 12: 24 tiles", execute=False)
    children = [{"project": "render", "title": f"tile {t:02}", "command": "render", "parent": parent,
                 "labels": ["gpu-only"]} for t in range(24)]  # fmt: skip
    await api.post("/v1/jobs/bulk", json={"jobs": children})
    for t in range(3):
        await job(project="docs", title=f"docs preview {t}", labels=["mac"])
    ids["parent"] = parent
    return ids


async def test_screenshots_of_every_page(stack: Stack, browser: Browser) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        ids = await _seed(stack.api, receiver)
        await receiver.wait_for(lambda r: len(r) >= 3)
        hooks = (await stack.api.get("/v1/hooks")).json()["items"]
        pages = {
            "overview": "/ui/overview", "jobs": "/ui/jobs", "job": f"/ui/jobs/{ids['running']}",
            "job-tree": f"/ui/jobs/{ids['parent']}", "workers": "/ui/workers", "projects": "/ui/projects",
            "hook": f"/ui/hooks/{hooks[0]['id']}",
        }  # fmt: skip
        out = Path(OUT)
        os.makedirs(out, exist_ok=True)
        for scheme in ("light", "dark"):
            context, page = await sign_in(browser, stack.base_url, stack.admin_token, dark=scheme == "dark")
            try:
                for name, path in pages.items():
                    await page.goto(path)
                    if name == "job":
                        await page.locator("#log-text").filter(has_text="packaging").wait_for()
                    await page.screenshot(path=str(out / f"{name}-{scheme}.png"), full_page=name == "job")
            finally:
                await context.close()
            login = await browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 600})
            shot = await login.new_page()
            await shot.goto(stack.base_url + "/ui/login")
            await shot.screenshot(path=str(out / f"login-{scheme}.png"))
            await login.close()
        assert len([n for n in os.listdir(out) if n.endswith(".png")]) >= 16
    finally:
        await receiver.stop()
