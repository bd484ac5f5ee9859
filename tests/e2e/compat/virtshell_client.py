"""A VirtShell client for the tests: signs every request as VirtShell's design says."""

from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx

from conveyor_gateway.compat.virtshell.signing import sign, string_to_sign
from conveyor_identity import hash_token


class VirtShellSigner(httpx.Auth):
    """``X-VirtShell-Authorization: <token id>:<signature>`` with a ``Date`` ``skew`` off the clock."""

    def __init__(self, token_id: str, token: str, skew: timedelta = timedelta(0)) -> None:
        self.token_id = token_id
        self.key = hash_token(token)
        self.skew = skew

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        date = format_datetime(datetime.now(UTC) + self.skew, usegmt=True)
        canonical = string_to_sign(
            request.method,
            request.headers.get("host", ""),
            request.headers.get("content-md5", ""),
            request.headers.get("content-type", ""),
            date,
            request.url.path,
        )
        request.headers["Date"] = date
        request.headers["X-VirtShell-Authorization"] = f"{self.token_id}:{sign(self.key, canonical)}"
        yield request


async def issue_token(
    api: httpx.AsyncClient, name: str, scopes: tuple[str, ...] = ("jobs:read", "jobs:write")
) -> tuple[str, str]:
    """A new token of the ``api`` client's user: ``(id, token)``."""
    issued = (await api.post("/v1/tokens", json={"name": name, "scopes": list(scopes)})).json()
    return issued["id"], issued["token"]
