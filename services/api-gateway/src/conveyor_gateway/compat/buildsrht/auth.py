"""Who calls the façade: ``Authorization: token <token>`` (legacy REST) or ``Bearer <token>``
(GraphQL, hut), checked as Conveyor's API tokens; sourcehut's ``jobs:read``/``jobs:write`` are
Conveyor's scopes of the same names."""

from starlette.requests import Request

from ...core.context import State
from ...core.token_auth import Principal
from ...errors import UnauthenticatedError
from .errors import BuildsError


def bearer_header(authorization: str | None) -> str | None:
    """The header as Conveyor's token check reads it: ``token X`` becomes ``Bearer X``."""
    if authorization is None:
        return None
    scheme, _, rest = authorization.strip().partition(" ")
    return f"Bearer {rest.strip()}" if scheme.lower() == "token" else authorization


async def caller(request: Request, scope: str) -> Principal:
    """The caller, holding ``scope``.

    Raises:
        BuildsError: 401 without a valid token, 403 without the scope.
    """
    state: State = request.scope["state"]
    try:
        principal = await state["tokens"].authenticate(bearer_header(request.headers.get("authorization")))
    except UnauthenticatedError:
        raise BuildsError(401, "Invalid authorization: send Authorization: token <token>") from None
    if not principal.has_scope(scope):
        raise BuildsError(403, f"Your token is not authorized for {scope}")
    return principal


async def optional_caller(request: Request, scope: str) -> Principal | None:
    """The caller when the request carries credentials, else None (public reads)."""
    if "authorization" not in request.headers:
        return None
    return await caller(request, scope)
