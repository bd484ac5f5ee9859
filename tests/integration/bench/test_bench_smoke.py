"""The benchmark harness runs end to end at tiny sizes (a check that it works, not of speed)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(300)  # six stacks start one after another: past the default per-test limit on a busy machine
def test_bench_smoke_run_prints_and_records_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "POST /v1/jobs, 64 client(s)" in result.stdout
    assert "projection rebuild" in result.stdout
    data = json.loads((ROOT / "bench" / "results" / "smoke.json").read_text())
    assert data["meta"]["smoke"] is True
    for row in data["submit"]:
        assert row["ok"] == row["requests"] > 0  # every request succeeded
        assert row["req_per_s"] > 0
    assert all(row["events_per_s"] > 0 for row in data["projection"])
    logs = {row["scenario"].split(",")[0]: row for row in data["logs"]}
    assert logs["log ingest"]["collected_mb_per_s"] > 0
    assert 0 < logs["live tail"]["p50_ms"] <= logs["live tail"]["p99_ms"]
    assert logs["artifact"]["upload_mb_per_s"] > 0
    assert logs["artifact"]["download_mb_per_s"] > 0
    hooks = {row["scenario"].split(",")[0]: row for row in data["hooks"]}
    assert 0 < hooks["event to first attempt"]["p50_ms"] <= hooks["event to first attempt"]["p99_ms"]
    assert hooks["deliveries to a fast receiver"]["deliveries_per_s"] > 0
    assert "standby takes over after SIGKILL" in result.stdout
    for row in data["failover"]:
        assert 0 < row["key_ms_median"] <= row["first_decision_ms_median"]
