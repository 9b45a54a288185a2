#!/usr/bin/env bash
# Regenerates the decoder / ternary-perfect code results of results/README.md ("Zero signs").
# Every run has --audit: summary.json["audit"] counts where the master's update differs from
# mu = sign(sum_i u_i), split into mu != 0, tie and dead coordinates.
# Usage: results/run_decoders.sh [digits|digits-attacks|amazon|fashion-mnist|all]; then
# .venv/bin/python results/embed_tables.py results/README.md rebuilds the README's tables.
# The step budgets of Amazon and Fashion-MNIST are shortened (2-core machine shared with other
# jobs), and so is the attack sweep on digits; override with AMAZON_EPOCHS, FASHION_STEPS,
# FASHION9_STEPS, SWEEP_STEPS.
set -euo pipefail
cd "$(dirname "$0")/.."
E=.venv/bin/election
OUT=results/decoders
LINEUP=no-attack,signsgd-mv,deterministic-plain,deterministic-quorum,ternary-plain,ternary-quorum
AMAZON_EPOCHS=${AMAZON_EPOCHS:-2}  # the paper's 8 epochs take about 4x as long
FASHION_STEPS=${FASHION_STEPS:-200}  # the preset's 2 epochs are 1,000 steps at n = 5
FASHION9_STEPS=${FASHION9_STEPS:-50}  # and 554 steps at n = 9
SWEEP_STEPS=${SWEEP_STEPS:-40}  # of digits' 6 epochs (954 steps at n = 9), as issue 11's run
case "${1:-all}" in
  digits|all)
    # digits, n = 9, b = 2 and 3, directional attack on the heaviest workers, full 6 epochs
    for b in 2 3; do
      $E compare --dataset digits --n 9 --b "$b" --seed 7 --attack directional \
        --byzantine-select heaviest --audit --lineup "$LINEUP" --runs-dir $OUT/digits --quiet
    done
    ;;&
  digits-attacks|all)
    # every attack and selection, the ternary-perfect code under the quorum decoder, the first
    # SWEEP_STEPS steps (and the attack-free SignSGD-MV run of the same length, for the gap)
    for b in 2 3; do
      $E compare --dataset digits --n 9 --b "$b" --seed 7 --steps "$SWEEP_STEPS" --audit \
        --lineup no-attack --runs-dir $OUT/digits-attacks --quiet
      for attack in reverse directional random omniscient; do
        for select in random heaviest; do
          $E compare --dataset digits --n 9 --b "$b" --seed 7 --attack "$attack" \
            --byzantine-select "$select" --steps "$SWEEP_STEPS" --audit \
            --lineup ternary-quorum \
            --runs-dir $OUT/digits-attacks --quiet
        done
      done
    done
    ;;&
  amazon|all)
    # the paper's Amazon setting (n = 15, b = 5, directional attack, random Byzantine workers,
    # 15 samples per partition), AMAZON_EPOCHS epochs
    $E compare --dataset amazon --n 15 --b 5 --attack directional --epochs "$AMAZON_EPOCHS" \
      --audit --lineup "$LINEUP" --runs-dir $OUT/amazon --quiet
    ;;&
  fashion-mnist|all)
    # the paper's Fashion-MNIST setting (ReLU CNN), directional attack on the heaviest workers:
    # n = 5, b = 1 for the first FASHION_STEPS steps; n = 9, b = 2 for FASHION9_STEPS steps
    # with the ternary-perfect code under both decoders and the attack-free run
    $E compare --dataset fashion-mnist --n 5 --b 1 --attack directional \
      --byzantine-select heaviest --steps "$FASHION_STEPS" --audit --lineup "$LINEUP" \
      --runs-dir $OUT/fashion-mnist --quiet
    $E compare --dataset fashion-mnist --n 9 --b 2 --attack directional \
      --byzantine-select heaviest --steps "$FASHION9_STEPS" --audit \
      --lineup no-attack,ternary-plain,ternary-quorum \
      --runs-dir $OUT/fashion-mnist --quiet
    ;;
esac
