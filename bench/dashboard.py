"""``python -m bench.dashboard [--jobs N]``: the dashboard's figures (issue 20).

- server time of the job list (``GET /ui/jobs``, signed in, over loopback HTTP) with the
  scheduler's projection seeded directly with N jobs (default 1,000,000), for the filters a
  person uses, a deep keyset page, and a user who is not an admin (the read rule in the query);
- time to the first bytes of a 100 MB log, as the log viewer asks for it (the tail, by range);
- page weight: each page's HTML and the static files, raw and gzipped.

Writes bench/results/dashboard.json and prints a table.
"""

import argparse
import asyncio
import gzip
import json
import re
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from conveyor_logs.schema import MIGRATIONS as LOG_MIGRATIONS
from conveyor_logs.schema import SCHEMA as LOG_SCHEMA
from conveyor_runtime import apply_migrations, create_pool
from conveyor_scheduler.projection import MIGRATIONS as JOB_MIGRATIONS
from conveyor_scheduler.projection import SCHEMA as JOB_SCHEMA

from .stack import BenchStack

RESULTS = Path(__file__).parent / "results"
STATES = ("succeeded", "succeeded", "succeeded", "succeeded", "failed", "queued", "running", "cancelled")
LOG_BYTES = 100 * 1024 * 1024
CHUNK = 256 * 1024
_DOC = {
    "owner": "bench", "note": "", "labels": [], "priority": 0, "parent_id": None,
    "payload": {"kind": "command", "command": "make", "env": {}},
    "depends_on": [], "max_retries": 0, "attempts": 1, "timeout_s": None, "lease_s": 60, "dedupe_key": None,
    "execute": True, "paused": False, "cancel_requested": False, "progress": None, "progress_pattern": None,
    "url": None, "verification": 0, "reason": "", "version": 1,
}  # fmt: skip


async def seed_jobs(pool: "asyncpg.Pool[Any]", n: int) -> None:
    """N jobs in 50 projects submitted over the last week (in order), one label in 100, a quarter
    of them not ended (a deep backlog: 125,000 queued and 125,000 running at a million)."""
    await apply_migrations(pool, JOB_SCHEMA, JOB_MIGRATIONS)
    await apply_migrations(pool, LOG_SCHEMA, LOG_MIGRATIONS)
    states = "ARRAY[" + ",".join(f"'{s}'" for s in STATES) + "]"
    async with pool.acquire() as conn:
        for start in range(1, n + 1, 100_000):
            end = min(n, start + 99_999)
            await conn.execute(
                f"""
                INSERT INTO scheduler.jobs (id, project, owner, state, priority, tags, submitted_seq, version,
                                            created_at, updated_at, doc)
                SELECT g.id, g.project, 'bench', g.state, 0, ARRAY['nightly'], g.i, 1, g.at, g.at,
                       $1::jsonb || jsonb_build_object('id', g.id, 'state', g.state, 'project', g.project,
                         'title', 'render frame ' || g.i, 'tags', jsonb_build_array('nightly'),
                         'labels', CASE WHEN g.i % 100 = 0 THEN '["gpu"]'::jsonb ELSE '[]'::jsonb END,
                         'created_at', g.at, 'updated_at', g.at)
                FROM (SELECT i, gen_random_uuid() AS id, 'p' || (i % 50) AS project,
                             ({states})[1 + i % {len(STATES)}] AS state,
                             now() - make_interval(secs => ({n} - i) * {600_000 / n}) AS at
                      FROM generate_series({start}, {end}) AS i) g
                """,
                json.dumps(_DOC),
            )
        await conn.execute("ANALYZE scheduler.jobs")


