"""Pure decisions of the worker: replies, backoff, lost leases, what to report after a stop."""

import pytest

from conveyor_client.errors import ConnectionFailedError, Problem, error_from_response
from conveyor_worker.decisions import (
    Backoff,
    action_after_stop,
    classify,
    heartbeat_interval_s,
    is_lease_lost_by_silence,
)


def api_error(status: int, code: str) -> Exception:
    body = f'{{"type":"/problems/{code}","title":"t","status":{status}}}'.encode()
    return error_from_response(status, body, method="POST", url="http://x/v1/leases/l/finish")


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (None, "ok"),
        (ConnectionFailedError("down"), "retry"),
        (api_error(503, "scheduler_unavailable"), "retry"),
        (api_error(502, "bad_gateway"), "retry"),
        (api_error(429, "rate_limited"), "retry"),
        (api_error(409, "lease_not_current"), "lease_lost"),
        (api_error(409, "job_finished"), "give_up"),
        (api_error(404, "route_not_found"), "unsupported"),
        (api_error(404, "job_not_found"), "give_up"),
        (api_error(422, "validation_failed"), "give_up"),
        (api_error(401, "unauthorized"), "give_up"),
    ],
)
def test_classify(error: Exception | None, verdict: str) -> None:
    assert classify(error) == verdict


def test_a_plain_404_page_is_an_unsupported_route() -> None:
    error = error_from_response(404, b"Not Found", method="GET", url="http://x/v1/nope")
    assert classify(error) == "unsupported"
    assert error.problem == Problem(type="/problems/route_not_found", title="HTTP 404", status=404, detail="Not Found")


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    backoff = Backoff(base_s=0.2, cap_s=10)
    assert [backoff.delay_s(n, 0.999999) for n in (1, 2, 3)] == pytest.approx([0.2, 0.4, 0.8], rel=1e-5)
    assert backoff.delay_s(1, 0.0) == pytest.approx(0.1)
    assert backoff.delay_s(50, 0.999999) == pytest.approx(10, rel=1e-5)


def test_a_lease_is_lost_once_heartbeats_failed_for_longer_than_it_lasts() -> None:
    assert not is_lease_lost_by_silence(100.0, 159.0, 60)
    assert is_lease_lost_by_silence(100.0, 160.5, 60)


def test_heartbeats_come_at_least_three_times_per_lease() -> None:
    assert heartbeat_interval_s(60, 10) == 10
    assert heartbeat_interval_s(6, 10) == 2
    assert heartbeat_interval_s(0.1, 10) == 0.2


def test_after_a_stop() -> None:
    assert action_after_stop("shutdown") == "skip"
    assert action_after_stop("local_timeout") == "finish"
    for reason in ("cancelled", "timed_out", "lease_lost", "worker_paused", "paused"):
        assert action_after_stop(reason) == "abandon"
