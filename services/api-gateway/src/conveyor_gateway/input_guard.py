"""Text no endpoint can take, refused before routing: NUL in the query string.

PostgreSQL refuses NUL in text, so a ``?project=%00`` that reached a query would fail there as a
500. No filter, name, tag or cursor may hold NUL, so the check is made once for every request
rather than in each endpoint's parameter parsing. (Path parameters are each checked by their
endpoint: an id must be a UUID, a name or an artifact path has its own rule.)
"""

from typing import Final

from starlette.types import Scope

from .bodies import FieldError
from .errors import InvalidQueryError

_NUL_QUERY: Final = (b"%00", b"\x00")


def refuse_nul(scope: Scope) -> None:
    """Raise when the request's query string carries NUL.

    Raises:
        InvalidQueryError: NUL in a query parameter (``%00``), naming the parameter.
    """
    query: bytes = scope.get("query_string", b"")
    if not any(marker in query for marker in _NUL_QUERY):
        return
    names = [part.split(b"=", 1)[0] for part in query.split(b"&") if any(m in part for m in _NUL_QUERY)]
    errors = [FieldError(pointer=n.decode("latin-1")[:64], detail="must not hold NUL (%00)") for n in names]
    raise InvalidQueryError("a query parameter holds NUL (%00)", errors=errors)
