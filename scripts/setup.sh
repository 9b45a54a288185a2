#!/usr/bin/env bash
# Create .venv/ at the repository root and install the project into it.
#   bash scripts/setup.sh          # runtime dependencies
#   bash scripts/setup.sh --dev    # plus test, lint and build tools (pytest, ruff, mypy, grpcio-tools, mpich)
# torch 2.14.1 / torchvision 0.29.1 install from the machine's local wheel cache when present.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# Reinstall when the metadata or the native vote kernel (compiled by pip when a C compiler exists) change.
stamp=.venv/.installed-$(cat pyproject.toml setup.py election/votes/_planes.c | sha256sum | cut -c1-16)${1:+-dev}
if [ -f "$stamp" ]; then
  exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
extras=""
if [ "${1:-}" = "--dev" ]; then extras="[dev]"; fi
echo "setup: installing the project into .venv (first run takes a few minutes)" >&2
# (the awk drops setuptools' generic note on editable installs; real errors still show)
.venv/bin/python -m pip install --quiet -e ".${extras}" 2>&1 \
  | awk '/BuildBackendWarning: Editable installation/ {skip = 1} !skip && !/is ignored: it is neither/; /with strategy, WheelFile/ {skip = 0}' || true
.venv/bin/python -c "import election, torch, numpy"
.venv/bin/python -c "from election.votes.majority import NATIVE_AVAILABLE as ok; ok or print(
    'setup: no C compiler found; the packed majority uses its numpy executor (slower).'
    ' With a compiler installed, .venv/bin/pip install -e . builds the native kernel.')" >&2
touch "$stamp"
