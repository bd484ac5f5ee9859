"""VirtShell's free-text statuses read as Conveyor's states, and its history lines (pure)."""

from datetime import UTC, datetime

import pytest

from conveyor_events.states import JobStateName
from conveyor_gateway.compat.virtshell.history import encode_report, parse_reports
from conveyor_gateway.compat.virtshell.states import Kind, kind_of, shown_status

AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("pending", "pending"),
        ("queued", "pending"),
        (" Pending ", "pending"),
        ("success", "succeeded"),
        ("sucess", "succeeded"),
        ("SUCCEEDED", "succeeded"),
        ("failed", "failed"),
        ("error", "failed"),
        ("in progress", "running"),
        ("dispatching", "running"),
        ("dispatched", "running"),
        ("setting up", "running"),
        ("provisioned", "running"),
    ],
)
def test_status_words_map_onto_four_kinds(word: str, kind: Kind) -> None:
    assert kind_of(word) == kind


@pytest.mark.parametrize(
    ("state", "reported", "shown"),
    [
        ("queued", None, "pending"),
        ("queued", "pending", "pending"),
        ("running", "creating", "creating"),
        ("assigned", None, "in progress"),
        ("succeeded", "success", "success"),
        ("succeeded", None, "sucess"),
        ("failed", "error", "error"),
        ("cancelled", "creating", "failed"),  # an operator cancelled it mid-run
        ("timed_out", "dispatching", "failed"),  # the dispatcher went silent past its lease
        ("queued", "dispatching", "pending"),  # reset by an operator: pending again
    ],
)
def test_the_reported_word_shows_while_it_fits_the_jobs_state(
    state: JobStateName, reported: str | None, shown: str
) -> None:
    assert shown_status(state, reported) == shown


def test_reports_round_trip_through_the_log_among_other_output() -> None:
    log = (
        b"worker output\n"
        + encode_report("dispatching", "line one\nline two", AT)
        + b"virtshell-status {torn\n"
        + encode_report("sucess", "", AT)
    )
    reports = parse_reports(log)
    assert [(r.status, r.log, r.at) for r in reports] == [("dispatching", "line one\nline two", AT), ("sucess", "", AT)]
