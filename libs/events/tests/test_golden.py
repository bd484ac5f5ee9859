"""Every tag ever published has a sample here, and every sample decodes forever (CONVENTIONS §3)."""

import json
from pathlib import Path
from typing import get_args

import msgspec
import pytest

from conveyor_events import (
    HookEvent,
    JobEvent,
    ProgressEvent,
    ProjectEvent,
    UserEvent,
    WorkerEvent,
    access_subject,
    decode_event,
    decode_progress_event,
    encode_event,
    hook_subject,
    job_subject,
    project_subject,
    user_subject,
    worker_subject,
)

GOLDEN = Path(__file__).parent / "golden"
SAMPLES = sorted(GOLDEN.glob("*.json"))


def _tag(cls: type) -> str:
    """The wire tag of an event class."""
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType), cls
    return str(info.tag)


def _tags_of(union: object) -> set[str]:
    return {_tag(cls) for cls in get_args(union)}


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_golden_sample_decodes_and_round_trips(path: Path) -> None:
    raw = path.read_bytes()
    doc = json.loads(raw)
    # progress has its own aggregate and decoder, not part of Event
    is_progress = doc["type"].startswith("progress.")
    event = decode_progress_event(raw) if is_progress else decode_event(_subject_of(doc), raw)
    assert event.event_id == doc["event_id"]
    # Re-encoding keeps every field the sample had (defaults fill the rest).
    again = json.loads(encode_event(event))
    for key, value in doc.items():
        if key == "occurred_at":
            continue
        assert _contains(again[key], value), key


def _subject_of(doc: dict[str, str]) -> str:
    aggregate = doc["type"].split(".", 1)[0]
    if aggregate == "worker":
        return worker_subject(doc["worker_id"])
    if aggregate == "access":
        return access_subject(doc["job_id"])
    if aggregate == "project":
        return project_subject(doc["project_id"])
    if aggregate == "user":
        return user_subject(doc["user_id"])
    if aggregate == "hook":
        return hook_subject(doc["hook_id"])
    return job_subject(doc["job_id"])


def _contains(actual: object, expected: object) -> bool:
    """``expected`` with defaults added may have more keys, never different values."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(k in actual and _contains(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(_contains(a, e) for a, e in zip(actual, expected, strict=True))
    return actual == expected


def test_every_tag_has_a_golden_sample() -> None:
    sampled = {json.loads(p.read_bytes())["type"] for p in SAMPLES}
    assert (
        _tags_of(JobEvent)
        | _tags_of(WorkerEvent)
        | _tags_of(UserEvent)
        | _tags_of(ProjectEvent)
        | _tags_of(HookEvent)
        | {"access.set", "progress.reported"}
        <= sampled
    )
    assert _tag(ProgressEvent) == "progress.reported"
