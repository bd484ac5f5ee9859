"""The façades' mount point, ``/compat``: one small Starlette app per seed system's API.

Each façade is its own app (its routes, bodies, error envelope and auth scheme, DESIGN §10), so it
registers its own exception handlers and answers in its seed's shape. ``FACADES`` names each one;
it is mounted at ``/compat/<name>`` on the gateway's port and, when the operator gives it a port
of its own (``CONVEYOR_COMPAT_PORTS``), served at the root of that port too (``http.ports``).
Adding a façade is one line in ``FACADES``.
"""

from collections.abc import Mapping
from typing import Final

from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp

from . import task_tracker

FACADES: Final[Mapping[str, ASGIApp]] = {
    "task_tracker": task_tracker.app,
}
"""Each façade's app by its name (the path segment under ``/compat`` and the key of its port)."""


def routes(facades: Mapping[str, ASGIApp] = FACADES) -> list[BaseRoute]:
    """One ``Mount("/<name>", app=<app>)`` per façade."""
    return [Mount(f"/{name}", app=app) for name, app in facades.items()]
