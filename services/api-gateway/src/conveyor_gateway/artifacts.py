"""Artifacts: workers upload files for a job under a current lease; users list and download them
(``ETag`` = the SHA-256, ``Range``). Stored in the ``ARTIFACTS`` Object Store bucket as
``<job_id>/<path>``; the collector lists them (``logs.artifacts``) and deletes them with the job."""

import asyncio
import mimetypes
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

import msgspec
from nats.js.api import ObjectMeta
from nats.js.errors import NotFoundError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conveyor_events import ArtifactStored, artifact_subject, encode_record

from .artifact_io import BodyReader, hex_digest, read_object
from .artifact_paths import check_artifact_path
from .byte_ranges import parse_range
from .errors import ArtifactNotFoundError, TooLargeError
from .log_routes import _lease
from .log_store import ArtifactEntry
from .read_access import readable_job
from .routes import State, json_response


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
    source = BodyReader(request.stream(), asyncio.get_running_loop(), limit)
    name = f"{lease.job_id}/{path}"
    await state["bucket"].put(name, source, meta=ObjectMeta(name=name))  # type: ignore[arg-type]  # duck-typed reader
    record = ArtifactStored(
        job_id=lease.job_id,
        path=path,
        size=source.size,
        sha256=source.sha256.hexdigest(),
        attempt=lease.attempt,
        stored_at=datetime.now(UTC),
    )
    ack = await state["js"].publish(artifact_subject(lease.job_id), encode_record(record))
    # Listed once the collector has stored the record: wait for it (bounded) so a listing right
    # after the 201 shows the artifact.
    await state["collector"].wait_for(ack.seq, state["write_wait_s"])
    saved = ArtifactSaved(path=path, size=record.size, sha256=record.sha256)
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
