#!/usr/bin/env bash
# How much the official Bernoulli run's AUC depends on WHICH 5 workers are Byzantine (its set
# was drawn without a seed): the replay of results/amazon-seed/reproduce.sh with chosen sets of
# Byzantine workers instead of seeded random ones. Prints one line per set: set, AUC at 100,
# 300, 500, 700 and 936 steps.
#   bash results/amazon-seed/byzantine_sets.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=results/amazon-seed/byzantine-sets
MATRIX=${MATRIX:-../shared/data/seed-amazon/G_bernoulli_p0.133333.csv}
# heaviest rows (5, 7, 9, 10, 14: 22 of G's 32 ones), and the two idle workers with the three
# lightest (0, 1, 3, 8, 11: 3 ones)
SETS=${SETS:-"heaviest 0,1,3,8,11"}
mkdir -p "$OUT"
run() {  # name select
  rm -rf "$OUT/$1"
  .venv/bin/election train --dataset amazon --protocol seed --n 15 --b 5 --attack directional \
    --code "file:$MATRIX" --byzantine-select "$2" --runs-dir "$OUT" --run-name "$1" \
    --quiet --json >/dev/null
}
pids=()
for s in $SETS; do run "bernoulli-${s//,/-}" "$s" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
for s in $SETS; do
  d="$OUT/bernoulli-${s//,/-}"
  .venv/bin/python - "$d" <<'PY'
import json, sys
from pathlib import Path
from election.paper.amazon import CHECKPOINTS, read_curve
d = Path(sys.argv[1])
curve = read_curve(d)
byz = json.loads((d / "summary.json").read_text())["byzantine"]
print(d.name, "byzantine", byz, " ".join(f"{s}:{curve[s]:.4f}" for s in CHECKPOINTS))
PY
done
