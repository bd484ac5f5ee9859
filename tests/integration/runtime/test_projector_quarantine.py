"""A projector survives events it cannot apply (issue 13): the batch is retried event by event,
the good events are applied, the poison one is sanitised or skipped, recorded in the quarantine
table, counted, and the checkpoint moves past it. Outages are still retried, never quarantined."""

from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec
from nats.js import JetStreamContext

from conveyor_events import EVENTS_FILTER, EVENTS_STREAM
from conveyor_runtime import (
    CHECKPOINT_MIGRATION,
    DbConnection,
    Projector,
    StreamEvent,
    apply_migrations,
    quarantine_migration,
)
from conveyor_runtime.metrics import PROJECTOR_QUARANTINED

SCHEMA = "quarantine_test"
MIGRATIONS = [
    CHECKPOINT_MIGRATION,
    (2, "CREATE TABLE {schema}.notes (seq bigint PRIMARY KEY, note text NOT NULL, size integer NOT NULL)"),
    quarantine_migration(3),
]


class Note(msgspec.Struct):
    type: str
    note: str
    size: int = 0
    job_id: str | None = None


async def store_notes(conn: DbConnection, batch: Sequence[StreamEvent]) -> None:
    rows = [(e.seq, n.note, n.size) for e in batch for n in [msgspec.json.decode(e.data, type=Note)]]
    await conn.executemany(f"INSERT INTO {SCHEMA}.notes (seq, note, size) VALUES ($1, $2, $3)", rows)


async def publish(js: JetStreamContext, *notes: Note) -> list[int]:
    return [(await js.publish(f"conveyor.ev.job.j{i}", msgspec.json.encode(n))).seq for i, n in enumerate(notes)]


def counted(outcome: str) -> float:
    value: float = PROJECTOR_QUARANTINED.labels("notes", outcome)._value.get()
    return value


async def test_the_poison_events_of_a_batch_are_quarantined_and_the_rest_applied(
    js: JetStreamContext, pool: "asyncpg.Pool[Any]"
) -> None:
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    before = counted("sanitised"), counted("skipped")
    seqs = await publish(
        js,
        Note(type="note.made", note="one"),
        Note(type="note.made", note="t\x00wo", job_id="j-2"),  # text PostgreSQL refuses
        Note(type="note.made", note="three", size=2**40),  # beyond the int4 column
        Note(type="note.made", note="four"),
    )
    p = Projector(
        name="notes", schema=SCHEMA, js=js, pool=pool, stream=EVENTS_STREAM, filter_subject=EVENTS_FILTER,
        handler=store_notes, fetch_timeout_s=0.2,
    )  # fmt: skip
    await p.prepare()
    await p.catch_up(seqs[-1], timeout_s=30)
    await p.close()

    notes = [tuple(r.values()) for r in await pool.fetch(f"SELECT seq, note FROM {SCHEMA}.notes ORDER BY seq")]
    assert notes == [(seqs[0], "one"), (seqs[1], "t\ufffdwo"), (seqs[3], "four")]
    rows = await pool.fetch(f"SELECT * FROM {SCHEMA}.quarantine ORDER BY stream_seq")
    assert [
        (r["consumer"], r["stream_seq"], r["subject"], r["event_type"], r["job_id"], r["outcome"]) for r in rows
    ] == [
        ("notes", seqs[1], "conveyor.ev.job.j1", "note.made", "j-2", "sanitised"),
        ("notes", seqs[2], "conveyor.ev.job.j2", "note.made", None, "skipped"),
    ]
    assert "NUL" in rows[0]["error"] or "0x00" in rows[0]["error"] or "u0000" in rows[0]["error"]
    assert "int32" in rows[1]["error"]
    assert await p.read_checkpoint() == seqs[-1]
    assert (counted("sanitised"), counted("skipped")) == (before[0] + 1, before[1] + 1)
