"""builds.sr.ht's GraphQL endpoint, ``POST /query``: sourcehut's schema subset (``schema.graphqls``)
bound to the resolvers of ``graphql``, ``graphql_groups`` and ``graphql_webhooks``."""

from pathlib import Path
from typing import Final

import msgspec
from ariadne import graphql, make_executable_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.context import State
from ...http.plumbing import json_response, read_raw_body
from .auth import caller
from .errors import BuildsError
from .graphql import Context, entity, job_type, log_type, mutation, query, task_type, time_scalar, user_type
from .graphql_groups import group_type
from .graphql_webhooks import subscription
from .rest import base_of

_decoder: Final = msgspec.json.Decoder()

SCHEMA: Final = make_executable_schema(
    (Path(__file__).parent / "schema.graphqls").read_text(),
    query, mutation, job_type, task_type, user_type, entity, log_type, time_scalar, group_type, subscription,
)  # fmt: skip


async def post_query(request: Request) -> Response:
    """``POST /query``: ``{query, variables, operationName}`` → ``{data, errors}``."""
    principal = await caller(request, "jobs:read")
    state: State = request.scope["state"]
    raw = await read_raw_body(request, state["max_body_bytes"])
    try:
        data = _decoder.decode(raw)
    except msgspec.DecodeError:
        raise BuildsError(400, "the body is not JSON") from None
    ctx = Context(state=state, principal=principal, base=base_of(request), request=request)
    success, result = await graphql(SCHEMA, data, context_value=ctx, introspection=True)
    return json_response(result, 200 if success else 400)


ROUTES: Final = [Route("/query", post_query, methods=["POST"])]
