"""Codec round trip for every event type, built explicitly with hypothesis strategies."""

from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor_events import (
    CommandPayload,
    JobCancelled,
    JobCancelRequested,
    JobQueued,
    JobSubmitted,
    ManifestPayload,
    ManifestTask,
    RecipePayload,
    UnknownEventError,
    decode_event,
    decode_job_event,
    encode_event,
    job_subject,
)

ids = st.uuids().map(str)
text = st.text(max_size=40)
names = st.from_regex(r"[a-z0-9][a-z0-9_.\-]{0,20}", fullmatch=True)
# hypothesis takes naive bounds and attaches the timezone itself
times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
payloads = st.one_of(
    st.builds(
        CommandPayload,
        command=st.text(min_size=1, max_size=50),
        workdir=st.none() | text,
        env=st.dictionaries(names, text, max_size=3),
    ),
    st.builds(
        ManifestPayload,
        tasks=st.lists(st.builds(ManifestTask, name=names, script=text), min_size=1, max_size=3).map(tuple),
        environment=st.dictionaries(names, text, max_size=3),
        artifacts=st.lists(text, max_size=3).map(tuple),
        image=st.none() | names,
    ),
    st.builds(RecipePayload, recipe=json_values.map(lambda v: msgspec.Raw(msgspec.json.encode(v)))),
)
submitted = st.builds(
    JobSubmitted,
    event_id=ids,
    job_id=ids,
    occurred_at=times,
    project=names,
    owner=names,
    payload=payloads,
    title=text,
    note=text,
    tags=st.lists(text, max_size=3).map(tuple),
    labels=st.lists(names, max_size=3).map(tuple),
    priority=st.integers(-1000, 1000),
    parent_id=st.none() | ids,
    depends_on=st.lists(ids, max_size=3).map(tuple),
    max_retries=st.integers(0, 100),
    timeout_s=st.none() | st.integers(1, 86_400),
    lease_s=st.integers(5, 3600),
    dedupe_key=st.none() | text,
    execute=st.booleans(),
    progress_pattern=st.none() | text,
    url=st.none() | text,
    verification=st.integers(1, 16),
)
events = st.one_of(
    submitted,
    st.builds(JobQueued, event_id=ids, job_id=ids, occurred_at=times, reason=text),
    st.builds(JobCancelRequested, event_id=ids, job_id=ids, occurred_at=times, reason=text, requested_by=names),
    st.builds(JobCancelled, event_id=ids, job_id=ids, occurred_at=times, reason=text),
)


@given(events)
def test_every_event_round_trips(event: JobSubmitted | JobQueued | JobCancelRequested | JobCancelled) -> None:
    data = encode_event(event)
    assert decode_event(job_subject(event.job_id), data) == event
    assert decode_job_event(data) == event


def test_unknown_tag_is_a_typed_error_not_a_crash() -> None:
    data = b'{"type":"job.teleported","event_id":"e","job_id":"j","occurred_at":"2026-01-01T00:00:00Z"}'
    with pytest.raises(UnknownEventError):
        decode_event(job_subject("j"), data)


def test_unknown_aggregate_and_garbage_are_typed_errors() -> None:
    with pytest.raises(UnknownEventError):
        decode_event("conveyor.ev.spaceship.1", b"{}")
    with pytest.raises(UnknownEventError):
        decode_event(job_subject("j"), b"not json")


def test_newer_fields_are_accepted_by_older_code() -> None:
    """Forward compatibility: events never forbid unknown fields."""
    data = (
        b'{"type":"job.queued","event_id":"e","job_id":"j","occurred_at":"2026-01-01T00:00:00Z","added_in_v2":{"x":1}}'
    )
    event = decode_job_event(data)
    assert isinstance(event, JobQueued)


def test_naive_datetimes_are_refused() -> None:
    data = b'{"type":"job.queued","event_id":"e","job_id":"j","occurred_at":"2026-01-01T00:00:00"}'
    with pytest.raises(UnknownEventError):
        decode_job_event(data)
