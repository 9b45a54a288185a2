"""Imports point inward (docs/design.md Sec. 3): the core ``election/`` never imports grpc,
mpi4py, generated protobuf code, the adapters (``wire``), the services (``master``, ``worker``,
``adversary``), the benchmarks (``bench``) or the command line (``election_cli``). No module of
the core is exempt; ``election/__main__.py`` is the ``python -m election`` script, which only
hands over to the command line and is imported by nothing.
"""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "election"
OUTWARD = ("grpc", "mpi4py", "google.protobuf", "wire", "master", "worker", "adversary", "bench")
CLI = "election_cli"
ENTRY_SCRIPT = "__main__.py"  # may import the command line it starts, nothing else outward


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or lazily inside a function."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def reaches_out(name: str, forbidden: tuple[str, ...]) -> bool:
    return (
        name.endswith("_pb2")
        or name.endswith("_pb2_grpc")
        or any(name == f or name.startswith(f + ".") for f in forbidden)
    )


def test_core_modules_import_nothing_outside_the_core() -> None:
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        rel = path.relative_to(CORE).as_posix()
        forbidden = OUTWARD if rel == ENTRY_SCRIPT else (*OUTWARD, CLI)
        names = sorted(imported_modules(path))
        offenders += [f"{rel}: {n}" for n in names if reaches_out(n, forbidden)]
    assert offenders == []


def test_the_check_catches_lazy_and_dotted_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "def f():\n    from mpi4py import MPI\n    import master.cluster\n"
        "from wire.gen import election_pb2\nfrom election_cli.main import main\n"
        "from election.config import TrainConfig\nimport workers_extra\n"
    )
    hits = {n for n in imported_modules(source) if reaches_out(n, (*OUTWARD, CLI))}
    assert hits == {"mpi4py", "master.cluster", "wire.gen", "election_cli.main"}
