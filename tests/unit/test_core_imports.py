"""The core never imports grpc, mpi4py or generated protobuf code (docs/design.md Sec. 3)."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "election"
FORBIDDEN = ("grpc", "mpi4py", "google.protobuf", "wire")
# Adapters that are allowed to reach outward: the MPI transport and the CLI commands.
ALLOWED = {"transport/mpi.py", "commands/mpi.py", "commands/services.py", "commands/train.py"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_modules_import_no_transport_libraries_or_generated_code():
    offenders = []
    for path in CORE.rglob("*.py"):
        rel = path.relative_to(CORE).as_posix()
        if rel in ALLOWED:
            continue
        for name in imported_modules(path):
            if (
                name.endswith("_pb2")
                or name.endswith("_pb2_grpc")
                or any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
            ):
                offenders.append(f"{rel}: {name}")
    assert offenders == []
