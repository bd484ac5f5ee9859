"""Bulk decoding: a batch is valid as a whole, and every error names its item."""

import json
from typing import Any

import pytest

from conveyor_gateway.core.bodies import BULK_MAX_JOBS
from conveyor_gateway.errors import MalformedError, ValidationFailedError
from conveyor_gateway.native.jobs.bulk import decode_batch

LIMIT = 1024 * 1024


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


def pointers(body: Any) -> set[str]:
    with pytest.raises(ValidationFailedError) as info:
        decode_batch(encode(body), max_item_bytes=LIMIT)
    return {e.pointer for e in info.value.errors or []}


def test_a_valid_batch_decodes_in_order() -> None:
    subs = decode_batch(encode({"jobs": [{"command": "a"}, {"recipe": {"x": 1}, "priority": 5}]}), max_item_bytes=LIMIT)
    assert [s.command for s in subs] == ["a", None]
    assert subs[1].priority == 5


def test_every_invalid_item_is_reported_with_its_index() -> None:
    jobs: list[Any] = [{"command": "ok"} for _ in range(6)]
    jobs[1] = {"command": "x", "bogus": 1}
    jobs[3] = {"command": "x", "priority": "high", "project": "no spaces"}
    jobs[4] = 7
    jobs[5] = {"command": "x", "recipe": {"a": 1}}  # two payloads: valid fields, invalid together
    assert pointers({"jobs": jobs}) == {
        "/jobs/1/bogus",
        "/jobs/3/priority",
        "/jobs/3/project",
        "/jobs/4",
        "/jobs/5/recipe",
    }


def test_a_job_may_be_no_larger_than_one_submission_body() -> None:
    big = {"command": "x", "note": "n" * 4000}
    with pytest.raises(ValidationFailedError) as info:
        decode_batch(encode({"jobs": [{"command": "a"}, big]}), max_item_bytes=1000)
    [error] = info.value.errors or []
    assert error.pointer == "/jobs/1"
    assert "at most 1000" in error.detail


def test_the_one_payload_rule_is_checked_on_valid_batches_too() -> None:
    assert pointers({"jobs": [{"command": "a"}, {"title": "no payload"}]}) == {"/jobs/1/command"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"jobs": []}, {"/jobs"}),
        ({"jobs": [{"command": "a"}] * (BULK_MAX_JOBS + 1)}, {"/jobs"}),
        ({"jobs": {"command": "a"}}, {"/jobs"}),
        ({}, {"/jobs"}),
        ({"jobs": [{"command": "a"}], "extra": 1}, {"/extra"}),
        ([{"command": "a"}], {""}),
    ],
)
def test_envelope_errors(body: Any, expected: set[str]) -> None:
    assert pointers(body) == expected


def test_not_json_is_malformed() -> None:
    with pytest.raises(MalformedError):
        decode_batch(b'{"jobs": [', max_item_bytes=LIMIT)
