"""What no projection can store is refused at the gateway with 422 and a pointer (issue 13,
defects 1 and 2): before, these were accepted and halted the scheduler, the hook dispatcher or
the log collector for good."""

import httpx


async def test_a_nul_in_a_job_is_refused_and_later_jobs_still_run(api: httpx.AsyncClient) -> None:
    refused = await api.post("/v1/jobs", json={"title": "a\x00b", "command": "true"})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/title"]

    later = await api.post("/v1/jobs", json={"title": "fine", "command": "true"})
    assert later.status_code == 201, later.text
    assert later.json()["state"] == "queued"


async def test_numbers_out_of_range_are_refused_with_their_pointer(api: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json"}
    for body, pointer in [
        (b'{"command":"true","priority":1e999}', "/priority"),
        (b'{"recipe":{"frames":18446744073709551615}}', "/recipe/frames"),
        (b'{"recipe":{"scale":-1e400}}', "/recipe/scale"),
    ]:
        answer = await api.post("/v1/jobs", content=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        assert [e["pointer"] for e in answer.json()["errors"]] == [pointer]


async def test_a_nul_in_a_worker_log_line_is_refused(api: httpx.AsyncClient) -> None:
    registered = (await api.post("/v1/workers", json={"name": "builder"})).json()
    auth = httpx.BasicAuth(registered["id"], registered["secret"])
    path = f"/v1/workers/{registered['id']}/log/info"
    refused = await api.post(path, json={"message": "m\x00"}, auth=auth)
    assert refused.status_code == 422, refused.text
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/message"]
    assert (await api.post(path, json={"message": "m"}, auth=auth)).status_code == 204


async def test_a_nul_in_a_query_parameter_is_refused(api: httpx.AsyncClient) -> None:
    for query in ["project=%00", "tag=a%00", "owner=%00x&limit=5"]:
        answer = await api.get(f"/v1/jobs?{query}")
        assert answer.status_code == 422, (query, answer.text)
        assert answer.json()["type"] == "/problems/invalid_query"
        assert [e["pointer"] for e in answer.json()["errors"]] == [query.split("=")[0]]
    assert (await api.get("/v1/jobs?project=demo")).status_code == 200
