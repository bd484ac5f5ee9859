"""Where the PostgreSQL server and client binaries are, and which major version they are."""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import DevstackError

__all__ = ["PostgresBinaries", "PostgresMissingError", "find_postgres_binaries", "pg_env"]

_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_REQUIRED = ("postgres", "initdb", "pg_isready", "psql")
_INSTALL_HINT = "install it with `make system-deps` (or `sudo apt-get install --no-install-recommends postgresql`)"


class PostgresMissingError(DevstackError):
    """No PostgreSQL server binaries were found; the message says how to install them."""


@dataclass(frozen=True, slots=True)
class PostgresBinaries:
    """The PostgreSQL programs the managers run.

    Attributes:
        programs: Absolute path of each program, by name (``postgres``, ``initdb``, ...).
    """

    programs: dict[str, Path]

    def __getitem__(self, name: str) -> str:
        """Return the path of program ``name`` as a string, ready for a command line."""
        return str(self.programs[name])

    def major_version(self) -> int:
        """Run ``postgres --version`` and return the major version (``15`` for 15.14).

        Returns:
            The major version.

        Raises:
            DevstackError: The output is not what PostgreSQL prints.
        """
        out = subprocess.run([self["postgres"], "--version"], capture_output=True, text=True, check=False).stdout
        match = re.search(r"\(PostgreSQL\) (\d+)", out)
        if match is None:
            raise DevstackError(f"cannot tell the PostgreSQL version from {out.strip()!r}")
        return int(match.group(1))


def _version_key(bin_postgres: Path) -> tuple[int, ...]:
    version = bin_postgres.parent.parent.name  # /usr/lib/postgresql/<version>/bin/postgres
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_postgres_binaries() -> PostgresBinaries:
    """Find the server binaries: Debian's highest ``/usr/lib/postgresql/<version>/bin``, else PATH.

    Returns:
        The programs.

    Raises:
        PostgresMissingError: PostgreSQL is not installed (the message says how to install it).
    """
    debian = sorted(_DEBIAN_ROOT.glob("*/bin/postgres"), key=_version_key)
    if debian:
        bin_dir = debian[-1].parent
        programs = {name: bin_dir / name for name in _REQUIRED}
        missing = [name for name, path in programs.items() if not path.is_file()]
    else:
        found = {name: shutil.which(name) for name in _REQUIRED}
        programs = {name: Path(path) for name, path in found.items() if path}
        missing = [name for name, path in found.items() if not path]
    if missing:
        where = f"in {debian[-1].parent}" if debian else "under /usr/lib/postgresql nor on PATH"
        raise PostgresMissingError(f"PostgreSQL programs {', '.join(missing)} were not found {where}; " + _INSTALL_HINT)
    return PostgresBinaries(programs=programs)


def pg_env() -> dict[str, str]:
    """Our environment without ``PG*`` variables, for running PostgreSQL programs.

    Every connection parameter is passed explicitly; a stray ``PGSSLMODE`` or ``PGOPTIONS`` in the
    developer's shell must not change what the programs do.

    Returns:
        The environment.
    """
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}
