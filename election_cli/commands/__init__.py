"""CLI subcommands. Each module exposes ``register(subparsers)``; the parser it adds sets
``func`` (``Callable[[argparse.Namespace], int]``) as its default."""
