"""The dashboard's browser tests: Debian's Chromium driven by Playwright (never a downloaded
browser), one browser per module, a fresh context (cookies) per sign-in."""

import os
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

CHROMIUM = os.environ.get("CONVEYOR_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the module."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (scripts/ensure-chromium.sh)")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        await browser.close()


async def sign_in(browser: Browser, base_url: str, token: str, *, dark: bool = False) -> tuple[BrowserContext, Page]:
    """A new browser context signed in to the dashboard with ``token``."""
    context = await browser.new_context(
        base_url=base_url, color_scheme="dark" if dark else "light", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    await page.goto("/ui/")
    await page.fill("#token", token)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/ui/overview")
    return context, page
