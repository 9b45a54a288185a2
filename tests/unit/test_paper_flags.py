"""The paper's flags mean what cifar10/main.py means (docs/paper.md), flag by flag, via the CLI's
own parser and ``config_from_args``."""

from __future__ import annotations

import argparse
import shlex

import numpy as np
import pytest
import torch

from election import notices
from election.codes import verify
from election.codes.registry import PAPER_R38_MATRIX
from election.config import TrainConfig
from election.errors import ConfigError
from election.flags import add_training_flags, config_from_args


def parse(line: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_training_flags(parser)
    return parser.parse_args(shlex.split(line))


def cfg_of(line: str) -> TrainConfig:
    return config_from_args(parse(line), env={})


@pytest.fixture(autouse=True)
def fresh_notices():
    notices.reset()
    yield
    notices.reset()


def test_batch_size_is_the_global_batch_split_into_n_partitions():
    cfg = cfg_of("--num_nodes 5 --num_Byz_nodes 1 --batch_size 120")
    assert cfg.batch_size == 120 and cfg.n == 5  # partitions of 120 / 5 = 24 samples


def test_deterministic_with_redundancy_one_is_the_identity_signsgd_mv():
    cfg = cfg_of("--num_nodes 5 --num_Byz_nodes 1 --deterministic True --redundancy 1.0")
    assert (cfg.code, cfg.scheme, cfg.b) == ("uncoded", "majority", 1)


def test_deterministic_without_redundancy_takes_main_py_default_one_point_zero():
    cfg = cfg_of("--num_nodes 9 --num_Byz_nodes 2 --deterministic True --batch_size 576")
    assert cfg.code == "uncoded" and cfg.n == 9


def test_no_attack_line_has_zero_byzantine_workers():
    cfg = cfg_of("--num_nodes 5 --num_Byz_nodes 0 --deterministic True --redundancy 1.0")
    assert cfg.b == 0 and cfg.code == "uncoded"


def test_deterministic_r38_is_the_papers_n5_matrix(capsys):
    cfg = cfg_of("--num_nodes 5 --num_Byz_nodes 1 --deterministic True --redundancy 3.8")
    assert cfg.code == "paper-r3.8"
    assert "warning" not in capsys.readouterr().err  # b = 1: the matrix is 1-perfect
    assert verify(np.array(PAPER_R38_MATRIX), 1).perfect


def test_deterministic_r38_with_two_attackers_is_used_as_is_with_one_warning_line(capsys):
    cfg = cfg_of("--num_nodes 5 --num_Byz_nodes 2 --deterministic True --redundancy 3.8")
    assert cfg.code == "paper-r3.8" and cfg.b == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("election: warning:") and "not 2" in err[0]
    assert not verify(np.array(PAPER_R38_MATRIX), 2).perfect


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("--deterministic True --redundancy 2.0", "only for redundancy 1.0"),
        ("--num_nodes 9 --deterministic True --redundancy 3.8", "n = 5 matrix"),
    ],
)
def test_other_deterministic_redundancies_are_one_line_errors(line, fragment):
    with pytest.raises(ConfigError, match=fragment):
        cfg_of(line)


def test_redundancy_alone_is_a_bernoulli_code_with_p_r_over_n():
    cfg = cfg_of("--num_nodes 15 --num_Byz_nodes 3 --redundancy 3.0 --batch_size 240")
    assert (cfg.code, cfg.r, cfg.n) == ("bernoulli", 3.0, 15)


def test_no_code_flag_means_main_py_default_bernoulli_r_one():
    cfg = cfg_of("--num_nodes 9 --num_Byz_nodes 2")
    assert (cfg.code, cfg.r) == ("bernoulli", 1.0)


def test_coord_median_is_identity_plus_coordinate_median():
    cfg = cfg_of("--coord_median True --num_nodes 15 --num_Byz_nodes 3 --batch_size 240")
    assert (cfg.code, cfg.scheme) == ("uncoded", "median")


def test_signed_sum_is_the_sign_of_the_sum_scheme():
    cfg = cfg_of("--signed_sum True --deterministic True --num_nodes 5 --num_Byz_nodes 1")
    assert (cfg.code, cfg.scheme) == ("uncoded", "sign-of-sum")


