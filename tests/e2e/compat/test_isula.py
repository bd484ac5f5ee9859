"""isula-composer-server's API over Conveyor (issue 18): a build task from upload to downloaded
output, re-run, edit and re-run, delete (output gone), hooks firing, traversal refused, callers
acting only for themselves, and bad input answered in isula's shape with nothing stored."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import msgspec
import nats
import pytest
from nats.js.errors import NotFoundError as ObjectNotFoundError

from conveyor_events import ARTIFACTS_BUCKET
from conveyor_gateway.settings import Settings as GatewaySettings

from ..hooks.conftest import LOOPBACK, start_dispatcher, wait_until
from ..hooks.receiver import Receiver
from ..test_projects import UserClient, as_user

__all__ = ["start_dispatcher"]  # a fixture, used by name

SCRIPT = b'mkdir data\necho "this is a generate file" > output.txt\necho "this is int data" > data/file.txt\n'
ROOT = "/compat/isula"


@pytest.fixture
def gateway_settings(gateway_settings: GatewaySettings) -> GatewaySettings:
    """Loopback is trusted for isula as user ``bob``, and allowed as a webhook target."""
    return msgspec.structs.replace(gateway_settings, compat_trust="isula:127.0.0.1/32@bob", hook_allow_nets=LOOPBACK)


@pytest.fixture
async def bob(api: httpx.AsyncClient) -> AsyncIterator[UserClient]:
    """User ``bob`` with a token of every scope."""
    async with await as_user(api, "bob", ["jobs:read", "jobs:write", "hooks"]) as client:
        yield client


@pytest.fixture
async def trusted(api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no credentials at all, as isula's real clients (admitted by its network)."""
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as client:
        yield client


async def _status(client: httpx.AsyncClient, task: int, want: str, within_s: float = 20.0) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        doc: dict[str, Any] = (await client.get(f"{ROOT}/bob/task/{task}")).json()
        return doc if doc["Status"] == want else None

    found: dict[str, Any] = await wait_until(reached, within_s)
    return found


