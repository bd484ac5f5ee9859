"""Who calls the coalition façade: a Conveyor token (``Authorization: Bearer``, or HTTP Basic with
the token as the password, as a browser sends), or, with no credentials, the user the operator
names for the networks it trusts (none by default). coalition's own clients send no credentials."""

import base64
import binascii

from starlette.requests import Request

from ...core.context import State
from ...core.token_auth import Principal
from ...errors import InsufficientScopeError, UnauthenticatedError
from ...http.trusted_networks import trusted_principal

REALM = 'Basic realm="coalition"'
# What a caller admitted by its network may do: all that coalition's API and workers do.
_SCOPES = frozenset({"jobs:read", "jobs:write", "workers"})


def _bearer(authorization: str) -> str:
    """``Bearer <token>`` for either scheme: Basic carries the token as its password."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return authorization
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise UnauthenticatedError("malformed Basic credentials") from None
    _, _, password = decoded.partition(":")
    return f"Bearer {password}"


async def coalition_caller(request: Request, scope: str) -> Principal:
    """The caller, if it holds ``scope``.

    Raises:
        UnauthenticatedError: No valid credentials, and the caller's network is not trusted.
        InsufficientScopeError: Valid credentials without ``scope``.
    """
    state: State = request.scope["state"]
    authorization = request.headers.get("authorization")
    if authorization is None:
        principal = await trusted_principal(request, "coalition", _SCOPES)
        if principal is None:
            raise UnauthenticatedError(
                "send a Conveyor token (Authorization: Bearer, or Basic with the token as password);"
                " unauthenticated calls are accepted only from the networks the operator trusts"
            )
    else:
        principal = await state["tokens"].authenticate(_bearer(authorization))
    if not principal.has_scope(scope):
        raise InsufficientScopeError(scope)
    return principal
