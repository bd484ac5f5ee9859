"""`stream_events`: the subscriber for programs that cannot reach NATS, over the gateway's
Server-Sent Events stream ``GET /v1/events/stream``.

The position is the last event's ``seq``, kept by the caller: pass it back as ``after`` after a
restart. A dropped connection is resumed with ``Last-Event-ID``, so nothing is missed. The
stream shows job and worker events the token may read, with secrets left out.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final

import httpx
import msgspec

from .client import USER_AGENT, auth_headers, check
from .errors import connection_error
from .received import ReceivedEvent, encode, occurred_at, typed
from .sse import parse_sse

__all__ = ["stream_events"]

_decoder: Final = msgspec.json.Decoder(dict[str, Any])


def _received(data: str) -> ReceivedEvent | None:
    try:
        item = _decoder.decode(data)
        doc = item["event"]
        aggregate, ident = str(item["aggregate"]), str(item["aggregate_id"])
        return ReceivedEvent(
            seq=int(item["seq"]),
            type=str(item["type"]),
            aggregate=aggregate,
            aggregate_id=ident,
            occurred_at=occurred_at(doc),
            data=doc,
            event=typed(aggregate, ident, encode(doc)),
        )
    except (msgspec.DecodeError, KeyError, TypeError, ValueError):
        return None


def _params(types: tuple[str, ...], job: str | None, worker: str | None, since: datetime | None) -> dict[str, str]:
    params = {"type": ",".join(types)} if types else {}
    if job:
        params["job"] = job
    if worker:
        params["worker"] = worker
    if since is not None:
        params["since"] = since.isoformat()
    return params


async def stream_events(
    url: str,
    *,
    token: str | None = None,
    types: tuple[str, ...] | list[str] = (),
    job: str | None = None,
    worker: str | None = None,
    since: datetime | None = None,
    after: int | None = None,
    retry_s: float = 1.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[ReceivedEvent]:
    """Follow events over SSE, reconnecting after the last one received when the connection drops.

    Args:
        url: The gateway, e.g. ``http://127.0.0.1:8080``.
        token: A token with ``jobs:read``.
        types: Tags or ``prefix.*`` patterns to keep; all when empty.
        job: Only this job's events.
        worker: Only this worker's events.
        since: Begin with events stored at or after this time (else with new events).
        after: Begin after this stream sequence (a ``seq`` the caller kept); wins over ``since``.
        retry_s: Pause before reconnecting.
        transport: For tests.

    Yields:
        Each event, oldest first.

    Raises:
        ApiError: When the gateway refuses the request (a bad token, a bad filter).
    """
    last, connected = after, False
    params = _params(tuple(types), job, worker, since)
    headers = {"user-agent": USER_AGENT, "accept": "text/event-stream", **auth_headers(token)}
    timeout = httpx.Timeout(30.0, read=60.0)  # the server sends a keepalive every 10 s
    base = url.rstrip("/")
    async with httpx.AsyncClient(base_url=base, timeout=timeout, trust_env=False, transport=transport) as http:
        while True:
            sent = {**headers, "last-event-id": str(last)} if last is not None else headers
            try:
                async with http.stream("GET", "/v1/events/stream", params=params, headers=sent) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        check(response)
                    connected = True
                    block: list[str] = []
                    async for line in response.aiter_lines():
                        if line:
                            block.append(line)
                            continue
                        for message in parse_sse([*block, ""]):
                            received = _received(message.data)
                            if received is not None:
                                last = received.seq
                                yield received
                        block = []
            except httpx.TransportError as exc:
                if not connected:  # never reached: a wrong URL, not a dropped connection
                    raise connection_error(url, exc) from exc
            await asyncio.sleep(retry_s)
