"""Backoff, Retry-After and the sustained-failure rule of the dispatcher (pure)."""

from datetime import UTC, datetime, timedelta

from conveyor_hooks.retry import backoff_s, next_attempt_at, retry_after_s, should_disable

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_backoff_doubles_up_to_the_cap_with_jitter_around_it() -> None:
    assert [backoff_s(n, base_s=5, max_s=60, jitter=0.5) for n in (1, 2, 3, 4, 5, 6)] == [5, 10, 20, 40, 60, 60]
    assert backoff_s(3, base_s=5, max_s=60, jitter=0.0) == 10
    assert backoff_s(3, base_s=5, max_s=60, jitter=0.999) < 30


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_s("120", NOW) == 120
    assert retry_after_s("Sun, 22 Nov 2026 12:01:00 GMT", NOW) == 60
    assert retry_after_s("Sun, 22 Nov 2026 11:00:00 GMT", NOW) == 0
    assert retry_after_s("soon", NOW) is None
    assert retry_after_s(None, NOW) is None


def test_the_next_attempt_is_the_later_of_backoff_and_retry_after() -> None:
    assert next_attempt_at(NOW, 1, None, base_s=5, max_s=60, jitter=0.5) == NOW + timedelta(seconds=5)
    assert next_attempt_at(NOW, 1, 300, base_s=5, max_s=60, jitter=0.5) == NOW + timedelta(seconds=300)
    assert next_attempt_at(NOW, 6, 1, base_s=5, max_s=60, jitter=0.5) == NOW + timedelta(seconds=60)


def test_disable_needs_both_many_failures_and_a_long_streak() -> None:
    day_ago = NOW - timedelta(days=1)
    assert should_disable(20, day_ago, NOW, after_failures=20, after_s=86_400)
    assert not should_disable(19, day_ago, NOW, after_failures=20, after_s=86_400)
    assert not should_disable(50, NOW - timedelta(hours=1), NOW, after_failures=20, after_s=86_400)
    assert not should_disable(50, None, NOW, after_failures=20, after_s=0)
