"""The supervisor behind `conveyor dev`, with stand-in services from the standard library."""

import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conveyor_cli.dev import DevOptions, ServiceSpec
from conveyor_cli.stack import LocalStack, child_pids
from conveyor_devstack import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def options() -> Iterator[DevOptions]:
    """Yields options on free ports with a data dir that the postgres user can reach (as root)."""
    data_dir = Path(tempfile.mkdtemp(prefix="conveyor-dev-it-", dir="/tmp"))
    data_dir.chmod(0o755)
    yield DevOptions(
        data_dir=data_dir, bind="127.0.0.1", api_port=free_port(), nats_port=free_port(),
        pg_port=free_port(), health_port_base=free_port(),
    )  # fmt: skip
    shutil.rmtree(data_dir, ignore_errors=True)


def test_a_dying_service_stops_the_stack_and_shows_its_log(
    options: DevOptions, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = ServiceSpec(name="broken", module="json.tool", args=("/nonexistent.json",))
    children_before = child_pids()  # the session's own servers, when the whole suite runs

    status = LocalStack(options, services=(broken,)).run()

    err = capsys.readouterr().err
    assert status == 1
    assert "broken exited unexpectedly with status 2" in err
    assert "/nonexistent.json" in err  # the log tail
    assert "Traceback" not in err.split("last 20 lines")[0]
    assert child_pids() == children_before


def test_ctrl_c_stops_a_ready_stack_and_keeps_its_data(
    options: DevOptions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "readyz").write_text("ok")
    port = options.health_port_base
    web = ServiceSpec(
        name="web", module="http.server", args=(str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path))
    )
    children_before = child_pids()
    interrupter = threading.Thread(target=_interrupt_when_ready, args=(f"http://127.0.0.1:{port}/readyz",))
    interrupter.start()

    status = LocalStack(options, services=(web,)).run()
    interrupter.join()

    out = capsys.readouterr().out
    assert status == 0
    assert "Conveyor is running" in out and "Conveyor stopped." in out
    assert "First start: an admin API token was created" in out  # printed once, never a fixed default
    assert re.search(r"^  cvy_[A-Za-z0-9_-]{43}$", out, re.MULTILINE)
    assert (options.data_dir / "postgres" / "PG_VERSION").exists()
    assert (options.data_dir / "nats" / "jetstream").is_dir()
    assert (options.data_dir / "logs" / "web.log").exists()
    assert child_pids() == children_before


def _interrupt_when_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    time.sleep(0.5)  # let the supervisor print its banner
    os.kill(os.getpid(), signal.SIGINT)
