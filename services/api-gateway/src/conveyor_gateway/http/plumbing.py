"""Request and response plumbing every surface shares: JSON bodies in and out, path ids, ``Prefer``."""

from collections.abc import Mapping
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from conveyor_events import parse_uuid

from ..errors import FieldError, InvalidIdError, TooLargeError, UnsupportedMediaError

_encoder: Final = msgspec.json.Encoder()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encoder.encode(body), status_code=status, media_type="application/json", headers=headers)


def _check_media(request: Request) -> None:
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaError(f"content-type {media!r} is not JSON")


async def read_raw_body(request: Request, limit: int) -> bytes:
    """The raw body (any media type), refusing anything over ``limit`` bytes with 413."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"the body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_body(request: Request, limit: int, *, optional: bool = False) -> bytes:
    """The raw body, refusing non-JSON media types and anything over ``limit`` bytes.

    With ``optional``, an empty body reads as ``{}`` whatever its content-type (``curl -X POST``
    with no data sends none, or a form type).
    """
    if not optional:
        _check_media(request)
    body = await read_raw_body(request, limit)
    if optional and not body.strip():
        return b"{}"
    if optional:
        _check_media(request)
    return body


def path_id(request: Request, name: str, what: str) -> str:
    """The canonical UUID in path parameter ``name``.

    Raises:
        InvalidIdError: It is not a UUID.
    """
    raw: str = request.path_params[name]
    parsed = parse_uuid(raw)
    if parsed is None:
        raise InvalidIdError(f"{raw[:64]!r} is not a {what} id (a UUID)")
    return parsed


def prefers_async(request: Request) -> bool:
    """RFC 7240 ``Prefer: respond-async``: answer once stored, without waiting to read it back."""
    prefer = request.headers.get("prefer")
    return prefer is not None and "respond-async" in (p.strip().lower() for p in prefer.split(","))


def page_limit(params: Mapping[str, str], errors: list[FieldError], *, default: int = 50, most: int = 500) -> int:
    """``?limit=``: a page size from 1 to ``most`` (``default`` when absent); else an error in ``errors``.

    ASCII digits only (``str.isdigit`` also holds for "²", which ``int`` refuses), and short: a
    thousand-digit number is not converted.
    """
    raw = params.get("limit", str(default))
    limit = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 0
    if not 1 <= limit <= most:
        errors.append(FieldError(pointer="limit", detail=f"an integer from 1 to {most}"))
    return limit
