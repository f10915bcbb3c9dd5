#!/usr/bin/env bash
# Prints the python of a throwaway virtualenv holding the pinned Parsl, creating it on first use.
set -euo pipefail

PARSL_VERSION=2026.10.26

if [ -n "${CHORUS_CACHE:-}" ]; then
  cache="$CHORUS_CACHE"
elif mkdir -p /var/cache/chorus 2>/dev/null && [ -w /var/cache/chorus ]; then
  cache=/var/cache/chorus
else
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/chorus"
fi
venv="$cache/parsl-venv-$PARSL_VERSION"
mkdir -p "$cache"

# Serialize concurrent runs; the marker is written last, so a half-built venv is rebuilt.
exec 9>"$venv.lock"
flock 9
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  echo "ensure-venv: installing parsl==$PARSL_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "parsl==$PARSL_VERSION" >&2
  "$venv/bin/python" -c "import parsl.jobs.strategy" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
