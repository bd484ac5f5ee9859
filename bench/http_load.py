"""A minimal keep-alive HTTP/1.1 client and load generators on asyncio streams.

httpx costs more CPU per request than the gateway does to answer it; on a 2-core machine that
would measure the client. This one does just enough HTTP for JSON requests: GET and POST, fixed
headers per connection (e.g. Basic auth), Content-Length or chunked response bodies.
"""

import asyncio
import base64
import os
import time
from collections.abc import Callable


def basic_auth(user: str, password: str) -> dict[str, str]:
    """The ``Authorization`` header for HTTP Basic (RFC 7617)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# uvicorn closes a keep-alive connection after 5 s without a request; reopen before that.
IDLE_REOPEN_S = 4.0


class Connection:
    """One keep-alive connection; one request at a time. Reopened when it sat idle too long."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int, extra: str
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.host = f"{host}:{port}"
        self.address = (host, port)
        self.extra = extra
        self.last_used = time.monotonic()

    @classmethod
    async def open(cls, host: str, port: int, headers: dict[str, str] | None = None) -> "Connection":
        reader, writer = await asyncio.open_connection(host, port)
        headers = dict(headers or {})
        token = os.environ.get("CONVEYOR_TOKEN")
        if token and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = f"Bearer {token}"
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return cls(reader, writer, host, port, extra)

    async def _reopen(self) -> None:
        self.writer.close()
        self.reader, self.writer = await asyncio.open_connection(*self.address)

    async def request(self, method: str, path: str, body: bytes | None = None, extra: str = "") -> tuple[int, bytes]:
        """Send one request and read the whole response: ``(status, body)``.

        ``extra`` is more header lines for this request only, each ending in CRLF.
        """
        if time.monotonic() - self.last_used > IDLE_REOPEN_S:
            await self._reopen()
        try:
            return await self._exchange(method, path, body, extra)
        finally:
            self.last_used = time.monotonic()

    async def _exchange(self, method: str, path: str, body: bytes | None, extra: str) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}{extra}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write((head + "\r\n").encode() + (body or b""))
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        chunked = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            return status, await self._read_chunked()
        return status, (await self.reader.readexactly(length)) if length else b""

    async def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readline()).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await self.reader.readline()) not in (b"\r\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)  # CRLF after the chunk

    async def post(self, path: str, body: bytes, extra: str = "") -> int:
        status, _ = await self.request("POST", path, body, extra)
        return status

    async def get(self, path: str) -> tuple[int, bytes]:
        return await self.request("GET", path)

    def close(self) -> None:
        self.writer.close()


async def closed_loop(
    host: str,
    port: int,
    path: str,
    make_body: Callable[[int], bytes],
    *,
    clients: int,
    total: int,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """``clients`` connections each send requests back to back until ``total`` are done."""
    conns = [await Connection.open(host, port, headers) for _ in range(clients)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(total))

    async def worker(conn: Connection) -> None:
        for i in counter:
            started = time.perf_counter()
            status = await conn.post(path, make_body(i))
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - started
    for c in conns:
        c.close()
    lat = sorted(x * 1000 for x in latencies)
    return {
        "requests": float(total),
        "seconds": elapsed,
        "req_per_s": total / elapsed,
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "ok": float(sum(n for s, n in statuses.items() if 200 <= s < 300)),
    }


async def open_loop(
    host: str,
    port: int,
    path: str,
    make_body: Callable[[int], bytes],
    *,
    rate: float,
    total: int,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """Send ``total`` requests on a fixed schedule, ``rate`` per second, each as its own task.

    An open loop: a slow response never delays the next send. Idle keep-alive connections are
    reused; when none is idle, a new one is opened. ``make_body(i)`` is called at the moment of
    sending, so a timestamp it embeds is the real send time.
    """
    loop = asyncio.get_running_loop()
    idle: list[Connection] = []
    latencies: list[float] = []
    lateness: list[float] = []
    statuses: dict[int, int] = {}
    opened = 0

    async def send(i: int) -> None:
        nonlocal opened
        if idle:
            conn = idle.pop()
        else:
            conn = await Connection.open(host, port, headers)
            opened += 1
        started = time.perf_counter()
        status = await conn.post(path, make_body(i))
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1
        idle.append(conn)

    interval = 1.0 / rate
    tasks: list[asyncio.Task[None]] = []
    start = loop.time()
    began = time.perf_counter()
    for i in range(total):
        due = start + i * interval
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append(loop.time() - due)
        tasks.append(asyncio.create_task(send(i)))
    sending_s = time.perf_counter() - began
    await asyncio.gather(*tasks)
    for c in idle:
        c.close()
    lat = sorted(x * 1000 for x in latencies)
    late = sorted(x * 1000 for x in lateness)
    return {
        "requests": float(total),
        "send_seconds": sending_s,
        "sent_per_s": (total - 1) / sending_s if total > 1 and sending_s > 0 else float(total),
        "response_p50_ms": percentile(lat, 50),
        "response_p99_ms": percentile(lat, 99),
        "send_late_p99_ms": percentile(late, 99),
        "connections": float(opened),
        "ok": float(sum(n for s, n in statuses.items() if 200 <= s < 300)),
    }


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return float("nan")
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
