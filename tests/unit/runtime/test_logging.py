"""Logged exceptions never carry the frames' local variables (request bodies, credentials)."""

import io
import json
import sys

import pytest
import structlog

from conveyor_runtime import configure_logging, get_logger


def test_exception_logs_have_no_locals(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("info", json=True)
    try:
        secret = "s3cr3t-token"  # a local variable of the failing frame
        raise ValueError("boom")
    except ValueError:
        get_logger("test").exception("failed", secret_length=len(secret))
    structlog.reset_defaults()
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["event"] == "failed"
    assert line["exception"][0]["exc_type"] == "ValueError"
    assert "s3cr3t-token" not in out.getvalue()
