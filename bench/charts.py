"""PNG charts of a results dictionary (matplotlib, no display): one chart per comparison table."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

CONVEYOR, OTHER = "#2b6cb0", "#a0aec0"
PEER_LINES = ("#dd6b20", "#718096", "#38a169")


def _bars(
    path: Path, title: str, unit: str, labels: list[str], values: list[float], colors: list[str] | None = None
) -> Path:
    """Horizontal bars; Conveyor's in blue, the rest (peers, ceilings) in grey unless ``colors``."""
    fig, ax = plt.subplots(figsize=(11, 0.6 * len(labels) + 1.5))
    bars = ax.barh(labels, values, color=colors or [CONVEYOR] + [OTHER] * (len(values) - 1))
    ax.margins(x=0.15)
    ax.bar_label(bars, labels=[f"{v:,.0f}" if v >= 100 else f"{v:,.1f}" for v in values], padding=3)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _latency(path: Path, rows: list[dict[str, Any]]) -> Path:
    rows = [r for r in rows if "p99_ms" in r]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.25
    for i, key in enumerate(("p50_ms", "p99_ms", "max_ms")):
        xs = [j + (i - 1) * width for j in range(len(rows))]
        bars = ax.bar(xs, [r[key] for r in rows], width, label=key.removesuffix("_ms"))
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(rows)), [r["scenario"] for r in rows], fontsize=8)
    ax.set_ylabel("submit to start, ms")
    ax.set_title("Open-loop submit-to-start latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _backlog(path: Path, rows: list[dict[str, Any]]) -> Path:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    queued = [r["queued"] for r in rows]
    for key in ("lease_p50_ms", "lease_p99_ms", "submit_p50_ms", "submit_p99_ms"):
        left.plot(queued, [r[key] for r in rows], marker="o", label=key.removesuffix("_ms"))
    left.set_xscale("log")
    left.set_xlabel("jobs queued")
    left.set_ylabel("ms")
    left.set_title("Latency against backlog")
    left.legend()
    names = sorted({n for r in rows for n in r["rss_mb"]})
    for name in names:
        right.plot(queued, [r["rss_mb"].get(name, 0.0) for r in rows], marker="o", label=name)
    right.set_xscale("log")
    right.set_xlabel("jobs queued")
    right.set_ylabel("MiB")
    right.set_title("Memory against backlog")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _scaling(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Throughput against worker processes, one line per system."""
    fig, ax = plt.subplots(figsize=(7, 4))
    systems = list(dict.fromkeys(r["run"]["system"] for r in rows))
    for system in systems:
        runs = sorted((r["run"] for r in rows if r["run"]["system"] == system), key=lambda run: run["processes"])
        xs, ys = [run["processes"] for run in runs], [run["jobs_per_s"] for run in runs]
        color = CONVEYOR if system.startswith("Conveyor") else PEER_LINES[systems.index(system) % len(PEER_LINES)]
        ax.plot(xs, ys, marker="o", label=system, color=color)
        for x, y in zip(xs, ys, strict=True):
            ax.annotate(f"{y:,.0f}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    work = rows[0]["run"]["work"]
    ax.set_xticks(sorted({r["run"]["processes"] for r in rows}))
    ax.set_xlabel("worker processes")
    ax.set_ylabel("jobs/s (burn-down)")
    ax.set_title(f"Throughput against worker processes ({work} workers)")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_charts(results: dict[str, Any], out_dir: Path, prefix: str) -> list[Path]:
    """Charts for whatever scenarios ``results`` holds; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    e2e = [r for r in results.get("end_to_end", []) if "run" in r]
    if e2e:
        written.append(
            _bars(
                out_dir / f"{prefix}-end-to-end.png",
                "End to end, 2 worker processes: real workers and lean loops, burn-down and steady state",
                "jobs/s",
                [r["scenario"] for r in e2e],
                [r["jobs_per_s"] for r in e2e],
                [CONVEYOR if r["run"]["system"].startswith("Conveyor") else OTHER for r in e2e],
            )
        )
        written.append(
            _bars(
                out_dir / f"{prefix}-cpu-per-job.png",
                "CPU per job across every process of each system (same runs)",
                "ms of CPU per job",
                [r["scenario"] for r in e2e],
                [r["cpu_ms_per_job"] for r in e2e],
                [CONVEYOR if r["run"]["system"].startswith("Conveyor") else OTHER for r in e2e],
            )
        )
    if results.get("scaling"):
        written.append(_scaling(out_dir / f"{prefix}-scaling.png", results["scaling"]))
    if results.get("latency_peers"):
        written.append(_latency(out_dir / f"{prefix}-latency.png", results["latency_peers"]))
    ceilings = results.get("ceilings", [])
    if ceilings:
        written.append(
            _bars(
                out_dir / f"{prefix}-ceilings.png",
                "Conveyor's figures (blue) beside the raw ceilings (grey)",
                "per second",
                [r["scenario"] for r in ceilings],
                [r["per_s"] for r in ceilings],
                [CONVEYOR if "target" in r else OTHER for r in ceilings],  # grey: a raw ceiling
            )
        )
    if results.get("backlog"):
        written.append(_backlog(out_dir / f"{prefix}-backlog.png", results["backlog"]))
    return written
