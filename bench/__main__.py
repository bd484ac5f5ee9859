"""``python -m bench [--smoke]``: run the benchmarks, print tables, write bench/results/*.json."""

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import psutil
import uvloop

from .end_to_end import LATENCY_TARGET_P99_MS, end_to_end_throughput, submit_to_lease_latency
from .failover import failover
from .hooks import ALLOW as HOOKS_ALLOW
from .hooks import hook_figures
from .logs import output_figures
from .scenarios import catch_up, submit_throughput
from .stack import BenchStack

RESULTS = Path(__file__).parent / "results"
PEERS = {
    "POST /v1/jobs": "orientation (DESIGN §8): HTTP + a JetStream ack ~4.6k req/s per process",
    "catch-up": "orientation: a batched projector 20k+ events/s",
}
SCENARIOS = ("submit", "projection", "end_to_end", "latency", "logs", "failover", "hooks")


def print_table(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        figures = ", ".join(
            f"{k}={v:,.1f}" if isinstance(v, float) else f"{k}={v}"
            for k, v in row.items()
            if k != "scenario" and not isinstance(v, dict)  # nested details go to the JSON only
        )
        print(f"  {row['scenario']:<55} {figures}")


async def run(
    smoke: bool, only: set[str], profile_dir: Path | None, samples_out: Path | None, rates: list[float]
) -> dict[str, Any]:
    requests, events = (200, 2_000) if smoke else (20_000, 100_000)
    e2e_jobs, warmup = (200, 20) if smoke else (10_000, 200)
    results: dict[str, Any] = {}
    if "submit" in only:
        with BenchStack() as stack:
            results["submit"] = await submit_throughput(stack, requests=requests)
            print("Submit throughput (keep-alive clients, read-your-writes):")
            print_table(results["submit"])
            print(f"  ({PEERS['POST /v1/jobs']})")
    if "projection" in only:
        with BenchStack() as stack:
            results["projection"] = await catch_up(stack, events=events)
            print(f"Projection catch-up ({events:,} submitted jobs backlog):")
            print_table(results["projection"])
            print(f"  ({PEERS['catch-up']})")
    if only & {"end_to_end", "latency"}:
        with BenchStack() as stack:
            stack.start("scheduler")
            stack.start("gateway")
            if "end_to_end" in only:
                rows, cpu = await end_to_end_throughput(stack, jobs=e2e_jobs, warmup=warmup, profile_dir=profile_dir)
                results["end_to_end"], results["end_to_end_cpu"] = rows, cpu
                print(f"End to end: {e2e_jobs:,} no-op jobs, submit to succeeded, 2 worker processes:")
                print_table(rows)
                print("  CPU during it, % of one core (2 cores = 200 %):")
                print("    " + ", ".join(f"{name} {pct:.0f}" for name, pct in cpu.items()))
                per_job = rows[0]["cpu_ms_per_job"]
                print("  CPU ms per job: " + ", ".join(f"{name} {ms:.2f}" for name, ms in per_job.items()))
                timings = rows[0]["worker_mean_ms"]
                print("  worker means, ms: " + ", ".join(f"{name} {ms:.1f}" for name, ms in timings.items()))
            if "latency" in only:
                results["latency"] = []
                for rate in rates:
                    jobs = 100 if smoke else max(300, round(rate * 15))  # 15 s of load: 3,000 jobs at 200/s
                    latency = await submit_to_lease_latency(stack, jobs=jobs, rate=rate, samples_out=samples_out)
                    results["latency"] += latency
                    print(f"Submit-to-start latency, {jobs:,} jobs (target p99 < {LATENCY_TARGET_P99_MS:g} ms):")
                    print_table(latency)
                    cpu = latency[0]["cpu_pct"]
                    print("  CPU while sending, % of one core: " + ", ".join(f"{n} {p:.0f}" for n, p in cpu.items()))
    if "logs" in only:
        with BenchStack() as stack:
            for name in ("scheduler", "gateway", "collector"):
                stack.start(name)
            results["logs"] = await output_figures(stack, smoke=smoke)
            print("Logs and artifacts (one worker over HTTP; live-tail target p99 < 250 ms):")
            print_table(results["logs"])
    if "hooks" in only:
        with BenchStack() as stack:
            stack.start("scheduler")
            stack.start("gateway", **HOOKS_ALLOW)
            stack.start("hooks", **HOOKS_ALLOW)
            results["hooks"] = await hook_figures(stack, smoke=smoke)
            print("Webhooks (event-to-first-attempt target p99 < 250 ms):")
            print_table(results["hooks"])
    if "failover" in only:
        with BenchStack() as stack:
            results["failover"] = await failover(stack, repeats=1 if smoke else 3)
            print("Scheduler failover: ms from losing the leader to the standby holding the key, and to")
            print("its first decision on a job submitted at that moment:")
            print_table(results["failover"])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Conveyor benchmarks")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the harness, not the speed")
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, help="run only these scenarios (repeatable); nothing is saved"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy the scheduler and gateway for 8 s of the end-to-end run (raw collapsed stacks into DIR)",
    )
    parser.add_argument(
        "--latency-samples", type=Path, metavar="FILE", help="write each latency job's timestamps to FILE (JSON)"
    )
    parser.add_argument(
        "--latency-rate",
        type=float,
        action="append",
        metavar="JOBS_PER_S",
        help="open-loop rate(s) of the latency scenario (repeatable; default 200)",
    )
    args = parser.parse_args()
    only = set(args.only or SCENARIOS)
    # Other work on the machine skews every figure: say how busy it was before the run.
    background = psutil.cpu_percent(interval=1.0) * psutil.cpu_count()
    print(f"machine CPU busy before the run: {background:.0f} % of one core ({psutil.cpu_count()} cores)")
    rates = args.latency_rate or [200.0]
    results = uvloop.run(run(args.smoke, only, args.profile, args.latency_samples, rates))
    results["meta"] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.platform(),
        "smoke": args.smoke,
        "background_cpu_pct_of_one_core": background,
        "command": "make bench",
    }
    if args.only:
        return
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("smoke.json" if args.smoke else "foundation.json")
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")


main()
