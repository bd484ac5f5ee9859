"""Subject builders and id helpers."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor_events import (
    artifact_subject,
    dedupe_job_id,
    job_subject,
    log_kind,
    log_subject,
    new_uuid7,
    parse_uuid,
    position_subject,
    progress_subject,
    worker_log_subject,
)
from conveyor_events.ids import _canonical
from conveyor_events.subjects import aggregate_of, event_subject


def test_job_subject_and_its_inverse() -> None:
    subject = job_subject("0190c5a8-7b1e-7000-8000-000000000001")
    assert subject == "conveyor.ev.job.0190c5a8-7b1e-7000-8000-000000000001"
    assert aggregate_of(subject) == ("job", "0190c5a8-7b1e-7000-8000-000000000001")


@pytest.mark.parametrize("bad", ["", "a.b", "a*", "a>", "a b"])
def test_ids_that_would_break_the_hierarchy_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        job_subject(bad)
    with pytest.raises(ValueError, match="invalid"):
        log_subject(bad, "lease")


def test_unknown_aggregate_and_foreign_subjects_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown aggregate"):
        event_subject("spaceship", "1")
    with pytest.raises(ValueError, match="not an event subject"):
        aggregate_of("other.ev.job.1")


def test_other_subjects() -> None:
    assert log_subject("j1", "l1") == "conveyor.log.job.j1.l1._"
    assert log_subject("j1", "l1", "build.x") == "conveyor.log.job.j1.l1.t6275696c642e78"
    assert log_kind(log_subject("j1", "l1")) == "job"
    assert log_kind(worker_log_subject("w1")) == "worker"
    assert log_kind(artifact_subject("j1")) == "artifact"
    assert log_kind("conveyor.log.other.x") == ""
    assert progress_subject("j1") == "conveyor.ev.progress.j1"
    assert position_subject("scheduler") == "conveyor.pos.scheduler"


def test_uuid7_layout_and_order() -> None:
    first = uuid.UUID(new_uuid7(now_ms=1_700_000_000_000))
    second = uuid.UUID(new_uuid7(now_ms=1_700_000_000_001))
    assert first.version == 7
    assert first.variant == uuid.RFC_4122
    assert first.int >> 80 == 1_700_000_000_000
    assert str(first) < str(second)
    assert len({new_uuid7() for _ in range(1000)}) == 1000


@given(st.integers(min_value=0, max_value=(1 << 128) - 1))
def test_canonical_formatting_is_the_uuid_modules(value: int) -> None:
    assert _canonical(value) == str(uuid.UUID(int=value))
    assert parse_uuid(_canonical(value)) == str(uuid.UUID(int=value))
    assert parse_uuid(_canonical(value).upper()) == str(uuid.UUID(int=value))


def test_dedupe_ids_are_stable_and_scoped_by_project() -> None:
    assert dedupe_job_id("p", "k") == dedupe_job_id("p", "k")
    assert dedupe_job_id("p", "k") != dedupe_job_id("q", "k")
    # The separator keeps ("ab", "c") and ("a", "bc") apart.
    assert dedupe_job_id("ab", "c") != dedupe_job_id("a", "bc")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0190C5A8-7B1E-7000-8000-000000000001", "0190c5a8-7b1e-7000-8000-000000000001"),
        ("nope", None),
        ("x" * 100, None),
        ("", None),
    ],
)
def test_parse_uuid(text: str, expected: str | None) -> None:
    assert parse_uuid(text) == expected


def test_dedupe_ids_are_scoped_by_owner() -> None:
    assert dedupe_job_id("p", "k", "alice") == dedupe_job_id("p", "k", "alice")
    assert dedupe_job_id("p", "k", "alice") != dedupe_job_id("p", "k", "bob")
    # The owner comes last and holds no NUL, so no key of another owner reaches the same name.
    assert dedupe_job_id("p", "k\x00alice", "bob") != dedupe_job_id("p", "k", "alice")
    # Without an owner the id is the one keys had before they were per owner.
    assert dedupe_job_id("p", "k", "") == dedupe_job_id("p", "k")
