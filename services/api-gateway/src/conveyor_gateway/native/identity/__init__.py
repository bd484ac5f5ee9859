"""The native API's identity: the caller, users and API tokens.

Each module holds its endpoints; ``access.py`` their access rows, ``openapi*.py`` their paths."""

from typing import Final

from starlette.routing import BaseRoute

from .routes import IDENTITY_ROUTES

ROUTES: Final[list[BaseRoute]] = list(IDENTITY_ROUTES)
"""This area's endpoints, in the order the router tries them."""
