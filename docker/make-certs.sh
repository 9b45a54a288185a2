#!/bin/sh
# One-shot certificate authority for mTLS between the master and its clients (compose's
# `certs` service in compose.tls.yaml; `election-make-certs` in the image; runs anywhere with
# the openssl CLI).
#
#   election-make-certs [DIR]     (default $ELECTION_CERTS_DIR or /var/lib/election/certs)
#
# Writes, once (an existing ca.pem means "already done": nothing is rotated on restart):
#   ca.pem                      the CA that both sides trust (ELECTION_TLS_CA)
#   master.pem / master.key     server certificate (+ clientAuth, so the master container's
#                               healthcheck can present it); SANs from MASTER_NAMES
#   NAME.pem / NAME.key         client certificates, one per name in CLIENTS
# The CA key is deleted afterwards unless KEEP_CA_KEY=1. Keys are EC P-256, mode 0600.
set -eu

dir=${1:-${ELECTION_CERTS_DIR:-/var/lib/election/certs}}
MASTER_NAMES=${MASTER_NAMES:-master,localhost,election-master}
CLIENTS=${CLIENTS:-client}
DAYS=${DAYS:-365}

mkdir -p "$dir"
if [ -s "$dir/ca.pem" ]; then
  echo "make-certs: $dir/ca.pem exists; keeping the current certificates" >&2
  exit 0
fi
umask 077
work=$(mktemp -d "$dir/.make-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

openssl ecparam -name prime256v1 -genkey -noout -out ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$DAYS" -subj "/CN=election-coding CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.pem 2>/dev/null

issue() {  # issue NAME EXTENDED_KEY_USAGE SUBJECT_ALT_NAMES
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
    "$2" "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
    -days "$DAYS" -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

sans="IP:127.0.0.1"
for name in $(echo "$MASTER_NAMES" | tr ',' ' '); do sans="$sans,DNS:$name"; done
issue master serverAuth,clientAuth "$sans"
for name in $(echo "$CLIENTS" | tr ',' ' '); do
  issue "$name" clientAuth "DNS:$name"
done

rm -f ca.srl
[ "${KEEP_CA_KEY:-0}" = 1 ] || rm -f ca.key
chmod 0644 ./*.pem
# ca.pem moves last: its presence marks a complete set.
for f in *; do [ "$f" = ca.pem ] || mv "$f" "$dir/"; done
mv ca.pem "$dir/"
echo "make-certs: wrote $(ls "$dir" | tr '\n' ' ')to $dir" >&2