async def seed_log(pool: "asyncpg.Pool[Any]", job_id: str) -> None:
    """A 100 MB log for ``job_id`` (attempt 1), stored as the collector stores it."""
    line = b"\x1b[32mok\x1b[0m step %08d: compiled module with a long enough line of output here\n"
    body = b"".join(line % i for i in range(LOG_BYTES // len(line % 0) + 1))[:LOG_BYTES]
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO logs.streams (job_id, attempt, task, lease_id, received, stored, truncated, updated_at)"
            " VALUES ($1, 1, '', 'bench', $2, $2, false, now())",
            job_id,
            LOG_BYTES,
        )
        rows = [(job_id, 1, "", o, o + CHUNK, body[o : o + CHUNK]) for o in range(0, LOG_BYTES, CHUNK)]
        await conn.copy_records_to_table(
            "chunks", schema_name="logs", records=rows,
            columns=["job_id", "attempt", "task", "start_offset", "end_offset", "data"],
        )  # fmt: skip


def sign_in(client: httpx.Client, token: str) -> None:
    page = client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    done = client.post("/ui/login", data={"csrf": csrf.group(1), "token": token, "next": ""})
    assert done.status_code == 303, done.text


def timed(client: httpx.Client, path: str, repeat: int, **kwargs: Any) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = client.get(path, **kwargs)
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code in (200, 206), (path, answer.status_code)
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def first_bytes(client: httpx.Client, path: str, repeat: int, headers: dict[str, str]) -> dict[str, float]:
    firsts, totals = [], []
    for _ in range(repeat):
        began = time.perf_counter()
        with client.stream("GET", path, headers=headers) as answer:
            assert answer.status_code in (200, 206), answer.status_code
            first: float | None = None
            for _piece in answer.iter_raw():
                if first is None:
                    first = (time.perf_counter() - began) * 1000
            firsts.append(first or 0.0)
        totals.append((time.perf_counter() - began) * 1000)
    return {
        "first_bytes_ms": round(statistics.median(firsts), 1),
        "whole_answer_ms": round(statistics.median(totals), 1),
    }


def weight(client: httpx.Client, path: str) -> dict[str, int]:
    body = client.get(path).content
    return {"bytes": len(body), "gzip_bytes": len(gzip.compress(body))}


def user_token(client: httpx.Client, admin: str) -> str | None:
    """A token of a user who is no admin and holds read on no project (None if not made in time)."""
    headers = {"Authorization": f"Bearer {admin}"}
    user = client.post("/v1/users", json={"name": "viewer"}, headers=headers)
    if user.status_code != 201:
        return None
    issued = client.post(f"/v1/users/{user.json()['id']}/tokens", json={"name": "t", "scopes": ["jobs:read"]},
                         headers=headers)  # fmt: skip
    return str(issued.json()["token"]) if issued.status_code == 201 else None


async def _seed(stack: BenchStack, n: int) -> str:
    pool = await create_pool(stack.database_url, max_size=2, timeout_s=30)
    try:
        began = time.perf_counter()
        await seed_jobs(pool, n)
        print(f"seeded {n:,} jobs in {time.perf_counter() - began:.0f} s")
        job_id = str(uuid.uuid4())
        now = datetime.now(UTC).isoformat()
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO scheduler.jobs (id, project, owner, state, priority, tags, submitted_seq, version,"
                " created_at, updated_at, doc) VALUES ($1, 'p1', 'bench', 'succeeded', 0, '{}', $2, 1, now(), now(),"
                " $3::jsonb)",
                job_id,
                n + 1,
                json.dumps({**_DOC, "id": job_id, "state": "succeeded", "project": "p1", "title": "big log",
                            "tags": [], "created_at": now, "updated_at": now}),
            )  # fmt: skip
        await seed_log(pool, job_id)
        return job_id
    finally:
        await pool.close()


def measure(n: int, repeat: int) -> dict[str, Any]:
    with BenchStack() as stack:
        job_id = asyncio.run(_seed(stack, n))
        port = stack.start("gateway")
        admin = __import__("os").environ["CONVEYOR_TOKEN"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            sign_in(client, admin)
            began = time.perf_counter()
            client.get("/ui/overview")
            overview_first = round((time.perf_counter() - began) * 1000, 1)
            client.get("/ui/jobs")  # warm
            deep = client.get("/ui/jobs?cursor=" + _cursor(n // 2)).status_code
            assert deep == 200
            lists = {
                "first page, no filter": timed(client, "/ui/jobs", repeat),
                "state=failed": timed(client, "/ui/jobs?state=failed", repeat),
                "project=p7": timed(client, "/ui/jobs?project=p7", repeat),
                "project=p7&state=queued": timed(client, "/ui/jobs?project=p7&state=queued", repeat),
                "tag=nightly": timed(client, "/ui/jobs?tag=nightly", repeat),
                "label=gpu (1 job in 100)": timed(client, "/ui/jobs?label=gpu", repeat),
                "title text 'frame 12345' (rare)": timed(client, "/ui/jobs?q=frame+12345", repeat),
                "page at the middle (keyset cursor)": timed(client, "/ui/jobs?cursor=" + _cursor(n // 2), repeat),
                "oldest first": timed(client, "/ui/jobs?order=oldest", repeat),
                "overview, first load (counts the queue and the last day)": {"median_ms": overview_first},
                "overview, again within 5 s (counts kept)": timed(client, "/ui/overview", repeat),
            }
            viewer = user_token(client, admin)
            if viewer is not None:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as other:
                    sign_in(other, viewer)
                    lists["a user who sees none of them"] = timed(other, "/ui/jobs", max(3, repeat // 4))
            log = {
                "tail (what the viewer loads first)": first_bytes(
                    client, f"/ui/api/jobs/{job_id}/log", repeat, {"Range": "bytes=-262144"}
                ),
                "job page with that log": timed(client, f"/ui/jobs/{job_id}", repeat),
            }
            pages = {
                "overview": weight(client, "/ui/overview"),
                "jobs (50 rows)": weight(client, "/ui/jobs"),
                "a job": weight(client, f"/ui/jobs/{job_id}"),
                "workers": weight(client, "/ui/workers"),
            }
            html = client.get("/ui/jobs").text
            for name in ("app.css", "app.js"):
                found = re.search(rf"(static/[0-9a-f]+/{re.escape(name)})", html)
                assert found is not None
                pages[name] = weight(client, "/ui/" + found.group(1))
        return {"jobs": n, "job_list": lists, "log_100MB": log, "page_weight": pages}


def _cursor(seq: int) -> str:
    import base64

    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    result = measure(args.jobs, args.repeat)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
