"""What tracing costs on the submit path: ``POST /v1/jobs`` with tracing off, and on (issue 22).

Off is the default (no endpoint configured): no middleware, no headers, the SDK not loaded. On,
the gateway and the scheduler export every span over OTLP/HTTP to a local collector that
accepts and discards them, so the export's cost is counted too. Rounds alternate off and on, each
with a fresh gateway and scheduler, to spread a busy machine's noise over both. Besides the rate,
the CPU time the gateway and the scheduler spent per submission: on a shared machine it moves
less than the rate does.

    python -m bench.tracing_cost [--requests 3000] [--rounds 3] [--clients 16]
"""

import argparse
import asyncio
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import psutil

from .http_load import closed_loop
from .stack import BenchStack

BODY = msgspec.json.encode({"project": "bench", "title": "noop", "command": "true"})


class Round(msgspec.Struct, frozen=True, kw_only=True):
    """One round: submissions per second, median latency, gateway + scheduler CPU per submission."""

    rate: float
    p50_ms: float
    cpu_ms: float


class _Discard(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _collector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discard)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _cpu_s(stack: BenchStack) -> float:
    times = [psutil.Process(stack.procs[name].pid).cpu_times() for name in ("gateway", "scheduler")]
    return float(sum(t.user + t.system for t in times))


async def _round(stack: BenchStack, env: dict[str, str], requests: int, clients: int) -> Round:
    stack.start("scheduler", **env)
    port = stack.start("gateway", **env)
    try:
        await closed_loop("127.0.0.1", port, "/v1/jobs", lambda _: BODY, clients=clients, total=300)  # warm-up
        before = _cpu_s(stack)
        result = await closed_loop("127.0.0.1", port, "/v1/jobs", lambda _: BODY, clients=clients, total=requests)
        cpu_ms = (_cpu_s(stack) - before) * 1000 / requests
        assert result["ok"] == requests, result
        return Round(rate=result["req_per_s"], p50_ms=result["p50_ms"], cpu_ms=cpu_ms)
    finally:
        stack.stop("gateway")
        stack.stop("scheduler")


async def measure(requests: int, rounds: int, clients: int) -> dict[str, list[Round]]:
    """Each round's figures, tracing off and on."""
    rates: dict[str, list[Round]] = {"off": [], "on": []}
    with BenchStack() as stack, _collector() as endpoint:
        for _ in range(rounds):
            rates["off"].append(await _round(stack, {}, requests, clients))
            rates["on"].append(await _round(stack, {"CONVEYOR_OTLP_ENDPOINT": endpoint}, requests, clients))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    rates = asyncio.run(measure(args.requests, args.rounds, args.clients))
    for mode, values in rates.items():
        shown = ", ".join(f"{r.rate:.0f}/s p50 {r.p50_ms:.1f} ms cpu {r.cpu_ms:.2f} ms" for r in values)
        rate = statistics.median(r.rate for r in values)
        cpu = statistics.median(r.cpu_ms for r in values)
        print(f"tracing {mode}: median {rate:.0f} submits/s, {cpu:.2f} CPU ms per submit ({shown})")


if __name__ == "__main__":
    main()
