"""Adapters between the core and the gRPC wire (docs/design.md, Sec. 4).

- :mod:`wire.gen`: code generated from ``proto/`` by ``scripts/gen_proto.sh`` (never edited);
- :mod:`wire.messages`: plain protocol objects (no grpc) the services work with;
- :mod:`wire.serde`: the one symmetric serde module, ``x_to_proto`` / ``x_from_proto``;
- :mod:`wire.errors`: the protocol error family, each with its gRPC status code name;
- :mod:`wire.options`: message-size limits, chunk size, keepalive;
- :mod:`wire.limits`: bounds of string fields and vote payloads, escaping untrusted text;
- :mod:`wire.snapshot`: the language-neutral snapshot layout (manifest + raw LE tensors);
- :mod:`wire.security`: TLS / mTLS credentials, the join secret and per-slot tokens;
- :mod:`wire.jsonlog`: structured JSON-lines logs;
- :mod:`wire.mpi`: the MPI transport (mpi4py), the other wire besides gRPC.

The core (``election/``) never imports this package.
"""
