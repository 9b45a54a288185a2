"""A delivery counts only once the update was written to a live stream (real master, port 0).

Slot 0's long polls of the last round are abandoned: opened in waves while the other slots'
votes are in, all cancelled, and slot 0's own vote closes the round right after. A server that
keeps waiting for a cancelled poll and counts the update as delivered once it exists (the
thread-pool server did: its poll re-checked the call only every second) would then log
``all_fetched: true`` and exit. The master must keep lingering until slot 0 really fetches the
update, and then stop with ``all_fetched: true``.
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import numpy as np

from election.votes import pack_ternary
from tests.integration.grpc_helpers import LiveMaster, live_master, small_config
from wire import serde
from wire.messages import Credentials, JoinClaim, UpdateQuery, Vote
from worker.client import MasterClient

STEPS, LINGER_S = 2, 30.0
POLL_WAVES_S = (0.6, 0.3, 0.1)  # polls opened this long before they are all cancelled
POLLS_PER_WAVE = 10
STILL_LINGERING_S = 2.0  # the master must still wait this long after the other slots fetched


def vote_all(  # type: ignore[no-untyped-def]
    live: LiveMaster,
    clients: list[MasterClient],
    creds: list[Credentials],
    r: int,
    slots: range | None = None,
):
    for slot in slots if slots is not None else range(len(clients)):
        client, cred = clients[slot], creds[slot]
        values = np.where(np.arange(live.service.dim) % (slot + 2) == 0, -1, 1).astype(np.int8)
        client.submit(Vote(cred, r, pack_ternary(values)))


def fetch(live: LiveMaster, client: MasterClient, cred: Credentials, r: int) -> str:
    update = client.get_update(
        UpdateQuery(cred, r), timeout_s=30.0, max_nbytes=4 * live.service.dim + 64
    )
    return update.digest


def test_an_abandoned_final_poll_is_not_a_delivery_and_the_master_lingers(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, steps=STEPS)
    with live_master(cfg, tmp_path, run=True, linger_s=LINGER_S, round_deadline_s=60.0) as live:
        clients = [MasterClient(live.target) for _ in range(cfg.n)]
        creds = []
        for slot, client in enumerate(clients):
            a = client.join(JoinClaim(slot, f"test-{slot}", live.join_secret))
            creds.append(Credentials(a.run_id, a.slot, a.token))
        vote_all(live, clients, creds, 0)
        for slot in range(cfg.n):
            fetch(live, clients[slot], creds[slot], 0)
        last = STEPS - 1
        stub = live.stub()
        query = serde.update_query_to_proto(UpdateQuery(creds[0], last))
        vote_all(live, clients, creds, last, range(1, cfg.n))  # all but slot 0's vote
        polls = []
        for wave, next_wave in zip(POLL_WAVES_S, (*POLL_WAVES_S[1:], 0.0), strict=True):
            polls += [stub.GetUpdate(query, timeout=30.0) for _ in range(POLLS_PER_WAVE)]
            time.sleep(wave - next_wave)  # long polls of the last round, waiting ...
        for poll in polls:
            poll.cancel()  # ... abandoned while they wait
        vote_all(live, clients, creds, last, range(1))  # the last round closes right after
        digests = {fetch(live, clients[s], creds[s], last) for s in range(1, cfg.n)}
        time.sleep(STILL_LINGERING_S)
        assert not live.events("finished"), "the master stopped before slot 0 had the update"
        assert not live.summary
        digests.add(fetch(live, clients[0], creds[0], last))  # slot 0 really fetches now
        deadline = time.monotonic() + 20.0
        while not live.events("finished") and time.monotonic() < deadline:
            time.sleep(0.05)
        for client in clients:
            client.close()
        (finished,) = live.events("finished")
        assert finished["all_fetched"] is True
        assert live.error is None
        assert len(digests) == 1
    with grpc.insecure_channel(live.target) as gone:  # and the server is down afterwards
        try:
            grpc.channel_ready_future(gone).result(timeout=1.0)
            reachable = True
        except grpc.FutureTimeoutError:
            reachable = False
    assert not reachable
