"""What a real worker process sends back: output in order and complete, task states, artifacts."""

import asyncio
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from .logs.sse import sse_messages
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


# Prints a line with the time it was written, then waits (up to 60 s) for the test to open the gate
# file, then prints a second line: the first line must be readable while the job still runs.
PRINT_WAIT_PRINT = (
    "import os, sys, time\n"
    "print(f'first {{time.time():.6f}}', flush=True)\n"
    "end = time.time() + 60\n"
    "while not os.path.exists({gate!r}) and time.time() < end:\n"
    "    time.sleep(0.02)\n"
    "print('second', flush=True)\n"
)
LIVE_BOUND_S = 1.0  # the README promises 200 ms; the bound leaves room for a loaded test machine


def first_line_time(text: bytes) -> float | None:
    for line in text.decode().splitlines():
        if line.startswith("first ") and len(line.split()) == 2:
            return float(line.split()[1])
    return None


async def submit_print_wait_print(api: httpx.AsyncClient, tmp_path: Path) -> tuple[str, Path]:
    """Submit the job that prints, waits for the gate file and prints again: its id and the gate."""
    gate = tmp_path / "gate"
    script = tmp_path / "print_wait_print.py"
    script.write_text(PRINT_WAIT_PRINT.format(gate=str(gate)))
    return await submit(api, command=f"{sys.executable} {script}"), gate


async def test_output_is_readable_while_the_job_runs(
    api: httpx.AsyncClient, start_worker: StartWorker, tmp_path: Path
) -> None:
    await start_worker()
    job_id, gate = await submit_print_wait_print(api, tmp_path)

    async def follow() -> tuple[float, bytes]:
        """The first text the live tail (SSE) gives, and when it came."""
        url = f"/v1/jobs/{job_id}/log/stream"
        async with api.stream("GET", url, headers={"Accept": "text/event-stream"}, timeout=70) as response:
            assert response.status_code == 200
            async for message in sse_messages(response):
                assert message.event != "end", "the job ended before its output reached the tail"
                return time.time(), json.loads(message.data)["text"].encode()
        raise AssertionError("the stream closed without output")

    following = asyncio.create_task(follow())
    polled: tuple[float, bytes] | None = None
    deadline = time.time() + 30
    while time.time() < deadline:
        body = (await api.get(f"/v1/jobs/{job_id}/log")).content
        if first_line_time(body) is not None:
            polled = (time.time(), body)
            break
        await asyncio.sleep(0.01)
    try:
        assert polled is not None, "the first line never reached GET /log while the job ran"
        read_at, body = polled
        assert b"second" not in body and not gate.exists()  # read while the job still waited
        written_at = first_line_time(body)
        assert written_at is not None
        assert read_at - written_at < LIVE_BOUND_S, read_at - written_at
        streamed_at, text = await asyncio.wait_for(following, 10)
        written_at = first_line_time(text)
        assert written_at is not None
        assert streamed_at - written_at < LIVE_BOUND_S, streamed_at - written_at
        assert (await api.get(f"/v1/jobs/{job_id}")).json()["state"] in ("assigned", "running")
    finally:
        gate.touch()
        following.cancel()
    await wait_for_state(api, job_id, "succeeded")
    log = await read_log(api, job_id, 1)
    assert log.endswith(b"\nsecond\n") and log.startswith(b"first ")


# For a follower that takes a while to start: "ready" first, then the timed line once `go` exists.
READY_GO_PRINT_WAIT_PRINT = (
    "import os, time\nprint('ready', flush=True)\nwhile not os.path.exists({go!r}): time.sleep(0.02)\n"
)


async def test_logs_follow_prints_output_while_the_job_runs(
    api: httpx.AsyncClient, start_worker: StartWorker, cli_env: dict[str, str], tmp_path: Path
) -> None:
    await start_worker()
    go, gate = tmp_path / "go", tmp_path / "gate"
    script = tmp_path / "ready_go.py"
    script.write_text(READY_GO_PRINT_WAIT_PRINT.format(go=str(go)) + PRINT_WAIT_PRINT.format(gate=str(gate)))
    job_id = await submit(api, command=f"{sys.executable} {script}")
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "conveyor_cli", "logs", "-f", job_id, env=cli_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert cli.stdout is not None
    stdout = cli.stdout

    async def next_line() -> bytes:
        try:
            return await asyncio.wait_for(stdout.readline(), 30)
        except TimeoutError:
            cli.kill()
            _, err = await cli.communicate()
            raise AssertionError(f"`conveyor logs -f` printed nothing while the job ran: {err.decode()}") from None

    try:
        assert await next_line() == b"ready\n"  # the follower is up and streaming
        go.touch()
        line = await next_line()
        printed_at = time.time()
        written_at = first_line_time(line)
        assert written_at is not None, line
        assert not gate.exists() and printed_at - written_at < LIVE_BOUND_S, printed_at - written_at
    finally:
        go.touch()
        gate.touch()
    out, err = await asyncio.wait_for(cli.communicate(), 30)
    assert (cli.returncode, out) == (0, b"second\n"), err
