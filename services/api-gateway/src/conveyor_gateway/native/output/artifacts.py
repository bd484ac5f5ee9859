"""Artifacts: workers upload files for a job under a current lease; users list and download them
(``ETag`` = the SHA-256, ``Range``). Stored in the ``ARTIFACTS`` Object Store bucket as
``<job_id>/<path>``; the collector lists them (``logs.artifacts``) and deletes them with the job."""

import mimetypes
from typing import Final
from urllib.parse import quote

import msgspec
from nats.js.errors import NotFoundError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ...core import output
from ...core.artifact_io import hex_digest, read_object
from ...core.artifact_paths import check_artifact_path
from ...core.context import State
from ...core.log_store import ArtifactEntry
from ...errors import ArtifactNotFoundError, TooLargeError
from ...http.byte_ranges import parse_range
from ...http.plumbing import json_response
from .log_routes import _lease
from .read_access import readable_job


class ArtifactSaved(msgspec.Struct, kw_only=True):
    """``201`` of an upload."""

    path: str
    size: int
    sha256: str


class ArtifactPage(msgspec.Struct, kw_only=True):
    """``GET /v1/jobs/{id}/artifacts``, by path."""

    items: list[ArtifactEntry]


async def put_artifact(request: Request) -> Response:
    """``PUT /v1/leases/{lease_id}/artifacts/{path}``: the body, streamed into the bucket; 201."""
    state: State = request.scope["state"]
    path = check_artifact_path(request.path_params["path"])
    _, lease = await _lease(request, state)
    limit = state["artifact_max_bytes"]
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"the artifact is {declared} bytes; the limit is {limit}")
    stored = await output.put_artifact(state, lease, path, request.stream())
    saved = ArtifactSaved(path=path, size=stored.size, sha256=stored.sha256)
    # Percent-encoded: a header is Latin-1, and a path may hold any character.
    return json_response(saved, 201, {"Location": f"/v1/jobs/{lease.job_id}/artifacts/{quote(path)}"})


async def list_artifacts(request: Request) -> Response:
    """``GET /v1/jobs/{id}/artifacts``."""
    state: State = request.scope["state"]
    job = await readable_job(request, state)
    return json_response(ArtifactPage(items=await state["logs"].artifacts(job.id)))


async def get_artifact(request: Request) -> Response:
    """``GET /v1/jobs/{id}/artifacts/{path}``: the bytes, with ``ETag`` and ``Range``."""
    state: State = request.scope["state"]
    job = await readable_job(request, state)
    path = check_artifact_path(request.path_params["path"])
    try:
        info = await state["bucket"].get_info(f"{job.id}/{path}")
    except NotFoundError:
        raise ArtifactNotFoundError(f"job {job.id} has no artifact {path!r}") from None
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


ARTIFACT_ROUTES: Final = [
    Route("/v1/leases/{lease_id}/artifacts/{path:path}", put_artifact, methods=["PUT"]),
    Route("/v1/jobs/{job_id}/artifacts", list_artifacts, methods=["GET"]),
    Route("/v1/jobs/{job_id}/artifacts/{path:path}", get_artifact, methods=["GET"]),
]
