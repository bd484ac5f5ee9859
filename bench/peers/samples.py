"""Each peer task appends one line per run to its process's file: ``<sent> <started>\n``.

``sent`` is the submit time the job carries (0 for a warm-up or throughput job), ``started`` is
``time.time()`` when the task body began. The driver counts lines to know how many ran and reads
them for the latency. The file is line-buffered: one ``write`` per task, no network call.
"""

import os
import time
from pathlib import Path
from typing import TextIO

_out: TextIO | None = None
_pid = 0


def record(sent: float, started: float | None = None) -> None:
    """One line for a task that ran; ``started`` defaults to now (a task that records when its work is done
    passes the time it began, so the file counts finished tasks)."""
    global _out, _pid
    if started is None:
        started = time.time()
    if _out is None or _pid != os.getpid():  # opened lazily: a forking pool gets one file per child
        _pid = os.getpid()
        _out = (Path(os.environ["BENCH_SAMPLES_DIR"]) / f"{_pid}.txt").open("a", buffering=1)
    _out.write(f"{sent:.6f} {started:.6f}\n")


def read_all(directory: Path) -> list[tuple[float, float]]:
    rows = []
    for path in directory.glob("*.txt"):
        for line in path.read_text().splitlines():
            sent, started = line.split()
            rows.append((float(sent), float(started)))
    return rows


def count(directory: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in directory.glob("*.txt"))
