"""``python -m bench.memory`` runs at a tiny size, and its deterministic figure (what Python
objects hold per queued job, by tracemalloc) stays where the memory work brought it.

Not a timing: tracemalloc counts bytes, the same on every run of the same code and versions.
Before the work it was ~1,620 bytes per queued job (1.67 GiB RSS at 1M queued, issue 8's bound
is 1.5 GiB); after, ~720.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BOUND = 900  # bytes per queued job held by the engine (JobState, id, ready-queue entry, dicts)


def test_memory_bench_reports_both_paths_under_the_bound() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--jobs", "3000", "--top", "3", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {row["mode"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"fold", "load"}
    for row in rows.values():
        assert row["jobs"] == row["queued"] == 3000
        assert 0 < row["traced_bytes_per_job"] < BOUND, row
        assert isinstance(row["rss_bytes_per_job"], float)  # allocator reuse makes it noisy at this size
        assert len(row["top"]) == 3
