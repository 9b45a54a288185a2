#!/usr/bin/env bash
# Regenerates the decoder / ternary-perfect code results of results/README.md ("Zero signs").
# Every run has --audit: summary.json["audit"] counts where the master's update differs from
# mu = sign(sum_i u_i), split into mu != 0, tie and dead coordinates.
set -euo pipefail
cd "$(dirname "$0")/.."
E=.venv/bin/election
OUT=results/decoders
LINEUP=no-attack,signsgd-mv,deterministic-plain,deterministic-quorum,ternary-plain,ternary-quorum
case "${1:-all}" in
  digits|all)
    # digits, n = 9, b = 2 and 3, directional attack on the heaviest workers, full 6 epochs
    for b in 2 3; do
      $E compare --dataset digits --n 9 --b "$b" --seed 7 --attack directional \
        --byzantine-select heaviest --audit --lineup "$LINEUP" --runs-dir $OUT/digits --quiet
    done
    # every attack and selection, the quorum decoder with both codes
    for b in 2 3; do
      for attack in reverse directional random omniscient; do
        for select in random heaviest; do
          $E compare --dataset digits --n 9 --b "$b" --seed 7 --attack "$attack" \
            --byzantine-select "$select" --audit --lineup deterministic-quorum,ternary-quorum \
            --runs-dir $OUT/digits-attacks --quiet
        done
      done
    done
    ;;&
  fashion-mnist|all)
    # the paper's Fashion-MNIST setting (ReLU CNN), n = 5, b = 1 and n = 9, b = 2
    for nb in "5 1" "9 2"; do
      read -r n b <<< "$nb"
      $E compare --dataset fashion-mnist --n "$n" --b "$b" --attack directional \
        --byzantine-select heaviest --audit --lineup "$LINEUP,ternary-quorum-no-attack" \
        --runs-dir $OUT/fashion-mnist --quiet
    done
    ;;&
  amazon|all)
    # the paper's Amazon setting: n = 15, b = 5, directional attack, random Byzantine workers
    $E compare --dataset amazon --n 15 --b 5 --attack directional --r 2 --audit \
      --lineup "$LINEUP,bernoulli,bernoulli-quorum,ternary-quorum-no-attack" \
      --runs-dir $OUT/amazon --quiet
    ;;
esac
