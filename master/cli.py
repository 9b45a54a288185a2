"""``python -m master`` / ``election master``: flags and ELECTION_* variables -> a served run.

Training settings are the ``election train`` flags (each also ``ELECTION_<FIELD>``); the
service settings below are listed in docs/grpc.md. With a checkpoint folder, a restarted
master resumes from the latest checkpoint (same run id, same tokens, same run folder).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from election.errors import ConfigError
from election.flags import add_training_flags, config_from_args, print_summary
from wire.flags import (
    JOIN_SECRET_SETTINGS,
    TLS_SETTINGS,
    Setting,
    add_settings,
    at_least,
    flag_value,
    host,
    port,
    resolve,
    seconds,
    writable_file,
)
from wire.limits import run_id_problem

MASTER_SETTINGS = (
    Setting("--bind", "ELECTION_BIND", "0.0.0.0", str, "address to listen on", host),
    Setting(
        "--port",
        "ELECTION_PORT",
        50051,
        int,
        "gRPC port (0 = any free port)",
        port(allow_zero=True),
    ),
    Setting(
        "--port-file", "ELECTION_PORT_FILE", "", str, "write the bound port here", writable_file
    ),
    Setting(
        "--round-timeout",
        "ELECTION_ROUND_TIMEOUT",
        60.0,
        float,
        "seconds after a round opens; a vote missing then counts as an abstention",
        seconds(strict=True),
    ),
    Setting(
        "--startup-timeout",
        "ELECTION_STARTUP_TIMEOUT",
        300.0,
        float,
        "the first round waits this long for every slot to join",
        seconds(),
    ),
    Setting(
        "--checkpoint-dir",
        "ELECTION_CHECKPOINT_DIR",
        "",
        str,
        "checkpoint folder; resume from it on restart ('' = no checkpoints)",
    ),
    Setting(
        "--checkpoint-every",
        "ELECTION_CHECKPOINT_EVERY",
        1,
        int,
        "write a checkpoint every K rounds",
        at_least(1),
    ),
    Setting(
        "--metrics-port",
        "ELECTION_METRICS_PORT",
        -1,
        int,
        "Prometheus /metrics port (-1 = off, 0 = any free port)",
        port(allow_zero=True, allow_off=True),
    ),
    Setting(
        "--metrics-port-file",
        "ELECTION_METRICS_PORT_FILE",
        "",
        str,
        "write the bound metrics port here",
        writable_file,
    ),
    Setting(
        "--linger",
        "ELECTION_LINGER",
        30.0,
        float,
        "after the last round, wait this long for every worker to fetch it",
        seconds(),
    ),
    Setting(
        "--pace",
        "ELECTION_PACE",
        0.0,
        float,
        "minimum seconds per round (demos, tests)",
        seconds(),
    ),
    Setting(
        "--upload-idle-timeout",
        "ELECTION_UPLOAD_IDLE_TIMEOUT",
        10.0,
        float,
        "a vote upload sending nothing this long is refused (DEADLINE_EXCEEDED slow_stream)",
        seconds(strict=True),
    ),
    Setting(
        "--upload-timeout",
        "ELECTION_UPLOAD_TIMEOUT",
        120.0,
        float,
        "a vote upload taking longer than this in all is refused (slow_stream)",
        seconds(strict=True),
    ),
    Setting(
        "--run-id",
        "ELECTION_RUN_ID",
        "",
        str,
        "run id ('' = random; kept on resume)",
        lambda v: run_id_problem(v) if v else None,
    ),
    Setting(
        "--min-votes",
        "ELECTION_MIN_VOTES",
        0,
        int,
        "fewest votes a round may close with (0 = n - b: see docs/grpc.md)",
        at_least(0),
    ),
    Setting(
        "--min-votes-wait",
        "ELECTION_MIN_VOTES_WAIT",
        300.0,
        float,
        "a round short of --min-votes waits this long past its deadline, then the master stops",
        seconds(),
    ),
    *JOIN_SECRET_SETTINGS,
    Setting(
        "--join-secret-create",
        "ELECTION_JOIN_SECRET_CREATE",
        False,
        flag_value,
        "create --join-secret-file with a random secret when it does not exist",
    ),
    Setting(
        "--open-join",
        "ELECTION_OPEN_JOIN",
        False,
        flag_value,
        "open mode: anyone who can connect may Join (local experiments only)",
    ),
    *TLS_SETTINGS,
)


EXIT_TOO_FEW_VOTES = 3  # a round stayed below --min-votes: stopped, resumable


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


def run(args: argparse.Namespace) -> int:
    from election.training.recorder import RunRecorder
    from election.training.setup import prepare
    from master import checkpoint
    from master.admission import StreamLimits
    from master.loop import resume_recorder, run_rounds
    from master.metrics import Metrics, serve_metrics
    from master.rounds import RoundsClosed, TooFewVotes
    from master.server import MasterServer
    from master.service import MasterOptions, MasterService
    from wire.jsonlog import JsonLog
    from wire.messages import RoundUpdate, payload_from_core
    from wire.security import TlsFiles, load_join_secret, new_secret

    values = resolve(args, MASTER_SETTINGS, os.environ)
    cfg = config_from_args(args, env=os.environ).replace(transport="grpc")
    options = MasterOptions(
        round_timeout_s=values["round_timeout"],
        startup_timeout_s=values["startup_timeout"],
        checkpoint_dir=values["checkpoint_dir"],
        checkpoint_every=values["checkpoint_every"],
        linger_s=values["linger"],
        pace_s=values["pace"],
        limits=StreamLimits(
            upload_idle_s=values["upload_idle_timeout"],
            upload_total_s=values["upload_timeout"],
        ),
        min_votes=values["min_votes"],
        min_votes_wait_s=values["min_votes_wait"],
    )
    join_secret = load_join_secret(
        values["join_secret"], values["join_secret_file"], create=values["join_secret_create"]
    )
    if values["open_join"] and join_secret:
        raise ConfigError("--open-join and a join secret exclude each other")
    if not values["open_join"] and not join_secret:
        raise ConfigError(
            "Join would be open to anyone who can connect: give the run a join secret "
            "(--join-secret-file, ELECTION_JOIN_SECRET_FILE or ELECTION_JOIN_SECRET), "
            "or --open-join for local experiments"
        )
    tls = TlsFiles(values["tls_cert"], values["tls_key"], values["tls_ca"])
    log = JsonLog("master")
    ckpt = checkpoint.load(options.checkpoint_dir) if options.checkpoint_dir else None
    config_json = json.dumps(cfg.to_json_dict(), sort_keys=True)
    if ckpt is not None and ckpt.config_json != config_json:
        raise ConfigError(
            f"the checkpoint in {options.checkpoint_dir!r} is of another configuration; "
            "use the same flags or another --checkpoint-dir"
        )
    setup = prepare(cfg)
    metrics = Metrics()
    last_update = None
    if ckpt is not None and ckpt.last_update is not None:
        r, digest, data, votes, abstentions = ckpt.last_update
        last_update = RoundUpdate(
            r, digest, payload_from_core(setup.scheme, data, update=True), votes, abstentions
        )
    service = MasterService(
        setup,
        run_id=ckpt.run_id if ckpt else (values["run_id"] or uuid.uuid4().hex[:12]),
        secret=ckpt.secret if ckpt else new_secret(),
        options=options,
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
    recorder = RunRecorder(setup, run_dir=Path(ckpt.run_dir) if ckpt else None)
    resume_recorder(recorder, history)
    server = MasterServer(service, bind=values["bind"], port=values["port"], tls=tls)
    port = server.start()
    _write_port(values["port_file"], port)
    http = None
    if values["metrics_port"] >= 0:
        http = serve_metrics(metrics, host=values["bind"], port=values["metrics_port"])
        _write_port(values["metrics_port_file"], http.server_address[1])
    log.event(
        "serving",
        port=port,
        run_id=service.run_id,
        round=service.rounds.open_round,
        resumed=ckpt is not None,
        tls=tls.enabled,
        mtls=bool(tls.ca),
        join="open" if join_secret == "" else "secret",
        min_votes=service.min_votes,
        metrics_port=http.server_address[1] if http else None,
        run_dir=str(recorder.run_dir),
    )
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()
        server.set_serving(False)
        server.stop(grace=2, wait=False)  # refuse new RPCs now; in-flight ones get 2 s
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
        )
    except RoundsClosed:
        log.event("stopped", round=service.rounds.open_round, checkpoint=options.checkpoint_dir)
        return 0 if stopping.is_set() else 1
    except TooFewVotes as exc:
        where = (
            f"resume from the checkpoint in {options.checkpoint_dir!r} with the same flags"
            if options.checkpoint_dir
            else "no --checkpoint-dir was given, so it cannot resume"
        )
        print(f"election: error: {exc}; {where}", file=sys.stderr)
        return EXIT_TOO_FEW_VOTES
    finally:
        server.set_serving(False)
        server.stop(grace=2)
        if http is not None:
            http.shutdown()
    print_summary(summary, as_json=args.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    from election_cli.main import main as election_main

    return election_main(["master", *(sys.argv[1:] if argv is None else argv)])
