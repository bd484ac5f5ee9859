"""The dashboard's mount point, ``/ui`` (DESIGN §11).

Until the dashboard lands, ``app`` is an empty router: every path under ``/ui`` is the gateway's
own 404 problem. The dashboard replaces it with its Starlette app (routes, templates, static
files), which may register its own exception handlers.
"""

from typing import Final

from starlette.routing import Router

app: Final = Router(routes=[])
