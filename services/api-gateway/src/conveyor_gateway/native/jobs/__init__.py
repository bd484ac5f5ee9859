"""The native API's jobs: submit (one or in bulk), read, list, commands, edits, dependencies, explain, access lists.

Each module holds its endpoints; ``access.py`` their access rows, ``openapi*.py`` their paths."""

from typing import Final

from starlette.routing import BaseRoute

from .acl import JOB_ACL_ROUTES
from .bulk import BULK_ROUTES
from .commands import JOB_COMMAND_ROUTES
from .dependencies import DEPENDENCY_ROUTES
from .edit import EDIT_ROUTES
from .explain_routes import EXPLAIN_ROUTES
from .routes import ROUTES as JOB_ROUTES

ROUTES: Final[list[BaseRoute]] = [
    *BULK_ROUTES,
    *JOB_ROUTES,
    *JOB_COMMAND_ROUTES,
    *EDIT_ROUTES,
    *DEPENDENCY_ROUTES,
    *EXPLAIN_ROUTES,
    *JOB_ACL_ROUTES,
]
"""This area's endpoints, in the order the router tries them."""
