#!/usr/bin/env bash
# Make sure PostgreSQL server binaries exist; install Debian's `postgresql` package when they do not.
# Called by `make system-deps` (and therefore by `make run` and `make test`).
set -euo pipefail

has_server_binaries() {
  local candidate
  for candidate in /usr/lib/postgresql/*/bin/postgres; do
    [[ -x "$candidate" ]] && return 0
  done
  command -v postgres >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1 \
    && command -v pg_ctl >/dev/null 2>&1
}

if has_server_binaries; then
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "PostgreSQL is not installed and this script cannot install it without root." >&2
  echo "Install it yourself, then run the command again:" >&2
  echo "  sudo apt-get install --no-install-recommends postgresql" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL is not installed and apt-get is not available on this machine." >&2
  echo "Install the PostgreSQL server (postgres, initdb, pg_ctl on PATH) and run the command again." >&2
  exit 1
fi

echo "PostgreSQL is missing: installing Debian's postgresql package (apt-get)..."
# `env` rather than `export`: sudo resets the environment.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null

if ! has_server_binaries; then
  echo "apt-get finished but no PostgreSQL server binaries were found under /usr/lib/postgresql." >&2
  exit 1
fi
echo "PostgreSQL installed."
