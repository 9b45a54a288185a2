"""``election mpi``: the training run under ``mpirun -n N+1 [-f hosts]`` (rank 0 = master).

Takes the same flags as ``election train``. The world size must be n + 1. A rank that stays
silent past ``--rank-timeout`` makes rank 0 print which one and abort the whole job.
"""

from __future__ import annotations

import argparse
import os
import sys

from election.errors import ConfigError
from election.flags import add_training_flags, config_from_args, print_summary
from election.notices import silence
from wire.mpi import RANK_TIMEOUT_S, WORKER_PATIENCE


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mpi",
        help="train under mpirun (rank 0 = master, ranks 1..n = workers)",
        description="Run under `mpirun -n N+1 [-f hosts] election mpi <training flags>`.",
    )
    add_training_flags(parser)
    parser.add_argument(
        "--rank-timeout",
        type=float,
        default=RANK_TIMEOUT_S,
        help="seconds rank 0 waits for a worker's vote before aborting the job (workers wait "
        "twice this for rank 0's update)",
    )
    parser.add_argument("--json", action="store_true", help="rank 0 prints the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from mpi4py import MPI
    except ImportError as exc:  # pragma: no cover - mpi4py is a dependency
        raise ConfigError(f"mpi4py is not importable: {exc}") from exc
    from election.training.distributed import run_master, run_worker
    from election.training.nodes import MasterNode, WorkerNode
    from election.training.setup import prepare
    from wire.mpi import MPIMaster, MPIWorker, SilentRank

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    if rank != 0:
        silence()  # rank 0 prints each one-line warning once for the whole job
    cfg = config_from_args(args, env=os.environ).replace(transport="mpi")
    if size != cfg.n + 1:
        if rank == 0:
            print(
                f"election: error: world size is {size} but n={cfg.n} needs n + 1 = {cfg.n + 1} "
                f"ranks (mpirun -n {cfg.n + 1} ...)",
                file=sys.stderr,
            )
        return 2
    setup = prepare(cfg)
    try:
        if rank == 0:
            node = MasterNode(setup)
            master = MPIMaster(comm, setup.scheme, node.replica.dim)
            summary = run_master(
                setup,
                master,
                node=node,
                round_deadline_s=args.rank_timeout,
                progress=not args.quiet,
            )
            print_summary(summary, as_json=args.json)
        else:
            worker = WorkerNode(setup, rank - 1)
            transport = MPIWorker(comm, setup.scheme, worker.replica.dim)
            wait_s = WORKER_PATIENCE * args.rank_timeout  # rank 0 names a silent rank first
            run_worker(setup, rank - 1, transport, node=worker, update_wait_s=wait_s)
    except SilentRank as exc:
        print(f"election: error: {exc}", file=sys.stderr, flush=True)
        comm.Abort(3)
    except Exception as exc:
        print(
            f"election: error on rank {rank}: {type(exc).__name__}: {exc}",
            file=sys.stderr,
            flush=True,
        )
        comm.Abort(4)
    return 0
