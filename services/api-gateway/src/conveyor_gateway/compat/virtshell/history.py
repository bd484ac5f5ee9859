"""A task's reported statuses, kept as lines in its Conveyor job's log (pure encoding).

Each ``PUT /tasks/<uuid>`` appends one line ``virtshell-status {"status":…,"at":…,"log":…}`` to the
job's log, so the history is the job's own output (readable with ``conveyor logs``) and no store
of the façade's. Other lines (a native worker's output) are skipped when reading it back.
"""

from datetime import datetime
from typing import Final

import msgspec

from conveyor_events import UtcDatetime

MARKER: Final = b"virtshell-status "


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """One status a client reported, with its log text."""

    status: str
    at: UtcDatetime
    log: str = ""


_decoder: Final = msgspec.json.Decoder(Report)
_encoder: Final = msgspec.json.Encoder()


def encode_report(status: str, log: str, at: datetime) -> bytes:
    """The log line for one report (the JSON escapes newlines: one report is one line)."""
    return MARKER + _encoder.encode(Report(status=status, at=at, log=log)) + b"\n"


def parse_reports(text: bytes) -> list[Report]:
    """The reports in a job's log, oldest first; other lines, and torn ones, are skipped."""
    found: list[Report] = []
    for line in text.split(b"\n"):
        if line.startswith(MARKER):
            try:
                found.append(_decoder.decode(line[len(MARKER) :]))
            except msgspec.DecodeError:
                continue
    return found
