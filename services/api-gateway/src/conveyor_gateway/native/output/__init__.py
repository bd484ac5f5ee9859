"""The native API's output: logs, progress and artifacts written under a lease and read back; worker log lines.

Each module holds its endpoints; ``access.py`` their access rows, ``openapi*.py`` their paths."""

from typing import Final

from starlette.routing import BaseRoute

from .artifacts import ARTIFACT_ROUTES
from .log_reads import LOG_READ_ROUTES
from .log_routes import LOG_WRITE_ROUTES

ROUTES: Final[list[BaseRoute]] = [*LOG_WRITE_ROUTES, *LOG_READ_ROUTES, *ARTIFACT_ROUTES]
"""This area's endpoints, in the order the router tries them."""
