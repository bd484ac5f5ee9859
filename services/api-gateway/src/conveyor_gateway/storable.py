"""What the projections can store: refused at the gateway, before an event is appended.

PostgreSQL refuses a NUL character in ``text`` and ``jsonb``, and a ``bigint`` holds int64 only;
an event carrying either would make every projection that folds it fail (issue 13). JSON also
spells numbers that are out of float range (``1e999``). Lone
surrogates never get this far: the JSON decoder refuses them as malformed. Every request body
goes through ``validation.decode_body``, which asks ``unstorable`` about it, and every query
string through ``query_nul_names`` (``query_guard``).
"""

import math
import re
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import parse_qsl

from .bodies import FieldError

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

# A NUL escape, an integer of 19 digits or more, an exponent of three digits: JSON without any
# of these holds nothing ``unstorable`` looks for.
_SUSPECT: Final = re.compile(rb"\\u0000|\d{19}|[eE][+-]?\d{3}")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def might_be_unstorable(body: bytes) -> bool:
    """Cheap test on raw JSON: False when ``unstorable`` cannot find anything in it."""
    return _SUSPECT.search(body) is not None


def unstorable(doc: Any, prefix: str = "") -> list[FieldError]:
    """Return the places in a decoded JSON document that no projection could store.

    Args:
        doc: The document, decoded by ``json.loads`` (numbers out of float range are infinite).
        prefix: Prepended to each pointer.

    Returns:
        One error per NUL-bearing string or key, integer outside int64 and infinite number, with
        its JSON pointer; empty for a storable document.
    """
    return list(_walk(doc, prefix))


def _walk(value: Any, pointer: str) -> Iterator[FieldError]:
    if isinstance(value, str):
        if "\x00" in value:
            yield FieldError(pointer=pointer, detail="text must not contain the NUL character (\\u0000)")
    elif isinstance(value, float):
        if math.isinf(value):
            yield FieldError(pointer=pointer, detail="numbers must be within float range (about ±1.8e308)")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            yield FieldError(pointer=pointer, detail=f"integers must be from {INT64_MIN} to {INT64_MAX}")
    elif isinstance(value, dict):
        for key, item in value.items():
            here = f"{pointer}/{_escape(key)}"
            if "\x00" in key:
                yield FieldError(pointer=here, detail="names must not contain the NUL character (\\u0000)")
            yield from _walk(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{pointer}/{index}")


def query_nul_names(query_string: bytes) -> list[str]:
    """Return the names of query parameters whose name or value holds a NUL (``%00``).

    Args:
        query_string: The raw query string of a request.
    """
    if b"%00" not in query_string and b"\x00" not in query_string:
        return []
    text = query_string.decode("latin-1")
    return [
        name.replace("\x00", "\\u0000")
        for name, value in parse_qsl(text, keep_blank_values=True)
        if "\x00" in name or "\x00" in value
    ]
