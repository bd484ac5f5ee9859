"""The native API's events: the event feed for subscribers (a page, or a live stream).

Each module holds its endpoints; ``access.py`` their access rows, ``openapi*.py`` their paths."""

from typing import Final

from starlette.routing import BaseRoute

from .routes import EVENT_ROUTES

ROUTES: Final[list[BaseRoute]] = list(EVENT_ROUTES)
"""This area's endpoints, in the order the router tries them."""
