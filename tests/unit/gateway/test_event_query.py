"""What /v1/events selects and shows (pure): filters, visibility and redaction."""

import pytest

from conveyor_gateway.errors import InvalidQueryError
from conveyor_gateway.native.events.query import EventQuery, parse_query, redacted, selected, type_matches, visible

J = "01a20000-0000-7000-8000-000000000001"
W = "01a20000-0000-7000-8000-000000000002"


def test_queries_are_parsed_and_bad_parameters_named() -> None:
    q = parse_query({"job": J, "type": "job.*,worker.registered", "since": "2026-11-22T00:00:00Z"}, paged=True)
    assert q.job == J and q.types == ("job.*", "worker.registered") and q.since is not None and q.limit == 100
    with pytest.raises(InvalidQueryError) as caught:
        parse_query({"worker": "x", "since": "2026-11-22", "limit": "600", "cursor": "c"}, paged=False)
    assert {e.pointer for e in caught.value.errors or []} == {"worker", "since", "limit", "cursor"}


def test_only_job_and_worker_events_are_selected() -> None:
    q = EventQuery(worker=W)
    assert selected(q, "job", {"type": "job.assigned", "job_id": J, "worker_id": W})
    assert not selected(q, "job", {"type": "job.queued", "job_id": J})
    assert not selected(EventQuery(), "hook", {"type": "hook.created"})
    assert not selected(EventQuery(), "user", {"type": "user.token_issued"})
    assert (
        type_matches((), "x") and type_matches(("job.*",), "job.failed") and not type_matches(("job.q",), "job.queued")
    )


def test_visibility_needs_the_job_or_the_workers_scope() -> None:
    job = {"type": "job.queued", "job_id": J}
    assert visible("job", job, is_admin=False, may_see_workers=False, readable_jobs={J})
    assert not visible("job", job, is_admin=False, may_see_workers=True, readable_jobs=set())
    assert not visible("worker", {"worker_id": W}, is_admin=False, may_see_workers=False, readable_jobs={J})
    assert visible("worker", {"worker_id": W}, is_admin=False, may_see_workers=True, readable_jobs=set())
    assert visible("job", job, is_admin=True, may_see_workers=False, readable_jobs=set())


def test_secrets_are_removed() -> None:
    doc = {"type": "job.submitted", "triggers": [{"url": "u", "secret": "whsec_x"}], "secret_hash": "h"}
    assert redacted(doc) == {"type": "job.submitted", "triggers": [{"url": "u"}]}
