"""The scheme name is tested in one place: the registry (election/training/schemes.py).

Everywhere else the code asks the scheme object (``setup.scheme``) what to do. An AST scan of
the production packages finds every comparison involving a scheme name or a ``scheme`` value
and every literal list of scheme names; only the registry may have them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from election.config import build_config
from election.training.schemes import SCHEMES, scheme_for

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("election", "election_cli", "master", "worker", "adversary", "wire", "bench")
REGISTRY = Path("election/training/schemes.py")
NAMES = set(SCHEMES)


def _is_scheme_value(node: ast.expr) -> bool:
    """``scheme``, ``cfg.scheme``, ``self.setup.cfg.scheme`` ..."""
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
    return name == "scheme"


def _is_scheme_name(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in NAMES


def _offences(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_scheme_value(o) or _is_scheme_name(o) for o in operands):
                found.append(f"line {node.lineno}: compares a scheme name")
        elif isinstance(node, ast.Tuple | ast.List | ast.Set) and (
            sum(_is_scheme_name(e) for e in node.elts) >= 2
        ):
            found.append(f"line {node.lineno}: lists scheme names")
    return found


def production_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "gen" not in p.parts)


def test_only_the_registry_tests_the_scheme_name() -> None:
    offenders = []
    for path in production_files():
        rel = path.relative_to(ROOT)
        if rel == REGISTRY:
            continue
        offenders += [f"{rel} {o}" for o in _offences(ast.parse(path.read_text()))]
    assert offenders == []


def test_the_scan_catches_the_patterns_it_forbids() -> None:
    caught = _offences(
        ast.parse(
            'if cfg.scheme == "median": pass\n'
            "if scheme in SIGN: pass\n"
            'PACKED = ("majority", "sign-of-sum")\n'
            'if x != "sgd": pass\n'
        )
    )
    assert len(caught) == 4
    assert _offences(ast.parse('label = f"{cfg.scheme}/{cfg.code}"\nkind = SCHEMES[name]')) == []


def test_the_registry_holds_the_five_schemes_each_under_its_own_name() -> None:
    assert list(SCHEMES) == ["majority", "signed-sum", "sign-of-sum", "median", "sgd"]
    assert all(kind.name == name for name, kind in SCHEMES.items())


@pytest.mark.parametrize(
    ("values", "kind", "quorum"),
    [
        ({"decoder": "plain"}, "Majority", None),
        ({}, "Majority", 2),  # auto: quorum b + 1 on the deterministic code
        ({"code": "uncoded"}, "Majority", None),  # auto: plain on the uncoded baseline
        ({"decoder": "quorum", "b": 1}, "Majority", 2),
        ({"decoder": "quorum", "quorum": 3}, "Majority", 3),
        ({"scheme": "sign-of-sum"}, "SignOfSum", None),
        ({"scheme": "median", "code": "uncoded"}, "Median", None),
    ],
)
def test_the_config_resolves_to_its_scheme_bound_to_the_decoder(
    values: dict[str, object], kind: str, quorum: int | None
) -> None:
    scheme = scheme_for(build_config(values))
    assert type(scheme).__name__ == kind and scheme.quorum == quorum
