"""The task_tracker façade: simon987/task_tracker's HTTP API over Conveyor's use cases, so its
Python drone, Go drone and Go client run unchanged (issue 15; README "task_tracker compatibility").

Mounted at ``/compat/task_tracker`` on the gateway's port, and served at the root of a port of
its own when the operator configures one. It keeps no store: tasks are jobs, workers are
workers, projects are projects, managers are users.
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import maintenance, managers, projects, tasks, workers
from .envelope import HANDLERS, reply


async def index(_: Request) -> Response:
    return reply({"name": "task_tracker", "version": "1.1"})


app = Starlette(
    routes=[
        Route("/", index, methods=["GET"]),
        *workers.ROUTES,
        *tasks.ROUTES,
        *projects.ROUTES,
        *maintenance.ROUTES,
        *managers.ROUTES,
    ],
    exception_handlers=HANDLERS,
)
