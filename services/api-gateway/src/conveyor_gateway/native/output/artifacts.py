"""Artifacts: workers upload files for a job under a current lease; users list and download them
(``ETag`` = the SHA-256, ``Range``). Stored in the ``ARTIFACTS`` Object Store bucket as
``<job_id>/<path>``; the collector lists them (``logs.artifacts``) and deletes them with the job."""

from typing import Final
from urllib.parse import quote

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core import output
from ...core.artifact_paths import check_artifact_path
from ...core.context import State
from ...core.log_store import ArtifactEntry
from ...errors import TooLargeError
from ...http.artifact_download import artifact_response
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
    return await artifact_response(state, request, job.id, path, f"job {job.id} has no artifact {path!r}")


ARTIFACT_ROUTES: Final = [
    Route("/v1/leases/{lease_id}/artifacts/{path:path}", put_artifact, methods=["PUT"]),
    Route("/v1/jobs/{job_id}/artifacts", list_artifacts, methods=["GET"]),
    Route("/v1/jobs/{job_id}/artifacts/{path:path}", get_artifact, methods=["GET"]),
]