def test_noisy_gradient_variance_is_a_per_worker_standard_deviation():
    cfg = cfg_of("--noisy_gradient True --variance 1e-4 --deterministic True --num_nodes 15")
    assert cfg.worker_noise_std == 1e-4 and cfg.noise_variance == 0.0


def test_trial_idx_is_the_seed_and_main_py_default_is_one():
    assert cfg_of("--trial_idx 4 --num_nodes 5").seed == 4
    assert cfg_of("--num_nodes 5").seed == 1
    assert cfg_of("--num_nodes 5 --seed 7").seed == 7  # a project flag beats an implied default


@pytest.mark.parametrize(
    "paper, ours",
    [("reverse", "reverse"), ("directional", "directional-neg"), ("random", "random")],
)
def test_attack_type_as_main_py_sends_it(paper, ours):
    assert cfg_of(f"--num_nodes 5 --num_Byz_nodes 1 --attack_type {paper}").attack == ours


def test_network_num_epochs_lr():
    cfg = cfg_of("--dataset cifar10 --network ResNet50 --num_epochs 3 --lr 0.01 --num_nodes 5")
    assert (cfg.model, cfg.epochs, cfg.lr) == ("resnet50", 3, 0.01)
    assert cfg_of("--dataset cifar10 --network ResNet18 --num_nodes 5").model == "resnet18"


def test_gpu_num_is_cuda_k_or_the_cpu_as_main_py_line_53(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cfg_of("--gpu_num 7 --num_nodes 5").device == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert cfg_of("--gpu_num 1 --num_nodes 5").device == "cuda:1"
    with pytest.raises(ConfigError, match="--gpu_num 7"):
        cfg_of("--gpu_num 7 --num_nodes 5")


def test_project_flags_without_paper_flags_keep_their_meaning():
    cfg = cfg_of("--n 5 --b 1 --code deterministic --batch-size 120 --noise-variance 0.01")
    assert (cfg.code, cfg.batch_size, cfg.noise_variance, cfg.seed) == (
        "deterministic",
        120,
        0.01,
        0,
    )


def test_project_flags_override_main_py_defaults_of_flags_not_given():
    cfg = cfg_of("--num_nodes 9 --code deterministic --b 2")
    assert (cfg.code, cfg.b) == ("deterministic", 2)


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("--num_nodes 5 --n 7", "--num_nodes 5"),
        ("--num_Byz_nodes 1 --b 2", "--num_Byz_nodes 1"),
        ("--redundancy 3.0 --code deterministic", "--redundancy 3.0"),
        ("--deterministic True --code bernoulli", "--deterministic True"),
        ("--trial_idx 2 --seed 3", "--trial_idx 2"),
        ("--attack_type random --attack reverse", "--attack_type random"),
        ("--batch_size 120 --batch-size 60", "--batch_size 120"),
        ("--batch_size 120 --partition-size 24", "--partition-size"),
        ("--coord_median True --scheme majority", "--coord_median True"),
        ("--noisy_gradient True --variance 0.1 --noise-variance 0.1", "two noise models"),
        ("--coord_median True --signed_sum True", "contradict"),
        ("--coord_median True --redundancy 2.0", "identity allocation"),
        ("--coord_median True --num_Byz_nodes 1 --attack_type directional", "only the reverse"),
        ("--variance 0.1", "no effect without --noisy_gradient"),
        ("--noisy_gradient True --signed_sum True", "no effect with --signed_sum"),
        ("--num_nodes 5 --batch_size 121", "not divisible by --num_nodes 5"),
        ("--network VGG16", "ResNet18 or ResNet50"),
        ("--attack_type omniscient", "main.py accepts"),
        ("--deterministic maybe", "not a boolean"),
    ],
)
def test_contradictions_and_bad_values_are_one_line_errors(line, fragment):
    with pytest.raises(ConfigError, match=fragment) as info:
        cfg_of(line)
    assert "\n" not in str(info.value)


def test_agreeing_paper_and_project_flags_are_fine():
    cfg = cfg_of("--num_nodes 5 --n 5 --redundancy 2.5 --r 2.5 --code bernoulli")
    assert (cfg.n, cfg.r, cfg.code) == (5, 2.5, "bernoulli")


def test_booleans_are_real_booleans():
    assert cfg_of("--deterministic False --num_nodes 5 --redundancy 2.0").code == "bernoulli"
    assert cfg_of("--coord_median false --num_nodes 5").scheme == "majority"
