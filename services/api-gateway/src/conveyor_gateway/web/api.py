"""The dashboard calls the gateway's own ``/v1`` API in process, as the signed-in user.

Reads the dashboard does not render itself (a job's log and its live tail, the event stream,
artifacts) pass straight through ``/ui/api/...`` to ``/v1/...`` with the session's token put in
``Authorization``: the same handlers, the same access rules, byte ranges and Server-Sent Events
included, with nothing copied. Actions taken from a form (after its CSRF check) are the same API
calls (``call``). No HTTP hop: the ASGI app is called directly.
"""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

import msgspec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

_DROPPED: Final = frozenset({b"cookie", b"authorization", b"host", b"content-length", b"content-type"})


class Answer(msgspec.Struct, frozen=True):
    """An API answer: status and decoded JSON body (None when the body is not JSON)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def detail(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("detail") or self.body.get("title") or self.status)
        return str(self.status)


def api_scope(scope: Scope, token: str, method: str, path: str, query: bytes, *, has_body: bool) -> Scope:
    """A copy of ``scope`` for ``method path?query`` on the API, as the holder of ``token``."""
    headers = [(k, v) for k, v in scope.get("headers", []) if k not in _DROPPED]
    headers.append((b"authorization", f"Bearer {token}".encode()))
    headers.append((b"host", b"conveyor.internal"))
    if has_body:
        headers.append((b"content-type", b"application/json"))
    inner = dict(scope)
    inner.update(method=method, path=path, raw_path=path.encode(), root_path="", query_string=query, headers=headers)
    inner.pop("router", None)
    inner.pop("endpoint", None)
    inner.pop("path_params", None)
    return inner


async def call(api: Asgi, scope: Scope, token: str, method: str, path: str, body: Any = None) -> Answer:
    """One API call, its JSON answer collected."""
    raw = b"" if body is None else msgspec.json.encode(body)
    path, _, query = path.partition("?")
    inner = api_scope(scope, token, method, path, query.encode(), has_body=body is not None)
    inner["headers"].append((b"content-length", str(len(raw)).encode()))
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    status = 500
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await api(inner, receive, send)
    data = b"".join(chunks)
    try:
        decoded = msgspec.json.decode(data) if data else None
    except msgspec.DecodeError:
        decoded = None
    return Answer(status, decoded)
