"""``python -m bench.hook_receiver PORT``: a fast webhook receiver in its own process (so the
load generator's CPU does not slow its answers). It answers 204 at once and serves
``GET /arrivals``: for each webhook-id, when it first arrived and the event's timestamp."""

import sys
import time
from typing import Any

import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_first: dict[str, tuple[float, str]] = {}
_decoder = msgspec.json.Decoder(dict[str, Any])


async def receive(request: Request) -> Response:
    body = await request.body()
    now = time.time()
    msg_id = request.headers["webhook-id"]
    if msg_id not in _first:
        _first[msg_id] = (now, str(_decoder.decode(body)["timestamp"]))
    return Response(status_code=204)


async def arrivals(_: Request) -> Response:
    return Response(msgspec.json.encode(_first), media_type="application/json")


async def ready(_: Request) -> Response:
    return Response(b"ok")


app = Starlette(
    routes=[
        Route("/h", receive, methods=["POST"]),
        Route("/arrivals", arrivals, methods=["GET"]),
        Route("/readyz", ready, methods=["GET"]),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools", log_level="warning")
