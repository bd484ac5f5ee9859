"""A façade at the root of a port of its own (DESIGN §10): some real clients take only a host and a port.

The gateway listens on its API port and on one more port per façade the operator names
(``CONVEYOR_COMPAT_PORTS=coalition=19211,task_tracker=8091``). ``PortDispatch`` sits in the
gateway's middleware: a request that arrived on a façade's port goes to that façade's app with its
path untouched (so the façade sees ``/api/jobs``, not ``/compat/coalition/api/jobs``), sharing the
gateway's lifespan state; every other request goes on to the gateway's routes.
"""

import re
from collections.abc import Mapping
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

_NAME: Final = re.compile(r"[a-z][a-z0-9_]*")


def parse_port_map(spec: str, known: frozenset[str] | None = None) -> dict[str, int]:
    """``coalition=19211,task_tracker=8091`` as ``{"coalition": 19211, "task_tracker": 8091}``.

    Args:
        spec: Comma-separated ``<façade>=<port>`` pairs; empty for none.
        known: The façades that exist (None: any name).

    Returns:
        Port per façade.

    Raises:
        ValueError: A malformed pair, an unknown façade, a port out of range or named twice.
    """
    ports: dict[str, int] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, sep, port_text = (s.strip() for s in part.partition("="))
        if not sep or not _NAME.fullmatch(name) or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"{part!r} is not <façade>=<port> (like coalition=19211)")
        if known is not None and name not in known:
            raise ValueError(f"there is no façade {name!r}; there are: {', '.join(sorted(known)) or 'none'}")
        if name in ports or int(port_text) in ports.values():
            raise ValueError(f"{part!r}: each façade and each port may be named once")
        ports[name] = int(port_text)
    return ports


class PortDispatch:
    """ASGI middleware: requests on a façade's own port go to that façade's app."""

    def __init__(self, app: ASGIApp, by_port: Mapping[int, ASGIApp]) -> None:
        self.app = app
        self._by_port = dict(by_port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._by_port and scope["type"] in ("http", "websocket"):
            server = scope.get("server")
            facade = self._by_port.get(server[1]) if server else None
            if facade is not None:
                await facade(scope, receive, send)
                return
        await self.app(scope, receive, send)
