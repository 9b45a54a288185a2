#!/usr/bin/env bash
# Build a local wheelhouse for offline image builds, and serve it to `docker build`.
#
#   bash docker/wheelhouse.sh                 # download cpu (+ build) wheels into build/wheelhouse
#   VARIANTS="cpu cuda mpi" bash docker/wheelhouse.sh   # also the CUDA torch (~3 GB) and MPI wheels
#   bash docker/wheelhouse.sh serve [PORT]    # serve it on 127.0.0.1:PORT (default 8765), foreground
#
# The wheels come from wherever this host's pip finds them (PyPI, a mirror, a local
# find-links folder: the CPU-only torch 2.13.0 wheel on CI machines). Only binary wheels for
# CPython 3.11 on manylinux x86_64 are taken, so they install in the bookworm-based image.
#
# An offline build then points pip inside the build at the served folder (legacy builder and
# BuildKit alike; `--network host` lets the build reach 127.0.0.1):
#   docker build --network host -f docker/Dockerfile \
#     --build-arg BASE_IMAGE=election-base:bookworm \
#     --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=http://127.0.0.1:8765/ -t election-coding:cpu .
# Serving over HTTP (instead of copying the folder into the build context) keeps ~300 MB of
# wheels out of the image layers and the context, and lets the dependency layer stay cached.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELHOUSE=${WHEELHOUSE:-build/wheelhouse}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ "${1:-}" = "serve" ]; then
  port=${2:-8765}
  exec "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$WHEELHOUSE" "$port"
fi

mkdir -p "$WHEELHOUSE"
start=$(date +%s)
reqs=$(mktemp)
trap 'rm -f "$reqs"' EXIT
for variant in build ${VARIANTS:-cpu}; do
  echo "wheelhouse: docker/requirements-$variant.txt -> $WHEELHOUSE" >&2
  # Index lines are for online image builds; here the host's own pip configuration decides.
  grep -v '^--' "docker/requirements-$variant.txt" >"$reqs"
  "$PYTHON" -m pip download --quiet --dest "$WHEELHOUSE" --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -r "$reqs" 2> >(grep -v 'is ignored: it is neither' >&2)
done
count=$(find "$WHEELHOUSE" -name '*.whl' | wc -l)
echo "wheelhouse: $count wheels, $(du -sh "$WHEELHOUSE" | cut -f1), $(( $(date +%s) - start )) s" >&2
