#!/usr/bin/env bash
# Offline validation of the Kubernetes manifests (no cluster needed).
#
#   bash scripts/validate-k8s.sh               # render every kustomization and validate it
#   K8S_VERSIONS="1.29.0 1.33.0" bash scripts/validate-k8s.sh
#
# 1. Render k8s/base and every k8s/overlays/* (gpu, tls, shards) with scripts/render_k8s.py (a
#    small pure-Python kustomize subset; no kustomize package exists on PyPI or in Debian 12).
#    When `kubectl` is installed, also render with `kubectl kustomize` (real kustomize) and
#    require the same objects, so the subset renderer cannot drift from kustomize.
# 2. Validate every rendered object against the Kubernetes OpenAPI schemas bundled in the
#    `kubernetes-validate` package, in strict mode (unknown fields are errors), for each
#    version in K8S_VERSIONS (default: 1.28, the first with the pod-index label, and 1.33).
# Tools live in build/k8s-tools (a venv created on first use; PyPI: kubernetes-validate, PyYAML).
# Rendered manifests are left in build/k8s/ for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSIONS=${K8S_VERSIONS:-"1.28.0 1.33.0"}
TOOLS=build/k8s-tools
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x "$TOOLS/bin/kubernetes-validate" ]; then
  echo "validate-k8s: installing kubernetes-validate into $TOOLS" >&2
  "$PYTHON" -m venv "$TOOLS"
  "$TOOLS/bin/pip" install --quiet "kubernetes-validate>=1.31" pyyaml 2> >(grep -v 'is ignored' >&2)
fi

out=build/k8s
mkdir -p "$out"
status=0
for kdir in k8s/base k8s/overlays/*/; do
  kdir=${kdir%/}
  name=$(basename "$kdir")
  "$TOOLS/bin/python" scripts/render_k8s.py "$kdir" >"$out/$name.yaml"
  if command -v kubectl >/dev/null 2>&1; then
    if kubectl kustomize "$kdir" >"$out/$name.kustomize.yaml" 2>"$out/$name.kustomize.err"; then
      if ! "$TOOLS/bin/python" scripts/render_k8s.py --compare "$out/$name.yaml" \
        "$out/$name.kustomize.yaml"; then
        echo "validate-k8s: $kdir: render_k8s.py and kubectl kustomize disagree" >&2
        status=1
      fi
    else
      echo "validate-k8s: kubectl kustomize $kdir failed:" >&2
      cat "$out/$name.kustomize.err" >&2
      status=1
    fi
  fi
  for version in $K8S_VERSIONS; do
    if ! "$TOOLS/bin/kubernetes-validate" --strict --quiet -k "$version" "$out/$name.yaml"; then
      echo "validate-k8s: $kdir is not valid for Kubernetes $version" >&2
      status=1
    fi
  done
  echo "validate-k8s: $kdir: $(grep -c '^kind:' "$out/$name.yaml") objects checked" >&2
done
[ "$status" = 0 ] && echo "validate-k8s: all manifests valid (Kubernetes $K8S_VERSIONS)" >&2
exit "$status"
