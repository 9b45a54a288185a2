"""``election codes prove --by-profile``: rule out every perfect code with at most T ones, one
row-size profile at a time (:mod:`election.codes.profiles`; docs/codes.md, "Proving minimality
by profile"). T defaults to one less than the shipped code's ones, so a proof makes it minimal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from election.codes.bounds import check_odd
from election.codes.profiles import PROFILE_SECONDS, Profile, prove_above
from election.codes.store import shipped_entry
from election.codes.ternary_store import shipped_ternary_entry
from election.errors import CodeError


def target_ones(args: argparse.Namespace) -> int:
    """--ones, else the shipped code's ones - 1 (one line when neither exists)."""
    if args.ones is not None:
        return int(args.ones)
    entry = (shipped_ternary_entry if args.ternary else shipped_entry)(args.n, args.b)
    if entry is None:
        raise CodeError(f"no shipped code for n={args.n} b={args.b}: give --ones")
    return int(entry["ones"]) - 1


def prove_by_profile(args: argparse.Namespace) -> int:
    from election_cli.commands.codes import emit, rows_text  # (that module imports this one)

    check_odd(args.n, args.b)
    ones = target_ones(args)

    def progress(done: int, total: int, profile: Profile, verdict: str) -> None:
        if not args.json:
            print(f"  {done}/{total} {list(profile)} (ones {sum(profile)}): {verdict}",
                  file=sys.stderr, flush=True)  # fmt: skip

    limit = PROFILE_SECONDS if args.time_limit is None else args.time_limit
    ledger = None if args.ledger is None else Path(args.ledger)
    proof = prove_above(
        args.n, args.b, ones, ternary=args.ternary, time_limit=limit, progress=progress,
        ledger=ledger, retry_undecided=args.retry_undecided,
    )  # fmt: skip
    payload = {"method": "by-profile", **proof.to_json_dict()}
    head = (
        f"n={args.n} b={args.b}{' ternary' if args.ternary else ''}: {proof.profiles} profiles "
        f"with at most {ones} ones, {len(proof.lp_feasible)} pass the LP, "
        f"{proof.infeasible} ruled out by the MIP, {proof.seconds:.1f}s: "
    )
    if proof.found is not None:
        text = (
            head
            + f"found a code with {int(proof.found.matrix.sum())} ones\n"
            + rows_text(proof.found.matrix)
        )
    elif proof.undecided:
        again = f" ({proof.undecided_from_ledger} as the ledger has them)" * bool(
            proof.undecided_from_ledger
        )
        text = head + f"{len(proof.undecided)} profiles undecided (time limit){again}: not proven"
    else:
        text = head + f"proven: every perfect code has at least {ones + 1} ones"
    emit(payload, text, args)
    return 0
