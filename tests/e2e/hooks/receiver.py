"""A real HTTP receiver for webhook tests, on 127.0.0.1, that checks every signature with the
Standard Webhooks reference package (independent of Conveyor's signing code)."""

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_devstack import free_port
from conveyor_runtime import serve_http


class Received(msgspec.Struct):
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> dict[str, Any]:
        doc: dict[str, Any] = msgspec.json.decode(self.body)
        return doc

    def verify(self, secret: str) -> None:
        """Raises unless the signature is valid for ``secret`` (per the reference package)."""
        Webhook(secret).verify(self.body, self.headers)


class Receiver:
    """Answers each request with the next status of ``answers`` (then ``default``)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.answers: list[int | tuple[int, dict[str, str]]] = []
        self.default = 200
        self.delay_s = 0.0
        self._arrived = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(Received(request.url.path, dict(request.headers), body))
        self._arrived.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        answer = self.answers.pop(0) if self.answers else self.default
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return Response(b"ok from receiver" if status < 300 else b"no thanks", status_code=status, headers=headers)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(serve_http(app, "127.0.0.1", self.port, self._stop))
        await asyncio.sleep(0.2)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)
            self._task = None

    async def wait_for(self, check: Callable[[list[Received]], bool], within_s: float = 10.0) -> list[Received]:
        """Wait until ``check`` holds for what arrived."""
        async with asyncio.timeout(within_s):
            while not check(self.received):
                self._arrived.clear()
                await self._arrived.wait()
        return self.received


__all__ = ["Received", "Receiver", "WebhookVerificationError"]
