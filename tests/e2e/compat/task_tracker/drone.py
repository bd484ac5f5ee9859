"""A task_tracker client that speaks exactly as the real ones do (simon987/task_tracker_drone's
``api.py`` and the Go client): JSON bodies sent with no content type (or curl's form type),
``X-Worker-Id`` and ``X-Secret`` headers, the ``tt_py_client1.0`` user agent."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

PREFIX = "/compat/task_tracker"
UA = {"User-Agent": "tt_py_client1.0"}


class Drone:
    """One task_tracker worker (its id and secret) on a gateway client that sends no credentials."""

    def __init__(self, http: httpx.AsyncClient, wid: int, secret: str, prefix: str = PREFIX) -> None:
        self.http = http
        self.id = wid
        self.secret = secret
        self.prefix = prefix

    @property
    def headers(self) -> dict[str, str]:
        return {**UA, "X-Worker-Id": str(self.id), "X-Secret": self.secret}

    async def post(self, path: str, body: Any, **headers: str) -> httpx.Response:
        return await post(self.http, path, body, {**self.headers, **headers}, self.prefix)

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(self.prefix + path, headers=self.headers)

    async def fetch_task(self, project: int) -> dict[str, Any] | None:
        """``/task/get/:project``'s task, or None on "No task available" (exactly that message)."""
        r = await self.get(f"/task/get/{project}")
        assert r.status_code == 200, r.text
        body = r.json()
        if not body["ok"]:
            assert body == {"ok": False, "message": "No task available"}
            return None
        task: dict[str, Any] = body["content"]["task"]
        return task

    async def wait_task(self, project: int, timeout_s: float = 10.0) -> dict[str, Any]:
        """Fetch until a task comes (a failed task is retried after a short backoff)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            task = await self.fetch_task(project)
            if task is not None:
                return task
            assert loop.time() < deadline, "no task came"
            await asyncio.sleep(0.1)

    async def submit(self, project: int, recipe: str, **fields: Any) -> httpx.Response:
        body = {"project": project, "recipe": recipe, "priority": 1, "max_assign_time": 3600, "hash_u64": 0,
                "verification_count": 1, "max_retries": 3, **fields}  # fmt: skip
        return await self.post("/task/submit", body)

    async def release(self, task_id: int, result: int, verification: int = 0) -> dict[str, Any]:
        r = await self.post("/task/release", {"task_id": task_id, "result": result, "verification": verification})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


async def post(
    http: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str], prefix: str = PREFIX
) -> httpx.Response:
    """A POST as the Python drone sends it: ``json.dumps`` encoded, no content type."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await http.post(prefix + path, content=data, headers=headers)


async def make_worker(http: httpx.AsyncClient, alias: str, prefix: str = PREFIX) -> Drone:
    """``/worker/create``; ``prefix``: where the façade is (``""`` at the root of its own port)."""
    r = await post(http, "/worker/create", {"alias": alias}, UA, prefix)
    assert r.status_code == 200, r.text
    worker = r.json()["content"]["worker"]
    return Drone(http, worker["id"], worker["secret"], prefix)


async def until(check: Callable[[], Any], timeout_s: float = 10.0) -> Any:
    """Await ``check()`` until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
