"""The façades' mount point, ``/compat``: one small Starlette app per seed system's API.

Each façade is its own app (its routes, bodies, error envelope and auth scheme, DESIGN §10), so it
registers its own exception handlers and answers in its seed's shape; ``routes()`` lists one
``Mount`` per façade, and adding a façade is one line there.
"""

from starlette.routing import BaseRoute, Mount

from ..settings import Settings
from . import buildsrht


def routes(settings: Settings | None = None) -> list[BaseRoute]:
    """One ``Mount("/<system>", app=<system>.app)`` per façade (built with ``settings`` when given)."""
    return [
        Mount(
            "/builds", app=buildsrht.app if settings is None else buildsrht.create_app(buildsrht.settings_of(settings))
        ),
    ]
