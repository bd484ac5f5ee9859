"""`conveyor dev` (what `make run` starts) runs a local worker: a job submitted with the CLI runs on it."""

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import nats.errors
import pytest
from nats.aio.client import Client as NatsClient

from conveyor_devstack import free_port, is_port_free

pytestmark = pytest.mark.integration


def _free_run(count: int) -> int:
    """A port P with P .. P+count-1 all free (the health ports of the stack's services)."""
    for _ in range(100):
        base = free_port()
        if base + count <= 65535 and all(is_port_free("127.0.0.1", base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


async def _connects(url: str) -> bool:
    client = NatsClient()
    try:
        await client.connect(url, allow_reconnect=False, connect_timeout=2)
    except (nats.errors.Error, OSError):
        return False
    finally:
        await client.close()
    return True


def _get(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    for _ in range(50):  # the identity projection takes the new token within a second
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                body: dict[str, Any] = json.loads(response.read())
                return body
        except urllib.error.HTTPError as exc:
            if exc.code != 401:
                raise
        time.sleep(0.1)
    raise AssertionError(f"{url} kept answering 401")


def test_the_dev_stack_runs_a_worker_that_runs_a_submitted_job() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="conveyor-dev-worker-", dir="/tmp"))
    data_dir.chmod(0o755)  # PostgreSQL runs as the postgres user when we are root
    api, nats_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    argv = [
        sys.executable, "-m", "conveyor_cli", "dev", "--data-dir", str(data_dir), "--api-port", str(api),
        "--nats-port", str(nats_port), "--pg-port", str(free_port()), "--health-port-base", str(_free_run(4)),
        "--compat-ports", f"coalition={free_port()}",  # not 19211: another stack on this machine may hold it
    ]  # fmt: skip
    stack = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert stack.stdout is not None
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = stack.stdout.readline()
            lines.append(line)
            if "admin API token was created" in line or not line:
                break
        assert "admin API token was created" in lines[-1], "".join(lines)
        token = stack.stdout.readline().strip()  # printed once, on the line after
        submitted = subprocess.run(
            [sys.executable, "-m", "conveyor_cli", "submit", "--url", f"http://127.0.0.1:{api}", "--follow", "--",
             "echo", "hello from the local worker"],
            env={**env, "CONVEYOR_CONFIG": str(data_dir / "none.toml"), "CONVEYOR_TOKEN": token},
            capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert submitted.returncode == 0, submitted.stderr
        assert submitted.stdout == "hello from the local worker\n"
        # What a job sees of the machine holds no operator power (issue 13): not the admin token
        # (or any token of a user), nor the URLs of the database and NATS.
        printed = subprocess.run(
            [sys.executable, "-m", "conveyor_cli", "submit", "--url", f"http://127.0.0.1:{api}", "--follow", "--",
             "env"],
            env={**env, "CONVEYOR_CONFIG": str(data_dir / "none.toml"), "CONVEYOR_TOKEN": token},
            capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert printed.returncode == 0, printed.stderr
        job_env = dict(line.split("=", 1) for line in printed.stdout.splitlines() if "=" in line)
        assert job_env["CONVEYOR_URL"] == f"http://127.0.0.1:{api}"
        assert token not in printed.stdout and "cvy_" not in printed.stdout
        assert "postgresql://" not in printed.stdout and "nats://" not in printed.stdout
        assert not {"CONVEYOR_DATABASE_URL", "CONVEYOR_NATS_URL"} & set(job_env)
        # What it holds instead, its run token, submits a follow-up of it with the CLI as is.
        nested = subprocess.run(
            [sys.executable, "-m", "conveyor_cli", "submit", "--url", f"http://127.0.0.1:{api}", "--follow", "--json",
             "--", f"{sys.executable} -m conveyor_cli submit --json -- echo child"],
            env={**env, "CONVEYOR_CONFIG": str(data_dir / "none.toml"), "CONVEYOR_TOKEN": token},
            capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert nested.returncode == 0, nested.stderr
        parent_id = json.loads(nested.stdout)["id"]
        assert re.search(rf'"parent_id":\s*"{parent_id}"', nested.stderr), nested.stderr
        credentials = data_dir / "worker" / "credentials.json"
        assert credentials.stat().st_mode & 0o077 == 0
        # NATS is not open (issue 19): an anonymous client is refused; the operator's CLI finds
        # its credentials in the data dir, and its token works.
        nats_url = f"nats://127.0.0.1:{nats_port}"
        assert not asyncio.run(_connects(nats_url))
        assert (data_dir / "nats-users.json").stat().st_mode & 0o077 == 0
        issued = subprocess.run(
            [sys.executable, "-m", "conveyor_cli", "admin", "create-token", "--nats-url", nats_url,
             "--data-dir", str(data_dir)],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert issued.returncode == 0, issued.stderr
        me = _get(f"http://127.0.0.1:{api}/v1/me", issued.stdout.strip())
        assert me["is_admin"] is True, me
    finally:
        stack.send_signal(signal.SIGINT)
        try:
            stack.communicate(timeout=30)  # reads what is left and closes the pipe
        except subprocess.TimeoutExpired:
            stack.kill()
            stack.communicate()
        shutil.rmtree(data_dir, ignore_errors=True)
    assert stack.returncode == 0
