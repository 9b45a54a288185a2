"""Every run.sh line (the issue's table, written out here independently of the presets), the
Amazon run and the MPI CIFAR-10 run resolve to their exact configuration; `election paper`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from election import notices
from election.errors import ConfigError
from election.paper.presets import AMAZON_MATRIX, FIGURES, find_figure
from election.paper.resolve import resolve_figure, without_gpu_num
from election_cli.commands.paper import list_rows
from election_cli.main import main
from tests.unit.test_augment import write_tiny_cifar

M5 = (40, 80)  # main.py:300: n in {5, 9}
M15 = (20, 40, 80)  # main.py:301: otherwise
# figure, scheme, code, r, n, b, batch, attack, model, epochs, milestones, seed (= trial_idx)
CIFAR_LINES = [
    ("4ad", "det-r3.8", "paper-r3.8", None, 5, 1, 120, "reverse", "resnet18", 100, M5, 1),
    ("4ad", "bern-r2.5", "bernoulli", 2.5, 5, 1, 120, "reverse", "resnet18", 100, M5, 1),
    ("4ad", "signsgd-mv", "uncoded", None, 5, 1, 120, "reverse", "resnet18", 100, M5, 1),
    ("4ad", "no-attack", "uncoded", None, 5, 0, 120, None, "resnet18", 100, M5, 1),
    ("4be", "bern-r3", "bernoulli", 3.0, 9, 2, 576, "reverse", "resnet18", 100, M5, 1),
    ("4be", "bern-r2", "bernoulli", 2.0, 9, 2, 576, "reverse", "resnet18", 100, M5, 1),
    ("4be", "signsgd-mv", "uncoded", None, 9, 2, 576, "reverse", "resnet18", 100, M5, 2),
    ("4be", "no-attack", "uncoded", None, 9, 0, 576, None, "resnet18", 100, M5, 1),
    ("4cf", "bern-r3", "bernoulli", 3.0, 15, 3, 240, "reverse", "resnet18", 100, M15, 1),
    ("4cf", "bern-r2", "bernoulli", 2.0, 15, 3, 240, "reverse", "resnet18", 100, M15, 1),
    ("4cf", "signsgd-mv", "uncoded", None, 15, 3, 240, "reverse", "resnet18", 100, M15, 1),
    ("4cf", "no-attack", "uncoded", None, 15, 0, 240, None, "resnet18", 100, M15, 1),
    ("5a", "det-r3.8", "paper-r3.8", None, 5, 2, 240, "reverse", "resnet18", 100, M5, 5),
    ("5a", "bern-r2.5", "bernoulli", 2.5, 5, 2, 240, "reverse", "resnet18", 100, M5, 5),
    ("5a", "signsgd-mv", "uncoded", None, 5, 2, 240, "reverse", "resnet18", 100, M5, 5),
    ("5a", "no-attack", "uncoded", None, 5, 0, 240, None, "resnet18", 100, M5, 1),
    ("5b", "bern-r3", "bernoulli", 3.0, 9, 3, 126, "reverse", "resnet18", 100, M5, 1),
    ("5b", "bern-r2", "bernoulli", 2.0, 9, 3, 126, "reverse", "resnet18", 100, M5, 2),
    ("5b", "signsgd-mv", "uncoded", None, 9, 3, 126, "reverse", "resnet18", 100, M5, 2),
    ("5b", "no-attack", "uncoded", None, 9, 0, 126, None, "resnet18", 100, M5, 1),
    ("5c", "bern-r3", "bernoulli", 3.0, 15, 6, 240, "reverse", "resnet18", 100, M15, 2),
    ("5c", "bern-r2", "bernoulli", 2.0, 15, 6, 240, "reverse", "resnet18", 100, M15, 2),
    ("5c", "signsgd-mv", "uncoded", None, 15, 6, 240, "reverse", "resnet18", 100, M15, 2),
    ("5c", "no-attack", "uncoded", None, 15, 0, 240, None, "resnet18", 100, M15, 1),
    ("A1", "det-r3.8", "paper-r3.8", None, 5, 2, 240, "reverse", "resnet18", 100, M5, 1),
    ("A1", "no-attack", "uncoded", None, 5, 0, 240, None, "resnet18", 100, M5, 1),
    ("A2", "bern-r3", "bernoulli", 3.0, 9, 4, 126, "reverse", "resnet18", 100, M5, 1),
    ("A2", "signsgd-mv", "uncoded", None, 9, 4, 126, "reverse", "resnet18", 100, M5, 1),
    ("A3a", "bern-r2.5", "bernoulli", 2.5, 5, 2, 120, "reverse", "resnet18", 100, M5, 4),
    ("A3a", "signsgd-mv", "uncoded", None, 5, 2, 240, "reverse", "resnet18", 100, M5, 1),
    ("A3b", "bern-r3", "bernoulli", 3.0, 15, 6, 120, "reverse", "resnet18", 100, M15, 1),
    ("A3b", "signsgd-mv", "uncoded", None, 15, 6, 240, "reverse", "resnet18", 100, M15, 1),
    ("A4a", "signsgd-mv", "uncoded", None, 15, 6, 960, "reverse", "resnet50", 100, M15, 1),
    ("A4a", "bern-r3-b480", "bernoulli", 3.0, 15, 6, 480, "reverse", "resnet50", 100, M15, 3),
    ("A4a", "bern-r2", "bernoulli", 2.0, 15, 6, 960, "reverse", "resnet50", 100, M15, 2),
    ("A4a", "bern-r3", "bernoulli", 3.0, 15, 6, 960, "reverse", "resnet50", 100, M15, 1),
    ("A4a", "no-attack", "uncoded", None, 15, 0, 960, None, "resnet50", 100, M15, 1),
    ("A4b", "signsgd-mv", "uncoded", None, 15, 6, 240, "reverse", "resnet18", 100, M15, 1),
    ("A4b", "bern-r3", "bernoulli", 3.0, 15, 6, 240, "reverse", "resnet18", 100, M15, 4),
    ("A4c", "bern-r2-b3", "bernoulli", 2.0, 15, 3, 240, "reverse", "resnet18", 100, M15, 1),
    ("A4c", "bern-r2-b6", "bernoulli", 2.0, 15, 6, 240, "reverse", "resnet18", 100, M15, 1),
    ("A4c", "bern-r3-b6", "bernoulli", 3.0, 15, 6, 120, "reverse", "resnet18", 100, M15, 1),
    ("A4c", "median-b3", "uncoded", None, 15, 3, 240, "reverse", "resnet18", 100, M15, 1),
    ("A4c", "median-b6", "uncoded", None, 15, 6, 240, "reverse", "resnet18", 100, M15, 1),
]
SCHEME = {"median-b3": "median", "median-b6": "median"}
NOISE = {"A4b": 1e-4}  # --noisy_gradient True --variance 1e-4: a standard deviation


@pytest.fixture(autouse=True)
def fresh_notices():
    notices.reset()
    yield
    notices.reset()


def resolved(figure: str, scheme: str):
    runs = resolve_figure(FIGURES[figure], schemes=[scheme])
    assert len(runs) == 1
    return runs[0]


@pytest.mark.parametrize("row", CIFAR_LINES, ids=[f"{r[0]}-{r[1]}" for r in CIFAR_LINES])
def test_every_run_sh_line_resolves_to_its_exact_configuration(row):
    fig, scheme, code, r, n, b, batch, attack, model, epochs, milestones, seed = row
    cfg = resolved(fig, scheme).cfg
    assert (cfg.dataset, cfg.code, cfg.n, cfg.b) == ("cifar10", code, n, b)
    if r is not None:
        assert cfg.r == r
    assert cfg.batch_size == batch and cfg.batch_size // cfg.n == batch // n  # partition size
    if attack is not None:
        assert cfg.attack == attack
    assert (cfg.model, cfg.epochs, cfg.lr_milestones) == (model, epochs, milestones)
    assert cfg.seed == seed  # seed source: the line's --trial_idx (main.py:275)
    assert cfg.scheme == SCHEME.get(scheme, "majority")
    assert cfg.worker_noise_std == NOISE.get(fig, 0.0)
    assert (cfg.lr, cfg.momentum, cfg.weight_decay, cfg.augment) == (1e-4, 0.9, 1e-4, True)
    assert cfg.eval_every == 50_000 // batch  # test once per epoch (main.py:337)
    assert cfg.device == "auto"  # run.sh's --gpu_num is not carried over


def test_the_table_covers_every_cifar_preset_line():
    cifar = {(f.name, line.key) for f in FIGURES.values() if f.paper_flags for line in f.lines}
    assert cifar == {(r[0], r[1]) for r in CIFAR_LINES}


def test_the_amazon_preset_is_the_official_run_with_five_byzantine_draws():
    runs = resolve_figure(FIGURES["amazon"])
    assert [r.run_name for r in runs] == [
        f"{k}-s{s}" for k in ("signsgd-mv", "bernoulli") for s in (1, 2, 3, 4, 5)
    ]
    for r in runs:
        c = r.cfg
        assert (c.dataset, c.protocol, c.model, c.n, c.b, c.attack) == (
            "amazon", "seed", "logreg-nobias", 15, 5, "directional",
        )  # fmt: skip
        assert (c.batch_size, c.epochs, c.lr, c.lr_milestones, c.eval_every) == (
            225, 8, 1e-3, (1,), 1,
        )  # fmt: skip
        assert (c.optimizer, c.momentum) == ("partition-momentum", 0.9)
    assert {r.cfg.code for r in runs} == {"uncoded", f"file:{AMAZON_MATRIX}"}
    assert [r.cfg.seed for r in runs[:5]] == [1, 2, 3, 4, 5]  # seed source: the draw


def test_the_amazon_official_set_preset_fixes_the_fingerprinted_byzantine_sets():
    runs = {r.line.key: r.cfg for r in resolve_figure(FIGURES["amazon-official-set"])}
    assert runs["signsgd-mv"].byzantine_select == "0,4,8,10,14"
    assert runs["bernoulli"].byzantine_select == "4,8,9,10,14"
    assert (
        runs["bernoulli"].code == f"file:{AMAZON_MATRIX}" and runs["bernoulli"].protocol == "seed"
    )


def test_the_mpi_preset_is_the_official_mpi_cifar_run():
    (run,) = resolve_figure(FIGURES["mpi-cifar10"])
    c = run.cfg
    assert (c.transport, c.n, c.b, c.code, c.attack, c.batch_size) == (
        "mpi", 5, 1, "uncoded", "reverse", 120,
    )  # fmt: skip
    assert (c.epochs, c.lr_milestones, c.eval_every, c.model) == (300, (80, 120), 1, "resnet18")


def test_figures_are_found_by_panel_names_and_unknown_ones_are_errors():
    assert find_figure("4a").name == find_figure("4d").name == find_figure("Fig.4ad").name == "4ad"
    assert find_figure("a4c").name == "A4c"
    with pytest.raises(ConfigError, match="unknown figure"):
        find_figure("9z")
    with pytest.raises(ConfigError, match="no scheme"):
        resolve_figure(FIGURES["4ad"], schemes=["bern-r9"])


def test_gpu_num_is_dropped_from_the_run_sh_flags():
    argv = ["--gpu_num", "7", "--trial_idx", "1", "--gpu_num=3"]
    assert without_gpu_num(argv) == ["--trial_idx", "1"]


def test_paper_list_prints_every_preset(capsys):
    assert main(["paper", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == len(CIFAR_LINES) + 10 + 2 + 1
    assert {"figure", "scheme", "code", "batch", "partition", "seed"} <= set(rows[0])
    assert main(["paper", "list"]) == 0
    assert "| 5a | det-r3.8 | run.sh:25 | paper-r3.8 |" in capsys.readouterr().out


def test_dry_run_prints_each_lines_train_config(capsys, tmp_path):
    args = ["paper", "run", "5a", "--scheme", "det-r3.8", "--device", "cpu", "--dry-run"]
    assert main(args + ["--runs-dir", str(tmp_path)]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["source"] == "run.sh:25" and entry["config"]["code"] == "paper-r3.8"
    assert entry["config"]["device"] == "cpu" and entry["config"]["b"] == 2
    assert not list(tmp_path.iterdir())  # nothing trained


@pytest.mark.slow  # two ResNet-18 lines on the CPU: minutes
def test_paper_run_trains_the_lines_and_writes_the_figure(tmp_path, capsys):
    write_tiny_cifar(tmp_path / "data", per_batch=30)
    args = ["paper", "run", "4ad", "--scheme", "no-attack,det-r3.8", "--steps", "1"]
    args += ["--dataset-root", str(tmp_path / "data"), "--device", "cpu", "--quiet"]
    assert main(args + ["--runs-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    (folder,) = (tmp_path / "runs").iterdir()
    summary = json.loads((folder / "figure.json").read_text())
    assert [r["scheme"] for r in summary["runs"]] == ["det-r3.8", "no-attack"]
    assert (folder / "figure.png").stat().st_size > 10_000 and "figure:" in out
    config = json.loads((folder / "det-r3.8" / "config.json").read_text())
    assert config["code"]["kind"] == "paper-r3.8" and config["config"]["batch_size"] == 120


@pytest.mark.skipif(not Path(AMAZON_MATRIX).is_file(), reason="official Amazon matrix absent")
def test_paper_run_amazon_runs_every_draw(tmp_path, capsys):
    args = ["paper", "run", "amazon", "--scheme", "bernoulli", "--steps", "2", "--quiet"]
    assert main(args + ["--runs-dir", str(tmp_path)]) == 0
    (folder,) = tmp_path.iterdir()
    names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert names == [f"bernoulli-s{s}" for s in range(1, 6)]
    byz = {tuple(json.loads((folder / n / "summary.json").read_text())["byzantine"]) for n in names}
    assert len(byz) > 1  # the draws differ


def png_width(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")  # the IHDR width field


def test_the_plot_has_one_panel_per_axis_of_the_papers_figure(tmp_path):
    """Real (short) digits runs stand in for two lines of Fig. 4(a),(d) and of Fig. 5(a)."""
    from election.config import build_config
    from election.paper.figures import write_figure
    from election.paper.resolve import Resolved
    from election.training.loop import train_inprocess
    from election.training.setup import prepare

    results = []
    for code in ("deterministic", "uncoded"):
        cfg = build_config({"code": code, "steps": 4, "eval_every": 2, "runs_dir": str(tmp_path)})
        results.append(train_inprocess(prepare(cfg), progress=False))
    widths = {}
    for name in ("4ad", "5a"):
        fig = FIGURES[name]
        runs = [Resolved(fig, line, build_config(), line.key, ()) for line in fig.lines[:2]]
        out = tmp_path / name
        out.mkdir()
        summary = write_figure(fig, runs, results, out)
        assert [r["scheme"] for r in summary["runs"]] == [line.key for line in fig.lines[:2]]
        assert "final test metric" in (out / "table.md").read_text()
        widths[name] = png_width(out / "figure.png")
    assert widths["4ad"] == 2 * widths["5a"]  # (a) against epochs and (d) against time


def test_official_byzantine_ranks_are_main_pys_first_numpy_draw():
    from election.paper.resolve import official_byzantine_ranks

    for n, b, t in [(5, 1, 1), (9, 2, 1), (15, 6, 2), (5, 2, 5)]:
        ranks = official_byzantine_ranks(n, b, t)
        assert len(set(ranks)) == b and all(1 <= x <= n for x in ranks)
        assert ranks == official_byzantine_ranks(n, b, t)
    # Fig. 5(a)'s lines (trial 5): rank 5 is one of the two, and main.py never simulates it
    assert official_byzantine_ranks(5, 2, 5) == (1, 5)
    rows = {(r["figure"], r["scheme"]): r for r in list_rows()}
    assert rows[("5a", "det-r3.8")]["official_attackers"] == 1
    assert rows[("4ad", "det-r3.8")]["official_attackers"] == 1
    assert rows[("amazon", "bernoulli-s1")]["official_attackers"] is None
