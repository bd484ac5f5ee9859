"""``python -m bench.memory [--jobs N]``: bytes the scheduler holds per queued job, without the stack.

Builds N queued jobs in an ``Engine`` the two ways a scheduler gets them, each in a fresh
process so one cannot leave memory to the other:

- ``fold``: as the fold loop does while jobs are submitted: a ``JobSubmitted`` is decoded from
  its JSON bytes and folded (``apply``; a job with nothing to wait on is queued by its
  submission, so the decider has nothing to add), encoded as the projection row's document (as
  ``JobTable.save`` does) and handed to ``Engine.observe_job``;
- ``load``: as a new leader does at start: each job's projection document is decoded
  (``live_job_batches``' decoder) and handed to ``Engine.observe_job``.

For each it prints bytes per job by ``tracemalloc`` (what Python objects hold; a second run,
since tracing costs memory itself) and by RSS growth (what the operating system sees, including
allocator slack), and the RSS projected at 1M queued jobs from that slope. ``--top`` lists the
lines allocating most under ``tracemalloc``.
"""

import argparse
import gc
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
import psutil

from conveyor_events import EventAppender, decode_job_event, encode_event, new_uuid7
from conveyor_scheduler.commands import RetryPolicy
from conveyor_scheduler.decider import Advance, JobState, apply, decide
from conveyor_scheduler.engine import Engine

from .scenarios import noop_submitted

BATCH = 2000
_doc_decoder = msgspec.json.Decoder(JobState)
_doc_encoder = msgspec.json.Encoder()


def _engine() -> Engine:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return Engine(
        cast(EventAppender, None),  # never asked: nothing is leased here
        clock=lambda: start,
        jitter=lambda: 0.0,
        new_id=new_uuid7,
        policy=RetryPolicy(base_s=1, cap_s=60),
    )


def _submitted_bytes(n: int) -> Iterator[bytes]:
    """The backlog benchmark's ``JobSubmitted`` (bench/scenarios.py), encoded as on the stream."""
    for _ in range(n):
        yield encode_event(noop_submitted())


def _queued_states(data: list[bytes]) -> Iterator[JobState]:
    """Each submission folded as the fold loop does (queued by the submission itself)."""
    for seq, raw in enumerate(data, start=1):
        state = apply(JobState(), decode_job_event(raw), seq)
        assert state.state == "queued" and not decide(Advance(job_id=state.id, issued_at=state.updated_at), state)
        _doc_encoder.encode(state)  # the projection row's document
        yield state


def _fold(engine: Engine, data: list[bytes]) -> None:
    for state in _queued_states(data):
        engine.observe_job(state)


def _documents(n: int) -> list[bytes]:
    return [_doc_encoder.encode(s) for s in _queued_states(list(_submitted_bytes(n)))]


def _load(engine: Engine, docs: list[bytes]) -> None:
    for start in range(0, len(docs), BATCH):
        for doc in docs[start : start + BATCH]:
            engine.observe_job(_doc_decoder.decode(doc))


def measure(mode: str, n: int, trace: bool, top: int) -> dict[str, Any]:
    """One measurement in this process: ``mode`` is ``fold`` or ``load``."""
    data = _documents(n) if mode == "load" else list(_submitted_bytes(n))  # the input: not counted
    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    if trace:
        tracemalloc.start()
    engine = _engine()
    if mode == "fold":
        _fold(engine, data)
    else:
        _load(engine, data)
    gc.collect()  # the input stays until measured: its freed memory must not be reused by the engine
    out: dict[str, Any] = {"mode": mode, "jobs": n, "queued": len(engine.queue)}
    assert len(engine.jobs) == n and len(engine.queue) == n, "every job must be live and queued"
    if trace:
        snapshot = tracemalloc.take_snapshot()
        traced, _ = tracemalloc.get_traced_memory()
        out["traced_bytes_per_job"] = traced / n
        out["top"] = [
            f"{s.size / n:7.1f} B/job  {s.traceback[0].filename.rsplit('/', 1)[-1]}:{s.traceback[0].lineno}"
            for s in snapshot.statistics("lineno")[:top]
        ]
    else:
        out["rss_bytes_per_job"] = (psutil.Process().memory_info().rss - rss_before) / n
    return out


def _child(mode: str, n: int, trace: bool, top: int) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.memory", "--child", mode, "--jobs", str(n), "--top", str(top)]
    if trace:
        args.append("--trace")
    result = subprocess.run(args, check=True, capture_output=True, text=True)
    return cast(dict[str, Any], json.loads(result.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--child", choices=("fold", "load"))
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON list")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.jobs, args.trace, args.top)))
        return
    rows = []
    for mode in ("fold", "load"):
        rss = _child(mode, args.jobs, False, args.top)
        traced = _child(mode, args.jobs, True, args.top)
        rows.append({**rss, **traced})
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        per_job = row["rss_bytes_per_job"]
        print(
            f"{row['mode']}: {args.jobs:,} queued jobs: tracemalloc {row['traced_bytes_per_job']:,.0f} B/job,"
            f" RSS growth {per_job:,.0f} B/job (projected at 1M: {per_job * 1e6 / 2**20:,.0f} MiB"
            " over the process's base)"
        )
        for line in row["top"]:
            print(f"    {line}")


if __name__ == "__main__":
    main()
