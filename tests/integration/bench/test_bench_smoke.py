"""The benchmark harness runs end to end at tiny sizes (a check that it works, not of speed).

One smoke run (``python -m bench --smoke``) feeds every test here: Conveyor's scenarios, the raw
ceilings, the backlog scaling, the peers (Celery + Redis, Procrastinate, installed by the bench
into ``.bench-peers/``) in the fair end-to-end runs (burn-down and steady state, real and lean
workers, against worker processes, durable), the targets and the charts.
"""

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The one smoke run (every scenario at tiny sizes, the peers included) takes ~2 minutes on the
# shared 2-core machine: more than the suite's default per-test timeout, which it runs inside.
pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "bench" / "results"


@pytest.fixture(scope="module")
def smoke() -> tuple[str, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, json.loads((RESULTS / "smoke.json").read_text())


def test_bench_smoke_run_prints_and_records_every_figure(smoke: tuple[str, dict[str, Any]]) -> None:
    stdout, data = smoke
    assert "POST /v1/jobs, 64 client(s)" in stdout
    assert "projection rebuild" in stdout
    assert data["meta"]["smoke"] is True
    assert len(data["meta"]["loadavg_before"]) == 3
    for row in data["submit"]:
        if "bulk" in row["scenario"]:
            assert row["ok"] == row["jobs"] > 0
            assert row["jobs_per_s"] > 0
        else:
            assert row["ok"] == row["requests"] > 0  # every request succeeded
            assert row["req_per_s"] > 0
    assert any("bulk" in row["scenario"] for row in data["submit"])
    assert all(row["events_per_s"] > 0 for row in data["projection"])
    logs = {row["scenario"].split(",")[0]: row for row in data["logs"]}
    assert logs["log ingest"]["collected_mb_per_s"] > 0
    assert 0 < logs["live tail"]["p50_ms"] <= logs["live tail"]["p99_ms"]
    assert logs["artifact"]["upload_mb_per_s"] > 0
    assert logs["artifact"]["download_mb_per_s"] > 0
    hooks = {row["scenario"].split(",")[0]: row for row in data["hooks"]}
    assert 0 < hooks["event to first attempt"]["p50_ms"] <= hooks["event to first attempt"]["p99_ms"]
    assert hooks["deliveries to a fast receiver"]["deliveries_per_s"] > 0
    assert "standby takes over after SIGKILL" in stdout
    facade, native, ratio = data["task_tracker"]
    assert facade["jobs"] == native["jobs"] == 200 and facade["jobs_per_s"] > 0 < native["jobs_per_s"]
    assert ratio["ratio"] > 0
    for row in data["failover"]:
        assert 0 < row["key_ms_median"] <= row["first_decision_ms_median"]


def test_raw_ceilings_stand_beside_the_figures_they_bound(smoke: tuple[str, dict[str, Any]]) -> None:
    _, data = smoke
    raw = {row["scenario"].split(" (")[0]: row for row in data["raw"]}
    assert raw["raw JetStream pipelined publish"]["msgs_per_s"] > 0
    assert raw["raw JetStream pull-consume"]["msgs_per_s"] > 0
    assert raw["raw PostgreSQL batched insert"]["rows_per_s"] > 0
    ceilings = {row["scenario"]: row for row in data["ceilings"]}
    bulk = ceilings["bulk submit, jobs/s"]
    assert bulk["ratio"] == pytest.approx(bulk["per_s"] / raw["raw JetStream pipelined publish"]["msgs_per_s"])
    assert isinstance(bulk["target_met"], bool)
    rebuild = ceilings["projection rebuild, events/s"]
    assert rebuild["ratio"] == pytest.approx(rebuild["per_s"] / raw["raw JetStream pull-consume"]["msgs_per_s"])


def test_backlog_scaling_measures_latency_and_memory_per_level(smoke: tuple[str, dict[str, Any]]) -> None:
    _, data = smoke
    levels = [row["queued"] for row in data["backlog"]]
    assert levels == sorted(levels) and len(levels) >= 2
    for row in data["backlog"]:
        assert row["lease_empty"] == 0  # the backlog was there: every probe got a job
        assert 0 < row["lease_p50_ms"] <= row["lease_p99_ms"]
        assert 0 < row["submit_p50_ms"] <= row["submit_p99_ms"]
        assert set(row["rss_mb"]) >= {"scheduler", "gateway", "nats-server", "PostgreSQL (PSS, all processes)"}
        assert all(mb > 0 for mb in row["rss_mb"].values())
    last = data["backlog"][-1]
    assert last["lease_p50_vs_smallest"] == pytest.approx(last["lease_p50_ms"] / data["backlog"][0]["lease_p50_ms"])


def test_every_system_runs_burn_down_and_steady_state_with_real_and_lean_workers(
    smoke: tuple[str, dict[str, Any]],
) -> None:
    stdout, data = smoke
    runs = [row["run"] for row in data["end_to_end"]]
    seen = {(run["system"], run["work"], run["mode"]) for run in runs}
    for system in ("Conveyor", "Celery + Redis"):
        assert {(system, w, m) for w in ("real", "lean") for m in ("burn", "steady")} <= seen
    for run in runs:
        assert run["jobs"] == (100 if run["work"] == "real" else 200) and run["processes"] == 2
        assert run["jobs_per_s"] == pytest.approx(run["jobs"] / run["seconds"])
        per_job = run["cpu_ms_per_job"]
        assert per_job["all processes"] > 0
        assert per_job["all processes"] == pytest.approx(
            sum(v for k, v in per_job.items() if k not in ("all processes", "other processes"))
        )
        if run["system"] == "Conveyor":
            assert per_job["scheduler"] > 0 and per_job["gateway"] > 0
    # The real workers start a process per job: the workers' group carries their CPU.
    conveyor_real = next(r for r in runs if (r["system"], r["work"], r["mode"]) == ("Conveyor", "real", "steady"))
    conveyor_lean = next(r for r in runs if (r["system"], r["work"], r["mode"]) == ("Conveyor", "lean", "steady"))
    workers = "workers (and the processes they start)"
    assert conveyor_real["cpu_ms_per_job"][workers] > conveyor_lean["cpu_ms_per_job"][workers]
    celery = {(r["work"], r["mode"]): r for r in runs if r["system"] == "Celery + Redis"}
    assert celery["real", "burn"]["details"]["pool"] == "threads"
    assert celery["lean", "burn"]["details"]["pool"] == "solo"
    targets = {row["target"]: row for row in data["targets"]}
    burn = targets["end to end, 2 processes, real workers, burn-down: >= 2x Celery"]
    ours = next(r for r in runs if (r["system"], r["work"], r["mode"]) == ("Conveyor", "real", "burn"))
    assert burn["ratio"] == pytest.approx(ours["jobs_per_s"] / celery["real", "burn"]["jobs_per_s"])
    assert burn["met"] == (burn["ratio"] >= 2)
    assert "Issue 21's targets, measured in this run:" in stdout


def test_scaling_and_durable_runs_stand_beside_celery(smoke: tuple[str, dict[str, Any]]) -> None:
    _, data = smoke
    scaling = [row["run"] for row in data["scaling"]]
    assert sorted((r["system"], r["processes"]) for r in scaling) == [
        ("Celery + Redis", 1),
        ("Celery + Redis", 2),
        ("Conveyor", 1),
        ("Conveyor", 2),
    ]
    assert all(r["mode"] == "burn" and r["jobs_per_s"] > 0 for r in scaling)
    ours, celery = (row["run"] for row in data["durable"])
    assert ours["system"] == "Conveyor, JetStream sync always"
    assert celery["system"] == "Celery + Redis, AOF everysec"
    target = next(row for row in data["targets"] if row["target"].startswith("durable"))
    assert target["ratio"] == pytest.approx(ours["jobs_per_s"] / celery["jobs_per_s"])


def test_peers_latency_in_the_same_run(smoke: tuple[str, dict[str, Any]]) -> None:
    _, data = smoke
    skipped = [row["skipped"] for row in data["latency_peers"] if "skipped" in row]
    if skipped:
        pytest.skip(f"a peer could not be installed here: {skipped[0]}")
    c_lat, *peers = data["latency_peers"]
    assert c_lat["p99_ms"] == data["latency"][0]["p99_ms"]
    for peer in peers:
        assert peer["details"]["samples"] == peer["details"]["jobs"]  # every job started and was timed
        assert 0 < peer["p50_ms"] <= peer["p99_ms"] <= peer["max_ms"]
        assert math.isclose(peer["details"]["rate"], 200.0)
    target = next(row for row in data["targets"] if row["target"].startswith("p99 submit-to-start at 200 jobs/s"))
    celery = next(p for p in peers if p["scenario"].startswith("Celery"))
    assert target["ratio"] == pytest.approx(c_lat["p99_ms"] / celery["p99_ms"])


def test_charts_are_written_as_png(smoke: tuple[str, dict[str, Any]]) -> None:
    for name in ("end-to-end", "cpu-per-job", "scaling", "latency", "ceilings", "backlog"):
        assert (RESULTS / f"smoke-{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
