"""``python -m bench [--smoke]``: run the benchmarks, print tables, write bench/results/*.json."""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import uvloop

from . import fair
from .backlog import LEVELS, backlog_scaling
from .charts import write_charts
from .coalition import coalition_vs_native
from .compare import peers_latency
from .end_to_end import LATENCY_TARGET_P99_MS, _submit_bulk, submit_to_lease_latency
from .failover import failover
from .hooks import ALLOW as HOOKS_ALLOW
from .hooks import hook_figures
from .logs import output_figures
from .peers_setup import PEERS
from .raw import ceilings
from .scenarios import catch_up, submit_throughput
from .stack import BenchStack
from .targets import print_targets, targets
from .task_tracker import tt_figures

RESULTS = Path(__file__).parent / "results"
ORIENTATION = {  # DESIGN §8 figures, for orientation only (the ceilings are measured: `raw`)
    "POST /v1/jobs": "orientation (DESIGN §8): HTTP + a JetStream ack ~4.6k req/s per process",
    "catch-up": "orientation: a batched projector 20k+ events/s",
}
SCENARIOS = (
    "raw",
    "submit",
    "projection",
    "end_to_end",
    "scaling",
    "durable",
    "latency",
    "backlog",
    "logs",
    "failover",
    "hooks",
    "task_tracker",
    "coalition",
)


