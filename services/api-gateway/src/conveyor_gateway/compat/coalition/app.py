"""The coalition façade's Starlette app: its routes and its answers to errors (plain text, as
coalition's Twisted server answers; ``Web service not found.`` for an unknown path)."""

from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ...errors import GatewayError, UnauthenticatedError
from ...http.outage import OUTAGE_HANDLERS
from ...http.problems import gateway_problem
from . import api_actions, api_jobs, api_workers, worker_protocol
from .api_jobs import BadRequest, UnknownJob
from .auth import REALM

_NOT_FOUND: Final = "Web service not found."

ROUTES: Final = [
    Route("/workers/pickjob", worker_protocol.pickjob, methods=["GET", "POST"]),
    Route("/workers/heartbeat", worker_protocol.heartbeat, methods=["GET", "POST"]),
    Route("/workers/endjob", worker_protocol.endjob, methods=["GET", "POST"]),
    Route("/api/jobs", api_jobs.list_roots, methods=["GET"]),
    Route("/api/jobs", api_jobs.put_job, methods=["PUT"]),
    Route("/api/jobs", api_jobs.edit_jobs, methods=["POST"]),
    Route("/api/jobs", api_actions.delete_jobs, methods=["DELETE"]),
    Route("/api/jobs/where/", api_actions.where_refused, methods=["GET"]),
    Route("/api/jobs/count/where/", api_actions.where_refused, methods=["GET"]),
    *(
        Route(f"/api/jobs/{what}/", api_actions.filter_list(what), methods=["GET"], name=what)
        for what in ("users", "states", "workers", "priorities", "affinities")
    ),
    Route("/api/jobs/{id}", api_jobs.get_job, methods=["GET"]),
    Route("/api/jobs/{id}/children", api_jobs.get_children, methods=["GET"]),
    Route("/api/jobs/{id}/dependencies", api_jobs.get_dependencies, methods=["GET"]),
    Route("/api/jobs/{id}/dependencies", api_actions.set_dependencies, methods=["POST"]),
    Route("/api/jobs/{id}/childrendependencies", api_jobs.get_children_dependencies, methods=["GET"]),
    Route("/api/jobs/{id}/log", api_jobs.get_log, methods=["GET"]),
    Route("/api/resetjobs", api_actions.reset_jobs, methods=["POST"]),
    Route("/api/reseterrorjobs", api_actions.reset_error_jobs, methods=["POST"]),
    Route("/api/startjobs", api_actions.start_jobs, methods=["POST"]),
    Route("/api/pausejobs", api_actions.pause_jobs, methods=["POST"]),
    Route("/api/workers", api_workers.list_workers, methods=["GET"]),
    Route("/api/workers", api_workers.edit_workers, methods=["POST"]),
    Route("/api/workers", api_workers.delete_workers, methods=["DELETE"]),
    Route("/api/stopworkers", api_workers.stop_workers, methods=["POST"]),
    Route("/api/startworkers", api_workers.start_workers, methods=["POST"]),
    Route("/api/events", api_actions.events, methods=["GET"]),
    Route("/api/affinities", api_workers.get_affinities, methods=["GET"]),
    Route("/api/affinities", api_workers.set_affinities, methods=["POST"]),
    Route("/xmlrpc/addjob", api_actions.add_job, methods=["GET", "POST"]),
]


async def _bad_request(request: Request, exc: Exception) -> Response:
    del request
    return PlainTextResponse(str(exc), status_code=400)


async def _unknown_job(request: Request, exc: Exception) -> Response:
    del request
    return PlainTextResponse(str(exc), status_code=404)


async def _gateway_error(request: Request, exc: Exception) -> Response:
    """The gateway's error as text, with its status (401 also challenges a browser for Basic)."""
    assert isinstance(exc, GatewayError)
    status = (await gateway_problem(request, exc)).status_code
    headers = {"WWW-Authenticate": REALM} if isinstance(exc, UnauthenticatedError) else None
    return PlainTextResponse(exc.detail, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    del request
    assert isinstance(exc, HTTPException)
    text = _NOT_FOUND if exc.status_code == 404 else str(exc.detail)
    return PlainTextResponse(text, status_code=exc.status_code, headers=exc.headers)


def create_app() -> Starlette:
    """The façade's app; it reads the gateway's resources from the request's lifespan state."""
    return Starlette(
        routes=ROUTES,
        exception_handlers={
            BadRequest: _bad_request,
            UnknownJob: _unknown_job,
            GatewayError: _gateway_error,
            HTTPException: _http_error,
            **OUTAGE_HANDLERS,
        },
    )


app: Final = create_app()
