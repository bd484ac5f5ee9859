"""The dashboard at ``/ui`` (DESIGN §11): server-rendered pages from templates in files, a little
JavaScript from static files (no inline script or style: a strict CSP), live updates from the
API's Server-Sent Events, and the API's own access rules (pages read through ``core`` readers or
call the API in process as the signed-in user, see ``api``).

``create_app(api, ...)`` builds it; ``api`` is the gateway's ASGI app, handed in by the
composition root (a surface never imports another surface).
"""

from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .api import Asgi, Receive, Scope, Send, api_scope
from .assets import Assets
from .auth import Handler, SessionConfig, authenticated, login_routes, signed_in
from .jobs import JobPages
from .overview import OtherPages
from .render import SECURITY_HEADERS, Pages, environment
from .session import session_key

_PASS_METHODS: Final = frozenset({"GET", "HEAD"})


class ApiPassThrough:
    """``GET /ui/api/<path>`` -> ``GET /v1/<path>`` as the session's user, streamed as the API
    answers it (logs with ``Range``, SSE tails, artifact downloads). Reads only: every change goes
    through a form with its CSRF token."""

    def __init__(self, api: Asgi, config: SessionConfig) -> None:
        self._api = api
        self._config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if scope["method"] not in _PASS_METHODS:
            await Response("read only", status_code=405, headers={"Allow": "GET, HEAD"})(scope, receive, send)
            return
        found = await authenticated(request, self._config)
        if found is None:
            await Response("sign in first", status_code=401, media_type="text/plain")(scope, receive, send)
            return
        path = "/v1/" + request.path_params["path"]
        inner = api_scope(scope, found[0].token, scope["method"], path, scope.get("query_string", b""), has_body=False)
        await self._api(inner, receive, send)


def create_app(api: Asgi, *, session_key_setting: str = "", session_hours: float = 12.0) -> Starlette:
    """The dashboard app; mount it anywhere (its links are built from the mount point)."""
    assets = Assets()
    pages = Pages(environment(assets))
    config = SessionConfig(session_key(session_key_setting), session_hours * 3600)
    jobs = JobPages(pages, api)
    other = OtherPages(pages)
    login_page, login, logout = login_routes(config, pages)

    def page(handler: Handler, scope: str) -> Handler:
        return signed_in(config, handler, scope)

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/overview", status_code=303)

    async def not_found(request: Request, exc: Exception) -> Response:
        del exc
        return Response("not found", status_code=404, media_type="text/plain", headers=SECURITY_HEADERS)

    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/static/{digest}/{name}", assets.serve),
        Route("/api/{path:path}", ApiPassThrough(api, config), methods=["GET", "HEAD", "POST", "PUT", "DELETE"]),
        Route("/overview", page(other.overview, "jobs:read")),
        Route("/jobs", page(jobs.listing, "jobs:read")),
        Route("/jobs/bulk", page(jobs.bulk, "jobs:write"), methods=["POST"]),
        Route("/jobs/{job_id}", page(jobs.job, "jobs:read")),
        Route("/jobs/{job_id}/{action}", page(jobs.command, "jobs:write"), methods=["POST"]),
        Route("/workers", page(other.workers, "workers")),
        Route("/workers/{worker_id}/{action}", page(other.worker_mode, "workers"), methods=["POST"]),
        Route("/projects", page(other.projects, "projects")),
        Route("/projects/{project}/workers/{worker_id}", page(other.decide_access, "projects"), methods=["POST"]),
        Route("/hooks", page(other.hooks, "hooks")),
        Route("/hooks/{hook_id}", page(other.hook, "hooks")),
        Route("/hooks/{hook_id}/deliveries/{delivery_id}/redeliver", page(other.redeliver, "hooks"), methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found})
