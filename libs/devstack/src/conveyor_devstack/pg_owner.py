"""Which OS user runs PostgreSQL, and where its data directory may live.

PostgreSQL refuses to run as root. Started as root, the managers run it as the ``postgres`` OS
user, which must own its data directory and be able to traverse every parent directory of it.
A clone under ``/root`` (mode 700) is not reachable, so `resolve_pg_data_dir` moves the data.
"""

import contextlib
import grp
import hashlib
import os
import pwd
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from .errors import DevstackError

__all__ = [
    "OsUser",
    "RunAs",
    "blocking_parent",
    "own_dir",
    "resolve_pg_data_dir",
    "run_as",
    "server_user",
    "temp_pg_data_dir",
]

_SERVER_USER = "postgres"
_FALLBACK_ROOT = Path("/var/tmp")  # survives reboots, unlike /tmp, and is world-traversable


@dataclass(frozen=True, slots=True)
class OsUser:
    """An OS account the server processes run as.

    Attributes:
        name: The login name.
        uid: The user id.
        gid: The primary group id.
        groups: Every group id the user belongs to, primary included.
    """

    name: str
    uid: int
    gid: int
    groups: frozenset[int]


def server_user() -> OsUser | None:
    """Return the user PostgreSQL must run as: ``postgres`` when we are root, else None (us).

    Returns:
        The ``postgres`` account when running as root, None otherwise.

    Raises:
        DevstackError: We are root but there is no ``postgres`` account.
    """
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(_SERVER_USER)
    except KeyError:
        raise DevstackError(
            "running as root, but there is no `postgres` OS user to run PostgreSQL as; install the "
            "postgresql package (`make system-deps`), which creates it, or run as a normal user"
        ) from None
    groups = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if entry.pw_name in g.gr_mem}
    return OsUser(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid, groups=frozenset(groups))


def _can_traverse(path: Path, user: OsUser) -> bool:
    # Mode bits only: ACLs are rare on these machines and would only make us relocate needlessly.
    info = path.stat()
    if info.st_uid == user.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in user.groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def blocking_parent(path: Path, user: OsUser) -> Path | None:
    """Return the first existing parent directory of ``path`` that ``user`` cannot traverse.

    Args:
        path: A directory (need not exist); symlinks are resolved as the kernel would.
        user: The account that must reach it.

    Returns:
        The blocking directory, or None when every existing parent is traversable.
    """
    for parent in reversed(path.resolve().parents):
        if not parent.exists():
            return None
        if not _can_traverse(parent, user):
            return parent
    return None


def own_dir(path: Path, user: OsUser | None) -> None:
    """Create ``path`` (mode 700) and hand it to ``user``; None means the current user.

    Args:
        path: The directory.
        user: The owner to give it.

    Raises:
        DevstackError: ``path`` is a symlink, or belongs to a stranger.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise DevstackError(f"{path} must be a directory, not a symlink or a file")
    allowed = {os.geteuid()} | ({user.uid} if user else set())
    if info.st_uid not in allowed:
        raise DevstackError(f"{path} belongs to uid {info.st_uid}; refusing to use it")
    if user is not None:
        os.chown(path, user.uid, user.gid)
    path.chmod(0o700)


def resolve_pg_data_dir(wanted: Path) -> tuple[Path, str | None]:
    """Return where PostgreSQL's data can live, given where the caller wants it.

    Returns ``wanted`` unless we are root and the ``postgres`` user cannot traverse one of its
    parents; then the data goes to ``/var/tmp/conveyor-pg-<hash of wanted>``, created with the
    right owner, so the same ``wanted`` always maps to the same place and data survives restarts.

    Args:
        wanted: The preferred data directory (for example ``.data/postgres``).

    Returns:
        The data directory to use, and a message saying where the data lives when it moved.

    Raises:
        DevstackError: The fallback directory cannot be used safely.
    """
    user = server_user()
    if user is None:
        return wanted, None
    absolute = wanted.resolve()
    # Create missing parents now, so that their modes (umask) are checked too.
    with contextlib.suppress(OSError):
        absolute.parent.mkdir(parents=True, exist_ok=True)
    blocked = blocking_parent(absolute, user)
    if blocked is None:
        return wanted, None
    digest = hashlib.sha256(str(absolute).encode()).hexdigest()[:12]
    fallback = _FALLBACK_ROOT / f"conveyor-pg-{digest}"
    own_dir(fallback, user)
    mode = stat.filemode(blocked.stat().st_mode)
    message = (
        f"PostgreSQL runs as the `postgres` user, which cannot enter {blocked} ({mode}); "
        f"its data lives in {fallback} instead of {wanted}"
    )
    return fallback, message


def temp_pg_data_dir(prefix: str = "conveyor-pg-") -> Path:
    """Create an empty, throw-away data directory that the server user can reach.

    For tests and benchmarks: unlike `resolve_pg_data_dir`, which maps a wanted path to a
    persistent directory, this makes a new one in the system temp dir (``/tmp`` when the
    ``postgres`` user cannot reach that). The caller removes it.

    Args:
        prefix: The directory name prefix.

    Returns:
        The directory, mode 700, owned by the user PostgreSQL runs as.
    """
    user = server_user()
    root = tempfile.gettempdir()
    if user is not None and blocking_parent(Path(root) / prefix, user) is not None:
        root = "/tmp"
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    own_dir(path, user)
    return path


class RunAs(TypedDict, total=False):
    """Keyword arguments of `subprocess.Popen` that choose the OS user of the child."""

    cwd: str
    user: int
    group: int
    extra_groups: Sequence[int]


def run_as(user: OsUser | None) -> RunAs:
    """Return `subprocess.Popen` keyword arguments that run the child as ``user`` (None: as us).

    Args:
        user: The account, from `server_user`.

    Returns:
        Keyword arguments to splat into ``Popen`` or ``run``.
    """
    # cwd "/" because PostgreSQL programs resolve their own path from the working directory,
    # which the postgres user may not be allowed to enter (a clone under /root).
    kwargs: RunAs = {"cwd": "/"}
    if user is not None:
        kwargs["user"] = user.uid
        kwargs["group"] = user.gid
        kwargs["extra_groups"] = sorted(user.groups)
    return kwargs
