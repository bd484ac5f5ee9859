"""Progress (parsed from output, or reported by the worker), worker log lines, and artifacts."""

import asyncio
import hashlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats
from nats.js.errors import NotFoundError

from conveyor_events import ARTIFACTS_BUCKET

from .conftest import ARTIFACT_LIMIT, start_run


async def _job_when(api: httpx.AsyncClient, job_id: str, key: str, value: Any) -> dict[str, Any]:
    for _ in range(200):
        job: dict[str, Any] = (await api.get(f"/v1/jobs/{job_id}")).json()
        if job.get(key) == value:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} of {job_id} is {job.get(key)!r}, not {value!r}")


async def test_progress_is_parsed_with_the_jobs_pattern_and_shown_on_the_job(stack: httpx.AsyncClient) -> None:
    default = await start_run(stack)
    assert (await default.log(0, b"compiling\nPROGRESS:12\nPROGRESS:37.5\n")).status_code == 204
    await _job_when(stack, default.job_id, "progress", 37.5)
    custom = await start_run(stack, progress_pattern="[%one]")
    assert (await custom.log(0, b"frame 1 [0.25]\n")).status_code == 204
    job = await _job_when(stack, custom.job_id, "progress", 25.0)
    listed = (await stack.get("/v1/jobs")).json()["items"]
    assert {j["id"]: j["progress"] for j in listed}[custom.job_id] == 25.0
    assert job["progress_pattern"] == "[%one]"


async def test_a_worker_reports_progress_directly(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    url = f"/v1/leases/{run.lease_id}/progress"
    assert (await stack.post(url, json={"percent": 80}, auth=run.auth)).status_code == 204
    await _job_when(stack, run.job_id, "progress", 80.0)
    bad = await stack.post(url, json={"percent": 101, "colour": 1}, auth=run.auth)
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/percent", "/colour"}


async def test_worker_log_lines_are_kept_and_queried_by_level_and_time(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    base = f"/v1/workers/{run.worker_id}/log"
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i, level in enumerate(["trace", "info", "warn", "error"]):
        at = (t0 + timedelta(minutes=i)).isoformat()
        body = {"message": f"{level} line", "scope": "git", "time": at}
        assert (await stack.post(f"{base}/{level}", json=body, auth=run.auth)).status_code == 204
    assert (await stack.post(f"{base}/loud", json={"message": "x"}, auth=run.auth)).status_code == 404
    for _ in range(100):
        items = (await stack.get(base, params={"level": "warn"})).json()["items"]
        if len(items) == 2:
            break
        await asyncio.sleep(0.05)
    assert [i["message"] for i in items] == ["warn line", "error line"]
    assert items[0]["scope"] == "git"
    window = {"since": (t0 + timedelta(minutes=1)).isoformat(), "until": (t0 + timedelta(minutes=3)).isoformat()}
    assert [i["level"] for i in (await stack.get(base, params=window)).json()["items"]] == ["info", "warn"]
    assert (await stack.get(base, params={"since": "yesterday"})).status_code == 422


async def test_an_artifact_round_trips_byte_for_byte_with_etag_and_range(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    data = os.urandom(700_000)
    put = await stack.put(f"/v1/leases/{run.lease_id}/artifacts/out/build.tar", content=data, auth=run.auth)
    assert put.status_code == 201, put.text
    digest = hashlib.sha256(data).hexdigest()
    assert put.json() == {"path": "out/build.tar", "size": len(data), "sha256": digest}
    url = f"/v1/jobs/{run.job_id}/artifacts/out/build.tar"
    got = await stack.get(url)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["etag"] == f'"{digest}"'
    assert (await stack.get(url, headers={"If-None-Match": f'"{digest}"'})).status_code == 304
    part = await stack.get(url, headers={"Range": "bytes=131000-300000"})
    assert part.status_code == 206
    assert part.content == data[131000:300001]
    assert (await stack.get(url, headers={"Range": f"bytes={len(data)}-"})).status_code == 416
    items = (await stack.get(f"/v1/jobs/{run.job_id}/artifacts")).json()["items"]  # listed once 201 came
    assert [(i["path"], i["size"], i["sha256"]) for i in items] == [("out/build.tar", len(data), digest)]
    assert (await stack.get(f"/v1/jobs/{run.job_id}/artifacts/nope")).status_code == 404


async def test_traversal_and_bad_artifact_paths_are_refused(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    bad = ["%2E%2E/etc/passwd", "a/%2E%2E/%2E%2E/x", "a//b", "a/%5Cb", "a%00b", "a/%2E/b", "x/", "/abs", "a" * 1100]
    for raw in bad:  # percent-encoded so that the client does not normalise them away
        url = f"/v1/leases/{run.lease_id}/artifacts/{raw}"
        response = await stack.put(url, content=b"x", auth=run.auth)
        assert response.status_code == 422, (raw, response.status_code)
        assert response.json()["type"] == "/problems/invalid_artifact_path"


async def test_an_artifact_over_the_limit_is_413_and_a_stale_lease_409(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    too_big = b"x" * (ARTIFACT_LIMIT + 1)
    over = await stack.put(f"/v1/leases/{run.lease_id}/artifacts/big.bin", content=too_big, auth=run.auth)
    assert over.status_code == 413

    async def chunked() -> Any:  # no Content-Length: the limit is enforced while streaming
        for _ in range(3):
            yield b"y" * (ARTIFACT_LIMIT // 2)

    over = await stack.put(f"/v1/leases/{run.lease_id}/artifacts/big.bin", content=chunked(), auth=run.auth)
    assert over.status_code == 413
    assert (await stack.get(f"/v1/jobs/{run.job_id}/artifacts/big.bin")).status_code == 404
    assert (await run.finish()).status_code == 200
    stale = await stack.put(f"/v1/leases/{run.lease_id}/artifacts/a.txt", content=b"x", auth=run.auth)
    assert stale.status_code == 409


async def test_deleting_a_job_deletes_its_log_and_artifacts(stack: httpx.AsyncClient, nats_url: str) -> None:
    run = await start_run(stack)
    assert (await run.log(0, b"bye\n")).status_code == 204
    put = await stack.put(f"/v1/leases/{run.lease_id}/artifacts/a.txt", content=b"abc", auth=run.auth)
    assert put.status_code == 201
    for _ in range(100):
        if (await stack.get(f"/v1/jobs/{run.job_id}/artifacts")).json()["items"]:
            break
        await asyncio.sleep(0.05)
    assert (await stack.delete(f"/v1/jobs/{run.job_id}")).status_code == 204
    assert (await stack.get(f"/v1/jobs/{run.job_id}/log")).status_code == 404
    nc = await nats.connect(nats_url)
    try:
        bucket = await nc.jetstream().object_store(ARTIFACTS_BUCKET)
        for _ in range(100):  # the collector deletes it when it folds job.delete_requested
            try:
                await bucket.get_info(f"{run.job_id}/a.txt")
            except NotFoundError:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the artifact is still in the bucket")
    finally:
        await nc.close()