async def _raw_status(client: httpx.AsyncClient, path: str) -> int:
    """The status of a GET of ``path`` sent byte for byte (httpx would normalise ``../``)."""
    url = client.base_url
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {url.host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


async def test_a_build_task_from_upload_to_output_rerun_edit_delete_and_hooks(
    api: httpx.AsyncClient,
    log_collector: None,
    bob: UserClient,
    trusted: httpx.AsyncClient,
    start_worker: Callable[..., Awaitable[Any]],
    start_dispatcher: Callable[..., Any],
    nats_url: str,
) -> None:
    start_dispatcher()
    receiver = Receiver()
    await receiver.start()
    try:
        hook = await trusted.post(f"{ROOT}/bob/hook", json={"url": receiver.url(), "events": ["job.succeeded"]})
        assert hook.status_code == 201 and hook.json()["Secret"].startswith("whsec_")
        hook_id = hook.json()["ID"]
        assert [h["ID"] for h in (await trusted.get(f"{ROOT}/bob/hook")).json()] == [hook_id]
        assert (await trusted.get(f"{ROOT}/bob/hook/{hook_id}")).json()["URL"] == receiver.url()
        assert (await bob.get(f"/v1/hooks/{hook_id}")).json()["owner"] == bob.user_id  # a Conveyor hook of bob's

        await start_worker(name="isula-builder")
        created = await trusted.post(f"{ROOT}/bob/task", files={"file": ("scripts.sh", SCRIPT)})
        assert created.status_code == 200
        task = created.json()
        assert isinstance(task, int)
        done = await _status(trusted, task, "finish")
        assert done["UserName"] == "bob" and done["Scripts"] == SCRIPT.decode() and done["OutputFile"] == ""
        assert done["OutputURL"].endswith(f"{ROOT}/bob/task/{task}/files/")
        [got] = await receiver.wait_for(lambda r: len(r) >= 1)
        got.verify(hook.json()["Secret"])
        assert got.json()["type"] == "job.succeeded"

        listing = await trusted.get(f"{ROOT}/bob/task/{task}/files")
        assert "output.txt" in listing.text and "data/file.txt" in listing.text
        output = await trusted.get(f"{ROOT}/bob/task/{task}/files/output.txt")
        assert output.content == b"this is a generate file\n" and output.headers["etag"]
        assert (
            await trusted.get(f"{ROOT}/bob/task/{task}/output.txt")
        ).content == output.content  # the document's form
        part = await trusted.get(f"{ROOT}/bob/task/{task}/files/output.txt", headers={"Range": "bytes=5-6"})
        assert part.status_code == 206 and part.content == b"is" and part.headers["content-range"] == "bytes 5-6/24"
        cached = await trusted.get(
            f"{ROOT}/bob/task/{task}/files/output.txt", headers={"If-None-Match": output.headers["etag"]}
        )
        assert cached.status_code == 304
        nested = await trusted.get(f"{ROOT}/bob/task/{task}/files/data/file.txt")
        assert nested.content == b"this is int data\n"
        for attempt in ("../output.txt", "%2e%2e/output.txt", "..%2Foutput.txt", "%252e%252e%252foutput.txt",
                        "/etc/passwd", "%2Fetc%2Fpasswd", "data/../../x", "..%5coutput.txt"):  # fmt: skip
            status = await _raw_status(trusted, f"{ROOT}/bob/task/{task}/files/{attempt}")
            assert status in (400, 404), attempt
            assert status == 400 or "%25" not in attempt, attempt

        # Re-run, then edit and re-run: the output follows the new upload.
        [first_run] = (await bob.get("/v1/jobs", params={"tag": "isula"})).json()["items"]
        job_id = first_run["id"]
        assert (await trusted.put(f"{ROOT}/bob/task/{task}")).status_code == 202
        second_run = await wait_until(lambda: _ran_again(bob, job_id, first_run["finished_at"]), 20)
        edited = await trusted.put(f"{ROOT}/bob/task/{task}", files={"file": ("b.sh", b"echo edited > output.txt\n")})
        assert edited.status_code == 202
        await wait_until(lambda: _ran_again(bob, job_id, second_run["finished_at"]), 20)
        assert (await trusted.get(f"{ROOT}/bob/task/{task}/files/output.txt")).content == b"edited\n"
        assert [t["ID"] for t in (await trusted.get(f"{ROOT}/bob/task")).json()] == [task]

        assert not await _output_gone(nats_url, job_id)
        assert (await trusted.delete(f"{ROOT}/bob/task/{task}")).json() == "success to remove task"
        assert (await trusted.get(f"{ROOT}/bob/task/{task}")).status_code == 404
        assert (await trusted.get(f"{ROOT}/bob/task/{task}/files/output.txt")).status_code == 404
        assert (await trusted.delete(f"{ROOT}/bob/task/{task}")).status_code == 404
        assert (await api.get(f"/v1/jobs/{job_id}/artifacts")).status_code == 404
        await wait_until(lambda: _output_gone(nats_url, job_id), 10)  # the collector deletes the files
        assert (await trusted.delete(f"{ROOT}/bob/hook/{hook_id}")).status_code == 200
        assert (await trusted.get(f"{ROOT}/bob/hook")).json() == []
    finally:
        await receiver.stop()


async def _output_gone(nats_url: str, job_id: str) -> bool:
    nc = await nats.connect(nats_url)
    try:
        bucket = await nc.jetstream().object_store(ARTIFACTS_BUCKET)
        names = {info.name for info in await bucket.list(ignore_deletes=True)}
    except ObjectNotFoundError:  # "no objects": the bucket is empty
        names = set()
    finally:
        await nc.close()
    return not any(name.startswith(f"{job_id}/") for name in names)


async def _ran_again(client: httpx.AsyncClient, job_id: str, finished_at: str) -> dict[str, Any] | None:
    """The job, once it succeeded again after the run that finished at ``finished_at``."""
    job: dict[str, Any] = (await client.get(f"/v1/jobs/{job_id}")).json()
    return job if job["state"] == "succeeded" and job["finished_at"] != finished_at else None


async def test_callers_act_only_for_themselves_and_bad_input_stores_nothing(
    api: httpx.AsyncClient, bob: UserClient, trusted: httpx.AsyncClient
) -> None:
    upload = {"file": ("s.sh", b"true\n")}
    # The trusted network acts as bob, never as anyone else; a token acts as its own user.
    assert (await trusted.get(f"{ROOT}/admin/task")).status_code == 404
    assert (await bob.get(f"{ROOT}/admin/task")).status_code == 404
    assert (await bob.get(f"{ROOT}/nobody/task")).status_code == 404
    bad_token = await trusted.get(f"{ROOT}/bob/task", headers={"Authorization": "Bearer cvy_wrong"})
    assert bad_token.status_code == 401
    # An admin may act for bob: the task is bob's.
    by_admin = await api.post(f"{ROOT}/bob/task", json={"Scripts": "echo hi > out.txt\n"})
    assert by_admin.status_code == 200
    task = by_admin.json()
    assert (await bob.get(f"{ROOT}/bob/task/{task}")).json()["UserName"] == "bob"
    assert (await api.get(f"{ROOT}/admin/task/{task}")).status_code == 404  # not the admin's own task
    jobs_before = (await api.get("/v1/jobs")).json()["items"]
    for request in (
        trusted.post(f"{ROOT}/bob/task"),
        trusted.post(f"{ROOT}/bob/task", files={"other": ("s.sh", b"true")}),
        trusted.post(f"{ROOT}/bob/task", files={"file": ("s.sh", b"\xff\xfe")}),
        trusted.post(f"{ROOT}/bob/task", files={"file": ("s.sh", b"  \n")}),
        trusted.post(f"{ROOT}/bob/task?output=../../etc/passwd", files=upload),
        trusted.post(f"{ROOT}/bob/task", json={"Scripts": "true", "Unknown": 1}),
        trusted.post(f"{ROOT}/bob/task", content=b"{not json"),
        trusted.post(f"{ROOT}/bob/hook", json={"url": "not a url"}),
        trusted.get(f"{ROOT}/bob/task/12x"),
    ):
        answer = await request
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith("text/plain") and answer.text
    assert (await trusted.get(f"{ROOT}/bob/task/999999")).status_code == 404
    unknown = await trusted.get(f"{ROOT}/bob/nothing")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/plain")
    assert (await api.get("/v1/jobs")).json()["items"] == jobs_before
    assert (await trusted.get(f"{ROOT}/bob/hook")).json() == []
    # With ?output=, the upload is the configuration and only the named file is the output.
    configured = await trusted.post(f"{ROOT}/bob/task?output=bob-0.0.1.iso", files=upload)
    doc = (await trusted.get(f"{ROOT}/bob/task/{configured.json()}")).json()
    assert doc["OutputFile"] == "bob-0.0.1.iso" and doc["ConfigFile"] == "true\n" and doc["Scripts"] == ""
