"""A tiny HTTP health endpoint for supervisors: ``/healthz`` always, ``/readyz`` once registered."""

import asyncio
import contextlib
from collections.abc import Callable


async def serve_health(host: str, port: int, is_ready: Callable[[], bool]) -> asyncio.Server:
    """Answer ``GET /healthz`` (200) and ``GET /readyz`` (200 once ``is_ready()``, else 503)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            request = await reader.readuntil(b"\r\n\r\n")
            path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
            if path == b"/healthz":
                status = b"200 OK"
            elif path == b"/readyz":
                status = b"200 OK" if is_ready() else b"503 Service Unavailable"
            else:
                status = b"404 Not Found"
            writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, host, port)
