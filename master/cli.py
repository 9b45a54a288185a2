"""``python -m master`` / ``election master``: flags and ELECTION_* variables -> a served run.

Training settings are the ``election train`` flags (each also ``ELECTION_<FIELD>``); the
service settings are the fields of :class:`master.config.MasterConfig` (listed in
docs/grpc.md). With a checkpoint folder, a restarted master resumes from the latest checkpoint
(same run id, same tokens, same run folder).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import sys
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from election.errors import ConfigError
from election.flags import add_training_flags, config_from_args, print_summary
from master.config import MasterConfig
from wire.flags import add_settings, check_retired, config_from, settings_of

if TYPE_CHECKING:
    from election.config import TrainConfig
    from election.training.recorder import RunRecorder
    from election.training.setup import Setup
    from master.checkpoint import MasterCheckpoint
    from master.metrics import Metrics
    from master.peers import ShardPeers
    from master.server import MasterServer
    from master.service import MasterService
    from wire.jsonlog import JsonLog

MASTER_SETTINGS = settings_of(MasterConfig)
EXIT_TOO_FEW_VOTES = 3  # a round stayed below --min-votes: stopped, resumable
EXIT_PEER_LOST = 4  # a peer master shard did not serve its part in time: stopped, resumable
SERVER_GRACE_S = 2.0  # on stop, in-flight RPCs get this long before they are cancelled


def add_flags(parser: argparse.ArgumentParser) -> None:
    add_training_flags(parser)
    add_settings(parser.add_argument_group("master service"), MASTER_SETTINGS)
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (logs stay on)")


def _write_port(path: str, port: int) -> None:
    if path:
        tmp = Path(path + ".tmp")
        tmp.write_text(f"{port}\n")
        tmp.replace(path)


def join_secret_of(mc: MasterConfig) -> str:
    """The run's join secret ('' = open mode); refuses a master that is open by accident."""
    from wire.security import load_join_secret

    secret = load_join_secret(mc.join_secret, mc.join_secret_file, create=mc.join_secret_create)
    if mc.open_join and secret:
        raise ConfigError("--open-join and a join secret exclude each other")
    if not mc.open_join and not secret:
        raise ConfigError(
            "Join would be open to anyone who can connect: give the run a join secret "
            "(--join-secret-file, ELECTION_JOIN_SECRET_FILE or ELECTION_JOIN_SECRET), "
            "or --open-join for local experiments"
        )
    return secret


def build_service(
    setup: Setup, mc: MasterConfig, ckpt: MasterCheckpoint | None, *, join_secret: str, log: JsonLog
) -> tuple[MasterService, Metrics, list[tuple[int, dict[str, float]]]]:
    """The master service, restored from ``ckpt`` when there is one; with the eval history."""
    from master.metrics import Metrics
    from master.service import MasterService
    from wire.messages import RoundUpdate, payload_from_core
    from wire.security import new_secret

    metrics = Metrics()
    last_update = None
    if ckpt is not None and ckpt.last_update is not None:
        r, digest, data, votes, abstentions = ckpt.last_update
        payload = payload_from_core(setup.scheme, data, update=True)
        last_update = RoundUpdate(r, digest, payload, votes, abstentions)
    service = MasterService(
        setup,
        run_id=ckpt.run_id if ckpt else (mc.run_id or uuid.uuid4().hex[:12]),
        secret=ckpt.secret if ckpt else new_secret(),
        options=mc,
        metrics=metrics,
        log=log,
        join_secret=join_secret or None,
        first_round=ckpt.next_round if ckpt else 0,
        last_update=last_update,
    )
    history: list[tuple[int, dict[str, float]]] = []
    if ckpt is not None:
        service.restore_state(ckpt.replica_state)
        history = list(ckpt.evals)
        for name in ("rounds", "abstentions", "votes_accepted", "bytes_received"):
            metrics.inc(name, ckpt.counters.get(name, 0.0))
    return service, metrics, history


def _load_checkpoint(mc: MasterConfig, config_json: str) -> MasterCheckpoint | None:
    from master import checkpoint

    ckpt = checkpoint.load(mc.checkpoint_dir) if mc.checkpoint_dir else None
    if ckpt is not None and ckpt.config_json != config_json:
        raise ConfigError(
            f"the checkpoint in {mc.checkpoint_dir!r} is of another configuration; "
            "use the same flags or another --checkpoint-dir"
        )
    return ckpt


def _serve(
    service: MasterService, mc: MasterConfig, metrics: Metrics
) -> tuple[MasterServer, int, Any]:
    """Start the gRPC server (and the Prometheus endpoint); write their port files."""
    from master.metrics import serve_metrics
    from master.server import MasterServer

    tls = mc.tls_files()
    server = MasterServer(service, bind=mc.bind, port=mc.port, tls=tls)
    port = server.start()
    _write_port(mc.port_file, port)
    http = None
    if mc.metrics_port >= 0:
        http = serve_metrics(metrics, host=mc.bind, port=mc.metrics_port)
        _write_port(mc.metrics_port_file, http.server_address[1])
    return server, port, http


