"""``python -m bench [--smoke]``: run the benchmarks, print tables, write bench/results/*.json."""

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import uvloop

from .scenarios import catch_up, submit_throughput
from .stack import BenchStack

RESULTS = Path(__file__).parent / "results"
PEERS = {
    "POST /v1/jobs": "orientation (DESIGN §8): HTTP + a JetStream ack ~4.6k req/s per process",
    "catch-up": "orientation: a batched projector 20k+ events/s",
}


def print_table(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        figures = ", ".join(
            f"{k}={v:,.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if k != "scenario"
        )
        print(f"  {row['scenario']:<55} {figures}")


async def run(smoke: bool) -> dict[str, Any]:
    requests, events = (200, 2_000) if smoke else (20_000, 100_000)
    with BenchStack() as stack:
        submit = await submit_throughput(stack, requests=requests)
        print("Submit throughput (keep-alive clients, read-your-writes):")
        print_table(submit)
        print(f"  ({PEERS['POST /v1/jobs']})")
    with BenchStack() as stack:
        projection = await catch_up(stack, events=events)
        print(f"Projection catch-up ({events:,} submitted jobs backlog):")
        print_table(projection)
        print(f"  ({PEERS['catch-up']})")
    return {"submit": submit, "projection": projection}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Conveyor benchmarks")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the harness, not the speed")
    args = parser.parse_args()
    results = uvloop.run(run(args.smoke))
    results["meta"] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.platform(),
        "smoke": args.smoke,
        "command": "make bench",
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("smoke.json" if args.smoke else "foundation.json")
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")


main()
