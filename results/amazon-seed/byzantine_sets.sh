#!/usr/bin/env bash
# How much the official Amazon runs' AUC depends on WHICH 5 workers are Byzantine (their sets
# were drawn without a seed): the replay of results/amazon-seed/reproduce.sh with chosen sets
# instead of seeded random ones. Prints one line per run: its Byzantine workers (0-based) and the
# AUC at steps 100, 300, 500, 700 and 936.
#   bash results/amazon-seed/byzantine_sets.sh
# Sets (scheme:select): the heaviest rows of G (5, 7, 9, 10, 14: 22 of its 32 ones); the two idle
# workers with the three lightest (0, 1, 3, 8, 11: 3 ones); and the sets whose step-1 AUC equals
# the official runs' (results/amazon-seed/fingerprint.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=results/amazon-seed/byzantine-sets
MATRIX=${MATRIX:-../shared/data/seed-amazon/G_bernoulli_p0.133333.csv}
SETS=${SETS:-"bernoulli:heaviest bernoulli:0,1,3,8,11 bernoulli:4,8,9,10,14 signsgd-mv:0,4,8,10,14"}
mkdir -p "$OUT"
run() {  # scheme select
  local code=uncoded name="$1-${2//,/-}"
  [ "$1" = bernoulli ] && code="file:$MATRIX"
  rm -rf "${OUT:?}/$name"
  .venv/bin/election train --dataset amazon --protocol seed --n 15 --b 5 --attack directional \
    --code "$code" --byzantine-select "$2" --runs-dir "$OUT" --run-name "$name" --quiet \
    --json >/dev/null
}
set -- $SETS
while [ $# -gt 0 ]; do  # two runs at a time
  run "${1%%:*}" "${1#*:}" &
  if [ $# -gt 1 ]; then run "${2%%:*}" "${2#*:}"; shift; fi
  wait
  shift
done
for d in "$OUT"/*/; do
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
