"""builds.sr.ht triggers in the dispatcher (pure): the fold of a build's tasks, sourcehut's
webhook payload, its email, and the Ed25519 payload signature."""

import base64
import json
from datetime import UTC, datetime
from email import message_from_bytes

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conveyor_events import (
    BuildsTrigger,
    CommandPayload,
    JobAssigned,
    JobFailed,
    JobResetRequested,
    JobSubmitted,
    JobTaskReported,
    JobTrigger,
    ManifestPayload,
    ManifestTask,
    TaskReport,
)
from conveyor_hooks.builds import email_body, fold, group_email_body, group_fires, group_outcome, webhook_body
from conveyor_hooks.signing import ed25519_seed, payload_headers
from conveyor_hooks.snapshot import evolve

T = datetime(2026, 12, 6, tzinfo=UTC)
J = "01a20000-0000-7000-8000-000000000002"
TRIGGER = BuildsTrigger(
    action="email", origin="https://ci.test/compat/builds/", owner_name="alice", note="n", to="d@x.org", cc="c@x.org"
)
SUBMITTED = JobSubmitted(
    event_id="e1",
    job_id=J,
    occurred_at=T,
    project="p",
    owner="u",
    tags=("proj", "main"),
    payload=ManifestPayload(tasks=(ManifestTask(name="build", script="make"), ManifestTask(name="test", script="t"))),
    triggers=(JobTrigger(on="failure", url="", builds=TRIGGER),),
)


def _report(name: str, state: str) -> JobTaskReported:
    return JobTaskReported(
        event_id=f"t{name}", job_id=J, occurred_at=T, lease_id="l", task=TaskReport(name=name, state=state)
    )


def test_the_fold_follows_tasks_and_runner_for_builds_jobs_only() -> None:
    plain = JobSubmitted(
        event_id="e0", job_id=J, occurred_at=T, project="p", owner="u", payload=CommandPayload(command="x")
    )
    assert fold(None, plain, 7) is None
    f = fold(None, SUBMITTED, 42)
    assert f is not None and f.number == 42 and f.tasks == (("build", "pending"), ("test", "pending"))
    f = fold(
        f, JobAssigned(event_id="a", job_id=J, occurred_at=T, lease_id="l", worker_id="w1", attempt=1, lease_s=60), 43
    )
    f = fold(fold(f, _report("build", "succeeded"), 44), _report("test", "failed"), 45)
    assert f is not None and f.runner == "w1" and f.tasks == (("build", "succeeded"), ("test", "failed"))
    reset = fold(f, JobResetRequested(event_id="r", job_id=J, occurred_at=T), 46)
    assert reset is not None and reset.tasks == (("build", "pending"), ("test", "pending"))


def test_payload_and_email_speak_sourcehut() -> None:
    f = fold(None, SUBMITTED, 42)
    f = fold(fold(f, _report("build", "succeeded"), 44), _report("test", "failed"), 45)
    snap = evolve(evolve(None, SUBMITTED), JobFailed(event_id="f", job_id=J, occurred_at=T, reason="exit 1"))
    assert f is not None and snap is not None
    doc = json.loads(webhook_body(f, snap, TRIGGER))
    assert (
        doc["id"] == 42
        and doc["status"] == "failed"
        and doc["setup_log"] == "https://ci.test/compat/builds/logs/42/log"
    )
    assert doc["tasks"][1] == {
        "name": "test",
        "status": "failed",
        "log": "https://ci.test/compat/builds/logs/42/test/log",
    }
    assert doc["owner"] == {"canonical_name": "~alice", "name": "alice"} and doc["note"] == "n"
    mail = message_from_bytes(email_body(f, snap, TRIGGER))
    assert mail["Subject"] == "[proj/main] build failed" and mail["To"] == "d@x.org" and mail["Cc"] == "c@x.org"
    text = mail.get_payload(decode=True)
    assert isinstance(text, bytes) and "✓ build\n✗ test" in text.decode()


def test_the_payload_signature_covers_body_and_nonce() -> None:
    key = Ed25519PrivateKey.generate()
    seed = ed25519_seed(base64.b64encode(key.private_bytes_raw() + key.public_key().public_bytes_raw()).decode())
    headers = payload_headers(seed, b'{"id":1}', "abc123")
    assert headers["x-payload-nonce"] == "abc123"
    key.public_key().verify(base64.b64decode(headers["x-payload-signature"]), b'{"id":1}abc123')
    assert "x-payload-signature" not in payload_headers(b"", b"{}", "n")


def test_a_group_ends_when_every_build_ended() -> None:
    assert group_outcome(["succeeded", "running"]) is None and group_outcome([]) is None
    assert group_outcome(["succeeded", "succeeded"]) == "success"
    assert group_outcome(["succeeded", "timed_out"]) == "failed"
    assert [group_fires(c, "failed") for c in ("always", "success", "failure")] == [True, False, True]
    assert [group_fires(c, "success") for c in ("always", "success", "failure")] == [True, True, False]
    trigger = BuildsTrigger(action="email", origin="https://ci.test/", owner_name="a", to="g@x.org", jobs=(7, 9))
    mail = message_from_bytes(group_email_body(12, trigger, ["succeeded", "cancelled"]))
    assert mail["Subject"] == "job group #12 failed" and mail["To"] == "g@x.org"
    text = mail.get_payload(decode=True)
    assert isinstance(text, bytes) and "✓ #7 success" in text.decode() and "✗ #9 cancelled" in text.decode()
