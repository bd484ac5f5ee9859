"""Sign-in (an API token exchanged for a session cookie), sign-out, and the checks every page
and form passes: a live session whose token still authenticates, and the form's CSRF token."""

import secrets
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..core.token_auth import Principal
from ..errors import GatewayError
from .render import SECURITY_HEADERS, Pages
from .session import COOKIE, LOGIN_COOKIE, Session, csrf_matches, new_session, seal, unseal

Handler = Callable[[Request], Awaitable[Response]]
_FORM_MAX: Final = 64 * 1024


class SessionConfig:
    """The key that seals cookies and how long a session lasts."""

    def __init__(self, key: bytes, lifetime_s: float) -> None:
        self.key = key
        self.lifetime_s = lifetime_s


def _is_tls(request: Request) -> bool:
    return request.url.scheme == "https"


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=request.scope.get("root_path", "").rstrip("/") + "/",
        secure=_is_tls(request),
        httponly=True,
        samesite="strict",
    )


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/") + "/"


async def authenticated(request: Request, config: SessionConfig) -> tuple[Session, Principal] | None:
    session = unseal(config.key, request.cookies.get(COOKIE))
    if session is None:
        return None
    try:
        principal = await request.scope["state"]["tokens"].authenticate(f"Bearer {session.token}")
    except GatewayError:
        return None  # revoked or expired token: the session ends with it
    return session, principal


def signed_in(config: SessionConfig, handler: Handler, scope: str | None = None) -> Handler:
    """``handler`` for a signed-in user (``request.scope['ui_principal']``); others go to sign-in.
    A POST must carry the session's CSRF token (form field ``csrf``): without it, 403. With
    ``scope``, the token must hold it, as the API's route table asks for the same reads and
    changes (``native/*/access.py``): without it, 403 saying which."""

    async def guarded(request: Request) -> Response:
        found = await authenticated(request, config)
        if found is None:
            if request.method != "GET":
                return Response("sign in first", status_code=401, media_type="text/plain", headers=SECURITY_HEADERS)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{_root(request)}login?next={quote(target)}", status_code=303)
        session, principal = found
        request.scope["ui_session"] = session
        request.scope["ui_principal"] = principal
        if scope is not None and not principal.has_scope(scope):
            return Response(
                f"refused: this page needs a token with the {scope!r} scope; sign in with one that has it",
                status_code=403,
                media_type="text/plain",
                headers=SECURITY_HEADERS,
            )
        if request.method == "POST":
            form = await request.form(max_fields=2000)
            request.scope["ui_form"] = form
            given = form.get("csrf")
            if not csrf_matches(session.csrf, given if isinstance(given, str) else None):
                return Response(
                    "refused: this form has no valid CSRF token (reload the page and try again)",
                    status_code=403,
                    media_type="text/plain",
                    headers=SECURITY_HEADERS,
                )
        return await handler(request)

    guarded.__name__ = getattr(handler, "__name__", "page")
    return guarded


def _safe_next(request: Request, target: str | None) -> str:
    root = _root(request)
    if target and target.startswith(root) and not target.startswith("//") and "\\" not in target:
        return target
    return root


def login_routes(config: SessionConfig, pages: Pages) -> tuple[Handler, Handler, Handler]:
    """The sign-in page, its form's handler and sign-out."""

    async def login_page(request: Request) -> Response:
        csrf = secrets.token_urlsafe(24)
        response = pages.render(request, "login.html", csrf=csrf, error="", next=request.query_params.get("next", ""))
        _set_cookie(request, response, LOGIN_COOKIE, csrf, 600)
        return response

    async def login(request: Request) -> Response:
        form = await request.form(max_fields=10)
        given = form.get("csrf")
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not csrf_matches(expected, given if isinstance(given, str) else None):
            return Response("refused: the sign-in form has no valid CSRF token", status_code=403,
                            media_type="text/plain", headers=SECURITY_HEADERS)  # fmt: skip
        token = str(form.get("token", "")).strip()
        next_url = str(form.get("next", ""))
        try:
            await request.scope["state"]["tokens"].authenticate(f"Bearer {token}")
        except GatewayError:
            csrf = secrets.token_urlsafe(24)
            refused = pages.render(request, "login.html", 401, csrf=csrf, next=next_url,
                                   error="That token is unknown, revoked or expired.")  # fmt: skip
            _set_cookie(request, refused, LOGIN_COOKIE, csrf, 600)
            return refused
        session = new_session(token, config.lifetime_s)
        response = RedirectResponse(_safe_next(request, next_url), status_code=303)
        _set_cookie(request, response, COOKIE, seal(config.key, session), int(config.lifetime_s))
        response.delete_cookie(LOGIN_COOKIE, path=_root(request))
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse(f"{_root(request)}login", status_code=303)
        response.delete_cookie(COOKIE, path=_root(request), secure=_is_tls(request), httponly=True, samesite="strict")
        return response

    return login_page, login, signed_in(config, logout)
