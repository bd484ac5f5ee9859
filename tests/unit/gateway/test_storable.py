"""What the projections cannot store is refused at the gateway, with a pointer (issue 13)."""

import msgspec
import pytest

from conveyor_gateway.bodies import JobSubmission
from conveyor_gateway.bulk import decode_batch
from conveyor_gateway.errors import MalformedError, ValidationFailedError
from conveyor_gateway.storable import query_nul_names
from conveyor_gateway.validation import decode_body


class Note(msgspec.Struct):
    message: str


def refused(body: bytes, cls: type = JobSubmission) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailedError) as info:
        decode_body(body, cls)
    return [(e.pointer, e.detail) for e in info.value.errors or []]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (rb'{"title":"a\u0000b","command":"true"}', "/title"),
        (rb'{"command":"true","env":{"A":"x\u0000"}}', "/env/A"),
        (rb'{"command":"true","tags":["ok","t\u0000"]}', "/tags/1"),
        (rb'{"recipe":{"deep":[{"k\u0000":1}]}}', "/recipe/deep/0/k\u0000"),
        (rb'{"recipe":{"n":9223372036854775808}}', "/recipe/n"),
        (rb'{"recipe":{"n":-9223372036854775809}}', "/recipe/n"),
        (rb'{"recipe":{"f":1e999}}', "/recipe/f"),
        (rb'{"command":"true","priority":1e999}', "/priority"),
    ],
)
def test_nul_and_out_of_range_numbers_are_refused_with_their_pointer(body: bytes, pointer: str) -> None:
    assert [p for p, _ in refused(body)] == [pointer]


def test_the_detail_says_what_is_wrong() -> None:
    [(_, detail)] = refused(rb'{"message":"m\u0000"}', Note)
    assert "NUL" in detail


def test_storable_edges_are_accepted() -> None:
    sub = decode_body(rb'{"recipe":{"n":9223372036854775807,"m":-9223372036854775808,"f":1e308}}', JobSubmission)
    assert bytes(sub.recipe)
    assert decode_body(rb'{"title":"\u00e9\ud83d\ude00 \\u0000 e100","command":"true"}', JobSubmission).title


def test_a_lone_surrogate_is_malformed() -> None:
    with pytest.raises(MalformedError):
        decode_body(rb'{"title":"\ud800","command":"true"}', JobSubmission)


def test_a_bulk_item_reports_its_own_pointer() -> None:
    body = rb'{"jobs":[{"command":"true"},{"command":"tr\u0000ue"}]}'
    with pytest.raises(ValidationFailedError) as info:
        decode_batch(body, max_item_bytes=10_000)
    assert [e.pointer for e in info.value.errors or []] == ["/jobs/1/command"]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        (b"project=%00", ["project"]),
        (b"project=demo&tag=a%00b&owner=x", ["tag"]),
        (b"%00=1", ["\\u0000"]),
        (b"project=demo&limit=5", []),
        (b"", []),
    ],
)
def test_query_parameters_holding_nul_are_named(query: bytes, names: list[str]) -> None:
    assert query_nul_names(query) == names
