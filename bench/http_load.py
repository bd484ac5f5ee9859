"""A minimal keep-alive HTTP/1.1 load generator on asyncio streams.

httpx costs more CPU per request than the gateway does to answer it; on a 2-core machine that
would measure the client. This one does just enough HTTP for JSON POSTs with Content-Length.
"""

import asyncio
import time
from collections.abc import Callable


class Connection:
    """One keep-alive connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, extra: str) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host
        self.extra = extra

    @classmethod
    async def open(cls, host: str, port: int, headers: dict[str, str] | None = None) -> "Connection":
        reader, writer = await asyncio.open_connection(host, port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        return cls(reader, writer, f"{host}:{port}", extra)

    async def post(self, path: str, body: bytes) -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n{self.extra}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length:
            await self.reader.readexactly(length)
        return status

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


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return float("nan")
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
