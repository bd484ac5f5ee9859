"""The native API's projects: projects and roles, workers' access to them, maintenance.

Each module holds its endpoints; ``access.py`` their access rows, ``openapi*.py`` their paths."""

from typing import Final

from starlette.routing import BaseRoute

from .maintenance import MAINTENANCE_ROUTES
from .routes import PROJECT_ROUTES
from .worker_access import WORKER_ACCESS_ROUTES

ROUTES: Final[list[BaseRoute]] = [*PROJECT_ROUTES, *WORKER_ACCESS_ROUTES, *MAINTENANCE_ROUTES]
"""This area's endpoints, in the order the router tries them."""
