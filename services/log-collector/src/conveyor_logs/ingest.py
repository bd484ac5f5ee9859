"""Where each received chunk's bytes go: dedupe by offset, the size cap and its marker (pure)."""

from typing import Final

import msgspec


class LogState(msgspec.Struct, frozen=True):
    """One attempt's log: worker bytes received, bytes stored (what readers see), and whether
    output was cut at the cap."""

    received: int = 0
    stored: int = 0
    truncated: bool = False


class Piece(msgspec.Struct, frozen=True):
    """Bytes to store at ``offset`` in the stored log."""

    offset: int
    data: bytes


CUT_MARKER: Final = (
    "\n[conveyor: output cut here: this log reached its limit of {cap} bytes; later output was dropped]\n"
)
GAP_MARKER: Final = "\n[conveyor: {missing} bytes of output are missing here (expired before they were collected)]\n"


def plan_append(state: LogState, offset: int, data: bytes, cap: int) -> tuple[LogState, list[Piece], bytes]:
    """Apply a chunk of worker bytes at ``offset`` to a log.

    Returns the new state, the pieces to store, and the bytes that are new (for progress parsing;
    they may exceed what is stored once the cap is reached). Bytes already received are skipped,
    so a redelivered or retried chunk changes nothing. A chunk past the received end (its
    predecessors expired from the stream before collection) is stored after an explicit marker.
    """
    end = offset + len(data)
    if end <= state.received:
        return state, [], b""
    pieces: list[Piece] = []
    stored = state.stored
    truncated = state.truncated
    if offset > state.received:
        new = data
        marker = GAP_MARKER.format(missing=offset - state.received).encode()
    else:
        new = data[state.received - offset :]
        marker = b""
    if not truncated:
        body = marker + new
        room = cap - stored
        if len(body) <= room:
            pieces.append(Piece(stored, body))
            stored += len(body)
        else:
            cut = body[: max(0, room)] + CUT_MARKER.format(cap=cap).encode()
            pieces.append(Piece(stored, cut))
            stored += len(cut)
            truncated = True
    return LogState(received=end, stored=stored, truncated=truncated), pieces, new
