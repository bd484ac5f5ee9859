"""Attempts and the waterfall drawn from a job's events."""

from datetime import UTC, datetime, timedelta
from typing import Any

from conveyor_gateway.web.timeline import attempts, waterfall

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _event(kind: str, seconds: float) -> dict[str, Any]:
    return {"type": kind, "occurred_at": (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")}


def test_a_retried_job_has_two_attempts_with_their_phases() -> None:
    events = [
        _event("job.submitted", 0), _event("job.queued", 0), _event("job.assigned", 2), _event("job.started", 3),
        _event("job.retry_scheduled", 10), _event("job.failed", 10), _event("job.queued", 12),
        _event("job.assigned", 15), _event("job.started", 15.5), _event("job.succeeded", 20),
    ]  # fmt: skip
    first, second = attempts(events)
    assert (first.number, first.outcome) == (1, "failed")
    assert first.waiting_at == T0 and first.started_at == T0 + timedelta(seconds=3)
    assert second.waiting_at == T0 + timedelta(seconds=10)  # waiting again from the retry
    assert second.outcome == "succeeded"
    bars = waterfall([first, second], now=T0 + timedelta(seconds=60))
    phases = [(b.attempt, b.phase, b.seconds) for b in bars]
    assert phases == [(1, "waiting", 2.0), (1, "leased", 1.0), (1, "running", 7.0),
                      (2, "waiting", 5.0), (2, "leased", 0.5), (2, "running", 4.5)]  # fmt: skip
    assert bars[0].left == 0 and bars[-1].left + bars[-1].width <= 100.01


def test_an_attempt_in_flight_runs_until_now_and_a_queued_job_has_none() -> None:
    [run] = attempts([_event("job.queued", 0), _event("job.assigned", 1), _event("job.started", 2)])
    assert run.ended_at is None and run.outcome == ""
    [*_, running] = waterfall([run], now=T0 + timedelta(seconds=4))
    assert (running.phase, running.seconds) == ("running", 2.0)
    assert attempts([_event("job.submitted", 0), _event("job.queued", 0)]) == []
    assert waterfall([], now=T0) == []
