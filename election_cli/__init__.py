"""The ``election`` command line, outside the core: :mod:`election_cli.main` builds the parser
from the subcommand modules in :mod:`election_cli.commands` (train, compare, paper, codes,
bench, mpi and the gRPC services). ``election`` (the console script) and ``python -m election``
both start :func:`election_cli.main.main`.
"""
