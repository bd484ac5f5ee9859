"""Artifacts: the files of a finished run that match the job's patterns, uploaded one by one."""

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from conveyor_client import WorkerApi
from conveyor_client.models import ArtifactStored

CHUNK_BYTES = 256 * 1024


def collect_artifacts(workdir: Path, patterns: Sequence[str]) -> list[Path]:
    """Regular files under ``workdir`` matching any glob pattern, once each, in a stable order.

    A pattern may not leave the working directory (absolute, or through ``..`` or a symlink).
    """
    root = workdir.resolve()
    found: dict[Path, None] = {}
    for pattern in patterns:
        if pattern.startswith("/") or ".." in Path(pattern).parts:
            continue
        for path in sorted(workdir.glob(pattern)):
            resolved = path.resolve()
            if path.is_file() and resolved.is_relative_to(root):
                found.setdefault(path, None)
    return list(found)


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            yield chunk


async def upload_artifacts(api: WorkerApi, lease_id: str, workdir: Path, files: Sequence[Path]) -> list[ArtifactStored]:
    """Upload each file under its path relative to ``workdir``."""
    return [await api.upload_artifact(lease_id, path.relative_to(workdir).as_posix(), _chunks(path)) for path in files]
