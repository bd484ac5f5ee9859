"""The native API's hooks: outgoing webhooks and their deliveries, and a project's inbound push hook.

Each module holds its endpoints; ``access.py`` their access rows, ``openapi*.py`` their paths."""

from typing import Final

from starlette.routing import BaseRoute

from .push_hook import PUSH_HOOK_ROUTES
from .routes import HOOK_ROUTES

ROUTES: Final[list[BaseRoute]] = [*PUSH_HOOK_ROUTES, *HOOK_ROUTES]
"""This area's endpoints, in the order the router tries them."""
