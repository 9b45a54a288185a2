#!/usr/bin/env bash
# Replays the official Amazon run (docs/paper.md, "The Amazon seed protocol"): n = 15, b = 5,
# directional attack (+1), the official allocation matrix (Bernoulli) and the identity
# (SignSGD-MV), 5 Byzantine draws each (seeds 1..5), 936 steps, test AUC after every step.
# Then prints the table, writes the plot and refreshes the table embedded in results/README.md.
#   bash results/amazon-seed/reproduce.sh            # ~25 min on 2 cores (two runs at a time)
#   DRAWS="1 2" bash results/amazon-seed/reproduce.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=results/amazon-seed
MATRIX=${MATRIX:-../shared/data/seed-amazon/G_bernoulli_p0.133333.csv}
DRAWS=${DRAWS:-"1 2 3 4 5"}
run() {  # scheme code seed
  rm -rf "$OUT/runs/$1-s$3"
  .venv/bin/election train --dataset amazon --protocol seed --n 15 --b 5 --attack directional \
    --code "$2" --seed "$3" --runs-dir "$OUT/runs" --run-name "$1-s$3" --quiet --json >/dev/null
}
mkdir -p "$OUT/runs"
for s in $DRAWS; do
  run signsgd-mv uncoded "$s" &
  run bernoulli "file:$MATRIX" "$s"
  wait
done
.venv/bin/python results/amazon_seed_summary.py "$OUT/runs" --plot "$OUT/amazon-seed.png" \
  --readme results/README.md
