"""Every named random stream of a run, in one place.

A run has one seed (``TrainConfig.seed``). Each use of randomness draws from its own stream,
seeded by (seed, STREAM[, round, ...]), so adding draws to one use never shifts another and every
transport draws the same numbers (docs/design.md, Sec. 2). The values are arbitrary but fixed:
changing one changes every model digest of the behaviour lock (tests/contract/model_digests.json).
"""

from __future__ import annotations

MODEL_INIT_STREAM = 0x5EED  # model initialisation (every replica draws the same weights)
AUGMENT_STREAM = 0xA06  # CIFAR-10 crop + flip, per (epoch, step, sample)
NOISE_STREAM = 0x401_5E  # N(0, variance) per partition, shared by its holders
WORKER_NOISE_STREAM = (
    0x401_5F  # per (honest worker, partition) noise (the paper's --noisy_gradient)
)
BYZANTINE_STREAM = 0xB12  # which workers are Byzantine (selection "random")
MOBILE_STREAM = 0x40B17E  # the mobile adversary's per-round redraw of the Byzantine set
ATTACK_STREAM = 0xA77AC  # attack randomness (random signs, stochastic flips)
SLOT_STREAM = 0x5107  # the master's free-slot order for workers that join with "any"
ACCUSATION_STREAM = 0xACC5  # the coordinates the accuser samples per round
TELEMETRY_STREAM = 0x7E1E  # the coordinates the robustness telemetry samples per round

ALL_STREAMS = {
    name: value for name, value in dict(globals()).items() if name.endswith("_STREAM")
}  # name -> value; tests/unit/test_seeds.py checks that they are distinct
