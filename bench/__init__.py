"""Benchmarks: each module exposes ``register(subparsers)`` for ``election bench NAME`` and
prints one JSON object. Figures are recorded in BENCHMARKS.md with the machine they ran on."""
