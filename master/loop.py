"""The master's training loop over the round state (docs/design.md, Sec. 3, step 4).

    for r in open_round .. total-1:
        payloads = rounds.collect(r)            # all n, or the deadline with >= min_votes
        update   = MasterNode.round(r, votes)   # packed majority -> optimizer step
        digest   = replica.digest()             # of the model after the update
        evaluate every K rounds and at the end  # RunRecorder -> metrics.csv
        checkpoint every K rounds (atomic)      # before publishing: a restart re-serves r
        rounds.publish(update, digest)          # GetUpdate long-polls return
    fewer than min_votes even after the wait: checkpoint, stop (TooFewVotes, resumable)
    wait (linger) until every slot fetched the last update; write summary.json

The same configuration gives the same ``model_sha256`` as the in-process loop.
"""

from __future__ import annotations

import time
from typing import Any

from election.training.recorder import RunRecorder
from election.training.runs import Progress
from master import checkpoint
from master.rounds import RoundsClosed, TooFewVotes
from master.service import MasterService
from wire.messages import RoundUpdate, payload_from_core, payload_nbytes, payload_to_core


def make_checkpoint(
    service: MasterService,
    recorder: RunRecorder,
    update: RoundUpdate | None,
    history: list[tuple[int, dict[str, float]]],
) -> checkpoint.MasterCheckpoint:
    """Everything to resume after round ``service.model_round - 1`` (call under model_lock)."""
    last = None
    if update is not None:
        last = (
            update.round,
            update.digest,
            payload_to_core(update.payload),
            update.votes,
            update.abstentions,
        )
    return checkpoint.MasterCheckpoint(
        run_id=service.run_id,
        secret=service.secret,
        config_json=service.config_json,
        next_round=service.model_round,
        replica_state=service.node.replica.state_bytes(),
        run_dir=str(recorder.run_dir),
        last_update=last,
        evals=list(history),
        counters=service.metrics.snapshot(),
    )


def run_rounds(
    service: MasterService,
    recorder: RunRecorder,
    *,
    history: list[tuple[int, dict[str, float]]],
    progress: bool = False,
) -> dict[str, Any]:
    """Run every remaining round, then write and return the summary."""
    setup, rounds, metrics, opts = service.setup, service.rounds, service.metrics, service.options
    scheme, total, n = setup.scheme, setup.total_steps, setup.cfg.n
    bar = Progress(total, f"master/grpc {setup.cfg.code}", enabled=progress)
    received = 0.0
    step = rounds.open_round
    try:
        for step in range(rounds.open_round, total):
            payloads = rounds.collect(step)
            started = time.perf_counter()
            votes = [service.decode(p) for p in payloads]
            present = sum(p is not None for p in payloads)
            received += sum(payload_nbytes(p) for p in payloads if p is not None)
            with service.model_lock:
                data = service.node.round(step, votes)
                digest = service.node.replica.digest()
                service.model_round = step + 1
                done = step + 1
                if done % setup.cfg.eval_every == 0 or done == total:
                    values = service.node.replica.evaluate()
                    recorder.log_eval(done, float("nan"), values)
                    history.append((done, values))
                    metrics.set("accuracy", values[recorder.metric_name])
            update = RoundUpdate(
                round=step,
                digest=digest,
                payload=payload_from_core(scheme, data, update=True),
                votes=present,
                abstentions=n - present,
            )
            if opts.checkpoint_dir and (done % opts.checkpoint_every == 0 or done == total):
                with service.model_lock:
                    ckpt = make_checkpoint(service, recorder, update, history)
                checkpoint.save(opts.checkpoint_dir, ckpt)
            rounds.publish(update)
            service.head = (step + 1, digest)  # GetStatus: round step + 1 is open now
            elapsed = time.perf_counter() - started
            metrics.inc("rounds")
            metrics.inc("abstentions", n - present)
            metrics.set("current_round", done)
            metrics.observe_round(elapsed)
            service.log.event(
                "round",
                round=step,
                votes=present,
                abstentions=n - present,
                ms=round(elapsed * 1000, 2),
                digest=digest[:16],
            )
            bar.update(done)
            if opts.pace_s > 0:
                time.sleep(max(0.0, opts.pace_s - elapsed))
    except TooFewVotes as exc:  # resumable: checkpoint the state the round started from
        bar.close()
        if opts.checkpoint_dir:
            with service.model_lock:
                ckpt = make_checkpoint(service, recorder, rounds.latest_update(), history)
            checkpoint.save(opts.checkpoint_dir, ckpt)
        service.log.event(
            "stopped",
            reason="too_few_votes",
            round=exc.round,
            votes=exc.votes,
            min_votes=rounds.min_votes,
            checkpoint=opts.checkpoint_dir,
        )
        raise
    except BaseException as exc:
        bar.close()
        if not isinstance(exc, KeyboardInterrupt | SystemExit | RoundsClosed):  # resumable
            recorder.fail(exc, step)
        raise
    bar.close()
    fetched = rounds.wait_final_fetched(n, opts.linger_s)
    service.log.event("finished", all_fetched=fetched, rounds=total)
    done_rounds = max(1, total)
    extra = {
        "dim": service.dim,
        "run_id": service.run_id,
        "wire_bytes_per_round": received / done_rounds,
        "wire_bytes_per_coord_per_vote": received / done_rounds / n / service.dim,
        "abstentions": int(metrics.snapshot().get("abstentions", 0)),
        "rejected": {
            k[len("rejected_") :]: int(v)
            for k, v in metrics.snapshot().items()
            if k.startswith("rejected_") and v
        },
    }
    return recorder.finish(service.node.replica, total, extra)


def resume_recorder(recorder: RunRecorder, history: list[tuple[int, dict[str, float]]]) -> None:
    """Replay the evaluations of a checkpoint into a fresh recorder (same run folder)."""
    for step, values in history:
        recorder.log_eval(step, float("nan"), values)
