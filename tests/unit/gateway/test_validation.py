"""Request decoding: every invalid field reported with a JSON pointer."""

import pytest

from conveyor_gateway.core.bodies import JobSubmission
from conveyor_gateway.errors import MalformedError, ValidationFailedError
from conveyor_gateway.http.validation import decode_body, pointer_of


@pytest.mark.parametrize(
    ("message", "pointer", "detail"),
    [
        ("Expected `int`, got `str` - at `$.priority`", "/priority", "Expected `int`, got `str`"),
        ("Object missing required field `script` - at `$.manifest.tasks[0]`", "/manifest/tasks/0", None),
        ("Expected `str` - at `$.a/b`", "/a~1b", None),
        ("Expected `object`, got `array`", "", "Expected `object`, got `array`"),
    ],
)
def test_pointer_of(message: str, pointer: str, detail: str | None) -> None:
    got_pointer, got_detail = pointer_of(message)
    assert got_pointer == pointer
    if detail is not None:
        assert got_detail == detail


def test_valid_body_decodes() -> None:
    sub = decode_body(b'{"project":"demo","command":"echo hi","tags":["x"]}', JobSubmission)
    assert (sub.project, sub.command, sub.tags, sub.max_retries) == ("demo", "echo hi", ["x"], 3)


def test_every_bad_field_is_reported() -> None:
    body = b'{"project":"no spaces","priority":"high","bogus":1,"manifest":{"tasks":[{"name":"a"}]}}'
    with pytest.raises(ValidationFailedError) as info:
        decode_body(body, JobSubmission)
    pointers = {e.pointer for e in info.value.errors or []}
    assert pointers == {"/project", "/priority", "/bogus", "/manifest/tasks/0"}


def test_bounds_are_enforced() -> None:
    with pytest.raises(ValidationFailedError) as info:
        decode_body(b'{"command":"x","priority":100000,"lease_s":1,"tags":["' + b"a" * 200 + b'"]}', JobSubmission)
    pointers = {e.pointer for e in info.value.errors or []}
    assert pointers == {"/priority", "/lease_s", "/tags/0"}


def test_non_object_and_non_json_bodies() -> None:
    with pytest.raises(ValidationFailedError) as info:
        decode_body(b"[1,2]", JobSubmission)
    assert [e.pointer for e in info.value.errors or []] == [""]
    with pytest.raises(MalformedError):
        decode_body(b'{"project":', JobSubmission)
    with pytest.raises(MalformedError):
        decode_body(b"", JobSubmission)
