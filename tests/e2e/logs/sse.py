"""A minimal Server-Sent Events reader for tests (fields per the WHATWG spec we use)."""

from collections.abc import AsyncIterator

import httpx
import msgspec


class SseMessage(msgspec.Struct, kw_only=True):
    event: str = "message"
    id: str | None = None
    data: str = ""


async def sse_messages(response: httpx.Response) -> AsyncIterator[SseMessage]:
    message = SseMessage()
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data or message.id is not None or message.event != "message":
                message.data = "\n".join(data)
                yield message
            message, data = SseMessage(), []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "id":
            message.id = value
        elif field == "event":
            message.event = value
