"""The native API's workers: registration, state, and the lease protocol (lease, heartbeat, start, finish, tasks).

Each module holds its endpoints; ``access.py`` their access rows, ``openapi*.py`` their paths."""

from typing import Final

from starlette.routing import BaseRoute

from .leases import LEASE_ROUTES
from .routes import WORKER_ROUTES

ROUTES: Final[list[BaseRoute]] = [*WORKER_ROUTES, *LEASE_ROUTES]
"""This area's endpoints, in the order the router tries them."""
