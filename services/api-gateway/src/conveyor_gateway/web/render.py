"""Templates (files under ``templates/``) and the page response: strict security headers on every
page, the CSP nonce-free because no page holds inline script or style."""

from pathlib import Path
from typing import Any, Final

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from conveyor_events.states import JOB_STATES

from .assets import Assets
from .state_words import state_class

TEMPLATE_DIR: Final = Path(__file__).parent / "templates"

CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def environment(assets: Assets) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(asset=assets.url, job_states=JOB_STATES, state_class=state_class)
    env.filters["short"] = lambda value: str(value)[:8]
    env.filters["when"] = lambda value: "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")
    return env


class Pages:
    """Renders a template with what every page needs (the root, the user, the CSRF token)."""

    def __init__(self, env: jinja2.Environment) -> None:
        self._env = env

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/") + "/"
        session = request.scope.get("ui_session")
        context.setdefault("user", request.scope.get("ui_principal"))
        context.setdefault("csrf", session.csrf if session is not None else "")
        context.setdefault("partial", request.query_params.get("partial") == "1")
        html = self._env.get_template(name).render(root=root, request=request, **context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
