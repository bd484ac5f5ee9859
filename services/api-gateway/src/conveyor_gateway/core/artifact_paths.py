"""Artifact path rules: what a worker may name an artifact (pure)."""

from typing import Final

from ..errors import InvalidArtifactPathError

MAX_PATH_BYTES: Final = 1024
MAX_SEGMENT_BYTES: Final = 255


def check_artifact_path(path: str) -> str:
    """Return ``path`` when it is a safe relative artifact path.

    Refused: empty, absolute (``/x``, ``C:``), ``..`` or ``.`` segments, empty segments (``a//b``,
    a trailing ``/``), backslashes, NUL and other control characters, over-long paths or segments.

    Raises:
        InvalidArtifactPathError: With the reason.
    """
    reason = _why_not(path)
    if reason:
        raise InvalidArtifactPathError(f"artifact path {path[:80]!r} is refused: {reason}")
    return path


def _why_not(path: str) -> str:
    if not path:
        return "it is empty"
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return f"it is longer than {MAX_PATH_BYTES} bytes"
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return "it is absolute"
    if "\\" in path:
        return "it holds a backslash"
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "it holds NUL or a control character"
    for segment in path.split("/"):
        if segment == "":
            return "it has an empty segment"
        if segment in (".", ".."):
            return f"it has a {segment!r} segment"
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            return f"a segment is longer than {MAX_SEGMENT_BYTES} bytes"
    return ""
