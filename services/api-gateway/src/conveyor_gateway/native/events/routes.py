"""``GET /v1/events`` (pages of the event history) and ``GET /v1/events/stream`` (Server-Sent
Events, resumable with ``Last-Event-ID`` = the stream sequence), both read from ``EVENTS`` and
both showing only what the caller may read."""

from collections.abc import AsyncIterator
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ...core.context import State
from ...core.reader import encode_cursor
from ...errors import FieldError
from ...http.access import caller
from ...http.plumbing import json_response
from ..output.log_params import bounded_int, raise_if
from .feed import FeedItem, Visibility, close_feed, fetch_raw, open_feed, scan
from .query import EventQuery, parse_query

_encoder: Final = msgspec.json.Encoder()
_KEEPALIVE_S: Final = 10.0
_SCAN_FACTOR: Final = 20  # a page reads at most limit * 20 events, so a sparse filter stays cheap


class EventPage(msgspec.Struct, kw_only=True):
    """``GET /v1/events``: oldest first. ``next_cursor`` resumes after the last event read (also
    when ``more`` is false: poll with it for newer events)."""

    items: list[FeedItem]
    next_cursor: str | None
    more: bool


async def list_events(request: Request) -> Response:
    """``GET /v1/events?job=&worker=&type=&since=&limit=&cursor=``."""
    state: State = request.scope["state"]
    query = parse_query(dict(request.query_params), paged=True)
    vis = Visibility(caller(request), state["reader"])
    if query.job is not None and not await vis.may_read_job(query.job):
        # A job the caller may not read answers as a missing one: nothing, and a cursor that has
        # not moved (a scan of its subject would carry its stream sequence out; issue 13).
        return json_response(EventPage(items=[], next_cursor=_cursor(query.after_seq), more=False))
    sub = await open_feed(state["js"], query)
    items: list[FeedItem] = []
    last_seq: int | None = query.after_seq
    more = False
    try:
        async for scanned_to, batch, left in scan(sub, query, vis, max_scanned=query.limit * _SCAN_FACTOR):
            room = query.limit - len(items)
            items.extend(batch[:room])
            if len(batch) > room:
                last_seq, more = items[-1].seq, True
                break
            last_seq, more = scanned_to, left > 0
            if len(items) == query.limit:
                break
    finally:
        await close_feed(sub)
    return json_response(EventPage(items=items, next_cursor=_cursor(last_seq), more=more))


def _cursor(seq: int | None) -> str | None:
    return encode_cursor(seq) if seq is not None else None


async def stream_events(request: Request) -> Response:
    """``GET /v1/events/stream``: new events as they are appended (or from ``since``, or after
    ``Last-Event-ID``), each with ``id`` = its stream sequence and ``event`` = its type."""
    state: State = request.scope["state"]
    query = parse_query(dict(request.query_params), paged=False)
    last_id = request.headers.get("last-event-id", "").strip()
    if last_id:
        errors: list[FieldError] = []
        after_seq = bounded_int(last_id, "Last-Event-ID", errors, minimum=0)
        raise_if(errors)
        query = msgspec.structs.replace(query, after_seq=after_seq)
    vis = Visibility(caller(request), state["reader"])
    sub = await open_feed(state["js"], query, new_only=query.since is None and query.after_seq is None)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_follow(sub, query, vis), headers=headers, media_type="text/event-stream")


async def _follow(sub: Any, query: EventQuery, vis: Visibility) -> AsyncIterator[bytes]:
    try:
        yield b"retry: 1000\n\n"
        while True:
            msgs = await fetch_raw(sub, 200, _KEEPALIVE_S)
            if not msgs:
                yield b": keepalive\n\n"
                continue
            for item in await vis.filter(query, msgs):
                data = _encoder.encode(item).decode()
                yield f"id: {item.seq}\nevent: {item.type}\ndata: {data}\n\n".encode()
    finally:
        await close_feed(sub)


EVENT_ROUTES: Final = [
    Route("/v1/events", list_events, methods=["GET"]),
    Route("/v1/events/stream", stream_events, methods=["GET"]),
]
