"""The native ``/v1`` API: one folder per area, each with its endpoints, access rows and OpenAPI paths.

``routes()`` is every endpoint (and the docs pages beside them), unguarded: ``app.py`` hands them
with ``ROUTE_ACCESS`` to the fail-closed guard.
"""

from starlette.routing import BaseRoute

from . import events, hooks, identity, jobs, output, projects, workers
from .access import ROUTE_ACCESS, WORKER_MAY_CALL
from .service import service_routes


def routes() -> list[BaseRoute]:
    """The native API's routes, in the order the router tries them."""
    return [
        *jobs.ROUTES,
        *workers.ROUTES,
        *output.ROUTES,
        *service_routes(),
        *identity.ROUTES,
        *projects.ROUTES,
        *hooks.ROUTES,
        *events.ROUTES,
    ]


__all__ = ["ROUTE_ACCESS", "WORKER_MAY_CALL", "routes"]
