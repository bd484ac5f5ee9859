"""The native API's access table: every area's rows, and the public pages beside them.

The guard (``http.access.secure_routes``) is handed this table; a route missing from it stops the
gateway from starting. Add an endpoint's row in its area's ``access.py``.
"""

from typing import Final

from ..http.access import PUBLIC, Rules, templated
from .events.access import ACCESS as EVENTS
from .hooks.access import ACCESS as HOOKS
from .identity.access import ACCESS as IDENTITY
from .jobs.access import ACCESS as JOBS
from .jobs.access import WORKER_MAY_CALL
from .output.access import ACCESS as OUTPUT
from .projects.access import ACCESS as PROJECTS
from .workers.access import ACCESS as WORKERS

SERVICE: Final[Rules] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/asyncapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/problems/{code}"): PUBLIC,
}
"""Health, metrics, the OpenAPI document, its docs page and the problem pages: no credentials."""

ROUTE_ACCESS: Final[Rules] = {**JOBS, **OUTPUT, **WORKERS, **IDENTITY, **PROJECTS, **HOOKS, **EVENTS, **SERVICE}
"""The access rule of every endpoint the native API and the service pages serve."""

RULE_BY_TEMPLATE: Final = templated(ROUTE_ACCESS)
"""The same table keyed by OpenAPI path templates."""

__all__ = ["ROUTE_ACCESS", "RULE_BY_TEMPLATE", "WORKER_MAY_CALL"]
