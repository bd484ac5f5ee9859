"""Byte ranges and artifact path rules of the gateway's output endpoints."""

import pytest

from conveyor_gateway.core.artifact_paths import check_artifact_path
from conveyor_gateway.errors import InvalidArtifactPathError, RangeNotSatisfiableError
from conveyor_gateway.http.byte_ranges import ByteRange, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", ByteRange(0, 10, 100)),
        ("bytes=90-", ByteRange(90, 100, 100)),
        ("bytes=90-500", ByteRange(90, 100, 100)),
        ("bytes=-5", ByteRange(95, 100, 100)),
        ("bytes=-500", ByteRange(0, 100, 100)),
        ("bytes=0-1,5-6", None),  # multiple ranges: served whole
        ("items=0-1", None),
        ("bytes=9-3", None),
        ("bytes=abc", None),
    ],
)
def test_ranges(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=100-", 100), ("bytes=0-", 0), ("bytes=-3", 0)])
def test_ranges_past_the_end_are_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiableError):
        parse_range(header, size)


def test_content_range() -> None:
    assert ByteRange(10, 20, 100).content_range == "bytes 10-19/100"


@pytest.mark.parametrize("path", ["a.txt", "out/build.tar.gz", "deep/er/../x".replace("../", "z/"), "ünï/☃"])
def test_good_paths(path: str) -> None:
    assert check_artifact_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc/passwd",
        "../x",
        "a/../../x",
        "a/..",
        ".",
        "a/./b",
        "a//b",
        "a/",
        "a\\b",
        "a\x00b",
        "C:x",
        "\x7f",
        "a" * 1025,
        "b" * 256 + "/x",
    ],
)
def test_bad_paths(path: str) -> None:
    with pytest.raises(InvalidArtifactPathError):
        check_artifact_path(path)
