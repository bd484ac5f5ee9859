"""Build output as the runner served it: logs with HTTP ``Range`` (206 + ``Content-Range``, which
``hut builds show -f`` requires) and artifact downloads. A public build (``*`` in its read list)
answers without credentials, as ``hut`` fetches log URLs without them; any other needs a token
that may read the build."""

import mimetypes
from typing import Final

from nats.js.errors import NotFoundError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ...core.artifact_io import read_object
from ...core.artifact_paths import check_artifact_path
from ...core.context import State
from ...core.log_store import LogInfo
from ...errors import InvalidArtifactPathError, RangeNotSatisfiableError
from ...http.byte_ranges import ByteRange, parse_range
from .auth import optional_caller
from .builds import build_of
from .errors import BuildsError
from .rest import number_param


async def get_log(request: Request) -> Response:
    """``GET /logs/:id/log`` (setup) and ``/logs/:id/:task/log``: text, ``Range: bytes=N-`` → 206.

    hut asks from the last byte it printed (its offset is the previous ``Content-Range`` end, which
    is inclusive) and drops the first byte of any answer not starting at 0; it takes nothing but a
    206. So a range starting past the end is answered with the last byte (dropped by hut), and an
    empty log with an empty 206 ``bytes 0-0/0``, where RFC 9110 would give a 416.
    """
    state: State = request.scope["state"]
    job = await build_of(state, await optional_caller(request, "jobs:read"), number_param(request))
    task = request.path_params.get("task", "")
    if task and task not in {t.name for t in job.tasks}:
        raise BuildsError(404, "Not found")
    info = await state["logs"].log_info(job.id, task, None) or LogInfo(job.attempts, 0, False)
    headers = {"Accept-Ranges": "bytes"}
    start, end, status = 0, info.size, 200
    try:
        wanted = parse_range(request.headers.get("range"), info.size)
    except RangeNotSatisfiableError:
        if info.size == 0:
            headers |= {"Content-Range": "bytes 0-0/0", "Content-Length": "0"}
            return Response(b"", status_code=206, headers=headers, media_type="text/plain; charset=utf-8")
        wanted = ByteRange(info.size - 1, info.size, info.size)
    if wanted is not None:
        start, end, status = wanted.start, wanted.end, 206
        headers["Content-Range"] = wanted.content_range
    headers["Content-Length"] = str(end - start)
    body = (piece async for _, piece in state["logs"].chunks(job.id, info.attempt, task, start, end))
    return StreamingResponse(body, status_code=status, headers=headers, media_type="text/plain; charset=utf-8")


async def get_artifact(request: Request) -> Response:
    """``GET /artifacts/:id/:path``: an artifact's bytes."""
    state: State = request.scope["state"]
    job = await build_of(state, await optional_caller(request, "jobs:read"), number_param(request))
    try:
        path = check_artifact_path(request.path_params["path"])
        info = await state["bucket"].get_info(f"{job.id}/{path}")
    except (NotFoundError, InvalidArtifactPathError):
        raise BuildsError(404, "Not found") from None
    size = info.size or 0
    media = mimetypes.guess_type(path)[0] or "application/octet-stream"
    headers = {"Content-Length": str(size)}
    return StreamingResponse(read_object(state["js"], info, 0, size), 200, headers, media_type=media)


ROUTES: Final = [
    Route("/logs/{job_id}/log", get_log, methods=["GET"]),
    Route("/logs/{job_id}/{task}/log", get_log, methods=["GET"]),
    Route("/artifacts/{job_id}/{path:path}", get_artifact, methods=["GET"]),
]
