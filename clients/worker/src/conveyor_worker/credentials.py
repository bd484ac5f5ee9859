"""The worker's id and secret, kept in a file only its user can read."""

import os
from pathlib import Path

import msgspec

from conveyor_client.models import WorkerCredentials


class CredentialsError(Exception):
    """The credentials file exists but cannot be used; the message says how to fix it."""


class _Stored(msgspec.Struct, kw_only=True):
    url: str
    id: str
    secret: str
    name: str = ""


def load_credentials(path: Path, url: str) -> WorkerCredentials | None:
    """The saved credentials for the API at ``url``, or None when there are none (or for another API)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        stored = msgspec.json.decode(data, type=_Stored)
    except msgspec.DecodeError as exc:
        raise CredentialsError(f"{path} is not a credentials file ({exc}); delete it to register again") from exc
    if stored.url.rstrip("/") != url.rstrip("/"):
        return None
    return WorkerCredentials(id=stored.id, secret=stored.secret, name=stored.name)


def save_credentials(path: Path, url: str, credentials: WorkerCredentials) -> None:
    """Write the credentials with mode 0600, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = msgspec.json.encode(_Stored(url=url, id=credentials.id, secret=credentials.secret, name=credentials.name))
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(body)
    temporary.replace(path)
