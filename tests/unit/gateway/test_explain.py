"""Explain's rules: facts about a job, its workers and its queue -> reasons, most important first."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from msgspec.structs import replace

from conveyor_gateway.core.bodies import CommandView, JobView
from conveyor_gateway.core.explain import (
    AHEAD_LIMIT,
    ExplainFacts,
    WorkerFact,
    count_workers,
    explain,
    is_online,
    reasons_for,
)

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
JOB_ID = "0190c5a8-7b1e-7000-8000-000000000001"
DEP_A = "0190c5a8-7b1e-7000-8000-00000000000a"
DEP_B = "0190c5a8-7b1e-7000-8000-00000000000b"


def make_job(**changes: Any) -> JobView:
    base = JobView(
        id=JOB_ID,
        state="queued",
        project="demo",
        owner="anonymous",
        title="",
        note="",
        tags=[],
        labels=["linux"],
        priority=0,
        payload=CommandView(command="make"),  # None would make it a group
        parent_id=None,
        depends_on=[],
        max_retries=3,
        attempts=0,
        timeout_s=None,
        lease_s=60,
        dedupe_key=None,
        execute=True,
        paused=False,
        cancel_requested=False,
        progress=None,
        progress_pattern=None,
        url=None,
        verification=1,
        reason="",
        created_at=NOW - timedelta(minutes=5),
        updated_at=NOW - timedelta(minutes=5),
        version=1,
    )
    return replace(base, **changes)


def worker(name: str = "w1", **changes: Any) -> WorkerFact:
    base = WorkerFact(
        id=f"0190c5a8-7b1e-7000-8000-{name.encode().hex():0>12}",
        name=name,
        labels=("linux",),
        capacity=2,
        mode="active",
        last_seen_at=NOW - timedelta(seconds=5),
        held=0,
    )
    return replace(base, **changes)


def facts(job: JobView | None = None, **changes: Any) -> ExplainFacts:
    matching = changes.pop("matching", (worker(),))
    return ExplainFacts(
        job=job or make_job(),
        now=NOW,
        matching=matching,
        registered=changes.pop("registered", len(matching)),
        **changes,
    )


def codes(f: ExplainFacts) -> list[str]:
    return [r.code for r in reasons_for(f)]


def test_a_queued_job_with_a_free_worker_and_nothing_ahead_is_ready() -> None:
    explained = explain(facts())
    assert [r.code for r in explained.reasons] == ["ready"]
    assert (explained.job_id, explained.state) == (JOB_ID, "queued")
    assert explained.summary.startswith("The job is queued and nothing blocks it")
    assert "as soon as a matching worker asks for work" in explained.summary
    assert explained.reasons[0].data == {"available_workers": 1, "free_slots": 2}


@pytest.mark.parametrize(
    ("state", "reason", "exit_code", "words"),
    [
        ("succeeded", "", 0, "succeeded at 2030-01-02T03:00:00Z (exit code 0)"),
        ("failed", "exit code 3", 3, "failed at 2030-01-02T03:00:00Z after 4 attempts: exit code 3"),
        ("timed_out", "timed out", None, "timed out at 2030-01-02T03:00:00Z: it ran past its timeout of 30 s"),
        ("cancelled", "not needed", None, "was cancelled at 2030-01-02T03:00:00Z: not needed"),
    ],
)
def test_a_finished_job_says_how_it_ended(state: str, reason: str, exit_code: int | None, words: str) -> None:
    ended = NOW - timedelta(minutes=4, seconds=5)
    job = make_job(state=state, reason=reason, exit_code=exit_code, finished_at=ended, attempts=4, timeout_s=30)
    explained = explain(facts(job, matching=()))
    [only] = explained.reasons
    assert only.code == "finished"
    assert words in only.detail
    assert (only.data["state"], only.data["exit_code"], only.data["reason"]) == (state, exit_code, reason)
    assert explained.summary == only.detail


def test_a_running_job_names_its_worker_and_since_when() -> None:
    holder = worker("builder")
    started = NOW - timedelta(minutes=3)
    job = make_job(state="running", worker_id=holder.id, lease_id="L", started_at=started, attempts=2)
    [running] = reasons_for(facts(job, holder=holder))
    assert running.code == "running"
    assert f"running on worker builder ({holder.id}) since 2030-01-02T03:01:05Z (3 min ago)" in running.detail
    assert "attempt 2 of 4" in running.detail
    assert (running.data["worker_online"], running.data["lease_id"]) == (True, "L")


def test_an_assigned_job_on_a_silent_worker_says_the_lease_lapses() -> None:
    holder = worker("ghost", last_seen_at=NOW - timedelta(minutes=2))
    job = make_job(state="assigned", worker_id=holder.id, cancel_requested=True, reason="stop")
    reasons = reasons_for(facts(job, holder=holder))
    assert [r.code for r in reasons] == ["assigned", "cancel_requested"]
    assert "no heartbeat for 30 s" in reasons[0].detail
    assert reasons[0].data["worker_online"] is False
    assert "told to stop at its next heartbeat" in reasons[1].detail


def test_a_held_job_says_how_to_start_it_and_that_no_worker_could_run_it() -> None:
    job = make_job(state="pending", execute=False, labels=["gpu"])
    explained = explain(facts(job, matching=(), registered=3))
    assert [r.code for r in explained.reasons] == ["held", "no_matching_worker"]
    assert f"POST /v1/jobs/{JOB_ID}/start" in explained.reasons[0].detail
    assert explained.summary == (
        f"The job is held (submitted with execute=false): start it with POST /v1/jobs/{JOB_ID}/start. "
        "No worker has labels gpu (3 workers registered in all)."
    )


def test_no_worker_at_all() -> None:
    [reason] = reasons_for(facts(make_job(labels=[]), matching=(), registered=0))
    assert reason.code == "no_matching_worker"
    assert reason.detail == "No worker is registered (0 workers registered in all)."


def test_matching_workers_that_are_all_unavailable_are_counted_by_why() -> None:
    matching = (
        worker("a", last_seen_at=None),
        worker("b", last_seen_at=NOW - timedelta(seconds=31)),
        worker("c", mode="paused"),
        worker("d", mode="draining"),
    )
    [reason] = reasons_for(facts(matching=matching, registered=9))
    assert reason.code == "no_matching_worker"
    assert reason.detail == "All 4 workers with labels linux are unavailable: 2 offline, 1 paused, 1 draining."
    assert reason.data == {
        "labels": ["linux"],
        "matching": 4,
        "registered": 9,
        "offline": 2,
        "paused": 1,
        "draining": 1,
    }


def test_full_workers_make_the_job_wait() -> None:
    matching = (worker("a", held=2), worker("b", capacity=1, held=1), worker("c", last_seen_at=None))
    [reason] = reasons_for(facts(matching=matching))
    assert reason.code == "workers_busy"
    assert reason.detail == "All 2 available workers with labels linux are busy: 3 of 3 slots in use."
    assert reason.data == {"workers": 2, "in_use": 3, "capacity": 3}


def test_jobs_ahead_are_counted_and_fair_share_mentioned() -> None:
    reasons = reasons_for(facts(make_job(priority=2), ahead=7))
    assert [r.code for r in reasons] == ["behind_higher_priority"]
    assert reasons[0].detail.startswith("7 queued jobs that a matching worker would serve first")
    assert "fair share" in reasons[0].detail
    assert reasons[0].data == {"ahead": 7, "priority": 2}
    [capped] = reasons_for(facts(ahead=AHEAD_LIMIT + 1))
    assert capped.detail.startswith(f"More than {AHEAD_LIMIT} queued jobs")


def test_busy_workers_and_a_queue_ahead_both_apply() -> None:
    assert codes(facts(matching=(worker(held=2),), ahead=1)) == ["workers_busy", "behind_higher_priority"]


def test_retry_backoff_says_which_attempt_and_when() -> None:
    job = make_job(attempts=1, max_retries=3, retry_at=NOW + timedelta(seconds=12), reason="exit code 1")
    explained = explain(facts(job))
    assert [r.code for r in explained.reasons] == ["retry_backoff"]
    assert explained.summary == (
        "Attempt 1 of 4 failed (exit code 1); attempt 2 is eligible at 2030-01-02T03:04:17Z (in 12 s)."
    )
    data = explained.reasons[0].data
    assert (data["attempt"], data["max_attempts"], data["retry_at"], data["last_failure"]) == (
        1,
        4,
        NOW + timedelta(seconds=12),
        "exit code 1",
    )


def test_a_retry_time_already_past_no_longer_holds_the_job() -> None:
    assert codes(facts(make_job(attempts=1, retry_at=NOW - timedelta(seconds=1)))) == ["ready"]


def test_paused_and_cancel_requested_queued_jobs_are_not_ready() -> None:
    job = make_job(paused=True, cancel_requested=True)
    reasons = reasons_for(facts(job))
    assert [r.code for r in reasons] == ["paused", "cancel_requested"]
    assert f"POST /v1/jobs/{JOB_ID}/resume" in reasons[0].detail


def test_dependencies_not_succeeded_are_listed_with_their_states() -> None:
    job = make_job(state="blocked", depends_on=[DEP_A, DEP_B])
    explained = explain(facts(job, dependency_states={DEP_A: "running", DEP_B: "succeeded"}))
    assert [r.code for r in explained.reasons] == ["waiting_on_dependencies"]
    assert explained.summary == (
        f"The job waits for 1 of its 2 dependencies to succeed: {DEP_A} (running); it is queued once it succeeds."
    )
    assert explained.reasons[0].data == {"waiting": [{"id": DEP_A, "state": "running"}], "waiting_count": 1, "total": 2}
    done = make_job(depends_on=[DEP_B])
    assert codes(facts(done, dependency_states={DEP_B: "succeeded"})) == ["ready"]


def test_a_dependency_that_cannot_succeed_means_the_job_will_fail() -> None:
    job = make_job(state="blocked", depends_on=[DEP_A, "x" * 36])
    [reason] = reasons_for(facts(job, dependency_states={DEP_A: "queued"}))
    assert reason.data["waiting"] == [{"id": DEP_A, "state": "queued"}, {"id": "x" * 36, "state": "unknown"}]
    assert f"since {'x' * 36} will never succeed, the job fails without running" in reason.detail
    queued = make_job(depends_on=[DEP_A])  # a queued job with a waiting dependency is not ready
    assert codes(facts(queued, dependency_states={DEP_A: "deleted"})) == ["waiting_on_dependencies"]


def test_a_submitted_job_waits_for_the_scheduler() -> None:
    assert codes(facts(make_job(state="submitted"))) == ["submitted"]


def test_a_blocked_job_without_listed_dependencies_still_says_blocked() -> None:
    assert codes(facts(make_job(state="blocked"))) == ["blocked"]
    blocked = make_job(state="blocked", depends_on=[DEP_A])
    assert codes(facts(blocked, dependency_states={DEP_A: "queued"})) == ["waiting_on_dependencies"]


def test_online_means_a_heartbeat_in_the_last_30_seconds() -> None:
    assert is_online(NOW - timedelta(seconds=30), NOW)
    assert not is_online(NOW - timedelta(seconds=31), NOW)
    assert not is_online(None, NOW)


def test_worker_counts_put_offline_before_mode() -> None:
    counts = count_workers(
        (worker("a", last_seen_at=None, mode="paused"), worker("b", held=5), worker("c", mode="draining")), NOW
    )
    assert (counts.matching, counts.offline, counts.paused, counts.draining, counts.available) == (3, 1, 0, 1, 1)
    assert (counts.in_use, counts.capacity, counts.free) == (5, 2, 0)


def test_a_group_is_explained_by_its_children() -> None:
    job = replace(facts().job, payload=None, children={"running": 2, "queued": 1})
    explained = explain(replace(facts(), job=job))
    assert [r.code for r in explained.reasons] == ["group"]
    assert "3 children (1 queued, 2 running)" in explained.summary


def test_a_paused_project_holds_its_queued_jobs() -> None:
    explained = explain(replace(facts(), project_paused=True))
    assert explained.reasons[0].code == "project_paused"
    assert "PATCH /v1/projects/" in explained.reasons[0].detail
    assert "ready" not in [r.code for r in explained.reasons]


def test_an_assignment_rate_paces_but_does_not_hold_a_job() -> None:
    explained = explain(replace(facts(), assign_rate=0.5))
    assert [r.code for r in explained.reasons] == ["rate_limited", "ready"]
    assert explained.reasons[0].data == {"project": facts().job.project, "assign_rate_per_s": 0.5}
    assert "30 jobs a minute" in explained.reasons[0].detail


def test_a_private_project_no_matching_worker_may_serve_says_so() -> None:
    w1, w2 = worker("w1"), worker("w2")
    explained = explain(facts(matching=(w1, w2), assigners=frozenset()))
    assert [r.code for r in explained.reasons] == ["no_worker_access"]
    reason = explained.reasons[0]
    assert reason.data == {"project": "demo", "matching": 2, "granted": 0}
    assert "none of the 2 workers with labels linux has assign access" in reason.detail
    assert "access-requests" in reason.detail and "PUT /v1/projects/demo/workers/" in reason.detail
    # a grant to a worker without the job's labels does not help
    other = worker("w3", labels=("mac",))
    assert codes(facts(matching=(w1,), assigners=frozenset({other.id}))) == ["no_worker_access"]


def test_with_a_granted_worker_only_the_granted_ones_count() -> None:
    granted, busy = worker("w1", held=2), worker("w2")
    assert codes(facts(matching=(granted, busy), assigners=frozenset({granted.id}))) == ["workers_busy"]
    assert codes(facts(matching=(granted, busy), assigners=frozenset({busy.id}))) == ["ready"]
    assert codes(facts(matching=(granted, busy))) == ["ready"]  # public: any worker
    # no worker with the labels at all: that is the reason, not the access
    assert codes(facts(matching=(), assigners=frozenset())) == ["no_matching_worker"]
