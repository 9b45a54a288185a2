"""Every run.sh line of the paper as a named preset, plus the Amazon and MPI CIFAR-10 runs.

A CIFAR line keeps its run.sh flags verbatim (``source`` is its run.sh line) and resolves through
the same translation as ``election train`` (election/paper/flags.py) on the ``cifar10`` dataset
preset, evaluated once per epoch as main.py does (main.py:337). ``--gpu_num`` is dropped: the
device comes from ``--device`` (default auto). docs/paper.md lists them with their resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CIFAR10_TRAIN = 50_000  # CIFAR-10 training images: steps per epoch = 50,000 // batch


@dataclass(frozen=True)
class Line:
    """One curve of a figure."""

    key: str  # the scheme's name within the figure (paper run FIG --scheme KEY)
    label: str  # legend label
    flags: str  # the command's flags: run.sh's verbatim for CIFAR lines
    source: str  # where the line comes from: "run.sh:5"
    draws: tuple[int, ...] = ()  # seeds of repeated Byzantine draws (Amazon); () = one run


@dataclass(frozen=True)
class Figure:
    name: str  # "4ad": Fig. 4(a) and 4(d)
    title: str
    panels: tuple[str, ...]  # x axes of the figure's panels: "epoch", "time", "step"
    lines: tuple[Line, ...]
    paper_flags: bool = True  # the lines use main.py's flags (False: the project's flags)
    base: str = "--dataset cifar10"  # flags every line gets first


def _lines(*rows: tuple[str, str, str, int]) -> tuple[Line, ...]:
    return tuple(Line(key, label, flags, f"run.sh:{n}") for key, label, flags, n in rows)


DET, MV, NA = "Deterministic code (r=3.8)", "SignSGD-MV (r=1)", "No attack"
FIGURES: dict[str, Figure] = {}


def _add(figure: Figure) -> None:
    FIGURES[figure.name] = figure


_add(Figure("4ad", "Fig. 4(a),(d): n=5, b=1", ("epoch", "time"), _lines(
    ("det-r3.8", DET, "--gpu_num 7 --trial_idx 1 --deterministic True --redundancy 3.8 "
     "--num_nodes 5 --num_Byz_nodes 1 --batch_size 120", 5),
    ("bern-r2.5", "Bernoulli code (r=2.5)", "--gpu_num 6 --trial_idx 1 --redundancy 2.5 "
     "--num_nodes 5 --num_Byz_nodes 1 --batch_size 120", 6),
    ("signsgd-mv", MV, "--gpu_num 7 --trial_idx 1 --deterministic True --redundancy 1.0 "
     "--num_nodes 5 --num_Byz_nodes 1 --batch_size 120", 7),
    ("no-attack", NA, "--gpu_num 4 --trial_idx 1 --deterministic True --redundancy 1.0 "
     "--num_nodes 5 --num_Byz_nodes 0 --batch_size 120", 8),
)))  # fmt: skip
_add(Figure("4be", "Fig. 4(b),(e): n=9, b=2", ("epoch", "time"), _lines(
    ("bern-r3", "Bernoulli code (r=3)", "--gpu_num 7 --trial_idx 1 --redundancy 3.0 "
     "--num_nodes 9 --num_Byz_nodes 2 --batch_size 576", 11),
    ("bern-r2", "Bernoulli code (r=2)", "--gpu_num 4 --trial_idx 1 --redundancy 2.0 "
     "--num_nodes 9 --num_Byz_nodes 2 --batch_size 576", 12),
    ("signsgd-mv", MV, "--gpu_num 3 --trial_idx 2 --deterministic True --num_nodes 9 "
     "--num_Byz_nodes 2 --batch_size 576", 13),
    ("no-attack", NA, "--gpu_num 3 --trial_idx 1 --deterministic True --num_nodes 9 "
     "--num_Byz_nodes 0 --batch_size 576", 14),
)))  # fmt: skip
_add(Figure("4cf", "Fig. 4(c),(f): n=15, b=3", ("epoch", "time"), _lines(
    ("bern-r3", "Bernoulli code (r=3)", "--gpu_num 4 --trial_idx 1 --redundancy 3.0 "
     "--num_nodes 15 --num_Byz_nodes 3 --batch_size 240", 17),
    ("bern-r2", "Bernoulli code (r=2)", "--gpu_num 5 --trial_idx 1 --redundancy 2.0 "
     "--num_nodes 15 --num_Byz_nodes 3 --batch_size 240", 18),
    ("signsgd-mv", MV, "--gpu_num 6 --trial_idx 1 --deterministic True --redundancy 1.0 "
     "--num_nodes 15 --num_Byz_nodes 3 --batch_size 240", 19),
    ("no-attack", NA, "--gpu_num 7 --trial_idx 1 --deterministic True --redundancy 1.0 "
     "--num_nodes 15 --num_Byz_nodes 0 --batch_size 240", 20),
)))  # fmt: skip
_add(Figure("5a", "Fig. 5(a): n=5, b=2", ("epoch",), _lines(
    ("det-r3.8", DET, "--gpu_num 1 --trial_idx 5 --deterministic True --redundancy 3.8 "
     "--num_nodes 5 --num_Byz_nodes 2 --batch_size 240", 25),
    ("bern-r2.5", "Bernoulli code (r=2.5)", "--gpu_num 2 --trial_idx 5 --redundancy 2.5 "
     "--num_nodes 5 --num_Byz_nodes 2 --batch_size 240", 26),
    ("signsgd-mv", MV, "--gpu_num 3 --trial_idx 5 --deterministic True --redundancy 1.0 "
     "--num_nodes 5 --num_Byz_nodes 2 --batch_size 240", 27),
    ("no-attack", NA, "--gpu_num 7 --trial_idx 1 --deterministic True --redundancy 1.0 "
     "--num_nodes 5 --num_Byz_nodes 0 --batch_size 240", 28),
)))  # fmt: skip
_add(Figure("5b", "Fig. 5(b): n=9, b=3", ("epoch",), _lines(
    ("bern-r3", "Bernoulli code (r=3)", "--gpu_num 4 --trial_idx 1 --redundancy 3.0 "
     "--num_nodes 9 --num_Byz_nodes 3 --batch_size 126", 31),
    ("bern-r2", "Bernoulli code (r=2)", "--gpu_num 3 --trial_idx 2 --redundancy 2.0 "
     "--num_nodes 9 --num_Byz_nodes 3 --batch_size 126", 32),
    ("signsgd-mv", MV, "--gpu_num 4 --trial_idx 2 --deterministic True --num_nodes 9 "
     "--num_Byz_nodes 3 --batch_size 126", 33),
    ("no-attack", NA, "--gpu_num 7 --trial_idx 1 --deterministic True --num_nodes 9 "
     "--num_Byz_nodes 0 --batch_size 126", 34),
)))  # fmt: skip
_add(Figure("5c", "Fig. 5(c): n=15, b=6", ("epoch",), _lines(
    ("bern-r3", "Bernoulli code (r=3)", "--gpu_num 5 --trial_idx 2 --redundancy 3.0 "
     "--num_nodes 15 --num_Byz_nodes 6 --batch_size 240", 37),
    ("bern-r2", "Bernoulli code (r=2)", "--gpu_num 5 --trial_idx 2 --redundancy 2.0 "
     "--num_nodes 15 --num_Byz_nodes 6 --batch_size 240", 38),
    ("signsgd-mv", MV, "--gpu_num 7 --trial_idx 2 --deterministic True --redundancy 1.0 "
     "--num_nodes 15 --num_Byz_nodes 6 --batch_size 240", 39),
    ("no-attack", NA, "--gpu_num 7 --trial_idx 1 --deterministic True --redundancy 1.0 "
     "--num_nodes 15 --num_Byz_nodes 0 --batch_size 240", 40),
)))  # fmt: skip
_add(Figure("A1", "Fig. A.1: n=5, b=2", ("epoch",), _lines(
    ("det-r3.8", DET, "--gpu_num 4 --trial_idx 1 --deterministic True --redundancy 3.8 "
     "--num_nodes 5 --num_Byz_nodes 2 --batch_size 240", 45),
    ("no-attack", NA, "--gpu_num 7 --trial_idx 1 --deterministic True --redundancy 1.0 "
     "--num_nodes 5 --num_Byz_nodes 0 --batch_size 240", 46),
)))  # fmt: skip
_add(Figure("A2", "Fig. A.2: n=9, b=4", ("epoch",), _lines(
    ("bern-r3", "Bernoulli code (r=3)", "--gpu_num 4 --trial_idx 1 --redundancy 3.0 "
     "--num_nodes 9 --num_Byz_nodes 4 --batch_size 126", 50),
    ("signsgd-mv", MV, "--gpu_num 5 --trial_idx 1 --deterministic True --num_nodes 9 "
     "--num_Byz_nodes 4 --batch_size 126", 51),
)))  # fmt: skip
_add(Figure("A3a", "Fig. A.3(a): n=5, b=2", ("epoch",), _lines(
    ("bern-r2.5", "Bernoulli code (r=2.5, rho=0.5, r_eff=1.25)", "--gpu_num 7 --trial_idx 4 "
     "--redundancy 2.5 --num_nodes 5 --num_Byz_nodes 2 --batch_size 120", 55),
    ("signsgd-mv", MV, "--gpu_num 5 --trial_idx 1 --deterministic True --redundancy 1.0 "
     "--num_nodes 5 --num_Byz_nodes 2 --batch_size 240", 56),
)))  # fmt: skip
_add(Figure("A3b", "Fig. A.3(b): n=15, b=6", ("epoch",), _lines(
    ("bern-r3", "Bernoulli code (r=3, rho=0.5, r_eff=1.5)", "--gpu_num 2 --trial_idx 1 "
     "--redundancy 3.0 --num_nodes 15 --num_Byz_nodes 6 --batch_size 120", 60),
    ("signsgd-mv", MV, "--gpu_num 3 --trial_idx 1 --deterministic True --redundancy 1.0 "
     "--num_nodes 15 --num_Byz_nodes 6 --batch_size 240", 61),
)))  # fmt: skip
_add(Figure("A4a", "Fig. A.4(a): ResNet-50, n=15, b=6", ("epoch",), _lines(
    ("signsgd-mv", MV, "--network ResNet50 --gpu_num 2 --trial_idx 1 --deterministic True "
     "--redundancy 1.0 --num_nodes 15 --num_Byz_nodes 6 --batch_size 960", 65),
    ("bern-r3-b480", "Bernoulli code (r=3, rho=0.5, r_eff=1.5)", "--network ResNet50 "
     "--gpu_num 7 --trial_idx 3 --redundancy 3.0 --num_nodes 15 --num_Byz_nodes 6 "
     "--batch_size 480", 66),
    ("bern-r2", "Bernoulli code (r=2)", "--network ResNet50 --gpu_num 5 --trial_idx 2 "
     "--redundancy 2.0 --num_nodes 15 --num_Byz_nodes 6 --batch_size 960", 67),
    ("bern-r3", "Bernoulli code (r=3)", "--network ResNet50 --gpu_num 4 --num_epochs 100 "
     "--trial_idx 1 --redundancy 3.0 --num_nodes 15 --num_Byz_nodes 6 --batch_size 960", 68),
    ("no-attack", NA, "--network ResNet50 --gpu_num 7 --trial_idx 1 --deterministic True "
     "--redundancy 1.0 --num_nodes 15 --num_Byz_nodes 0 --batch_size 960", 69),
)))  # fmt: skip
_add(Figure("A4b", "Fig. A.4(b): noisy computation, n=15, b=6", ("epoch",), _lines(
    ("signsgd-mv", MV, "--noisy_gradient True --variance 1e-4 --gpu_num 4 --trial_idx 1 "
     "--deterministic True --redundancy 1.0 --num_nodes 15 --num_Byz_nodes 6 --batch_size 240",
     73),
    ("bern-r3", "Bernoulli code (r=3)", "--noisy_gradient True --variance 1e-4 --gpu_num 2 "
     "--trial_idx 4 --redundancy 3.0 --num_nodes 15 --num_Byz_nodes 6 --batch_size 240", 74),
)))  # fmt: skip
_add(Figure("A4c", "Fig. A.4(c): against the coordinate-wise median, n=15", ("epoch",), _lines(
    ("bern-r2-b3", "Bernoulli code (r=2), b=3", "--gpu_num 5 --trial_idx 1 --redundancy 2.0 "
     "--num_nodes 15 --num_Byz_nodes 3 --batch_size 240", 78),
    ("bern-r2-b6", "Bernoulli code (r=2), b=6", "--gpu_num 5 --trial_idx 1 --redundancy 2.0 "
     "--num_nodes 15 --num_Byz_nodes 6 --batch_size 240", 79),
    ("bern-r3-b6", "Bernoulli code (r=3, rho=0.5, r_eff=1.5), b=6", "--gpu_num 5 "
     "--trial_idx 1 --redundancy 3.0 --num_nodes 15 --num_Byz_nodes 6 --batch_size 120", 80),
    ("median-b3", "Coordinate-wise median, b=3", "--gpu_num 5 --coord_median True "
     "--trial_idx 1 --num_nodes 15 --num_Byz_nodes 3 --batch_size 240", 81),
    ("median-b6", "Coordinate-wise median, b=6", "--gpu_num 5 --coord_median True "
     "--trial_idx 1 --num_nodes 15 --num_Byz_nodes 6 --batch_size 240", 82),
)))  # fmt: skip
# The official Amazon run (amazon_employer/MPI_main.py:254-263): n = 15, b = 5, directional
# (+1) attack, its drawn Bernoulli matrix and the identity; 5 Byzantine draws per scheme.
_MATRIX_NAME = "seed-amazon/G_bernoulli_p0.133333.csv"  # docs/paper.md: where it comes from
_MATRIX_PATHS = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / _MATRIX_NAME,  # beside the checkout
    Path("/work/shared/data") / _MATRIX_NAME,  # the same copy when installed elsewhere
)
AMAZON_MATRIX = str(next((p for p in _MATRIX_PATHS if p.is_file()), _MATRIX_PATHS[0]))
AMAZON_BASE = "--dataset amazon --protocol seed --n 15 --b 5 --attack directional"
AMAZON_DRAWS = (1, 2, 3, 4, 5)
_add(Figure("amazon", "Amazon Employee Access: n=15, b=5, directional attack", ("step",), (
    Line("signsgd-mv", "SignSGD-MV (identity)", "--code uncoded",
         "amazon_employer/MPI_main.py:257, 273", AMAZON_DRAWS),
    Line("bernoulli", "Bernoulli (official G)", f"--code file:{AMAZON_MATRIX}",
         "amazon_employer/MPI_main.py:257-259, 271", AMAZON_DRAWS),
), paper_flags=False, base=AMAZON_BASE))  # fmt: skip
# The same two runs with the Byzantine sets the official runs drew, found by their step-1 AUC
# (results/amazon-seed/fingerprint.py; docs/paper.md): workers 0, 4, 8, 10, 14 for SignSGD-MV
# and 4, 8, 9, 10, 14 for the Bernoulli code (0-based; main.py's ranks are these + 1).
OFFICIAL_BYZANTINE = {"signsgd-mv": "0,4,8,10,14", "bernoulli": "4,8,9,10,14"}
_add(Figure("amazon-official-set", "Amazon with the official runs' Byzantine sets", ("step",), (
    Line("signsgd-mv", "SignSGD-MV (identity)",
         f"--code uncoded --byzantine-select {OFFICIAL_BYZANTINE['signsgd-mv']}",
         "amazon_employer/MPI_main.py:273, 336"),
    Line("bernoulli", "Bernoulli (official G)",
         f"--code file:{AMAZON_MATRIX} --byzantine-select {OFFICIAL_BYZANTINE['bernoulli']}",
         "amazon_employer/MPI_main.py:271, 336"),
), paper_flags=False, base=AMAZON_BASE + " --seed 1"))  # fmt: skip
# The official MPI CIFAR-10 run (cifar10/MPI_main.py:29, 76-88, 110, 325; cifar10/README.md:
# mpirun -n 6): n = 5, b = 1, reverse, identity, batch 120, 300 epochs, lr x0.1 at 80 and 120,
# test after every batch, under mpirun (rank 0 = master).
_add(Figure("mpi-cifar10", "MPI CIFAR-10: n=5, b=1, reverse attack", ("step",), (
    Line("signsgd-mv", "SignSGD-MV (r=1), MPI", "--code uncoded --batch-size 120 --epochs 300 "
         "--lr-milestones 80,120 --eval-every 1 --transport mpi",
         "cifar10/MPI_main.py:29, 79-88, 110, 325"),
), paper_flags=False, base="--dataset cifar10 --n 5 --b 1 --attack reverse --seed 1"))  # fmt: skip


def find_figure(name: str) -> Figure:
    """A figure by name, case-insensitive; "4a" and "4d" name "4ad"."""
    from election.errors import ConfigError

    wanted = name.strip().lower().removeprefix("fig").removeprefix(".").replace(".", "")
    for fig in FIGURES.values():
        key = fig.name.lower()
        if wanted == key or (
            len(key) == 3 and key[0].isdigit() and wanted in (key[:2], key[0] + key[2])
        ):
            return fig
    raise ConfigError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
