"""The adversary service: a Byzantine worker (docs/design.md, Sec. 1, Sec. 9).

It joins exactly like a worker and sends what the configured core attack produces
(:mod:`election.attacks` via ``WorkerNode(byzantine=True)``), optionally mixed with malformed
traffic (:mod:`adversary.faults`) that the master must reject, count and survive.
"""
