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


def _met(row: dict[str, Any]) -> str:
    if "target_met" not in row:
        return ""
    return "met" if row["target_met"] else "**missed**"


def targets(r: dict[str, Any]) -> list[str]:
    out = ["| target (issue 8) | figure | ratio | |", "|---|---:|---:|---|"]
    e2e = r.get("end_to_end_peers", [])
    celery = next((x for x in e2e if x["scenario"].startswith("Celery") and "jobs_per_s" in x), None)
    if e2e and celery:
        out.append(
            f"| end to end >= 2x Celery + Redis | {_n(e2e[0]['jobs_per_s'])} vs {_n(celery['jobs_per_s'])} jobs/s "
            f"| {celery['ratio_conveyor_over_peer']:.2f}x | {_met(e2e[0])} |"
        )
    lat = r.get("latency_peers", [])
    c_lat = next((x for x in lat if x["scenario"].startswith("Celery") and "p99_ms" in x), None)
    if lat and c_lat:
        out.append(
            f"| p99 submit-to-start <= Celery's | {_n(lat[0]['p99_ms'])} vs {_n(c_lat['p99_ms'])} ms "
            f"| {c_lat['p99_ratio']:.2f}x | {_met(lat[0])} |"
        )
    for row in r.get("ceilings", []):
        if "target" in row:
            out.append(
                f"| {row['scenario'].split(',')[0]} >= 1/2 its ceiling | {_n(row['per_s'])}/s "
                f"| {row['ratio']:.2f} | {_met(row)} |"
            )
    backlog = r.get("backlog", [])
    if len(backlog) > 1:
        first, last = backlog[0], backlog[-1]
        ok = last["lease_p50_ms"] <= 2 * first["lease_p50_ms"]
        out.append(
            f"| lease latency (p50) at {last['queued']:,} queued <= 2x at {first['queued']:,} "
            f"| {last['lease_p50_ms']:.1f} vs {first['lease_p50_ms']:.1f} ms "
            f"| {last['lease_p50_ms'] / first['lease_p50_ms']:.2f}x | {'met' if ok else '**missed**'} |"
        )
        rss = last["rss_mb"].get("scheduler", 0.0)
        out.append(
            f"| scheduler RSS at 1M queued < 1.5 GiB | {rss:,.0f} MiB at {last['queued']:,} | | "
            f"{'(1M not measured)' if last['queued'] < 1_000_000 else ('met' if rss < 1536 else '**missed**')} |"
        )
    return out


def peers(r: dict[str, Any]) -> list[str]:
    out = ["| end to end, no-op jobs | jobs/s | Conveyor / it | submit took s |", "|---|---:|---:|---:|"]
    for row in r.get("end_to_end_peers", []):
        if "skipped" in row:
            out.append(f"| {row['scenario']} | skipped: {row['skipped']} | | |")
            continue
        submit = row.get("submit_seconds", r["end_to_end"][0]["submit_seconds"] if row["scenario"] == "Conveyor" else 0)
        out.append(
            f"| {row['scenario']} | {_n(row['jobs_per_s'])} | {row['ratio_conveyor_over_peer']:.2f} | {submit:.1f} |"
        )
    out += ["", "| submit-to-start, open loop | p50 ms | p99 ms | max ms | Conveyor p99 / its p99 |"]
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
    for block in (targets(r), peers(r), ceilings(r), backlog(r)):
        if block:
            print("\n".join(block) + "\n")


if __name__ == "__main__":
    main()
