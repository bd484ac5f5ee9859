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

from . import buildsrht, coalition, task_tracker
from .isula.app import app as isula_app
from .virtshell.app import app as virtshell_app

FACADES: Final[Mapping[str, ASGIApp]] = {
    "builds": buildsrht.app,
    "coalition": coalition.app,
    "task_tracker": task_tracker.app,
    "isula": isula_app,
    "virtshell": virtshell_app,
}
"""Each façade's app by its name (the path segment under ``/compat`` and the key of its port)."""


SEED_PATHS: Final[Mapping[str, str]] = {"virtshell": "/api/virtshell/v1"}
"""Façades also mounted on the API port where their seed document put them (a prefix no other path uses)."""


def routes(facades: Mapping[str, ASGIApp] = FACADES) -> list[BaseRoute]:
    """One ``Mount("/<name>", app=<app>)`` per façade, for the gateway's ``/compat`` mount."""
    return [Mount(f"/{name}", app=app) for name, app in facades.items()]


def seed_routes(facades: Mapping[str, ASGIApp] = FACADES) -> list[BaseRoute]:
    """The mounts at the seed documents' own paths on the API port (``SEED_PATHS``)."""
    return [Mount(path, app=facades[name]) for name, path in SEED_PATHS.items() if name in facades]
