#!/usr/bin/env bash
# Regenerates every recorded result in results/ (see results/README.md for the figures).
set -euo pipefail
cd "$(dirname "$0")/.."
E=.venv/bin/election
# Amazon Employee Access, the official run replayed (seed protocol) and the same draws under
# the project's protocol (results/README.md).
bash results/amazon-seed/reproduce.sh
bash results/amazon-seed/project_protocol.sh
# Amazon Employee Access, the paper's setting: n = 15, b = 5, directional attack,
# 15 samples per partition, 8 epochs, test AUC; SignSGD-MV vs Bernoulli r = 2 (p = 2/15).
$E compare --dataset amazon --n 15 --b 5 --attack directional --r 2 \
  --lineup no-attack,signsgd-mv,bernoulli --runs-dir results/amazon --quiet
# Fashion-MNIST, the paper's Fig. 4 comparison at n = 5, b = 1 and n = 9, b = 2, the paper's
# plain decoder (the default is quorum for the deterministic code).
$E compare --dataset fashion-mnist --n 5 --b 1 --decoder plain --runs-dir results/fashion-mnist --quiet
$E compare --dataset fashion-mnist --n 9 --b 2 --decoder plain --runs-dir results/fashion-mnist --quiet
