"""The master (parameter server) service: round state, gRPC servicer, checkpoints, metrics.

Run it with ``python -m master`` or ``election master``; ``master.cluster.train_grpc_cluster``
starts a whole local cluster of real processes on loopback. See docs/grpc.md.
"""
