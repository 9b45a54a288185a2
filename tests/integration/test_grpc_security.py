"""mTLS end to end with certificates the test makes; plaintext and certificate-less clients are
refused; the health service and the Prometheus endpoint answer."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from master.cluster import LocalCluster
from tests.integration.grpc_helpers import make_certificates, reference_sha, small_config
from wire.options import channel_options
from wire.security import TlsFiles, channel_credentials
from worker.client import MasterClient, Unreachable


def test_mutual_tls_cluster_trains_the_same_model_and_refuses_plaintext(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path / "certs")
    server = TlsFiles(str(certs["server.pem"]), str(certs["server.key"]), str(certs["ca.pem"]))
    client = TlsFiles(str(certs["client.pem"]), str(certs["client.key"]), str(certs["ca.pem"]))
    cfg = small_config(tmp_path, attack="reverse", steps=4)
    metrics_file = tmp_path / "metrics.port"
    cluster = LocalCluster(
        cfg,
        tmp_path / "cluster",
        master_args=[
            "--quiet",
            "--tls-cert",
            server.cert,
            "--tls-key",
            server.key,
            "--tls-ca",
            server.ca,
            "--metrics-port",
            "0",
            "--metrics-port-file",
            str(metrics_file),
            "--startup-timeout",
            "120",
        ],
        client_args=["--tls-cert", client.cert, "--tls-key", client.key, "--tls-ca", client.ca],
    )
    try:
        cluster.start_master()
        target = cluster.target
        # plaintext client: the TLS handshake never completes
        with pytest.raises(Unreachable):
            MasterClient(target).status(timeout_s=3.0)
        # TLS client without a certificate: refused by mTLS
        with pytest.raises(Unreachable):
            MasterClient(target, tls=TlsFiles(ca=client.ca)).status(timeout_s=3.0)
        # a client with a certificate: served, and healthy
        status = MasterClient(target, tls=client).status()
        assert status.round == 0 and status.n_slots == cfg.n
        channel = grpc.secure_channel(target, channel_credentials(client), channel_options())
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="election.v1.Election"), timeout=5
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        channel.close()
        port = int(metrics_file.read_text())
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert "election_rounds_total 0" in text
        assert 'election_votes_rejected_total{reason="unauthenticated"} 0' in text
        for slot in range(cfg.n):
            cluster.start_slot(slot)
        summary = cluster.wait(240.0)
    finally:
        cluster.stop()
    assert summary["model_sha256"] == reference_sha(cfg, tmp_path)
