"""The native jobs API over HTTP: submit, read back, list, dedupe, and every kind of bad input."""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from .conftest import Service


async def submit(api: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await api.post("/v1/jobs", json={"command": "echo hi", **body})


async def test_submit_then_read_back(api: httpx.AsyncClient) -> None:
    response = await submit(api, project="demo", title="hello", tags=["nightly"], labels=["linux"], priority=7)
    assert response.status_code == 201
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert response.headers["x-request-id"]
    assert job["state"] == "queued"  # read-your-writes: the scheduler already decided
    assert (job["project"], job["title"], job["tags"], job["labels"], job["priority"]) == (
        "demo",
        "hello",
        ["nightly"],
        ["linux"],
        7,
    )
    assert job["payload"] == {"kind": "command", "command": "echo hi", "workdir": None, "env": {}}
    read = await api.get(response.headers["location"])
    assert read.status_code == 200
    assert read.json() == job


async def test_payload_kinds_and_held_jobs(api: httpx.AsyncClient) -> None:
    manifest = {"tasks": [{"name": "build", "script": "make"}], "environment": {"CC": "gcc"}, "artifacts": ["out/*"]}
    m = await api.post("/v1/jobs", json={"manifest": manifest, "execute": False})
    assert m.status_code == 201
    assert m.json()["state"] == "pending"
    assert m.json()["payload"]["tasks"] == [{"name": "build", "script": "make"}]
    recipe = {"url": "https://example.org", "depth": [1, {"x": None}]}
    r = await api.post("/v1/jobs", json={"recipe": recipe})
    assert r.status_code == 201
    assert r.json()["payload"] == {"kind": "recipe", "recipe": recipe}


async def test_list_filters_and_stable_pagination(api: httpx.AsyncClient) -> None:
    ids = []
    for i in range(7):
        response = await submit(api, project="paged", tags=["even" if i % 2 == 0 else "odd"])
        ids.append(response.json()["id"])
    await submit(api, project="other")
    page = await api.get("/v1/jobs", params={"project": "paged", "limit": 3})
    assert page.status_code == 200
    seen = [j["id"] for j in page.json()["items"]]
    cursor = page.json()["next_cursor"]
    await submit(api, project="paged")  # a newer job must not shift later pages
    while cursor:
        page = await api.get("/v1/jobs", params={"project": "paged", "limit": 3, "cursor": cursor})
        seen += [j["id"] for j in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    assert seen == list(reversed(ids))  # newest first, each exactly once
    even = await api.get("/v1/jobs", params={"project": "paged", "tag": "even"})
    assert {j["id"] for j in even.json()["items"]} == {ids[i] for i in (0, 2, 4, 6)}
    me = (await api.get("/v1/me")).json()["user_id"]  # the owner of a job is whoever submitted it
    queued = await api.get("/v1/jobs", params={"state": "queued", "owner": me, "limit": 500})
    assert set(ids) <= {j["id"] for j in queued.json()["items"]}
    none = await api.get("/v1/jobs", params={"state": "cancelled", "project": "paged"})
    assert none.json() == {"items": [], "next_cursor": None}


async def test_dedupe_key_returns_the_first_job_even_after_the_duplicate_window(api: httpx.AsyncClient) -> None:
    first = await submit(api, project="d", dedupe_key="build-42")
    assert first.status_code == 201
    again = await submit(api, project="d", dedupe_key="build-42", command="something else")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    await asyncio.sleep(1.5)  # past the stream's 1 s duplicate window (set by the fixture)
    later = await submit(api, project="d", dedupe_key="build-42")
    assert later.status_code == 200
    assert later.json() == again.json()
    other_project = await submit(api, project="e", dedupe_key="build-42")
    assert other_project.status_code == 201
    assert other_project.json()["id"] != first.json()["id"]


async def test_prefer_respond_async_answers_once_stored(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/jobs", json={"command": "true"}, headers={"Prefer": "respond-async"})
    assert response.status_code == 202
    assert response.headers["preference-applied"] == "respond-async"
    location = response.headers["location"]
    assert location == f"/v1/jobs/{response.json()['id']}"
    for _ in range(100):
        read = await api.get(location)
        if read.status_code == 200:
            break
        await asyncio.sleep(0.02)
    assert read.json()["state"] == "queued"


async def test_concurrent_reads_share_lookups_and_each_gets_its_own_job(api: httpx.AsyncClient) -> None:
    created = await asyncio.gather(*(submit(api, title=f"t{i}") for i in range(40)))
    assert {r.status_code for r in created} == {201}
    assert [r.json()["title"] for r in created] == [f"t{i}" for i in range(40)]
    ids = [r.json()["id"] for r in created]
    reads = await asyncio.gather(*(api.get(f"/v1/jobs/{i}") for i in [*ids, "0190c5a8-7b1e-7000-8000-000000000999"]))
    assert [r.json()["id"] for r in reads[:-1]] == ids
    assert reads[-1].status_code == 404


async def test_write_answers_202_when_the_scheduler_lags_then_the_job_appears(
    gateway: httpx.AsyncClient, start_scheduler: Callable[[], Service]
) -> None:
    response = await submit(gateway)  # no scheduler running: the write cannot be read back yet
    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    location = response.headers["location"]
    assert (await gateway.get(location)).status_code == 404
    scheduler = start_scheduler()
    try:
        for _ in range(100):
            read = await gateway.get(location)
            if read.status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert read.status_code == 200
        assert read.json()["state"] == "queued"
    finally:
        await scheduler.stop()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{code}"
    assert body["status"] == status
    assert body["title"]
    return body


async def test_bad_bodies_get_clear_problems(api: httpx.AsyncClient) -> None:
    wrong = await api.post("/v1/jobs", json={"command": "x", "priority": "high", "max_retries": -1})
    body = assert_problem(wrong, 422, "validation_failed")
    assert {e["pointer"] for e in body["errors"]} == {"/priority", "/max_retries"}
    missing = await api.post("/v1/jobs", json={"manifest": {"tasks": [{"name": "a"}]}})
    assert [e["pointer"] for e in assert_problem(missing, 422, "validation_failed")["errors"]] == ["/manifest/tasks/0"]
    unknown = await api.post("/v1/jobs", json={"command": "x", "colour": "blue"})
    assert assert_problem(unknown, 422, "validation_failed")["errors"] == [
        {"pointer": "/colour", "detail": "unknown field"}
    ]
    neither = await api.post("/v1/jobs", json={"project": "demo"})
    assert "exactly one" in assert_problem(neither, 422, "validation_failed")["detail"]
    both = await api.post("/v1/jobs", json={"command": "x", "recipe": {}})
    assert assert_problem(both, 422, "validation_failed")["errors"][0]["pointer"] == "/recipe"
    invalid_json = await api.post("/v1/jobs", content=b'{"command": ', headers={"content-type": "application/json"})
    assert_problem(invalid_json, 400, "malformed_request")
    not_object = await api.post("/v1/jobs", json=["command"])
    assert_problem(not_object, 422, "validation_failed")
    huge = await api.post("/v1/jobs", json={"command": "x" * (2 * 1024 * 1024)})
    assert_problem(huge, 413, "body_too_large")
    text = await api.post("/v1/jobs", content=b"echo hi", headers={"content-type": "text/plain"})
    assert_problem(text, 415, "unsupported_media_type")
    stored = await api.get("/v1/jobs", params={"limit": 500})
    assert stored.json()["items"] == []  # no bad request stored anything


async def test_bad_ids_queries_and_routes(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/v1/jobs/not-a-uuid"), 422, "invalid_id")
    assert_problem(await api.get("/v1/jobs/0190c5a8-7b1e-7000-8000-000000000999"), 404, "job_not_found")
    bad_query = await api.get("/v1/jobs", params={"state": "sleeping", "limit": "0", "colour": "blue"})
    body = assert_problem(bad_query, 422, "invalid_query")
    assert {e["pointer"] for e in body["errors"]} == {"state", "limit", "colour"}
    assert_problem(await api.get("/v1/jobs", params={"cursor": "garbage!"}), 422, "invalid_query")
    assert_problem(await api.get("/v2/nothing"), 404, "route_not_found")
    assert_problem(await api.delete("/v1/jobs"), 405, "method_not_allowed")
    nothing_stored = await api.get("/v1/jobs", params={"project": "never"})
    assert nothing_stored.json()["items"] == []


async def test_health_metrics_openapi_and_docs(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = (await api.get("/readyz")).json()
    assert ready == {"status": "ready", "checks": {"nats": "ok", "postgres": "ok"}}
    await submit(api)
    metrics = (await api.get("/metrics")).text
    assert 'conveyor_http_requests_total{method="POST",route="/v1/jobs",status="201"}' in metrics
    # What pauses the loops (issue 21): lag and GC histograms of both services, the fold's commits.
    for series in ('conveyor_event_loop_lag_seconds_count{service="gateway"}',
                   'conveyor_event_loop_lag_seconds_count{service="scheduler"}',
                   'conveyor_projector_commit_seconds_count{consumer="scheduler"}'):  # fmt: skip
        assert series in metrics, series
    spec = (await api.get("/openapi.json")).json()
    assert spec["openapi"] == "3.1.0"
    assert {"post", "get"} <= set(spec["paths"]["/v1/jobs"])
    assert "JobSubmission" in spec["components"]["schemas"]
    docs = await api.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text
    problem_doc = await api.get("/problems/validation_failed")
    assert "JSON pointer" in problem_doc.text


async def test_metrics_report_the_ready_queue_depth_for_worker_autoscaling(api: httpx.AsyncClient) -> None:
    # The KEDA ScaledObject in deploy/k8s/overlays/ha scales workers on this gauge.
    for _ in range(3):
        assert (await submit(api, labels=["gpu-nobody-has"])).status_code == 201
    metrics = (await api.get("/metrics")).text  # services share one registry in-process
    assert "conveyor_jobs_ready 3.0" in metrics.splitlines()
