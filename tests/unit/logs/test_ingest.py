"""Placing received bytes: dedupe by offset, gaps made explicit, the cap and its marker."""

import random

from hypothesis import given
from hypothesis import strategies as st

from conveyor_logs.ingest import LogState, plan_append


def _apply(chunks: list[tuple[int, bytes]], cap: int) -> tuple[LogState, bytes]:
    state, stored = LogState(), bytearray()
    for offset, data in chunks:
        state, pieces, _ = plan_append(state, offset, data, cap)
        for piece in pieces:
            assert piece.offset == len(stored)
            stored.extend(piece.data)
    assert state.stored == len(stored)
    return state, bytes(stored)


@given(st.binary(min_size=1, max_size=2000), st.lists(st.integers(1, 300), min_size=1, max_size=30), st.randoms())
def test_redelivered_and_overlapping_chunks_store_every_byte_once(
    text: bytes, sizes: list[int], rng: random.Random
) -> None:
    chunks: list[tuple[int, bytes]] = []
    offset = 0
    while offset < len(text):
        size = sizes[len(chunks) % len(sizes)]
        chunks.append((offset, text[offset : offset + size]))
        offset += size
    delivered = []
    for i, chunk in enumerate(chunks):
        delivered.append(chunk)
        if rng.random() < 0.3:  # redelivery of an earlier chunk
            delivered.append(chunks[rng.randrange(0, i + 1)])
    state, stored = _apply(delivered, cap=10**9)
    assert stored == text
    assert state.received == len(text)


def test_the_cap_cuts_with_a_marker_and_later_output_is_dropped() -> None:
    state, stored = _apply([(0, b"a" * 60), (60, b"b" * 60), (120, b"c" * 10)], cap=100)
    assert stored.startswith(b"a" * 60 + b"b" * 40 + b"\n[conveyor: output cut here")
    assert state.truncated
    assert state.received == 130


def test_a_gap_is_marked_not_hidden() -> None:
    _, stored = _apply([(0, b"abc"), (10, b"xyz")], cap=1000)
    assert stored.startswith(b"abc\n[conveyor: 7 bytes of output are missing")
    assert stored.endswith(b"xyz")
