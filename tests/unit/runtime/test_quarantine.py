"""Telling an event's poison from an outage, and sanitising its text (issue 13)."""

import asyncpg
import msgspec
import pytest

from conveyor_events import AppendError
from conveyor_runtime import sanitised
from conveyor_runtime.quarantine import describe, is_poison


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.UntranslatableCharacterError("\\u0000 cannot be converted to text"),
        asyncpg.CharacterNotInRepertoireError("invalid byte sequence for encoding UTF8: 0x00"),
        asyncpg.NumericValueOutOfRangeError("integer out of range"),
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.ProgramLimitExceededError("index row size exceeds maximum"),
        OverflowError("value out of int32 range"),
        ValueError("bad"),
        KeyError("job"),
        msgspec.ValidationError("Expected `str`"),
    ],
)
def test_errors_an_event_causes_are_poison(exc: BaseException) -> None:
    assert is_poison(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.AdminShutdownError("terminating connection"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.SerializationError("could not serialize"),
        asyncpg.DeadlockDetectedError("deadlock"),
        asyncpg.InterfaceError("another operation is in progress"),
        asyncpg.UndefinedTableError("relation does not exist"),
        ConnectionResetError(),
        TimeoutError(),
        AppendError("no answer"),
    ],
)
def test_outages_and_missing_tables_are_not_poison(exc: BaseException) -> None:
    assert not is_poison(exc)


def test_sanitised_replaces_nul_in_strings_and_keys_only() -> None:
    data = msgspec.json.encode({"type": "job.submitted", "title": "a\x00b", "env": {"K\x00": "v"}, "n": 1})
    clean = msgspec.json.decode(sanitised(data) or b"")
    assert clean == {"type": "job.submitted", "title": "a\ufffdb", "env": {"K\ufffd": "v"}, "n": 1}


def test_sanitised_leaves_alone_what_has_no_nul() -> None:
    assert sanitised(b'{"title":"plain"}') is None
    assert sanitised(b'{"title":"\\\\u0000 is written, not a NUL"}') is None
    assert sanitised(b"\\u0000 not json") is None


def test_describe_reads_type_and_job_id_where_there_are_some() -> None:
    assert describe(b'{"type":"job.queued","job_id":"j1","x":1}') == ("job.queued", "j1")
    assert describe(b'["array", "like"]') == ("", None)
    assert describe(b'{"type":"a\\u0000"}') == ("a\ufffd", None)
