"""Token-bucket arithmetic shared by the SQL take and the scheduler's admission."""

import math

from hypothesis import given
from hypothesis import strategies as st

from conveyor_identity import burst_of, refill, retry_after_s


def test_burst_defaults_to_the_rate_rounded_up_and_at_least_one() -> None:
    assert burst_of(0.2, 0) == 1.0
    assert burst_of(2.5, 0) == 3.0
    assert burst_of(2.5, 10) == 10.0


def test_refill_caps_at_the_burst_and_ignores_clocks_stepping_back() -> None:
    assert refill(0.0, 2.0, 0.5, 3.0) == 1.0
    assert refill(2.5, 10.0, 0.5, 3.0) == 3.0
    assert refill(1.0, -5.0, 0.5, 3.0) == 1.0


def test_retry_after_is_the_time_to_the_missing_tokens() -> None:
    assert retry_after_s(1.0, 0.2) == 0.0
    assert math.isclose(retry_after_s(0.5, 0.2), 2.5)
    assert math.isclose(retry_after_s(1.0, 0.5, n=3), 4.0)


@given(
    tokens=st.floats(0, 100),
    rate=st.floats(0.01, 100),
    burst=st.floats(1, 100),
    elapsed=st.floats(0, 1000),
)
def test_waiting_the_retry_after_always_yields_a_token_when_the_burst_allows(
    tokens: float, rate: float, burst: float, elapsed: float
) -> None:
    now = refill(min(tokens, burst), elapsed, rate, burst)
    assert 0 <= now <= burst
    wait = retry_after_s(now, rate)
    assert refill(now, wait, rate, burst) >= 1.0 - 1e-9
