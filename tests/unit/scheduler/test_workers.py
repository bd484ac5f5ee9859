"""The worker aggregate: given worker events -> then state, for every evolve_worker rule."""

from datetime import UTC, datetime, timedelta

import pytest

from conveyor_events import WorkerDeleted, WorkerEvent, WorkerRegistered, WorkerStateChanged
from conveyor_scheduler.workers import WorkerState, apply_worker, evolve_worker

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
WORKER = "0190c5a8-7b1e-7000-8000-00000000w001"
NEW = WorkerState()


def registered(*, name: str = "builder-1", when: float = 0) -> WorkerRegistered:
    return WorkerRegistered(
        event_id=f"e-registered-{name}",
        worker_id=WORKER,
        occurred_at=T0 + timedelta(seconds=when),
        name=name,
        labels=("linux", "gpu"),
        capacity=4,
        secret_hash="argon2id$hash",
    )


def mode(value: str, *, when: float = 1) -> WorkerStateChanged:
    return WorkerStateChanged(
        event_id=f"e-mode-{value}", worker_id=WORKER, occurred_at=T0 + timedelta(seconds=when), mode=value
    )


def deleted(*, when: float = 2) -> WorkerDeleted:
    return WorkerDeleted(event_id="e-deleted", worker_id=WORKER, occurred_at=T0 + timedelta(seconds=when))


def given_events(*events: WorkerEvent) -> WorkerState:
    state = NEW
    for seq, event in enumerate(events, start=1):
        state = apply_worker(state, event, seq)
    return state


def test_registration_creates_an_active_worker() -> None:
    state = evolve_worker(NEW, registered())
    assert (state.id, state.name, state.labels, state.capacity) == (WORKER, "builder-1", ("linux", "gpu"), 4)
    assert (state.secret_hash, state.registered_at) == ("argon2id$hash", T0)
    assert state.mode == "active"
    assert state.exists
    assert state.takes_work


def test_an_unknown_worker_does_not_exist() -> None:
    assert not NEW.exists
    assert not NEW.takes_work


def test_a_worker_is_registered_once() -> None:
    state = evolve_worker(NEW, registered())
    assert evolve_worker(state, registered(name="impostor", when=5)) == state


@pytest.mark.parametrize(("value", "takes_work"), [("paused", False), ("draining", False), ("active", True)])
def test_a_mode_change_sets_the_mode(value: str, takes_work: bool) -> None:
    state = given_events(registered(), mode("paused"), mode(value, when=2))
    assert state.mode == value
    assert state.exists
    assert state.takes_work is takes_work


@pytest.mark.parametrize("value", ["", "sleeping", "ACTIVE", "deleted"])
def test_an_unknown_mode_is_ignored(value: str) -> None:
    state = given_events(registered(), mode("draining"))
    assert evolve_worker(state, mode(value)) == state


def test_a_mode_change_before_registration_is_ignored() -> None:
    assert evolve_worker(NEW, mode("paused")) == NEW


def test_deletion_removes_the_worker() -> None:
    state = given_events(registered(), deleted())
    assert state.deleted
    assert not state.exists
    assert not state.takes_work
    assert state.id == WORKER  # still known, so that its credentials can be refused


def test_a_deleted_worker_absorbs_everything() -> None:
    state = evolve_worker(evolve_worker(NEW, registered()), deleted())
    for event in (registered(name="again", when=9), mode("active"), mode("paused"), deleted(when=9)):
        assert evolve_worker(state, event) == state


def test_deleting_an_unknown_worker_is_ignored() -> None:
    assert evolve_worker(NEW, deleted()) == NEW
    assert evolve_worker(NEW, registered()).exists


def test_apply_records_the_version_and_the_registration_sequence() -> None:
    state = apply_worker(NEW, registered(), 7)
    assert (state.version, state.registered_seq) == (7, 7)
    state = apply_worker(state, mode("paused"), 12)
    assert (state.version, state.registered_seq) == (12, 7)
    state = apply_worker(state, mode("bogus"), 15)  # ignored, but read: the version moves on
    assert (state.version, state.registered_seq, state.mode) == (15, 7, "paused")


def test_registered_seq_is_the_sequence_of_the_registration() -> None:
    state = apply_worker(apply_worker(NEW, mode("paused"), 3), registered(), 8)
    assert state.registered_seq == 8
