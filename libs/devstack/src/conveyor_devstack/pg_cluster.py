"""The cluster directory: created once with ``initdb``, checked before every start."""

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from .errors import DevstackError, ServerStartError
from .pg_install import PostgresBinaries, pg_env
from .pg_owner import OsUser, blocking_parent, own_dir, run_as
from .process import is_alive, is_running_with, read_pid_file

__all__ = ["SUPERUSER", "prepare_cluster"]

SUPERUSER = "postgres"


def prepare_cluster(
    data_dir: Path,
    *,
    binaries: PostgresBinaries,
    user: OsUser | None,
    fast: bool,
    log_file: Path,
    describe: Callable[[str], ServerStartError],
) -> None:
    """Make ``data_dir`` ready for a server start: initdb it once, or check the existing cluster.

    Args:
        data_dir: The absolute cluster directory.
        binaries: The PostgreSQL programs.
        user: Who runs the server (None: us).
        fast: Skip initdb's fsync (throw-away clusters).
        log_file: Where initdb's output goes.
        describe: Builds the error for a failed initdb from a reason.

    Raises:
        DevstackError: The directory cannot hold a cluster, or holds one we must not start.
        ServerStartError: initdb failed.
    """
    if user is not None:
        blocked = blocking_parent(data_dir, user)
        if blocked is not None:
            raise DevstackError(
                f"PostgreSQL runs as `{user.name}`, which cannot enter {blocked}; put the data "
                "elsewhere (resolve_pg_data_dir() picks a reachable directory)"
            )
    if (data_dir / "PG_VERSION").is_file():
        _check_version(data_dir, binaries)
        _remove_stale_pid_file(data_dir)
    else:
        _initdb(data_dir, binaries=binaries, user=user, fast=fast, log_file=log_file, describe=describe)


def _check_version(data_dir: Path, binaries: PostgresBinaries) -> None:
    data_version = (data_dir / "PG_VERSION").read_text(encoding="utf-8").strip()
    server_version = binaries.major_version()
    if data_version != str(server_version):
        raise DevstackError(
            f"{data_dir} holds PostgreSQL {data_version} data but the server is version {server_version}; "
            f"remove the directory (its data is lost) or install PostgreSQL {data_version}"
        )


def _remove_stale_pid_file(data_dir: Path) -> None:
    pid_file = data_dir / "postmaster.pid"
    pid = read_pid_file(pid_file)
    if pid is None or not is_alive(pid):
        # A dead postmaster's lock file is PostgreSQL's to clear: it first checks that no orphaned
        # backend still uses the old shared memory, which deleting the file ourselves would skip.
        return
    if is_running_with(pid, "postgres", str(data_dir)):
        raise DevstackError(
            f"PostgreSQL (pid {pid}) is already running on {data_dir}; stop it first "
            f"(kill -INT {pid}) or use another data directory"
        )
    # The crashed postmaster's pid now belongs to another process (likely in containers, where
    # pids are small): PostgreSQL would refuse to start, believing it still runs.
    pid_file.unlink(missing_ok=True)


def _initdb(
    data_dir: Path,
    *,
    binaries: PostgresBinaries,
    user: OsUser | None,
    fast: bool,
    log_file: Path,
    describe: Callable[[str], ServerStartError],
) -> None:
    if data_dir.exists() and any(data_dir.iterdir()):
        raise DevstackError(
            f"{data_dir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); "
            "empty or remove it, or choose another data directory"
        )
    # A missing directory is initialised beside it and renamed, so an interrupted initdb (Ctrl-C
    # on a first `make run`) never leaves a half-made cluster behind. An existing empty one may
    # be a mount point, so it is initialised in place.
    target = data_dir
    if not data_dir.exists():
        target = data_dir.with_name(f".{data_dir.name}.initdb")
        shutil.rmtree(target, ignore_errors=True)
    own_dir(target, user)
    # Trust authentication is acceptable only because the server listens on loopback alone
    # (Postgres.start checks): this is a local, embedded development and test database.
    command = [
        binaries["initdb"], "-D", str(target), "-A", "trust", "-U", SUPERUSER,
        "--encoding=UTF8", "--locale=C", "--no-instructions",
    ]  # fmt: skip
    if fast:
        command.append("--no-sync")
    with log_file.open("ab") as log:
        status = subprocess.run(
            command, stdout=log, stderr=subprocess.STDOUT, env=pg_env(), check=False, **run_as(user)
        ).returncode
    if status != 0:
        raise describe(f"exited with status {status}")
    if target != data_dir:
        target.rename(data_dir)