def print_table(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        figures = ", ".join(
            f"{k}={v:,.1f}" if isinstance(v, float) else f"{k}={v}"
            for k, v in row.items()
            if k != "scenario" and not isinstance(v, dict)  # nested details go to the JSON only
        )
        print(f"  {row['scenario']:<55} {figures}")


async def run(
    results: dict[str, Any],
    smoke: bool,
    only: set[str],
    profile_dir: Path | None,
    samples_out: Path | None,
    rates: list[float],
    sizes: dict[str, int],
) -> dict[str, Any]:
    # catch_up appends 2 x projection_events jobs, one event each: a 1M-event stream at full size
    requests, projection_events = (200, 1_000) if smoke else (20_000, 500_000)
    projection_events = sizes.get("projection_events", projection_events)
    e2e_jobs, warmup = (200, 20) if smoke else (10_000, 200)
    e2e_jobs = sizes.get("e2e_jobs", e2e_jobs)
    scale_jobs = sizes.get("scale_jobs", 100 if smoke else 1_500)
    bulk_jobs, raw_n = (2_000, 5_000) if smoke else (100_000, 200_000)
    if "raw" in only:
        with BenchStack() as stack:
            results["raw"] = await ceilings(stack, messages=raw_n, rows=raw_n)
            print("Raw ceilings of this machine (same run):")
            print_table(results["raw"])
    if "submit" in only:
        with BenchStack() as stack:
            results["submit"] = await submit_throughput(stack, requests=requests)
            stack.start("scheduler")
            bulk = await _submit_bulk(stack.start("gateway"), bulk_jobs)
            if bulk is None:
                raise RuntimeError("the gateway has no POST /v1/jobs/bulk")
            results["submit"].append(
                {
                    "scenario": f"POST /v1/jobs/bulk, {bulk_jobs:,} jobs, 1000 per request, 2 clients, respond-async",
                    "jobs": bulk_jobs,
                    "jobs_per_s": bulk["req_per_s"],
                    "seconds": bulk["seconds"],
                    "ok": bulk["ok"],
                }
            )
            print("Submit throughput (keep-alive clients, read-your-writes):")
            print_table(results["submit"])
            print(f"  ({ORIENTATION['POST /v1/jobs']})")
    if "projection" in only:
        with BenchStack() as stack:
            results["projection"] = await catch_up(stack, events=projection_events, profile_dir=profile_dir)
            print(f"Projection catch-up and rebuild ({projection_events * 2:,} events):")
            print_table(results["projection"])
            print(f"  ({ORIENTATION['catch-up']})")
    if "end_to_end" in only:
        with BenchStack() as stack:
            print(
                f"End to end, {e2e_jobs:,} jobs, 2 worker processes x {fair.SLOTS} slots each, burn-down and steady "
                "state, real workers and lean loops (CPU: every process of each system, ms per job):",
                flush=True,
            )
            systems = ("celery",) if smoke else tuple(PEERS)  # the smoke checks the harness: one peer is enough
            results["end_to_end"] = await fair.matrix(
                stack, jobs=e2e_jobs, warmup=warmup, systems=systems, profile_dir=profile_dir
            )
    if "scaling" in only:
        with BenchStack() as stack:
            counts = (1, 2) if smoke else (1, 2, 4)
            print(f"Burn-down against worker processes {counts}, real workers, {scale_jobs:,} jobs:", flush=True)
            results["scaling"] = await fair.scaling(stack, jobs=scale_jobs, warmup=warmup, counts=counts)
    if "durable" in only:
        previous = os.environ.get("CONVEYOR_NATS_SYNC")
        os.environ["CONVEYOR_NATS_SYNC"] = "always"
        try:
            with BenchStack() as stack:
                durable_jobs = e2e_jobs // (2 * fair.REAL_SHARE)  # fsync on every ack: a slow run
                print(f"Durable, {durable_jobs:,} jobs, steady state, real workers:", flush=True)
                results["durable"] = await fair.durable(stack, jobs=durable_jobs, warmup=warmup)
        finally:
            if previous is None:
                del os.environ["CONVEYOR_NATS_SYNC"]
            else:
                os.environ["CONVEYOR_NATS_SYNC"] = previous
    if "latency" in only:
        with BenchStack() as stack:
            stack.start("scheduler")
            stack.start("gateway")
            results["latency"] = []
            for rate in rates:
                seconds = sizes.get("latency_seconds", 15)  # 15 s of load: 3,000 jobs at 200/s
                jobs = 100 if smoke else max(300, round(rate * seconds))
                latency = await submit_to_lease_latency(stack, jobs=jobs, rate=rate, samples_out=samples_out)
                results["latency"] += latency
                print(f"Submit-to-start latency, {jobs:,} jobs (target p99 < {LATENCY_TARGET_P99_MS:g} ms):")
                print_table(latency)
                cpu = latency[0]["cpu_pct"]
                print("  CPU while sending, % of one core: " + ", ".join(f"{n} {p:.0f}" for n, p in cpu.items()))
            # The peers get the machine to themselves: Conveyor's services stop first.
            stack.stop("gateway")
            stack.stop("scheduler")
            results["latency_peers"] = []
            for row in results["latency"]:
                if not row["scenario"].startswith("submit to lease received"):
                    continue
                rate, jobs = float(row["scenario"].split("open loop ")[1].split(" ")[0]), int(row["jobs"])
                table = await peers_latency(stack, row, jobs=jobs, rate=rate)
                results["latency_peers"] += table
                print(f"Submit-to-start latency beside the peers, {rate:g} jobs/s (target p99 <= Celery's):")
                print_table(table)
    if "backlog" in only:
        with BenchStack() as stack:
            levels: tuple[int, ...] = (100, 1_000) if smoke else LEVELS
            levels = tuple(n for n in levels if n <= sizes.get("backlog_max", n))
            results["backlog"] = await backlog_scaling(stack, levels=levels, probes=20 if smoke else 200)
            print("Backlog scaling (lease and submit latency, RSS in MiB; targets: lease at the largest <= 2x the")
            print("smallest, scheduler RSS at 1M < 1.5 GiB):")
            print_table(results["backlog"])
            for row in results["backlog"]:
                rss = ", ".join(f"{n} {mb:,.0f}" for n, mb in row["rss_mb"].items())
                print(f"    RSS MiB at {row['queued']:,}: {rss}")
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
    if "task_tracker" in only:
        with BenchStack() as stack:
            tt_jobs, tt_clients = (200, 4) if smoke else (5_000, 16)
            results["task_tracker"] = await tt_figures(stack, jobs=tt_jobs, clients=tt_clients)
            print("task_tracker get/release through the façade, beside the native lease/finish (same run):")
            print_table(results["task_tracker"])
    if "failover" in only:
        with BenchStack() as stack:
            results["failover"] = await failover(stack, repeats=1 if smoke else 3)
            print("Scheduler failover: ms from losing the leader to the standby holding the key, and to")
            print("its first decision on a job submitted at that moment:")
            print_table(results["failover"])
    if "coalition" in only:  # issue 16: the façade's worker protocol beside the native one
        with BenchStack() as stack:
            results["coalition"] = await coalition_vs_native(stack, frames=200 if smoke else 5_000, workers=8)
            print("Frames through coalition's worker protocol and the native one (same stack, same run):")
            print_table(results["coalition"])
    results["ceilings"] = figures_beside_ceilings(results)
    if results["ceilings"]:
        print("Figures beside their ceilings (targets: bulk >= 1/2 raw publish, rebuild >= 1/2 raw pull-consume):")
        print_table(results["ceilings"])
    results["targets"] = targets(results)
    print_targets(results["targets"])
    return results


def figures_beside_ceilings(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each figure next to the raw rate that bounds it, with the ratio and the issue's target."""
    raw = {r["scenario"].split(" (")[0]: r for r in results.get("raw", [])}
    rows: list[dict[str, Any]] = []
    publish = raw.get("raw JetStream pipelined publish")
    consume = raw.get("raw JetStream pull-consume")
    bulk = next((r for r in results.get("submit", []) if "bulk" in r["scenario"]), None)
    rebuild = next((r for r in results.get("projection", []) if "rebuild" in r["scenario"]), None)
    if publish is not None:
        rows.append({"scenario": "raw JetStream pipelined publish, msgs/s", "per_s": publish["msgs_per_s"]})
        if bulk is not None:
            ratio = bulk["jobs_per_s"] / publish["msgs_per_s"]
            rows.append({"scenario": "bulk submit, jobs/s", "per_s": bulk["jobs_per_s"], "ratio": ratio, "target": 0.5})
    if consume is not None:
        rows.append({"scenario": "raw JetStream pull-consume, msgs/s", "per_s": consume["msgs_per_s"]})
        if rebuild is not None:
            ratio = rebuild["events_per_s"] / consume["msgs_per_s"]
            rows.append(
                {
                    "scenario": "projection rebuild, events/s",
                    "per_s": rebuild["events_per_s"],
                    "ratio": ratio,
                    "target": 0.5,
                }
            )
    for r in results.get("raw", []):
        if "rows_per_s" in r:
            rows.append({"scenario": r["scenario"].replace("raw ", "") + ", rows/s", "per_s": r["rows_per_s"]})
    for row in rows:
        if "target" in row:
            row["target_met"] = row["ratio"] >= row["target"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Conveyor benchmarks")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the harness, not the speed")
    parser.add_argument(
        "--nats-sync",
        metavar="POLICY",
        help="JetStream fsync policy of the bench's nats-server: always, or an interval such as 2s"
        " (default: the server's, every 2 minutes)",
    )
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, help="run only these scenarios (repeatable); nothing is saved"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy the scheduler and gateway for 8 s of the end-to-end run, and the rebuild (raw stacks into DIR)",
    )
    parser.add_argument(
        "--latency-samples", type=Path, metavar="FILE", help="write each latency job's timestamps to FILE (JSON)"
    )
    parser.add_argument(
        "--latency-rate",
        type=float,
        action="append",
        metavar="JOBS_PER_S",
        help="open-loop rate(s) of the latency scenario (repeatable; default 200 and 1000)",
    )
    parser.add_argument(
        "--backlog-max", type=int, metavar="N", help="skip the backlog levels above N jobs (1k, 100k, 1M)"
    )
    parser.add_argument(
        "--projection-jobs",
        type=int,
        metavar="N",
        help="jobs in the projection backlog, one event each (default 1,000,000)",
    )
    parser.add_argument(
        "--e2e-jobs",
        type=int,
        metavar="N",
        help="jobs per end-to-end run of the lean loops (default 10,000; real: N/2)",
    )
    parser.add_argument(
        "--scale-jobs", type=int, metavar="N", help="jobs per run of the scaling scenario (default 1,500)"
    )
    parser.add_argument(
        "--latency-seconds", type=int, metavar="S", help="seconds of open-loop load per latency rate (default 15)"
    )
    parser.add_argument(
        "--save", action="store_true", help="with --only: save to bench/results/partial.json (+ charts)"
    )
    args = parser.parse_args()
    if args.nats_sync:
        os.environ["CONVEYOR_NATS_SYNC"] = args.nats_sync  # every BenchStack of this run
    only = set(args.only or SCENARIOS)
    # Other work on the machine skews every figure: say how busy it was before the run.
    background = psutil.cpu_percent(interval=1.0) * psutil.cpu_count()
    load_before = os.getloadavg()
    print(f"machine CPU busy before the run: {background:.0f} % of one core ({psutil.cpu_count()} cores)")
    print("load average before the run (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in load_before))
    rates = args.latency_rate or ([200.0] if args.smoke else [200.0, 1000.0])
    sizes = {"projection_events": args.projection_jobs // 2} if args.projection_jobs else {}
    if args.backlog_max:
        sizes["backlog_max"] = args.backlog_max
    for name in ("e2e_jobs", "scale_jobs", "latency_seconds"):
        if getattr(args, name):
            sizes[name] = getattr(args, name)
    results: dict[str, Any] = {}
    failed: BaseException | None = None
    try:
        uvloop.run(run(results, args.smoke, only, args.profile, args.latency_samples, rates, sizes))
    except Exception as e:  # keep what was measured before the failure, then fail
        failed = e
    results["ceilings"] = figures_beside_ceilings(results)
    results["meta"] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.platform(),
        "smoke": args.smoke,
        "background_cpu_pct_of_one_core": background,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "cpu_count": psutil.cpu_count(),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
    }
    print(
        "load average after the run (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in results["meta"]["loadavg_after"])
    )
    if args.only and not args.save:
        if failed is not None:
            raise failed
        return
    RESULTS.mkdir(exist_ok=True)
    name = "smoke" if args.smoke else ("partial" if args.only else "foundation")
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(results, indent=2))
    charts = write_charts(results, RESULTS, name)
    print(f"results: {out}" + "".join(f"\ncharts: {c}" for c in charts))
    if failed is not None:
        raise failed


main()