def _log_serving(
    log: JsonLog, service: MasterService, mc: MasterConfig, port: int, http: Any, **more: Any
) -> None:
    log.event(
        "serving",
        port=port,
        run_id=service.run_id,
        round=service.rounds.open_round,
        tls=mc.tls_files().enabled,
        mtls=bool(mc.tls_ca),
        join="secret" if service.join_secret else "open",
        min_votes=service.min_votes,
        metrics_port=http.server_address[1] if http else None,
        **more,
    )


def shard_config(cfg: TrainConfig, mc: MasterConfig) -> TrainConfig:
    """The run's config on a master shard: the accusation needs whole votes, and a shard sees
    its coordinates only, so with k > 1 auto turns it off and asking for it is an error."""
    from election.notices import warn

    if mc.master_shards == 1:
        return cfg
    if cfg.accusation == "on" or cfg.quarantine != "off":
        raise ConfigError(
            f"--master-shards={mc.master_shards}: the accusation and quarantine need whole votes "
            "and a shard sees its coordinates only (use --accusation auto or off)"
        )
    if cfg.accusation_active and mc.shard == 0:
        warn("accusation is off on sharded masters (a shard sees its coordinates only)")
    return cfg.replace(accusation="off")


def _shard_peers(service: MasterService, mc: MasterConfig) -> ShardPeers | None:
    """Links to the other master shards (None for one master)."""
    if mc.master_shards == 1:
        return None
    from master.peers import ShardPeers

    return ShardPeers(
        mc.peers,
        mc.shard,
        token=service.peer_token,
        tls=mc.tls_files(),
        wait_s=mc.shard_wait_s,
        dim=service.dim,
        stopping=lambda: service.rounds.closed,
    )


def _previous_metrics(run_dir: Path) -> list[dict[str, str]]:
    """The metrics.csv rows of the run before the restart (a fresh recorder rewrites it)."""
    from election.training.runs import read_metrics

    try:
        return read_metrics(run_dir / "metrics.csv")
    except (OSError, csv.Error):
        return []


def run(args: argparse.Namespace) -> int:
    from election.training.recorder import RunRecorder
    from election.training.setup import prepare
    from master.loop import resume_recorder, run_rounds
    from master.peers import PeerLost
    from master.rounds import RoundsClosed, TooFewVotes
    from wire.allocator import tune_allocator
    from wire.jsonlog import JsonLog

    tune_allocator(os.environ)  # before the server's threads: vote buffers reused, not re-faulted
    check_retired(os.environ)
    mc = config_from(MasterConfig, args, os.environ)
    cfg = shard_config(config_from_args(args, env=os.environ).replace(transport="grpc"), mc)
    join_secret = join_secret_of(mc)
    log = JsonLog("master")
    ckpt = _load_checkpoint(mc, json.dumps(cfg.to_json_dict(), sort_keys=True))
    setup = prepare(cfg)
    service, metrics, history = build_service(setup, mc, ckpt, join_secret=join_secret, log=log)
    previous = _previous_metrics(Path(ckpt.run_dir)) if ckpt else None
    recorder: RunRecorder = RunRecorder(setup, run_dir=Path(ckpt.run_dir) if ckpt else None)
    resume_recorder(recorder, history, previous)
    server, port, http = _serve(service, mc, metrics)
    _log_serving(
        log, service, mc, port, http, resumed=ckpt is not None, run_dir=str(recorder.run_dir)
    )
    peers = _shard_peers(service, mc)
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()
        server.set_serving(False)
        server.stop(grace=SERVER_GRACE_S, wait=False)  # refuse new RPCs; in-flight ones finish
        service.rounds.close()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        summary = run_rounds(
            service,
            recorder,
            history=history,
            progress=not args.quiet,
            accusation=ckpt.accusation if ckpt else None,
            peers=peers,
        )
    except PeerLost as exc:
        print(f"election: error: {exc}", file=sys.stderr)
        return EXIT_PEER_LOST
    except RoundsClosed:
        log.event("stopped", round=service.rounds.open_round, checkpoint=mc.checkpoint_dir)
        return 0 if stopping.is_set() else 1
    except TooFewVotes as exc:
        where = (
            f"resume from the checkpoint in {mc.checkpoint_dir!r} with the same flags"
            if mc.checkpoint_dir
            else "no --checkpoint-dir was given, so it cannot resume"
        )
        print(f"election: error: {exc}; {where}", file=sys.stderr)
        return EXIT_TOO_FEW_VOTES
    finally:
        server.set_serving(False)
        server.stop(grace=SERVER_GRACE_S)
        if http is not None:
            http.shutdown()
    print_summary(summary, as_json=args.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    from election_cli.main import main as election_main

    return election_main(["master", *(sys.argv[1:] if argv is None else argv)])
