#!/usr/bin/env bash
# Build the local base image `election-base:bookworm` without any container registry:
#   debootstrap --variant=minbase bookworm ROOT  ->  slim it  ->  tar | docker import.
#
# What is inside: Debian 12 minbase, python3.11 with venv/ensurepip and ca-certificates; no
# docs, man pages, locales or apt lists. The Dockerfile's default BASE_IMAGE is
# `python:3.11-slim-bookworm` for users who can pull from Docker Hub; CI and offline hosts
# build this one and pass `--build-arg BASE_IMAGE=election-base:bookworm`.
#
#   bash docker/build-base.sh                 # tag election-base:bookworm (skips if present)
#   FORCE=1 bash docker/build-base.sh         # rebuild even if the tag exists
#   MIRROR=http://deb.debian.org/debian BASE_TAG=my/base:1 bash docker/build-base.sh
#
# Needs root and the Debian packages debootstrap + docker.io (a running engine).
set -euo pipefail

BASE_TAG=${BASE_TAG:-election-base:bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
PACKAGES=python3.11,python3.11-venv,python3-venv,ca-certificates

if [ -z "${FORCE:-}" ] && docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
  echo "build-base: $BASE_TAG already present (FORCE=1 rebuilds)" >&2
  exit 0
fi
command -v debootstrap >/dev/null || { echo "build-base: install debootstrap first" >&2; exit 2; }

root=$(mktemp -d /var/tmp/election-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
start=$(date +%s)
echo "build-base: debootstrap $SUITE minbase into $root (a few minutes)" >&2
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" >/dev/null

# Slim: apt caches and lists, documentation, man pages, locales, Python bytecode caches.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old \
  "$root"/tmp/* "$root"/var/tmp/*
find "$root"/usr/lib/python3* -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true
# Keep documentation out on later `apt-get install` in derived images, as the slim images do.
cat >"$root"/etc/dpkg/dpkg.cfg.d/01-nodoc <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
printf 'deb %s %s main\ndeb %s %s-updates main\n' "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" \
  >"$root"/etc/apt/sources.list
ln -sf python3.11 "$root"/usr/bin/python3

tar --numeric-owner -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  - "$BASE_TAG" >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$BASE_TAG")
echo "build-base: $BASE_TAG built in $(( $(date +%s) - start )) s, $(( size / 1000000 )) MB" >&2
