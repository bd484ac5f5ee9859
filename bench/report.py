"""``python -m bench.report [bench/results/foundation.json]``: the side-by-side tables as Markdown.

Prints the tables of docs/benchmarks.md that compare Conveyor with the peers and the ceilings,
from a results file, so a re-run on a quiet machine updates the doc without retyping figures.
"""

import json
import sys
from pathlib import Path
from typing import Any

DEFAULT = Path(__file__).parent / "results" / "foundation.json"


def _n(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


def targets(r: dict[str, Any]) -> list[str]:
    """Issue 21's targets as the run printed them (``targets`` in the JSON)."""
    out = ["| target (issue 21) | figure | ratio | goal | |", "|---|---:|---:|---:|---|"]
    for row in r.get("targets", []):
        verdict = "met" if row["met"] else "**missed**"
        out.append(f"| {row['target']} | {row['figure']} | {row['ratio']:.2f} | {row['goal']:g} | {verdict} |")
    return out if len(out) > 2 else []


def _runs(title: str, rows: list[dict[str, Any]]) -> list[str]:
    out = [
        f"| {title} | work | mode | processes | jobs/s | CPU ms per job, all processes | submit took s |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        run = row["run"]
        cpu = run["cpu_ms_per_job"].get("all processes", float("nan"))
        out.append(
            f"| {run['system']} | {run['work']} | {run['mode']} | {run['processes']} | {_n(run['jobs_per_s'])} "
            f"| {cpu:.2f} | {run['submit_seconds']:.1f} |"
        )
    return out


def cpu_split(r: dict[str, Any]) -> list[str]:
    """Each end-to-end run's CPU per job by process group."""
    out = ["| run | CPU ms per job, by process |", "|---|---|"]
    for row in r.get("end_to_end", []) + r.get("durable", []):
        if "run" not in row:
            continue
        per = row["run"]["cpu_ms_per_job"]
        split = ", ".join(f"{k} {v:.2f}" for k, v in per.items() if k != "all processes" and v >= 0.005)
        out.append(f"| {row['scenario']} | {split} |")
    return out if len(out) > 2 else []


def peers(r: dict[str, Any]) -> list[str]:
    out: list[str] = []
    e2e = [row for row in r.get("end_to_end", []) if "run" in row]
    if e2e:
        out += [*_runs("end to end", e2e), ""]
    if r.get("scaling"):
        out += [*_runs("burn-down against worker processes", r["scaling"]), ""]
    if r.get("durable"):
        out += [*_runs("durable", r["durable"]), ""]
    out += ["| submit-to-start, open loop | p50 ms | p99 ms | max ms | Conveyor p99 / its p99 |"]
    out.append("|---|---:|---:|---:|---:|")
    for row in r.get("latency_peers", []):
        if "skipped" in row:
            out.append(f"| {row['scenario']} | skipped: {row['skipped']} | | | |")
            continue
        out.append(
            f"| {row['scenario']} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['max_ms']:.1f} "
            f"| {row['p99_ratio']:.2f} |"
        )
    return out


def ceilings(r: dict[str, Any]) -> list[str]:
    out = ["| figure or ceiling | per second | ratio to its ceiling |", "|---|---:|---:|"]
    for row in r.get("ceilings", []):
        ratio = f"{row['ratio']:.2f} (target {row['target']:g})" if "ratio" in row else "ceiling"
        out.append(f"| {row['scenario']} | {_n(row['per_s'])} | {ratio} |")
    return out


def backlog(r: dict[str, Any]) -> list[str]:
    rows = r.get("backlog", [])
    if not rows:
        return []
    names = sorted({n for row in rows for n in row["rss_mb"]})
    out = [
        "| queued | lease p50 ms | lease p99 ms | submit p50 ms | submit p99 ms | "
        + " | ".join(f"{n} MiB" for n in names)
        + " |",
        "|---:|---:|---:|---:|---:|" + "---:|" * len(names),
    ]
    for row in rows:
        rss = " | ".join(f"{row['rss_mb'].get(n, 0.0):,.0f}" for n in names)
        out.append(
            f"| {row['queued']:,} | {row['lease_p50_ms']:.1f} | {row['lease_p99_ms']:.1f} | {row['submit_p50_ms']:.1f} "
            f"| {row['submit_p99_ms']:.1f} | {rss} |"
        )
    return out


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    r = json.loads(path.read_text())
    meta = r.get("meta", {})
    load = ", ".join(f"{x:.2f}" for x in meta.get("loadavg_before", []))
    print(f"`{meta.get('command', '')}` on {meta.get('when', '?')}; load average before: {load}; ")
    print(f"CPU busy in the second before: {meta.get('background_cpu_pct_of_one_core', 0):.0f} % of one core.\n")
    for block in (targets(r), peers(r), cpu_split(r), ceilings(r), backlog(r)):
        if block:
            print("\n".join(block) + "\n")


if __name__ == "__main__":
    main()
