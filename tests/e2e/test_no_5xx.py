"""Malformed input answers 400/413/422 in the native problem+json shape, never a 5xx (issue 13).

Each case was a 500 before: the body decoder, the query and id parsing, the hook URL check, the
log parameters and the artifact upload each let one kind of bad input through to an exception.
"""

from typing import Any

import httpx
import pytest

from .test_workers_api import WorkerClient, register

PROBLEM = "application/problem+json"
UUID_LIKE = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"  # 36 characters, not a UUID
DEEP = b"[" * 1200 + b"]" * 1200


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc: dict[str, Any] = response.json()
    assert doc["status"] == status
    if code is not None:
        assert doc["type"] == f"/problems/{code}", doc
    return doc


async def post_raw(api: httpx.AsyncClient, path: str, body: bytes, **kwargs: Any) -> httpx.Response:
    return await api.post(path, content=body, headers={"content-type": "application/json"}, **kwargs)


@pytest.mark.parametrize(
    "body",
    [
        b'{"command": "true", "priority": 1e999}',  # a field of the struct, out of float range
        b'{"command": 1, "title": 1e999}',  # the second decode (collecting every error) saw it too
        b'{"command": "true", "env": {"A": 1e999}}',
    ],
)
async def test_a_number_out_of_range_is_a_field_error(api: httpx.AsyncClient, body: bytes) -> None:
    doc = assert_problem(await post_raw(api, "/v1/jobs", body), 422, "validation_failed")
    assert doc["errors"], doc


@pytest.mark.parametrize(
    "body",
    [
        b"2N",
        b'"x"junk',
        b'{"command": 1}N',
        b'{"title": "\xff\xfe", "command": "true"}',  # not UTF-8
        b'{"title": "\xff", "command": 1}',  # not UTF-8, after a field error
        b'{"command": ' + DEEP + b"}",
        DEEP,
    ],
    ids=["scalar-junk", "string-junk", "object-junk", "utf8", "utf8-after-error", "deep-field", "deep"],
)
async def test_a_body_that_is_not_json_is_400(api: httpx.AsyncClient, body: bytes) -> None:
    assert_problem(await post_raw(api, "/v1/jobs", body), 400, "malformed_request")


@pytest.mark.parametrize("body", [b"2N", b'{"jobs": [1e999]}', b'{"jobs": ' + DEEP + b"}", b'{"jobs": ["\xff"]}'])
async def test_a_bulk_body_that_is_not_json_is_a_client_error(api: httpx.AsyncClient, body: bytes) -> None:
    response = await post_raw(api, "/v1/jobs/bulk", body)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == PROBLEM


async def test_a_worker_body_out_of_range_is_refused(api: httpx.AsyncClient) -> None:
    worker = await register(api)
    lease = await post_raw(api, f"/v1/workers/{worker.id}/lease", b'{"wait_s": 1e999}', auth=worker.auth)
    assert_problem(lease, 422, "validation_failed")
    beat = await post_raw(api, f"/v1/workers/{worker.id}/heartbeat", b'{"load": 1}N', auth=worker.auth)
    assert_problem(beat, 400, "malformed_request")


@pytest.mark.parametrize("field", ["parent", "depends_on"])
async def test_a_job_reference_that_is_not_a_uuid_is_a_field_error(api: httpx.AsyncClient, field: str) -> None:
    value: Any = UUID_LIKE if field == "parent" else [UUID_LIKE]
    doc = assert_problem(await api.post("/v1/jobs", json={"command": "true", field: value}), 422, "validation_failed")
    assert doc["errors"][0]["pointer"].startswith(f"/{field}"), doc


async def test_dependencies_that_are_not_uuids_are_a_field_error(api: httpx.AsyncClient) -> None:
    job_id = (await api.post("/v1/jobs", json={"command": "true", "execute": False})).json()["id"]
    response = await api.put(f"/v1/jobs/{job_id}/dependencies", json={"depends_on": [UUID_LIKE]})
    assert_problem(response, 422, "validation_failed")


@pytest.mark.parametrize("host", ["a" * 64 + ".example.com", "a..example.com", "\u00ad.example.com"])
async def test_a_hook_host_that_idna_cannot_encode_is_refused(api: httpx.AsyncClient, host: str) -> None:
    response = await api.post("/v1/hooks", json={"url": f"https://{host}/hook", "events": ["job.failed"]})
    doc = assert_problem(response, 422, "validation_failed")
    assert doc["errors"][0]["pointer"] == "/url"


