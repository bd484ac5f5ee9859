"""The pages beside the API: the OpenAPI and AsyncAPI documents, the interactive docs page and the
problem pages."""

from importlib.metadata import version

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..http.docs_page import render_docs_page
from ..http.problems import PROBLEM_DOCS
from .asyncapi_doc import ASYNCAPI_ROUTE
from .openapi import build_openapi


async def docs(_: Request) -> Response:
    """``GET /docs``: the interactive API docs, rendering ``/openapi.json``."""
    return HTMLResponse(render_docs_page("/openapi.json"))


async def problem_doc(request: Request) -> Response:
    """``GET /problems/{code}``: what a problem ``type`` means."""
    code = request.path_params["code"]
    if code not in PROBLEM_DOCS:
        raise HTTPException(404, "Not Found")
    return Response(f"{code}: {PROBLEM_DOCS[code]}\n", media_type="text/plain")


def service_routes() -> list[Route]:
    """The pages' routes; the OpenAPI document is built here, once, so a broken one stops the start."""
    openapi = msgspec.json.encode(build_openapi(version("conveyor-gateway")))

    async def openapi_json(_: Request) -> Response:
        return Response(openapi, media_type="application/json")

    return [
        Route("/openapi.json", openapi_json),
        ASYNCAPI_ROUTE,
        Route("/docs", docs),
        Route("/problems/{code}", problem_doc),
    ]
