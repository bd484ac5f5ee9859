"""The façades' mount point, ``/compat``: one small Starlette app per seed system's API.

Each façade is its own app (its routes, bodies, error envelope and auth scheme, DESIGN §10), so it
registers its own exception handlers and answers in its seed's shape; ``routes()`` lists one
``Mount`` per façade, and adding a façade is one line there. None is written yet.
"""

from starlette.routing import BaseRoute, Mount

from . import task_tracker


def routes() -> list[BaseRoute]:
    """One ``Mount("/<system>", app=<system>.app)`` per façade."""
    return [
        Mount("/task_tracker", app=task_tracker.app),
    ]
