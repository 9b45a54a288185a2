#!/bin/sh
# Container entry point: `election-entrypoint ROLE [ARGS...]`.
#
#   master | worker | adversary   the gRPC services (`election ROLE ARGS`)
#   a program on PATH             executed as is (sh, python, mpirun, election-make-certs, ...)
#   anything else                 `election ARGS` (train, codes, bench, --help, ...)
#
# Slot of a worker or adversary, when ELECTION_SLOT is not set:
#   ELECTION_SLOT = ELECTION_SLOT_BASE (default 0) + ELECTION_POD_INDEX
# where Kubernetes fills ELECTION_POD_INDEX from the StatefulSet pod's
# `apps.kubernetes.io/pod-index` label; with an empty label (clusters before 1.28) the ordinal
# is taken from the pod name `NAME-ORDINAL` (the hostname). Compose sets ELECTION_SLOT itself.
set -eu

slot_from_pod() {
  index=${ELECTION_POD_INDEX:-}
  if [ -z "$index" ] && [ "${ELECTION_SLOT_FROM_HOSTNAME:-0}" = 1 ]; then
    # shellcheck disable=SC3028  # HOSTNAME comes from the container runtime, if at all
    host=${HOSTNAME:-$(cat /proc/sys/kernel/hostname)}
    index=${host##*-}
  fi
  [ -n "$index" ] || return 0
  case "$index" in
    *[!0-9]*) echo "entrypoint: pod index '$index' is not a number" >&2; exit 2;;
  esac
  ELECTION_SLOT=$(( ${ELECTION_SLOT_BASE:-0} + index ))
  export ELECTION_SLOT
}

[ "$#" -gt 0 ] || set -- --help
case "$1" in
  worker|adversary)
    [ -n "${ELECTION_SLOT:-}" ] || slot_from_pod
    ;;
esac
if command -v -- "$1" >/dev/null 2>&1; then
  exec "$@"  # a program: sh, python, mpirun, election-make-certs, ...
fi
exec election "$@"
