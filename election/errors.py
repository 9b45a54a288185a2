"""The core's error family.

Every error a user can cause derives from :class:`ElectionError`; the CLI prints its message as
one line and exits non-zero instead of showing a traceback.
"""


class ElectionError(Exception):
    """Base class for errors caused by bad input or configuration."""


class ConfigError(ElectionError, ValueError):
    """A configuration value broke a rule; the message names the value and the rule."""


class CodeError(ElectionError, ValueError):
    """An allocation matrix is malformed or a code cannot be built for the given (n, b)."""


class VoteFormatError(ElectionError, ValueError):
    """A packed vote's bytes or length do not match the documented layout."""


class DataError(ElectionError):
    """A dataset's files are missing or malformed."""