@pytest.mark.parametrize("name", ["project", "tag", "owner"])
async def test_nul_in_a_list_filter_is_an_invalid_query(api: httpx.AsyncClient, name: str) -> None:
    assert_problem(await api.get(f"/v1/jobs?{name}=%00"), 422, "invalid_query")


async def test_nul_in_another_query_is_an_invalid_query(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get("/v1/events?project=a%00b"), 422, "invalid_query")
    assert_problem(await api.get("/v1/hooks?project=%00"), 422, "invalid_query")


@pytest.mark.parametrize(
    "query", ["attempt=2147483648", "attempt=9223372036854775808", "attempt=99999999999999999999999", "attempt=\u00b2"]
)
async def test_a_log_attempt_beyond_int64_is_an_invalid_query(api: httpx.AsyncClient, query: str) -> None:
    job_id = (await api.post("/v1/jobs", json={"command": "true"})).json()["id"]
    assert_problem(await api.get(f"/v1/jobs/{job_id}/log?{query}"), 422, "invalid_query")
    assert_problem(await api.get(f"/v1/jobs/{job_id}/log/stream?{query}"), 422, "invalid_query")


@pytest.mark.parametrize("last_id", ["9223372036854775808", "-1", "x"])
async def test_a_last_event_id_beyond_int64_is_refused_before_the_stream(api: httpx.AsyncClient, last_id: str) -> None:
    job_id = (await api.post("/v1/jobs", json={"command": "true"})).json()["id"]
    response = await api.get(f"/v1/jobs/{job_id}/log/stream", headers={"Last-Event-ID": last_id})
    assert_problem(response, 422, "invalid_query")


async def _leased(api: httpx.AsyncClient, **job: Any) -> tuple[WorkerClient, str]:
    worker = await register(api)
    await api.post("/v1/jobs", json=job or {"command": "true"})
    response = await worker.lease(wait_s=5)
    [lease] = response.json()["leases"]
    return worker, str(lease["lease_id"])


@pytest.mark.usefixtures("log_collector")
async def test_an_artifact_name_outside_latin1_is_stored_and_answered(api: httpx.AsyncClient) -> None:
    worker, lease_id = await _leased(api)
    response = await api.put(f"/v1/leases/{lease_id}/artifacts/out/r\u00e9sum\u00e9-\u65e5\u672c.txt", content=b"hi",
                             auth=worker.auth)  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["path"] == "out/r\u00e9sum\u00e9-\u65e5\u672c.txt"
    assert response.headers["location"].endswith("/artifacts/out/r%C3%A9sum%C3%A9-%E6%97%A5%E6%9C%AC.txt")
    fetched = await api.get(response.headers["location"])
    assert fetched.status_code == 200
    assert fetched.content == b"hi"


async def test_a_log_chunk_for_a_task_the_job_lacks_is_refused(api: httpx.AsyncClient) -> None:
    manifest = {"tasks": [{"name": "build", "script": "true"}]}
    worker, lease_id = await _leased(api, manifest=manifest)
    known = await api.post(f"/v1/leases/{lease_id}/log?offset=0&task=build", content=b"x", auth=worker.auth)
    assert known.status_code == 204, known.text
    unknown = await api.post(f"/v1/leases/{lease_id}/log?offset=0&task=nope", content=b"x", auth=worker.auth)
    assert_problem(unknown, 422, "unknown_task")


async def test_a_log_chunk_with_a_task_for_a_command_job_is_refused(api: httpx.AsyncClient) -> None:
    worker, lease_id = await _leased(api)
    unknown = await api.post(f"/v1/leases/{lease_id}/log?offset=0&task=build", content=b"x", auth=worker.auth)
    assert_problem(unknown, 422, "unknown_task")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/jobs", {"GET", "POST"}),
        ("PUT", "/v1/workers", {"GET", "POST"}),
        ("POST", "/v1/jobs/00000000-0000-7000-8000-000000000000", {"GET", "PATCH", "DELETE"}),
    ],
)
async def test_405_lists_every_method_of_the_path(
    api: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    response = await api.request(method, path)
    assert_problem(response, 405, "method_not_allowed")
    assert {m.strip() for m in response.headers["allow"].split(",")} >= allowed


async def test_a_since_before_the_first_utc_instant_is_an_invalid_query(api: httpx.AsyncClient) -> None:
    since = "0001-01-01T00:00:00%2B01:00"  # a valid RFC 3339 time that UTC cannot hold
    assert_problem(await api.get(f"/v1/events?since={since}"), 422, "invalid_query")
    assert_problem(await api.get(f"/v1/events/stream?since={since}"), 422, "invalid_query")
