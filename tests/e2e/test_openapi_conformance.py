"""Schemathesis against the OpenAPI document: no 5xx, no undocumented status, content type or
header, response bodies as documented, and stateful sequences through the document's links.

The stack runs in this test's loop (gateway, scheduler and log collector on the real NATS and
PostgreSQL of the fixtures); ``st run`` runs as a subprocess against it, so its blocking HTTP
client never stalls the loop that serves it. Its settings live in ``schemathesis.toml`` beside
this file, each with a comment; the ones this module sets are commented here. To keep the
output and the JUnit report of a run, set ``CONVEYOR_ST_OUTPUT`` (a file) and
``CONVEYOR_ST_REPORTS`` (a directory); by default both go to the test's temporary directory.
"""

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

CONFIG = Path(__file__).with_name("schemathesis.toml")
# The whole run is bounded by the example counts in the config; this is the hard stop that turns a
# hang into a failure rather than a stuck `make test`.
RUN_TIMEOUT_S = 900


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
@pytest.mark.usefixtures("log_collector")
async def test_the_api_conforms_to_its_openapi_document(
    api: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    # A registered worker, so that the worker-facing operations (HTTP Basic) get past
    # authentication and are exercised, not only refused.
    registered = await api.post("/v1/workers", json={"name": "schemathesis", "labels": ["schemathesis"]})
    assert registered.status_code == 201, registered.text
    secret = registered.json()
    env = {
        **os.environ,
        "CONVEYOR_ST_TOKEN": admin_token,
        "CONVEYOR_ST_WORKER_ID": secret["id"],
        "CONVEYOR_ST_WORKER_SECRET": secret["secret"],
    }
    base = str(api.base_url).rstrip("/")
    report = tmp_path / "report"
    argv = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base}/openapi.json",
        "--url",
        base,
        # A human reads the JUnit report when this fails: every failing case with a curl line.
        "--report",
        "junit",
        "--report-dir",
        os.environ.get("CONVEYOR_ST_REPORTS", str(report)),
        "--no-color",
    ]
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    text = out.decode(errors="replace")
    # The whole report, for a human when this fails (pytest shows only the assertion's tail).
    await asyncio.to_thread(Path(os.environ.get("CONVEYOR_ST_OUTPUT", tmp_path / "st.txt")).write_text, text)
    assert proc.returncode == 0, text[-20000:]
