"""Unauthenticated callers of a façade, admitted by their network (``core.trust``, DESIGN §10).

A façade calls ``trusted_principal`` when a request carries no credentials: it answers the user the
operator named for that façade, with the scopes the façade asks for, when the peer's address is in
a network listed for it, and None otherwise, so the façade answers with its own "who are you" error.
"""

from collections.abc import Mapping
from typing import Final

from starlette.requests import Request

from ..core.identity_reader import IdentityReader
from ..core.token_auth import Principal
from ..core.trust import Trust, peer_trusted

TRUSTED_TOKEN_ID: Final = "trusted-network"
"""The ``token_id`` of a principal admitted by its network (no token was shown)."""


async def trusted_principal(request: Request, facade: str, scopes: frozenset[str]) -> Principal | None:
    """The operator's named user for an unauthenticated call from a listed network, else None.

    Args:
        request: The call (its peer address and the gateway's state).
        facade: The façade's name in ``CONVEYOR_COMPAT_TRUST``.
        scopes: What the call may do (the façade's needs; never ``admin``).
    """
    trust: Mapping[str, Trust] = request.state.compat_trust
    entry = trust.get(facade)
    if entry is None or not peer_trusted(request.client.host if request.client else None, entry.nets):
        return None
    identity: IdentityReader = request.state.identity
    user = await identity.user_named(entry.user)
    if user is None:
        return None
    return Principal(
        user_id=user.id,
        name=user.name,
        is_admin=user.is_admin,
        scopes=scopes,
        token_id=TRUSTED_TOKEN_ID,
    )
