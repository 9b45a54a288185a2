"""Transport-generic master and worker loops (the same rounds as the in-process fast path).

master: for each step: gather payloads (missing/malformed = abstention) -> aggregate ->
        optimizer step -> broadcast (update, digest after update) -> evaluate every K steps
worker: for each step: compute its vote -> send -> receive the update -> apply -> check digest
The same configuration gives the same ``model_sha256`` here, over any transport, as in
:func:`election.training.loop.train_inprocess`.
"""

from __future__ import annotations

from typing import Any

from election.training.nodes import MasterNode, WorkerNode
from election.training.recorder import RunRecorder
from election.training.runs import Progress
from election.training.setup import Setup
from election.transport.base import MasterTransport, WorkerTransport

DEFAULT_ROUND_TIMEOUT_S = 60.0  # a vote missing after this long counts as an abstention


def run_master(
    setup: Setup,
    transport: MasterTransport,
    *,
    round_timeout_s: float = DEFAULT_ROUND_TIMEOUT_S,
    progress: bool = False,
    node: MasterNode | None = None,
) -> dict[str, Any]:
    """Run every round as the master; ``node`` may be built beforehand (threads share torch's
    global RNG, so a threaded cluster builds its nodes one after another)."""
    node = node or MasterNode(setup)
    recorder = RunRecorder(setup)
    bar = Progress(setup.total_steps, f"master/{setup.cfg.transport}", enabled=progress)
    received_bytes, abstentions, step = 0, 0, 0
    try:
        for step in range(setup.total_steps):
            payloads = transport.gather(step, round_timeout_s)
            received_bytes += sum(len(p) for p in payloads if p)
            votes = [node.decode(p) for p in payloads]
            abstentions += sum(v is None for v in votes)
            update = node.round(step, votes)
            transport.broadcast(step, update, node.replica.digest())
            done = step + 1
            if done % setup.cfg.eval_every == 0 or done == setup.total_steps:
                recorder.log_eval(done, float("nan"), node.replica.evaluate())
            bar.update(done)
    except BaseException as exc:
        bar.close()
        recorder.fail(exc, step)
        raise
    bar.close()
    per_round = received_bytes / max(1, setup.total_steps)
    return recorder.finish(
        node.replica,
        setup.total_steps,
        {
            "dim": node.replica.dim,
            "wire_bytes_per_round": per_round,
            "wire_bytes_per_coord_per_vote": per_round / setup.cfg.n / node.replica.dim,
            "abstentions": abstentions,
        },
    )


def run_worker(
    setup: Setup,
    slot: int,
    transport: WorkerTransport,
    *,
    round_timeout_s: float = DEFAULT_ROUND_TIMEOUT_S,
    start_step: int = 0,
    node: WorkerNode | None = None,
) -> dict[str, Any]:
    """Run slot ``slot`` to the end; returns its counters (bytes sent, last digest)."""
    node = node or WorkerNode(setup, slot)
    sent_bytes, digest = 0, ""
    for step in range(start_step, setup.total_steps):
        payload = node.vote_bytes(step)
        sent_bytes += len(payload) if payload else 0
        transport.send(step, payload)
        update, digest = transport.receive(step, round_timeout_s)
        node.apply_update_bytes(step, update, digest)
    return {"slot": slot, "sent_bytes": sent_bytes, "digest": digest}
