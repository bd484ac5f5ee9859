"""A task's output files: its job's artifacts, listed and downloaded (``Range``, ``ETag``).

No path leaves the task's own output: the path is checked as an artifact path (no ``..`` or
``.`` segment, not absolute, no backslash or control character), and a path that still holds a
percent-encoded dot, slash or backslash after the server decoded it once (``%252e%252e``) is
refused too, so no double decoding downstream could turn it into a traversal.
"""

import html
import re
from typing import Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ...core.artifact_paths import check_artifact_path
from ...core.bodies import JobView
from ...core.context import State
from ...errors import InvalidArtifactPathError
from ...http.artifact_download import artifact_response

_ENCODED: Final = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)


def output_path(raw: str) -> str:
    """``raw`` when it names a file inside a task's output.

    Raises:
        InvalidArtifactPathError: A traversal, an absolute path, or an encoded form of either.
    """
    if _ENCODED.search(raw):
        raise InvalidArtifactPathError(f"path {raw[:80]!r} is refused: it holds an encoded dot, slash or backslash")
    return check_artifact_path(raw)


async def listing(state: State, job: JobView, base: str) -> Response:
    """The output files as links (the real server's directory page)."""
    entries = await state["logs"].artifacts(job.id)
    items = "".join(
        f'<li><a href="{html.escape(base + quote(e.path))}">{html.escape(e.path)}</a> ({e.size} bytes)</li>'
        for e in entries
    )
    return HTMLResponse(f"<!doctype html><title>output</title><ul>{items}</ul>\n")


async def download(state: State, request: Request, job: JobView, raw_path: str) -> Response:
    """One output file, with ``ETag``, ``If-None-Match`` and a single ``Range``.

    Raises:
        InvalidArtifactPathError: The path would leave the task's output.
        ArtifactNotFoundError: The task has no such file.
        RangeNotSatisfiableError: The range starts past the end.
    """
    path = output_path(raw_path)
    return await artifact_response(state, request, job.id, path, f"Failed to find the file '{path}'.")
