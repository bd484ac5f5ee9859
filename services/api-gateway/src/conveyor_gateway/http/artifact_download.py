"""Serving one stored artifact over HTTP, for every surface: ``ETag`` (its SHA-256),
``If-None-Match`` (304), ``If-Range`` and a single ``Range`` (206), streamed from the bucket."""

import mimetypes

from nats.js.errors import NotFoundError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..core.artifact_io import hex_digest, read_object
from ..core.context import State
from ..errors import ArtifactNotFoundError
from .byte_ranges import parse_range


async def artifact_response(state: State, request: Request, job_id: str, path: str, missing: str) -> Response:
    """The artifact ``path`` (already checked: ``check_artifact_path``) of job ``job_id``.

    Raises:
        ArtifactNotFoundError: No such artifact (with the message ``missing``).
        RangeNotSatisfiableError: The range starts at or past the end.
    """
    try:
        info = await state["bucket"].get_info(f"{job_id}/{path}")
    except NotFoundError:
        raise ArtifactNotFoundError(missing) from None
    etag = f'"{hex_digest(info)}"'
    headers = {"ETag": etag, "Accept-Ranges": "bytes"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    size = info.size or 0
    wanted = None
    if request.headers.get("if-range", etag) == etag:
        wanted = parse_range(request.headers.get("range"), size)
    start, end, status = 0, size, 200
    if wanted is not None:
        start, end, status = wanted.start, wanted.end, 206
        headers["Content-Range"] = wanted.content_range
    headers["Content-Length"] = str(end - start)
    media = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return StreamingResponse(read_object(state["js"], info, start, end), status, headers, media_type=media)
