"""The logs benchmark runs end to end at tiny sizes (a check that it works, not of speed)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_logs_bench_smoke_prints_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", "logs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for figure in (
        "accepted_mb_per_s",
        "collected_mb_per_s",
        "p50_ms",
        "p99_ms",
        "upload_mb_per_s",
        "download_mb_per_s",
    ):
        values = re.findall(rf"{figure}=([0-9.,]+)", out)
        assert values, f"{figure} missing from:\n{out}"
        assert all(float(v.replace(",", "")) > 0 for v in values)
