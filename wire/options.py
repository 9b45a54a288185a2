"""Channel and server options: explicit message-size limits and keepalive settings.

Sizes: a payload travels in chunks of at most ``CHUNK_BYTES`` (4 MiB); the gRPC limit is set
explicitly to ``MAX_MESSAGE_BYTES`` (8 MiB) on both sides, so a chunk plus its header always
fits and a larger single message is refused with RESOURCE_EXHAUSTED. A dense ResNet-50 vote
(23.5M coordinates, 2.9 MB) is one message; snapshots are many.

Keepalive: clients ping every 30 s on idle connections (so a dead master is noticed while a
worker long-polls); the server accepts pings as often as every 10 s. Client interval >= server
minimum, so the server never answers GOAWAY "too_many_pings".
"""

from __future__ import annotations

MiB = 1 << 20
DEFAULT_PORT = 50051  # the master's gRPC port (workers and adversaries dial it by default)
CHUNK_BYTES = 4 * MiB  # payload bytes per stream message
MAX_MESSAGE_BYTES = 8 * MiB  # explicit gRPC send/receive limit, both sides
CLIENT_KEEPALIVE_MS = 30_000  # client ping interval on idle connections
KEEPALIVE_TIMEOUT_MS = 10_000  # a ping unanswered this long closes the connection
SERVER_MIN_PING_INTERVAL_MS = 10_000  # the server tolerates pings this often (< client interval)

Options = list[tuple[str, int | str]]


def _limits(max_message_bytes: int) -> Options:
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


def server_options(*, max_message_bytes: int = MAX_MESSAGE_BYTES) -> Options:
    return _limits(max_message_bytes) + [
        ("grpc.keepalive_time_ms", 60_000),  # the server pings idle clients every minute
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", SERVER_MIN_PING_INTERVAL_MS),
        ("grpc.http2.min_ping_interval_without_data_ms", SERVER_MIN_PING_INTERVAL_MS),
        ("grpc.http2.max_ping_strikes", 0),  # never GOAWAY a client for pinging
        ("grpc.so_reuseport", 0),  # a second master on the same port fails loudly
    ]


def channel_options(
    *, max_message_bytes: int = MAX_MESSAGE_BYTES, server_name: str | None = None
) -> Options:
    options = _limits(max_message_bytes) + [
        ("grpc.keepalive_time_ms", CLIENT_KEEPALIVE_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),  # keep pinging during long polls
        ("grpc.enable_retries", 0),  # retries are explicit (worker backoff), never hidden
    ]
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    return options
