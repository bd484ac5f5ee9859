"""The leader lease's arithmetic and the fence, on a fake monotonic clock (no server)."""

from typing import Any

import pytest

from conveyor_runtime.leadership import TERM_HEADER, LeaderElector, Lease, NotLeaderError, safety_margin_s

LEASE = Lease(term=7, revision=7, sent_at=100.0, ttl_s=5)


def test_the_deadline_falls_a_safety_margin_before_the_server_could_expire_the_key() -> None:
    assert LEASE.deadline == 100.0 + 5 - 1.0
    assert LEASE.valid_at(103.99)
    assert not LEASE.valid_at(104.0)
    assert not LEASE.valid_at(105.0)  # the key may be gone on the server: never act here


def test_the_margin_is_a_fifth_of_the_ttl_but_never_under_a_quarter_second() -> None:
    assert safety_margin_s(5) == 1.0
    assert safety_margin_s(1) == 0.25


def test_renewal_is_due_a_third_of_the_ttl_after_the_latest_write_so_two_attempts_fit() -> None:
    assert LEASE.renew_at == pytest.approx(101.6667, abs=1e-3)
    assert LEASE.renew_at + 5 / 3 < LEASE.deadline


def test_a_renewal_moves_the_deadline_and_keeps_the_term() -> None:
    renewed = LEASE.renewed(revision=9, sent_at=101.7)
    assert (renewed.term, renewed.revision) == (7, 9)
    assert renewed.deadline == pytest.approx(105.7)


def test_adopting_an_unacknowledged_renewal_takes_its_revision_but_not_a_later_deadline() -> None:
    adopted = LEASE.adopted(revision=8)
    assert adopted.revision == 8
    assert adopted.deadline == LEASE.deadline


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_fence_stamps_the_term_while_the_lease_is_valid_and_refuses_after() -> None:
    clock = _Clock()
    js: Any = object()  # the fence never touches the server
    elector = LeaderElector(js, ttl_s=5, clock=clock)
    with pytest.raises(NotLeaderError):
        elector.fence()  # never elected
    elector.lease = LEASE
    assert elector.fence() == {TERM_HEADER: "7"}
    clock.now = 104.0
    with pytest.raises(NotLeaderError):
        elector.fence()


def test_a_ttl_under_one_second_is_refused() -> None:
    js: Any = object()
    with pytest.raises(ValueError, match="at least 1 s"):
        LeaderElector(js, ttl_s=0)
