"""Problem documents become typed errors whose message ends with the fix."""

import pytest

from conveyor_client.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    UnavailableError,
    connection_error,
    error_from_response,
)


def test_an_unknown_job_names_the_job_and_the_fix() -> None:
    body = b'{"type":"/problems/job_not_found","title":"No such job","status":404,"detail":"no job 42"}'
    error = error_from_response(404, body, method="GET", url="http://api/v1/jobs/42")
    assert isinstance(error, NotFoundError) and error.code == "job_not_found"
    assert str(error).splitlines() == [
        "GET http://api/v1/jobs/42: 404 No such job: no job 42",
        "  fix: check the job id (`conveyor jobs ls` lists jobs)",
    ]


def test_a_bad_token_says_where_tokens_come_from() -> None:
    error = error_from_response(
        401, b'{"type":"/problems/unauthorized","title":"t","status":401}', method="GET", url="u"
    )
    assert isinstance(error, AuthenticationError)
    assert "CONVEYOR_TOKEN" in str(error)


def test_validation_errors_list_each_pointer() -> None:
    body = (
        b'{"type":"/problems/validation_failed","title":"invalid","status":422,'
        b'"errors":[{"pointer":"/priority","detail":"too big"}]}'
    )
    error = error_from_response(422, body, method="POST", url="u")
    assert isinstance(error, InvalidRequestError)
    assert "  /priority: too big" in str(error).splitlines()


@pytest.mark.parametrize(("status", "kind"), [(409, ConflictError), (503, UnavailableError), (500, UnavailableError)])
def test_statuses_map_to_kinds(status: int, kind: type) -> None:
    assert isinstance(error_from_response(status, b"", method="GET", url="u"), kind)


def test_log_gap_carries_the_expected_offset() -> None:
    body = b'{"type":"/problems/log_gap","title":"gap","status":409,"expected_offset":1234}'
    error = error_from_response(409, body, method="POST", url="u")
    assert (error.code, error.problem.expected_offset) == ("log_gap", 1234)


def test_an_unreachable_api_suggests_the_url_settings() -> None:
    message = str(connection_error("http://nowhere:1", OSError("refused")))
    assert "http://nowhere:1" in message and "--url" in message and "make run" in message
