"""Grid specs: parsing, expansion through the config builder, invalid cells, cell keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from election.config import build_config
from election.errors import ConfigError
from election.grid.cells import cell_key
from election.grid.spec import check_cells, expand, load_spec, parse_spec

SPEC = {
    "name": "t",
    "base": {"dataset": "digits", "n": 5, "steps": 5},
    "axes": {"b": [1, 2], "code": ["uncoded", "deterministic"], "attack": ["none", "reverse"]},
}


def test_expansion_is_the_cartesian_product_last_axis_fastest() -> None:
    cells = expand(parse_spec(SPEC))
    assert len(cells) == 2 * 2 * 2
    assert [c.index for c in cells] == list(range(8))
    got = [(c.values["b"], c.values["code"], c.values["attack"]) for c in cells]
    assert got[:3] == [
        (1, "uncoded", "none"),
        (1, "uncoded", "reverse"),
        (1, "deterministic", "none"),
    ]
    assert got[-1] == (2, "deterministic", "reverse")
    assert len(set(got)) == 8
    for cell in cells:
        assert cell.config is not None
        assert (cell.config.b, cell.config.code, cell.config.attack) == tuple(cell.values.values())
        assert cell.config.n == 5 and cell.config.steps == 5
        assert cell.config.threads == 1  # one torch thread per cell process


def test_cells_go_through_the_config_builder_presets_and_coercion() -> None:
    spec = parse_spec({"base": {"dataset": "fashion-mnist"}, "axes": {"r": [2, "3"]}})
    cells = expand(spec)
    assert [c.config.r for c in cells if c.config] == [2.0, 3.0]  # coerced to the field type
    for cell in cells:
        assert cell.config is not None
        expected = build_config({"dataset": "fashion-mnist", "r": cell.values["r"], "threads": 1})
        assert cell.config == expected  # the fashion-mnist preset (lr 1e-4, ...) applies
        assert cell.config.lr == 1e-4


def test_a_spec_thread_count_overrides_the_grid_default() -> None:
    cells = expand(parse_spec({"base": {"threads": 2}, "axes": {"seed": [0]}}))
    assert cells[0].config is not None and cells[0].config.threads == 2


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"axes": {"bogus": [1]}}, "unknown config field 'bogus'"),
        ({"base": {"runs_dir": "x"}}, "runs_dir is set by the grid"),
        ({"axes": {"b": 1}}, "axis 'b' must be a non-empty list"),
        ({"axes": {"b": []}}, "axis 'b' must be a non-empty list"),
        ({"base": {"b": 1}, "axes": {"b": [1]}}, "given in both base and axes"),
        ({"axis": {"b": [1]}}, "unknown keys ['axis']"),
        ({"skip_invalid": "yes"}, "skip_invalid='yes' must be true or false"),
        ({"name": "../x"}, "must be a plain folder name"),
        ([1, 2], "must be an object"),
    ],
)
def test_bad_specs_are_one_config_error(data: object, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_spec(data)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_invalid_cell_is_named_or_skipped_with_its_reason() -> None:
    data = {"base": {"n": 5}, "axes": {"b": [1, 5], "attack": ["reverse", "no-such-attack"]}}
    cells = expand(parse_spec(data))
    bad = [c for c in cells if c.config is None]
    assert [c.index for c in bad] == [1, 2, 3]
    with pytest.raises(ConfigError) as info:
        check_cells(cells, skip_invalid=False)
    message = str(info.value)
    assert message.startswith("grid cell 1 (b=1, attack=no-such-attack): unknown attack")
    assert "and 2 more invalid cells" in message and "skip_invalid" in message
    kept = check_cells(cells, skip_invalid=True)
    assert [c.index for c in kept] == [0]
    assert "b=5 must satisfy 0 <= b < n = 5" in (bad[1].error or "")


def test_grid_cells_must_run_in_process() -> None:
    cells = expand(parse_spec({"axes": {"transport": ["inprocess", "grpc"]}}))
    assert cells[0].config is not None and cells[1].config is None
    assert "grid cells run in-process" in (cells[1].error or "")


def test_toml_and_json_specs_give_the_same_cells(tmp_path: Path) -> None:
    (tmp_path / "g.json").write_text(json.dumps(SPEC))
    (tmp_path / "g.toml").write_text(
        'name = "t"\n[base]\ndataset = "digits"\nn = 5\nsteps = 5\n'
        '[axes]\nb = [1, 2]\ncode = ["uncoded", "deterministic"]\nattack = ["none", "reverse"]\n'
    )
    from_json, from_toml = load_spec(tmp_path / "g.json"), load_spec(tmp_path / "g.toml")
    assert from_json.to_json_dict() == from_toml.to_json_dict()
    keys = [[cell_key(c.config) for c in expand(s) if c.config] for s in (from_json, from_toml)]
    assert keys[0] == keys[1]


def test_unreadable_spec_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_spec(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="cannot read grid spec"):
        load_spec(tmp_path / "missing.json")


def test_cell_key_depends_on_the_resolved_config_only() -> None:
    a = build_config({"n": 5, "b": 1, "code": "bernoulli", "r": 2})
    same = build_config({"r": 2.0, "code": "bernoulli", "b": 1, "n": 5})
    moved = a.replace(runs_dir="elsewhere", run_name="other")
    assert cell_key(a) == cell_key(same) == cell_key(moved)
    assert len({cell_key(a), cell_key(a.replace(r=3.0)), cell_key(a.replace(seed=1))}) == 3
    # batch_size 0 resolves to n * partition_size: the resolved value is what is hashed
    assert cell_key(build_config({"batch_size": 5})) == cell_key(build_config({}))


def test_cell_key_is_stable_across_processes() -> None:
    cfg = build_config({"n": 9, "b": 2, "code": "deterministic", "attack": "random"})
    script = (
        "from election.config import build_config; from election.grid.cells import cell_key; "
        "print(cell_key(build_config({'attack': 'random', 'code': 'deterministic', "
        "'b': 2, 'n': 9})))"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == cell_key(cfg)


def test_cli_reports_an_invalid_cell_in_one_line_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from election_cli.main import main

    spec = tmp_path / "g.json"
    spec.write_text(json.dumps({"base": {"n": 3}, "axes": {"b": [1, 3], "seed": [0]}}))
    out = tmp_path / "out"
    assert main(["grid", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (
        "election: error: grid cell 1 (b=3, seed=0): b=3 must satisfy 0 <= b < n = 3; "
        'fix the spec or set "skip_invalid": true\n'
    )
    assert not out.exists()
