#!/usr/bin/env bash
# Container end-to-end check (what CI runs, as root): real Docker engine, images built from
# docker/Dockerfile offline, the compose scenario, and a bit-exact comparison with the
# in-process reference run made inside the same image.
#
#   bash scripts/e2e-docker.sh            # everything below
#   E2E_TLS=0 bash scripts/e2e-docker.sh  # skip the mTLS scenario
#   E2E_KEEP=1 ...                        # leave a dockerd started here running
# Images (base, election-coding:cpu) stay as the cache of the next run.
#
# Steps:
#  1. engine: if `docker info` fails, apt-get install docker.io docker-compose debootstrap and
#     start dockerd (overlay2; vfs when overlay2 cannot start), stopped again at the end;
#  2. base image from debootstrap (docker/build-base.sh; kept between runs);
#  3. wheelhouse (docker/wheelhouse.sh), served on loopback to an offline `docker build`;
#  4.-6. tests/e2e/test_compose.py (pytest): `docker-compose config` on compose.yaml and every
#     overlay combination; the compose scenario (n=5, b=1, deterministic code, reverse attack,
#     digits, E2E_STEPS rounds, `up --exit-code-from master`), whose summary.json on the `runs`
#     volume must say completed, all rounds, and the model_sha256 of `election train --json`
#     with the same ELECTION_* settings in the same image; the same over mTLS
#     (compose.tls.yaml, one-shot cert service), E2E_TLS_STEPS rounds. Each test tears its
#     compose project down (containers, network, volumes).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${ELECTION_IMAGE:-election-coding:cpu}
BASE_IMAGE=${ELECTION_BASE_IMAGE:-election-base:bookworm}
E2E_STEPS=${E2E_STEPS:-20}
E2E_TLS_STEPS=${E2E_TLS_STEPS:-5}
t0=$(date +%s)
started_dockerd=""
server_pid=""

log() { echo "e2e-docker [$(( $(date +%s) - t0 ))s]: $*" >&2; }


cleanup() {
  local rc=$?
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  if [ -n "$started_dockerd" ] && [ -z "${E2E_KEEP:-}" ]; then
    kill "$started_dockerd" 2>/dev/null || true
    wait "$started_dockerd" 2>/dev/null || true
  fi
  [ "$rc" = 0 ] && log "PASSED" || log "FAILED (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT

# --- 1. engine ---------------------------------------------------------------------------
start_dockerd() {  # start_dockerd DRIVER -> 0 when the engine answers within 30 s
  dockerd --iptables=false --storage-driver="$1" >"/tmp/election-e2e-dockerd-$1.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 30); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$started_dockerd" 2>/dev/null || break
    sleep 1
  done
  kill "$started_dockerd" 2>/dev/null || true
  wait "$started_dockerd" 2>/dev/null || true
  started_dockerd=""
  return 1
}

if ! docker info >/dev/null 2>&1; then
  missing=""
  for tool in dockerd docker-compose debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || missing=1
  done
  if [ -n "$missing" ]; then
    log "installing docker.io docker-compose debootstrap"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose debootstrap \
      >/dev/null
  fi
  # overlay2 is much faster (vfs copies the whole image per layer and per container).
  start_dockerd "${E2E_STORAGE_DRIVER:-overlay2}" || start_dockerd vfs || {
    log "dockerd did not start"; cat /tmp/election-e2e-dockerd-*.log >&2; exit 1; }
fi
log "engine: $(docker info -f '{{.ServerVersion}} {{.Driver}}')"

# --- 2./3. base image, wheelhouse, image ---------------------------------------------------
BASE_TAG=$BASE_IMAGE bash docker/build-base.sh
bash docker/wheelhouse.sh
# A fixed port keeps the build arguments, hence the cached dependency layer, the same.
port=${E2E_WHEEL_PORT:-8765}
if ! python3 -c "import socket; socket.socket().bind(('127.0.0.1', $port))" 2>/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
bash docker/wheelhouse.sh serve "$port" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" \
    2>/dev/null && break
  sleep 0.2
done
build_start=$(date +%s)
DOCKER_BUILDKIT=0 docker build --quiet --network host -f docker/Dockerfile \
  --build-arg BASE_IMAGE="$BASE_IMAGE" \
  --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS="http://127.0.0.1:$port/" \
  -t "$IMAGE" . >/dev/null 2> >(grep -v -i -E 'deprecated|buildkit|legacy builder|environment-variable|^ *$' >&2)
kill "$server_pid" 2>/dev/null || true
server_pid=""
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
log "image $IMAGE built in $(( $(date +%s) - build_start )) s, $(( size / 1000000 )) MB"
docker run --rm "$IMAGE" python -c "import election, master, worker, adversary, wire" \
  || { log "the image cannot import the packages"; exit 1; }
[ "$(docker run --rm "$IMAGE" id -u)" = 10001 ] || { log "the image does not run as uid 10001"; exit 1; }

# --- 4.-6. compose config and scenarios (tests/e2e/test_compose.py) ------------------------
PYTHON=python3
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
export ELECTION_E2E_DOCKER=1 ELECTION_IMAGE=$IMAGE E2E_STEPS E2E_TLS_STEPS
tests=(tests/e2e/test_compose.py)
[ "${E2E_TLS:-1}" = 1 ] || tests+=(-k "not mtls")
"$PYTHON" -m pytest -q -p no:cacheprovider "${tests[@]}"
log "total $(( $(date +%s) - t0 )) s"
