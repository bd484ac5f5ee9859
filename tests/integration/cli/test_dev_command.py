"""`conveyor dev` refuses taken ports before starting anything."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_taken_api_port_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]

        result = subprocess.run(
            [sys.executable, "-m", "conveyor_cli", "dev", "--api-port", str(port), "--data-dir", str(tmp_path),
             "--compat-ports", "none"],  # only the taken port is reported, whatever else runs here
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"port {port}" in result.stderr
    assert "--api-port or CONVEYOR_API_PORT" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "nats").exists()  # nothing was started
