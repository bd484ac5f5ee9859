"""The job document is the scheduler's ``JobState`` as JSON and the gateway's ``JobView`` when read
back: a document with every field set must decode as the view with every value it carries."""

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from conveyor_events import CommandPayload, ManifestPayload, ManifestTask, Payload, RecipePayload
from conveyor_events.job_document import JobDocument, TaskState, Vote
from conveyor_gateway.bodies import JobView
from conveyor_scheduler.decider import JobState

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAYLOADS: dict[str, Payload] = {
    "command": CommandPayload(command="make test", workdir="/src", env={"CI": "1"}),
    "manifest": ManifestPayload(
        tasks=(ManifestTask(name="build", script="make"),),
        environment={"CC": "clang"},
        artifacts=("out/*.tar.gz",),
        image="debian/stable",
    ),
    "recipe": RecipePayload(recipe=msgspec.Raw(b'{"tile":[0,0]}')),
}


def full_state(payload: Payload) -> JobState:
    """A job state in which no field has its default value."""
    return JobState(
        id="0190d7c4-0000-7000-8000-000000000001",
        state="running",
        project="web",
        owner="0190d7c4-0000-7000-8000-0000000000aa",
        title="build",
        note="nightly",
        tags=("nightly",),
        labels=("linux",),
        priority=5,
        payload=payload,
        parent_id="0190d7c4-0000-7000-8000-000000000002",
        depends_on=("0190d7c4-0000-7000-8000-000000000003",),
        max_retries=2,
        timeout_s=600,
        lease_s=30,
        dedupe_key="build-42",
        execute=False,
        progress_pattern=r"(\d+)%",
        url="https://ci.example.com/42",
        verification=2,
        chained_from="0190d7c4-0000-7000-8000-000000000004",
        chain_depth=1,
        paused=True,
        cancel_requested=True,
        deleted=True,
        attempts=3,
        progress=42.5,
        reason="exit code 1",
        lease_id="0190d7c4-0000-7000-8000-0000000000bb",
        worker_id="0190d7c4-0000-7000-8000-0000000000cc",
        retry_at=AT + timedelta(minutes=5),
        started_at=AT + timedelta(minutes=1),
        finished_at=AT + timedelta(minutes=2),
        exit_code=1,
        tasks=(TaskState(name="build", state="running", exit_code=0, updated_at=AT),),
        votes=(Vote(worker_id="0190d7c4-0000-7000-8000-0000000000dd", hash="sha256:ab"),),
        verified="sha256:ab",
        children={"queued": 2, "succeeded": 1},
        created_at=AT - timedelta(hours=1),
        updated_at=AT + timedelta(minutes=3),
        submitted_seq=7,
        version=19,
    )


def test_the_scheduler_state_is_the_document_and_adds_no_field() -> None:
    assert JobState.__struct_fields__ == JobDocument.__struct_fields__


def test_the_full_state_sets_every_field() -> None:
    state, default = full_state(PAYLOADS["command"]), JobDocument()
    unset = [name for name in JobDocument.__struct_fields__ if getattr(state, name) == getattr(default, name)]
    assert unset == []


def test_every_field_of_the_view_is_read_from_the_document() -> None:
    """A view field the document lacks would silently take its default on every read."""
    assert set(JobView.__struct_fields__) <= set(JobDocument.__struct_fields__)


@pytest.mark.parametrize("kind", PAYLOADS)
def test_a_document_with_every_field_set_decodes_as_the_gateways_view(kind: str) -> None:
    state = full_state(PAYLOADS[kind])
    view = msgspec.json.decode(msgspec.json.encode(state), type=JobView)
    shown: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(view))
    stored: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(state))
    assert shown == {name: stored[name] for name in JobView.__struct_fields__}
    assert view.state == "running" and view.payload is not None
    assert view.started_at == state.started_at and view.children == state.children
