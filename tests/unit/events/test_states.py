"""The job-state vocabulary agrees with the events that carry it."""

from typing import get_args

import msgspec

from conveyor_events import JobEvent
from conveyor_events.scheduler_api import ReportResult
from conveyor_events.states import (
    FAILED,
    FAILED_EVENT_TYPES,
    JOB_STATES,
    LEASED,
    READY,
    TASK_STATES,
    TERMINAL,
    TERMINAL_EVENT_TYPES,
    JobStatus,
    ReportedTaskState,
    TaskStateName,
)


def _job_event_tags() -> set[str]:
    infos = (msgspec.inspect.type_info(cls) for cls in get_args(JobEvent))
    return {str(info.tag) for info in infos if isinstance(info, msgspec.inspect.StructType)}


def test_every_terminal_state_has_the_event_that_ends_a_job_in_it() -> None:
    assert _job_event_tags() >= TERMINAL_EVENT_TYPES
    assert TERMINAL_EVENT_TYPES - {"job.succeeded"} == FAILED_EVENT_TYPES


def test_the_sets_are_made_of_state_names_and_do_not_overlap() -> None:
    assert set(JOB_STATES) >= TERMINAL | LEASED | READY
    assert not (TERMINAL & LEASED or TERMINAL & READY or LEASED & READY)
    assert TERMINAL - {"succeeded"} == FAILED


def _words(literals: object) -> tuple[str, ...]:
    """The values of a Literal, or of a union of Literals, in order."""
    return tuple(w for arg in get_args(literals) for w in (_words(arg) if get_args(arg) else (arg,)))


def test_the_scheduler_status_is_new_or_a_public_state() -> None:
    assert _words(JobStatus) == ("new", *JOB_STATES)
    assert set(_words(TaskStateName)) == TASK_STATES


def test_a_run_result_is_a_state_a_task_may_be_reported_in() -> None:
    assert set(get_args(ReportResult)) <= set(get_args(ReportedTaskState)) < TASK_STATES
