"""HTTP byte ranges (RFC 9110 §14): one range per request, parsed without I/O."""

import msgspec

from ..errors import RangeNotSatisfiableError


class ByteRange(msgspec.Struct, frozen=True):
    """Bytes ``start`` to ``end`` (exclusive) of a representation of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end - 1}/{self.size}"


def _number(text: str) -> bool:
    """ASCII digits that fit a bigint (``"²".isdigit()`` holds, and int() refuses it)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range a ``Range`` header asks for; None to send the whole representation.

    A header that is not a single ``bytes=`` range is ignored, as RFC 9110 allows (the client
    then gets a 200 with everything); ``bytes=a-``, ``bytes=a-b`` and ``bytes=-n`` are served.

    Raises:
        RangeNotSatisfiableError: The range starts at or past the end (416).
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (_number(first) or _number(last)) or (first and not _number(first)):
        return None
    if not first:  # suffix: the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            raise RangeNotSatisfiableError(f"no bytes to serve: the size is {size}", size=size)
        return ByteRange(max(0, size - n), size, size)
    start = int(first)
    if last and not _number(last):
        return None
    end = min(size, int(last) + 1) if last else size
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiableError(f"the range starts at {start}; the size is {size}", size=size)
    return ByteRange(start, end, size)
