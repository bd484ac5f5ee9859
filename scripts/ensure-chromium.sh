#!/usr/bin/env bash
# Make sure Debian's Chromium exists for the dashboard's browser tests (Playwright drives it through
# executable_path; no browser is ever downloaded by Playwright). Called by `make system-deps`.
set -euo pipefail

CHROMIUM="${CONVEYOR_CHROMIUM:-/usr/bin/chromium}"

if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "Chromium is not installed and this script cannot install it without root." >&2
  echo "Install it yourself, then run the command again:" >&2
  echo "  sudo apt-get install --no-install-recommends chromium" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is not installed and apt-get is not available on this machine." >&2
  echo "Install a Chromium at $CHROMIUM (or set CONVEYOR_CHROMIUM) and run the command again." >&2
  exit 1
fi

echo "Chromium is missing: installing Debian's chromium package (apt-get)..."
# `env` rather than `export`: sudo resets the environment.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends chromium >/dev/null

if [[ ! -x "$CHROMIUM" ]]; then
  echo "apt-get finished but $CHROMIUM was not found." >&2
  exit 1
fi
echo "Chromium installed."
