"""Issue 21's targets, each beside the ratio measured in one run (printed by ``make bench``, kept in
the results JSON under ``targets``, rendered by ``python -m bench.report``)."""

from typing import Any, Final

from .fair import TARGETS, find

CELERY: Final = "Celery + Redis"


def _ratio_row(target: str, figure: str, ratio: float, goal: float, higher_is_better: bool = True) -> dict[str, Any]:
    met = ratio >= goal if higher_is_better else ratio <= goal
    return {"target": target, "figure": figure, "ratio": ratio, "goal": goal, "met": met}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target whose figures this run measured."""
    rows: list[dict[str, Any]] = []
    e2e = results.get("end_to_end", [])
    if e2e and "run" in e2e[0]:
        for work, what in (("real", "real workers"), ("lean", "lean protocol loops")):
            for mode, how in (("burn", "burn-down"), ("steady", "steady state")):
                ours, celery = find(e2e, "Conveyor", work, mode), find(e2e, CELERY, work, mode)
                if ours is None or celery is None:
                    continue
                rows.append(
                    _ratio_row(
                        f"end to end, 2 processes, {what}, {how}: >= {TARGETS[work]:g}x Celery",
                        f"{ours['jobs_per_s']:,.0f} vs {celery['jobs_per_s']:,.0f} jobs/s",
                        ours["jobs_per_s"] / celery["jobs_per_s"],
                        TARGETS[work],
                    )
                )
    latency = results.get("latency_peers", [])
    for i, ours in enumerate(latency):
        if not ours["scenario"].startswith("Conveyor"):
            continue
        celery = next((r for r in latency[i + 1 :] if r["scenario"].startswith(CELERY) and "p99_ms" in r), None)
        if celery is None:
            continue
        rate = ours["scenario"].split(", ")[-1]
        rows.append(
            _ratio_row(
                f"p99 submit-to-start at {rate}, single POST /v1/jobs: <= Celery's",
                f"{ours['p99_ms']:,.1f} vs {celery['p99_ms']:,.1f} ms",
                ours["p99_ms"] / celery["p99_ms"],
                1.0,
                higher_is_better=False,
            )
        )
    durable = results.get("durable", [])
    if len(durable) == 2:
        ours, celery = durable[0]["run"], durable[1]["run"]
        rows.append(
            _ratio_row(
                "durable (JetStream sync always vs Redis AOF everysec), real workers, steady: >= 1x Celery",
                f"{ours['jobs_per_s']:,.0f} vs {celery['jobs_per_s']:,.0f} jobs/s",
                ours["jobs_per_s"] / celery["jobs_per_s"],
                1.0,
            )
        )
    for row in results.get("ceilings", []):
        if "target" in row:
            rows.append(
                _ratio_row(
                    f"{row['scenario'].split(',')[0]} >= {row['target']:g} of its raw ceiling",
                    f"{row['per_s']:,.0f}/s",
                    row["ratio"],
                    row["target"],
                )
            )
    backlog = results.get("backlog", [])
    if len(backlog) > 1:
        first, last = backlog[0], backlog[-1]
        rows.append(
            _ratio_row(
                f"lease latency (p50) at {last['queued']:,} queued <= 2x at {first['queued']:,}",
                f"{last['lease_p50_ms']:.1f} vs {first['lease_p50_ms']:.1f} ms",
                last["lease_p50_ms"] / first["lease_p50_ms"],
                2.0,
                higher_is_better=False,
            )
        )
        if last["queued"] >= 1_000_000:
            rss = last["rss_mb"].get("scheduler", 0.0)
            rows.append(
                _ratio_row(
                    "scheduler RSS at 1M queued < 1.5 GiB",
                    f"{rss:,.0f} MiB",
                    rss / 1536,
                    1.0,
                    higher_is_better=False,
                )
            )
    return rows


def print_targets(rows: list[dict[str, Any]]) -> None:
    print("Issue 21's targets, measured in this run:")
    for row in rows:
        verdict = "met" if row["met"] else "MISSED"
        print(f"  {row['target']:<92} {row['figure']:>24}  ratio {row['ratio']:6.2f} (goal {row['goal']:g})  {verdict}")
