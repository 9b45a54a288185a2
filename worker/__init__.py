"""The worker service: join the master, vote every round, apply the update, resync on mismatch.

Run it with ``python -m worker`` or ``election worker``. See docs/grpc.md.
"""
