"""What a real worker process sends back: output in order and complete, task states, artifacts."""

import asyncio
import hashlib
import sys
from typing import Any

import httpx
import pytest

from .test_worker_agent import StartWorker, submit, wait_for_state

pytestmark = pytest.mark.usefixtures("log_collector")
WRITE_BLOB = "import sys; sys.stdout.buffer.write(bytes(range(256)) * 4096 + b'tail')"


async def read_log(api: httpx.AsyncClient, job_id: str, size: int, task: str | None = None) -> bytes:
    body = b""
    for _ in range(100):
        response = await api.get(f"/v1/jobs/{job_id}/log", params={"task": task} if task else {})
        body = response.content
        if len(body) >= size:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"the log has {len(body)} bytes, wanted {size}: {body[-300:]!r}")


async def test_stdout_and_stderr_come_back_in_order_and_complete(
    api: httpx.AsyncClient, start_worker: StartWorker
) -> None:
    await start_worker()
    # 20,000 numbered lines, alternately on stdout and stderr, flushed in bursts, about 300 kB.
    script = (
        "import sys\n"
        "for i in range(20000):\n"
        "    stream = sys.stdout if i % 2 else sys.stderr\n"
        "    stream.write(f'line {i:05d} ' + 'x' * 3 + '\\n')\n"
        "    stream.flush()\n"
    )
    job_id = await submit(api, command=f'{sys.executable} -c "{script}"')
    await wait_for_state(api, job_id, "succeeded")
    expected = "".join(f"line {i:05d} xxx\n" for i in range(20000)).encode()
    assert await read_log(api, job_id, len(expected)) == expected


async def test_a_manifest_job_reports_each_task_and_its_artifacts(
    api: httpx.AsyncClient, start_worker: StartWorker
) -> None:
    await start_worker()
    payload = bytes(range(256)) * 4096 + b"tail"  # 1 MiB of every byte value
    manifest = {
        "environment": {"GREETING": "hello"},
        "tasks": [
            {"name": "setup", "script": 'mkdir -p out && echo "$GREETING from setup"'},
            {"name": "build", "script": f'{sys.executable} -c "{WRITE_BLOB}" > out/blob.bin; echo built'},
            {"name": "finish", "script": "echo done; complete-build; echo still here"},
            {"name": "never", "script": "echo must not run; exit 1"},
        ],
        "artifacts": ["out/*.bin"],
    }
    job_id = await submit(api, manifest=manifest)
    job = await wait_for_state(api, job_id, "succeeded", "failed")
    assert job["state"] == "succeeded", job
    states = {task["name"]: (task["state"], task["exit_code"]) for task in job["tasks"]}
    assert states == {
        "setup": ("succeeded", 0),
        "build": ("succeeded", 0),
        "finish": ("succeeded", 0),
        "never": ("skipped", None),
    }
    assert await read_log(api, job_id, 1, task="setup") == b"hello from setup\n"
    whole = await read_log(api, job_id, 1)
    assert b"hello from setup\n" in whole and whole.index(b"built") < whole.index(b"done")
    assert b"must not run" not in whole
    listed: list[dict[str, Any]] = []
    for _ in range(50):
        listed = (await api.get(f"/v1/jobs/{job_id}/artifacts")).json()["items"]
        if listed:
            break
        await asyncio.sleep(0.1)
    assert [(item["path"], item["size"]) for item in listed] == [("out/blob.bin", len(payload))]
    downloaded = await api.get(f"/v1/jobs/{job_id}/artifacts/out/blob.bin")
    assert hashlib.sha256(downloaded.content).hexdigest() == hashlib.sha256(payload).hexdigest()


async def test_a_failing_task_fails_the_job_and_skips_the_rest(
    api: httpx.AsyncClient, start_worker: StartWorker
) -> None:
    await start_worker()
    manifest = {"tasks": [{"name": "a", "script": "false; echo unreachable"}, {"name": "b", "script": "echo b"}]}
    job_id = await submit(api, manifest=manifest, max_retries=0)
    job = await wait_for_state(api, job_id, "failed")
    assert {t["name"]: t["state"] for t in job["tasks"]} == {"a": "failed", "b": "skipped"}
    assert job["exit_code"] == 1


async def test_a_fast_writer_is_slowed_down_rather_than_losing_output(
    api: httpx.AsyncClient, start_worker: StartWorker
) -> None:
    await start_worker("--output-buffer", "65536")
    # 4 MB as fast as the pipe takes it: 60 times the worker's buffer.
    job_id = await submit(
        api, command="yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ | head -c 4000000"
    )
    await wait_for_state(api, job_id, "succeeded")
    log = await read_log(api, job_id, 4_000_000)
    assert log == (b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n" * 70_000)[:4_000_000]


async def test_a_follow_up_the_project_refuses_fails_the_recipe_job_and_says_why(
    api: httpx.AsyncClient, start_worker: StartWorker, tmp_path: Any
) -> None:
    handler = tmp_path / "handler.py"
    handler.write_text("import json\nprint(json.dumps({'result': 'succeeded', 'jobs': [{'command': 'true'}]}))\n")
    await start_worker("--recipe-handler", f"{sys.executable} {handler}")
    # the worker holds no submit access to "drones" (a name no project claims): refused
    job_id = await submit(api, project="drones", recipe={"n": 1}, max_retries=0)
    assert (await wait_for_state(api, job_id, "failed"))["state"] == "failed"
    log = await read_log(api, job_id, 1)
    for _ in range(50):
        if b"access-requests" in log:
            break
        await asyncio.sleep(0.1)
        log = await read_log(api, job_id, 1)
    assert b"follow-up job refused" in log and b"submit access" in log, log
    children = (await api.get("/v1/jobs", params={"parent": job_id})).json()["items"]
    assert children == []
