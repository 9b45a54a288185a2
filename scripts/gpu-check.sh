#!/usr/bin/env bash
# The GPU check: one short run (<= 8 minutes, every step bounded) on a machine with an NVIDIA GPU.
#   bash scripts/gpu-check.sh                      # --device cuda, JSON into $OUT or results/gpu-check-*
#   bash scripts/gpu-check.sh --device cpu         # the same steps at toy sizes (the test suite runs this;
#                                                  # --full keeps the GPU sizes on any device)
# Steps, one JSON file each in the output folder (a failed step writes {"step", "error", "log"}
# and the others still run; summary.json says which passed):
#   env.json        python, torch, the device (nvidia-smi -L when present)
#   packer.json     `election bench packer`: the torch packer on the device vs the numpy oracle,
#                   byte for byte, d = 11,173,962 (ResNet-18), dense / index-list / mask votes
#   train.json      `election bench train`: ResNet-18, batch 120, n = 5, b = 1, deterministic
#                   code (r = 3.8) vs uncoded (r = 1) vs recompute, step times on the device
#   grpc.json       a 5-worker gRPC cluster (master + 4 workers + 1 adversary, separate
#                   processes) training on the device; inprocess.json: the same configuration
#                   in one process; summary.json compares their model_sha256
# Python: $PYTHON, else .venv/bin/python, else python3 (with the repository on PYTHONPATH).
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=cuda
FULL=0
OUT_DIR=${OUT:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --full) FULL=1; shift ;;
    --out) OUT_DIR=$2; shift 2 ;;
    *) echo "gpu-check: unknown argument $1 (use --device DEV, --full, --out DIR)" >&2; exit 2 ;;
  esac
done
OUT_DIR=${OUT_DIR:-results/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT_DIR"
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}

if [ "$DEVICE" = cpu ] && [ "$FULL" = 0 ]; then  # toy sizes: the plumbing, not the figures
  PACKER=(--d 100003 --repeat 1)
  TRAIN=(--model cnn --batch-size 20 --repeat 1)
  RUN=(--num-train 300 --steps 3 --eval-every 3)
else
  PACKER=(--d 11173962 --repeat 5)
  TRAIN=(--model resnet18 --batch-size 120 --repeat 3)
  RUN=(--num-train 1200 --steps 20 --eval-every 10)
fi
COMMON=(--dataset digits --n 5 --b 1 --code deterministic --attack reverse --threads 1
        --device "$DEVICE" "${RUN[@]}" --json --quiet)

# step NAME SECONDS CMD...: CMD's last stdout line (JSON) -> NAME.json, bounded by SECONDS
step() {
  local name=$1 limit=$2; shift 2
  local log="$OUT_DIR/$name.log"
  echo "gpu-check: $name" >&2
  if timeout "$limit" "$@" > "$OUT_DIR/$name.stdout" 2> "$log" \
      && tail -n 1 "$OUT_DIR/$name.stdout" | "$PY" -c 'import json, sys; json.load(sys.stdin)' 2>/dev/null; then
    tail -n 1 "$OUT_DIR/$name.stdout" > "$OUT_DIR/$name.json"
  else
    local rc=$?
    "$PY" -c 'import json, sys; print(json.dumps({"step": sys.argv[1], "error": f"exit {sys.argv[2]}", "log": open(sys.argv[3]).read()[-2000:]}))' \
      "$name" "$rc" "$log" > "$OUT_DIR/$name.json"
  fi
  rm -f "$OUT_DIR/$name.stdout"
}

step env 60 "$PY" -c '
import json, platform, shutil, subprocess, sys, torch
smi = shutil.which("nvidia-smi")
gpus = subprocess.run([smi, "-L"], capture_output=True, text=True).stdout.split("\n") if smi else []
print(json.dumps({"python": platform.python_version(), "torch": torch.__version__,
                  "cuda_available": torch.cuda.is_available(), "device": sys.argv[1],
                  "device_name": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
                  "nvidia_smi": [g for g in gpus if g], "cpus": __import__("os").cpu_count()}))' "$DEVICE"
step packer 90 "$PY" -m election bench packer --device "$DEVICE" "${PACKER[@]}"
step train 180 "$PY" -m election bench train --device "$DEVICE" --json "${TRAIN[@]}"
step grpc 150 "$PY" -m election train --transport grpc "${COMMON[@]}" --runs-dir "$OUT_DIR/runs"
step inprocess 60 "$PY" -m election train --transport inprocess "${COMMON[@]}" --runs-dir "$OUT_DIR/runs"

"$PY" - "$OUT_DIR" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
steps = {name: json.loads((out / f"{name}.json").read_text())
         for name in ("env", "packer", "train", "grpc", "inprocess")}
passed = {name: "error" not in result for name, result in steps.items()}
passed["packer"] = passed["packer"] and steps["packer"].get("all_same") is True
summary = {
    "device": steps["env"].get("device"),
    "passed": passed,
    "packer_all_same": steps["packer"].get("all_same"),
    "train_step_s": steps["train"].get("step_s"),
    "train_ratio_vs_uncoded": steps["train"].get("ratio_vs_uncoded"),
    "train_speedup_vs_recompute": steps["train"].get("speedup_vs_recompute"),
    "grpc_steps": steps["grpc"].get("steps"),
    "grpc_wall_s": steps["grpc"].get("wall_s"),
    "grpc_same_model_as_inprocess": (
        steps["grpc"].get("model_sha256") is not None
        and steps["grpc"].get("model_sha256") == steps["inprocess"].get("model_sha256")
    ),
}
(out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
print(json.dumps(summary))
sys.exit(0 if all(passed.values()) else 1)
EOF
