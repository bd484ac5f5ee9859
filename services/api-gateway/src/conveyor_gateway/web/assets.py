"""The dashboard's static files, served under a content hash (``/static/<hash>/app.css``) so
browsers may cache them for a year and a new release is fetched at once."""

import hashlib
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

STATIC_DIR: Final = Path(__file__).parent / "static"
_TYPES: Final = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


class Assets:
    """Every file of ``static/`` read once, with its hash."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self._files: dict[str, tuple[str, bytes]] = {}
        for path in sorted(directory.iterdir()):
            if path.suffix in _TYPES:
                body = path.read_bytes()
                self._files[path.name] = (hashlib.sha256(body).hexdigest()[:16], body)

    def url(self, name: str) -> str:
        """The versioned path of ``name`` below the dashboard's root."""
        return f"static/{self._files[name][0]}/{name}"

    @property
    def total_bytes(self) -> int:
        return sum(len(body) for _, body in self._files.values())

    async def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        found = self._files.get(name)
        if found is None or found[0] != request.path_params["digest"]:
            return Response("not found", status_code=404, media_type="text/plain")
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{found[0]}"'}
        return Response(found[1], media_type=_TYPES[Path(name).suffix], headers=headers)
