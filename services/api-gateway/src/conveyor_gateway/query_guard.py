"""Refuses a NUL (``%00``) in the query string before any route sees it.

PostgreSQL cannot compare text holding NUL, so ``?project=%00`` would fail the query that uses
it (issue 13). One middleware answers for every route: 422 ``invalid_query`` naming each
parameter (``pointer`` is the parameter's name, as for the other query errors). Path segments
are each route's to check (an artifact path with NUL is ``invalid_artifact_path``).
"""

from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from .bodies import FieldError, Problem
from .errors import InvalidQueryError
from .problems import PROBLEM_BASE, problem_response
from .storable import query_nul_names

_NUL_DETAIL: Final = "must not contain the NUL character (%00)"


class QueryTextGuard:
    """ASGI middleware: a request whose query holds NUL gets 422 and goes no further."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            errors = [FieldError(pointer=n, detail=_NUL_DETAIL) for n in query_nul_names(scope["query_string"])]
            if errors:
                problem = Problem(
                    type=f"{PROBLEM_BASE}/{InvalidQueryError.code}",
                    title=InvalidQueryError.title,
                    status=422,
                    detail="NUL is not allowed in a query parameter",
                    instance=scope["path"],
                    errors=errors,
                )
                await problem_response(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)
