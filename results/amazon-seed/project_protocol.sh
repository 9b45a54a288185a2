#!/usr/bin/env bash
# The same 5 Byzantine draws and codes as reproduce.sh under the PROJECT's protocol (shuffled
# seeded batches, the project's features, logistic regression with a bias; docs/paper.md), for
# the side-by-side table in results/README.md. Test AUC every 100 steps and at the end.
#   bash results/amazon-seed/project_protocol.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=results/amazon-seed
MATRIX=${MATRIX:-../shared/data/seed-amazon/G_bernoulli_p0.133333.csv}
DRAWS=${DRAWS:-"1 2 3 4 5"}
run() {  # scheme code seed
  rm -rf "$OUT/runs-project/$1-s$3"
  .venv/bin/election train --dataset amazon --n 15 --b 5 --attack directional --code "$2" \
    --seed "$3" --eval-every 100 --runs-dir "$OUT/runs-project" --run-name "$1-s$3" \
    --quiet --json >/dev/null
}
mkdir -p "$OUT/runs-project"
for s in $DRAWS; do
  run signsgd-mv uncoded "$s" &
  run bernoulli "file:$MATRIX" "$s"
  wait
done
.venv/bin/python results/amazon_seed_summary.py "$OUT/runs-project" \
  --plot "$OUT/amazon-project.png" --readme results/README.md --block amazon-project-table \
  --title "Amazon, project protocol: n=15, b=5, directional attack"
