import json

import pytest

from election.config import TrainConfig, build_config, parse_bool
from election.errors import ConfigError


def test_defaults_are_the_embedded_digits_scenario():
    cfg = build_config()
    assert (cfg.dataset, cfg.n, cfg.b, cfg.code, cfg.attack) == (
        "digits",
        5,
        1,
        "deterministic",
        "reverse",
    )


def test_layers_apply_in_order_defaults_preset_file_env_cli(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"lr": 0.5, "n": 7, "b": 2, "batch_size": 70}))
    cfg = build_config(
        {"lr": 0.25, "seed": None},
        config_file=str(path),
        env={"ELECTION_N": "9", "ELECTION_BATCH_SIZE": "90", "UNRELATED": "x"},
    )
    assert cfg.lr == 0.25  # CLI beats file
    assert cfg.n == 9 and cfg.batch_size == 90  # env beats file
    assert cfg.b == 2  # file beats defaults
    assert cfg.seed == 0  # None overrides are ignored


def test_amazon_preset_carries_the_papers_constants():
    cfg = build_config({"dataset": "amazon", "n": 15, "b": 5, "batch_size": 225})
    assert cfg.optimizer == "partition-momentum"
    assert cfg.lr == 1e-3 and cfg.lr_milestones == (1,) and cfg.momentum == 0.9
    assert cfg.epochs == 8


def test_cifar_milestones_depend_on_n_as_in_the_paper():
    assert build_config({"dataset": "cifar10", "n": 5}).lr_milestones == (40, 80)
    assert build_config({"dataset": "cifar10", "n": 15, "batch_size": 120}).lr_milestones == (
        20,
        40,
        80,
    )


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"b": 5}, "b=5"),
        ({"batch_size": 61}, "divisible"),
        ({"scheme": "mean"}, "scheme"),
        ({"code": "magic"}, "code"),
        ({"momentum": 1.0}, "momentum"),
    ],
)
def test_bad_values_name_the_value_and_the_rule(changes, fragment):
    with pytest.raises(ConfigError, match=fragment):
        build_config(changes)


def test_unknown_keys_are_rejected_with_the_known_ones():
    with pytest.raises(ConfigError, match="known keys"):
        build_config({"learning_rate": 1.0})


def test_bool_words_parse_like_a_person_means_them():
    assert parse_bool("False") is False and parse_bool("true") is True
    with pytest.raises(ConfigError):
        parse_bool("maybe")


def test_config_round_trips_through_json():
    cfg = build_config({"lr_milestones": "3,5", "n": 3, "b": 1, "batch_size": 30})
    again = build_config(json.loads(json.dumps(cfg.to_json_dict())))
    assert again == cfg
    assert isinstance(cfg, TrainConfig)


def test_decoder_and_quorum_resolve_and_validate():
    assert build_config({"decoder": "plain"}).quorum_q is None  # the paper's rule
    default = build_config()  # auto: quorum for the deterministic and ternary codes
    assert (default.decoder, default.effective_decoder, default.quorum_q) == ("auto", "quorum", 2)
    for code in ("uncoded", "bernoulli"):
        assert build_config({"code": code}).quorum_q is None
    assert build_config({"code": "ternary", "n": 9, "b": 2}).quorum_q == 3
    assert build_config({"scheme": "median"}).effective_decoder == "plain"
    assert build_config({"decoder": "quorum", "n": 9, "b": 3}).quorum_q == 4  # b + 1
    assert build_config({"decoder": "quorum", "quorum": 2}).quorum_q == 2
    for bad, fragment in [
        ({"decoder": "median"}, "decoder"),
        ({"decoder": "quorum", "quorum": 6}, "quorum"),
        ({"quorum": -1}, "quorum"),
        ({"decoder": "quorum", "scheme": "median"}, "scheme majority only"),
        ({"audit": True, "transport": "grpc"}, "audit"),
        ({"audit": True, "scheme": "median"}, "audit"),
    ]:
        with pytest.raises(ConfigError, match=fragment):
            build_config(bad)
    assert build_config({"audit": "true"}).audit is True
