#!/usr/bin/env python3
"""Container healthcheck: the standard gRPC health service (grpc.health.v1.Health/Check).

Exit 0 when the service answers SERVING, 1 otherwise (Docker's HEALTHCHECK contract).

Which address is checked:
- ``ELECTION_HEALTH_ADDRESS`` (host:port) if set; ``none`` disables the check (exit 0);
- else, in a master container (PID 1 runs ``election master``), ``127.0.0.1:$ELECTION_PORT``;
- else (worker, adversary, one-shot jobs) there is no server to ask: exit 0 while running.

With ``ELECTION_TLS_CA`` set the check speaks TLS, presenting ``ELECTION_TLS_CERT`` /
``ELECTION_TLS_KEY`` as its client certificate (mTLS) and expecting the server certificate to
name ``ELECTION_HEALTH_SERVER_NAME`` (default ``localhost``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TIMEOUT_S = 3.0  # below the HEALTHCHECK --timeout of the Dockerfile (5 s)


def pid1_role() -> str:
    """The role word of the container's main process (``master``, ``worker``, ...), or ""."""
    try:
        argv = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    words = [a.decode(errors="replace") for a in argv if a]
    for role in ("master", "worker", "adversary"):
        if role in words:
            return role
    return ""


def target_address() -> str | None:
    explicit = os.environ.get("ELECTION_HEALTH_ADDRESS", "").strip()
    if explicit:
        return None if explicit.lower() == "none" else explicit
    if pid1_role() == "master":
        return f"127.0.0.1:{os.environ.get('ELECTION_PORT', '50051')}"
    return None


def check(address: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    ca = os.environ.get("ELECTION_TLS_CA", "")
    if ca:
        cert, key = os.environ.get("ELECTION_TLS_CERT", ""), os.environ.get("ELECTION_TLS_KEY", "")
        creds = grpc.ssl_channel_credentials(
            root_certificates=Path(ca).read_bytes(),
            private_key=Path(key).read_bytes() if key else None,
            certificate_chain=Path(cert).read_bytes() if cert else None,
        )
        name = os.environ.get("ELECTION_HEALTH_SERVER_NAME", "localhost")
        options = [("grpc.ssl_target_name_override", name)]
        channel = grpc.secure_channel(address, creds, options=options)
    else:
        channel = grpc.insecure_channel(address)
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT_S)
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def main() -> int:
    address = target_address()
    if address is None:
        return 0
    try:
        ok = check(address)
    except Exception as exc:  # any failure is "unhealthy"; say why for `docker inspect`
        print(f"unhealthy: {address}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"{address}: {'SERVING' if ok else 'NOT_SERVING'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
