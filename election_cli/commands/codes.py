"""``election codes {design,verify,prove,table,analyze}``: build, check and study allocation codes.

``verify --ternary`` checks u in {-1, 0, +1}^n with worst-case attackers and a decoder
(:mod:`election.codes.ternary`).

Exit status: 0 on success; 1 when ``verify`` finds a counterexample; 2 on bad input (one line on
stderr, raised as :class:`election.errors.CodeError`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from election.codes import CODE_KINDS, make_code, minimum_redundancy_code, verify
from election.codes.analysis import (
    ATTACKS,
    SELECTIONS,
    bernoulli_failure_bound,
    failure_probability,
)
from election.codes.bounds import check_odd, lower_bound_ones, ternary_lower_bound_ones
from election.codes.construct import baseline_ones
from election.codes.matrix import load_matrix
from election.codes.store import SHIPPED_NS, shipped_entry, write_shipped
from election.codes.ternary import verify_ternary
from election.errors import CodeError
from election.votes.decoders import RULES, resolve_quorum
from election_cli.commands import codes_profiles, codes_ternary


def emit(payload: dict[str, Any], text: str, args: argparse.Namespace) -> None:
    if getattr(args, "out", None):
        try:
            Path(args.out).write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        except OSError as exc:
            raise CodeError(f"cannot write {args.out!r}: {exc}") from None
    print(json.dumps(payload) if args.json else text)


def rows_text(matrix: Any) -> str:
    return "\n".join("".join(str(int(v)) for v in row) for row in matrix)


def cmd_design(args: argparse.Namespace) -> int:
    if args.ternary:
        return codes_ternary.design_ternary(args)
    if args.all:
        ns = [n for n in SHIPPED_NS if n <= args.max_n]
        if not args.write:
            raise CodeError("--all regenerates the shipped codes; add --write to confirm")
        for n in ns:
            print(f"wrote {write_shipped(n, log=lambda s: print(s, file=sys.stderr))}")
        return 0
    if args.n is None:
        raise CodeError("--n is required (or use --all --write)")
    if args.b is None:
        args.b = 0
    code = make_code(args.kind, n=args.n, b=args.b, r=args.r, seed=args.seed)
    payload = code.to_json_dict()
    payload["b"] = args.b
    if args.kind in ("deterministic", "ternary"):
        if payload.get("lower_bound_ones") is None:
            bound = ternary_lower_bound_ones if args.kind == "ternary" else lower_bound_ones
            payload["lower_bound_ones"] = bound(args.n, args.b)
        payload["lower_bound"] = payload["lower_bound_ones"] / args.n
        payload.setdefault("optimal", int(code.matrix.sum()) == payload["lower_bound_ones"])
    else:
        payload.update(lower_bound=None, lower_bound_ones=None, optimal=None)
    text = (
        f"{args.kind} code n={code.n} b={args.b} r={code.redundancy:.4f}\n{rows_text(code.matrix)}"
    )
    emit(payload, text, args)
    return 0


def _verify_matrix(args: argparse.Namespace) -> Any:
    """The matrix to verify: --matrix FILE, or a registry code --kind K --n N (with --b)."""
    if (args.matrix is None) == (args.kind is None):
        raise CodeError("give exactly one of --matrix FILE or --kind KIND --n N")
    if args.matrix is not None:
        return load_matrix(args.matrix)
    if args.n is None:
        raise CodeError(f"--kind {args.kind} needs --n")
    return make_code(args.kind, n=args.n, b=args.b, r=args.r, seed=args.seed).matrix


def cmd_verify(args: argparse.Namespace) -> int:
    matrix = _verify_matrix(args)
    if args.b < 0 or args.b > matrix.shape[0]:
        raise CodeError(f"b={args.b} must satisfy 0 <= b <= n={matrix.shape[0]}")
    if args.ternary:
        return verify_ternary_cmd(matrix, args)
    if args.decoder is not None or args.quorum is not None:
        raise CodeError(
            "--decoder and --quorum apply to --ternary (for u in {-1, +1}^n both "
            "decoders agree on every perfect code)"
        )
    result = verify(matrix, args.b)
    payload = {
        "n": int(matrix.shape[0]),
        "redundancy": float(matrix.sum()) / matrix.shape[0],
        **result.to_json_dict(),
    }
    if result.perfect:
        text = f"perfect: tolerates b={args.b} Byzantine workers (margin {result.margin})"
    else:
        ce = result.counterexample
        assert ce is not None
        text = (
            f"NOT perfect for b={args.b}: signs {list(ce.signs)}, byzantine workers "
            f"{list(ce.byzantine)} send {-ce.honest_majority}; master outputs {ce.output} "
            f"instead of {ce.honest_majority}"
        )
    emit(payload, text, args)
    return 0 if result.perfect else 1


def verify_ternary_cmd(matrix: Any, args: argparse.Namespace) -> int:
    """``verify --ternary``: exit 0 iff exact_nonzero, dead_fixed and never_opposite all hold."""
    decoder = args.decoder or "plain"
    q = resolve_quorum(decoder, args.quorum or 0, args.b)
    result = verify_ternary(matrix, args.b, 1 if q is None else q)
    payload = {
        "decoder": decoder,
        "redundancy": float(matrix.sum()) / matrix.shape[0],
        **result.to_json_dict(),
    }
    checks = {
        "exact_nonzero": result.exact_nonzero,
        "dead_fixed": result.dead_fixed,
        "never_opposite": result.never_opposite,
    }
    lines = [f"ternary, b={args.b}, decoder {decoder} (q={result.q}):"]
    for name, check in checks.items():
        state = "ok" if check.ok else f"FAILS on {check.failures}/{check.patterns} patterns"
        lines.append(f"  {name}: {state} ({100 * check.fraction_ok:.2f} %)")
        if check.counterexample is not None:
            ce = check.counterexample
            lines.append(
                f"    e.g. signs {list(ce.signs)}: workers {list(ce.byzantine)} send "
                f"{list(ce.messages)}; output {ce.output}, mu {ce.honest_majority}"
            )
    lines.append(
        f"  movable ties: {result.ties.failures}/{result.ties.patterns} "
        f"({100 * result.movable_tie_fraction:.2f} %)"
    )
    emit(payload, "\n".join(lines), args)
    return 0 if all(c.ok for c in checks.values()) else 1


def cmd_prove(args: argparse.Namespace) -> int:
    if args.by_profile:
        return codes_profiles.prove_by_profile(args)
    result = minimum_redundancy_code(
        args.n, args.b, time_limit=args.time_limit, ternary=args.ternary
    )
    payload = {"n": args.n, "b": args.b, "ternary": args.ternary, **result.to_json_dict()}
    state = "optimal (proven)" if result.optimal else f"best found, gap {result.gap}"
    text = (
        f"n={args.n} b={args.b}: ones={result.ones} (r={result.redundancy}), lower bound "
        f"{result.lower_bound}, {state}, {result.seconds:.1f}s [{result.status}]"
    )
    if result.code is not None:
        text += "\n" + rows_text(result.code.matrix)
    emit(payload, text, args)
    return 0


def table_rows(max_n: int) -> list[dict[str, Any]]:
    rows = []
    for n in range(3, max_n + 1, 2):
        for b in range((n + 1) // 2):
            entry = shipped_entry(n, b)
            bound = lower_bound_ones(n, b) if entry is None else entry["lower_bound_ones"]
            rows.append(
                {
                    "n": n,
                    "b": b,
                    "redundancy": None if entry is None else entry["redundancy"],
                    "lower_bound": bound / n,
                    "baseline": baseline_ones(n, b) / n,
                    "method": None if entry is None else entry["method"],
                }
            )
    return rows


def cmd_table(args: argparse.Namespace) -> int:
    if args.max_n < 3:
        raise CodeError(f"--max-n={args.max_n} must be >= 3")
    if args.ternary:
        return codes_ternary.ternary_table(args)
    rows = table_rows(args.max_n)
    if args.json:
        print(json.dumps(rows))
        return 0
    fmt = (
        "| {n} | {b} | {r} | {lb:.3f} | {base:.3f} | {method} |"
        if args.markdown
        else "{n:>3} {b:>3} {r:>8} {lb:>8.3f} {base:>8.3f}  {method}"
    )
    head = (
        ["| n | b | r (shipped) | lower bound | baseline | method |", "|---|---|---|---|---|---|"]
        if args.markdown
        else [f"{'n':>3} {'b':>3} {'r':>8} {'lower':>8} {'baseline':>8}  method"]
    )
    print("\n".join(head))
    for row in rows:
        r = "-" if row["redundancy"] is None else f"{row['redundancy']:.3f}"
        print(
            fmt.format(
                n=row["n"],
                b=row["b"],
                r=r,
                lb=row["lower_bound"],
                base=row["baseline"],
                method=row["method"] or "-",
            )
        )
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    workers = [int(w) for w in args.workers.split(",")] if args.workers else None
    redraw = args.kind == "bernoulli" and args.redraw
    matrix = (
        None
        if redraw
        else make_code(args.kind, n=args.n, b=args.b, r=args.r, seed=args.seed).matrix
    )
    if args.kind == "deterministic":
        check_odd(args.n, args.b)
    estimate = failure_probability(
        n=args.n,
        b=args.b,
        q=args.q,
        attack=args.attack,
        select=args.select,
        trials=args.trials,
        seed=args.seed,
        matrix=matrix,
        r=args.r,
        workers=workers,
    )
    payload: dict[str, Any] = {
        "kind": args.kind,
        "n": args.n,
        "b": args.b,
        "r": args.r,
        "q": args.q,
        "attack": args.attack,
        "select": args.select,
        "redraw": redraw,
        **estimate.to_json_dict(),
    }
    if redraw:
        payload["upper_bound"] = bernoulli_failure_bound(n=args.n, b=args.b, r=args.r, q=args.q)
    text = (
        f"P(master != majority) = {estimate.p_fail:.5f} ± {estimate.stderr:.5f} "
        f"({estimate.failures}/{estimate.trials})"
    )
    if redraw:
        text += f"; Hoeffding upper bound {payload['upper_bound']:.5f}"
    emit(payload, text, args)
    return 0


def _output_flags(p: argparse.ArgumentParser, out: bool = True) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")
    if out:
        p.add_argument("--out", help="also write the JSON result to this file")


def _design_parser(sub: argparse._SubParsersAction) -> None:
    design = sub.add_parser("design", help="build a code (deterministic codes are precomputed)")
    design.add_argument(
        "--kind", choices=[k for k in CODE_KINDS if k != "file"], default="deterministic"
    )
    design.add_argument("--n", type=int)
    design.add_argument("--b", type=int, help="default 0; with --ternary --write: only this b")
    design.add_argument("--r", type=float, default=1.0, help="Bernoulli redundancy")
    design.add_argument("--seed", type=int, default=0)
    design.add_argument("--all", action="store_true", help="regenerate every shipped code")
    design.add_argument("--write", action="store_true", help="with --all: write data/*.json")
    design.add_argument("--max-n", type=int, default=31)
    design.add_argument(
        "--ternary",
        action="store_true",
        help="with --write and --all or --n: regenerate shipped ternary-perfect codes",
    )
    design.add_argument(
        "--time-limit",
        type=float,
        help="with --ternary: the ILP's seconds (default: none for n <= 9, 600 at n = 11; "
        "0 = the construction alone)",
    )
    _output_flags(design)
    design.set_defaults(func=cmd_design)


def _verify_parser(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser("verify", help="exhaustively check perfect b-tolerance of a matrix")
    check.add_argument("--matrix", help="JSON or 0/1 text file")
    check.add_argument(
        "--kind", choices=[k for k in CODE_KINDS if k != "file"], help="or a registry code"
    )
    check.add_argument("--n", type=int, help="workers, with --kind")
    check.add_argument("--r", type=float, default=1.0, help="Bernoulli redundancy, with --kind")
    check.add_argument("--seed", type=int, default=0, help="Bernoulli seed, with --kind")
    check.add_argument("--b", type=int, required=True)
    check.add_argument(
        "--ternary",
        action="store_true",
        help="check every u in {-1, 0, +1}^n: exact_nonzero, dead_fixed, never_opposite, ties",
    )
    check.add_argument("--decoder", choices=RULES, help="with --ternary (default plain)")
    check.add_argument("--quorum", type=int, help="q of the quorum decoder (default b + 1)")
    _output_flags(check)
    check.set_defaults(func=cmd_verify)


def _prove_parser(sub: argparse._SubParsersAction) -> None:
    prove = sub.add_parser("prove", help="run the exact minimum-redundancy ILP")
    prove.add_argument("--n", type=int, required=True)
    prove.add_argument("--b", type=int, required=True)
    prove.add_argument(
        "--time-limit", type=float, default=None,
        help="seconds (default: none; with --by-profile: per profile, default 600)",
    )  # fmt: skip
    prove.add_argument(
        "--ternary", action="store_true", help="ternary-perfect: every u in {-1, 0, +1}^n"
    )
    prove.add_argument(
        "--by-profile", action="store_true",
        help="rule out every code with at most --ones ones, one row-size profile at a time",
    )  # fmt: skip
    prove.add_argument(
        "--ones", type=int, help="with --by-profile (default: the shipped code's ones - 1)"
    )
    prove.add_argument(
        "--ledger", help="with --by-profile: JSON lines of decided profiles (skipped, appended)"
    )
    prove.add_argument(
        "--retry-undecided", action="store_true",
        help="with --ledger: solve again the profiles it records undecided at >= --time-limit",
    )  # fmt: skip
    _output_flags(prove)
    prove.set_defaults(func=cmd_prove)


def _table_parser(sub: argparse._SubParsersAction) -> None:
    table = sub.add_parser("table", help="redundancy of shipped codes vs lower bounds")
    table.add_argument("--max-n", type=int, default=31)
    table.add_argument("--markdown", action="store_true")
    table.add_argument("--json", action="store_true")
    table.add_argument(
        "--ternary", action="store_true", help="{-1, +1} codes vs ternary-perfect codes"
    )
    table.set_defaults(func=cmd_table)


def _analyze_parser(sub: argparse._SubParsersAction) -> None:
    analyze = sub.add_parser("analyze", help="Monte Carlo P(master output != majority)")
    analyze.add_argument(
        "--kind", choices=[k for k in CODE_KINDS if k != "file"], default="bernoulli"
    )
    analyze.add_argument("--n", type=int, required=True)
    analyze.add_argument("--b", type=int, default=1)
    analyze.add_argument("--r", type=float, default=1.0)
    analyze.add_argument("--q", type=float, default=0.8, help="P(partition sign is correct)")
    analyze.add_argument("--attack", choices=ATTACKS, default="reverse")
    analyze.add_argument("--select", choices=SELECTIONS, default="random")
    analyze.add_argument("--workers", help="comma-separated ids for --select explicit")
    analyze.add_argument("--trials", type=int, default=10_000)
    analyze.add_argument("--seed", type=int, default=0)
    analyze.add_argument(
        "--redraw",
        action="store_true",
        help="bernoulli: draw a fresh code per trial and report the upper bound",
    )
    _output_flags(analyze)
    analyze.set_defaults(func=cmd_analyze)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("codes", help="design, verify and analyze allocation codes")
    sub = parser.add_subparsers(dest="codes_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    _design_parser(sub)
    _verify_parser(sub)
    _prove_parser(sub)
    _table_parser(sub)
    _analyze_parser(sub)
