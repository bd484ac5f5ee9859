"""``GET /asyncapi.json``: the AsyncAPI 3.0 contract of the events on the bus, built once."""

from functools import cache
from importlib.metadata import version

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events.asyncapi import build_asyncapi


@cache
def _document() -> bytes:
    return msgspec.json.encode(build_asyncapi(version("conveyor-events")))


async def asyncapi_json(_: Request) -> Response:
    """The document every subscriber can generate its types from (public, like ``/openapi.json``)."""
    return Response(_document(), media_type="application/json")


ASYNCAPI_ROUTE = Route("/asyncapi.json", asyncapi_json, methods=["GET"])
