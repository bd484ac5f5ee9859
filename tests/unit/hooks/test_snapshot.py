"""The dispatcher's job snapshot, event-type subscriptions and trigger rules (pure)."""

from datetime import UTC, datetime

import msgspec

from conveyor_events import (
    CommandPayload,
    JobAssigned,
    JobCancelled,
    JobFailed,
    JobQueued,
    JobSubmitted,
    JobSucceeded,
    JobTimedOut,
    JobTrigger,
)
from conveyor_hooks.snapshot import event_tag, evolve, payload_body, subscribed, trigger_fires

T = datetime(2026, 11, 22, tzinfo=UTC)
J = "01a20000-0000-7000-8000-000000000001"


def test_the_snapshot_follows_the_job() -> None:
    snap = evolve(None, JobQueued(event_id="e0", job_id=J, occurred_at=T))
    assert snap is None  # nothing before the submission
    submitted = JobSubmitted(
        event_id="e1", job_id=J, occurred_at=T, project="p", owner="u", payload=CommandPayload(command="x")
    )
    plain = evolve(None, submitted)  # nothing to wait on: queued by its submission alone
    assert plain is not None and plain.state == "queued" and plain.owner == "u"
    snap = evolve(None, msgspec.structs.replace(submitted, depends_on=("other",)))
    assert snap is not None and snap.state == "submitted"  # the scheduler decides after the dependency
    snap = evolve(snap, JobQueued(event_id="e2", job_id=J, occurred_at=T))
    assert snap is not None and snap.state == "queued"
    snap = evolve(
        snap, JobAssigned(event_id="e3", job_id=J, occurred_at=T, lease_id="l", worker_id="w", attempt=1, lease_s=60)
    )
    assert snap is not None and (snap.state, snap.worker_id, snap.attempts) == ("assigned", "w", 1)
    snap = evolve(snap, JobFailed(event_id="e4", job_id=J, occurred_at=T, reason="exit 2", exit_code=2))
    assert snap is not None and (snap.state, snap.exit_code, snap.reason) == ("failed", 2, "exit 2")
    body = msgspec.json.decode(payload_body("job.failed", T, snap, 4, 17))
    assert body["type"] == "job.failed" and body["data"]["version"] == 4 and body["data"]["stream_seq"] == 17
    assert body["data"]["job"]["id"] == J and body["timestamp"].startswith("2026-11-22")


def test_subscriptions_take_exact_tags_prefixes_and_everything() -> None:
    assert subscribed(["job.succeeded"], "job.succeeded")
    assert not subscribed(["job.succeeded"], "job.failed")
    assert subscribed(["job.*"], "job.failed")
    assert subscribed(["*"], "job.queued")
    assert not subscribed([], "job.queued")


def test_triggers_fire_on_the_end_they_name() -> None:
    ends = {
        "job.succeeded": JobSucceeded(event_id="e", job_id=J, occurred_at=T, lease_id="l"),
        "job.failed": JobFailed(event_id="e", job_id=J, occurred_at=T, reason="r"),
        "job.timed_out": JobTimedOut(event_id="e", job_id=J, occurred_at=T, lease_id="l"),
        "job.cancelled": JobCancelled(event_id="e", job_id=J, occurred_at=T),
    }
    assert {event_tag(e) for e in ends.values()} == set(ends)

    def fired(on: str) -> set[str]:
        return {tag for tag in [*ends, "job.queued"] if trigger_fires(JobTrigger(on=on, url="u"), tag)}

    assert fired("success") == {"job.succeeded"}
    assert fired("failure") == {"job.failed", "job.timed_out", "job.cancelled"}
    assert fired("always") == set(ends)
