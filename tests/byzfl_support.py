"""The optional ByzFL extra in tests: skip where it is not installed, fail where CI requires it.

CI's ByzFL tier installs the pinned extra and sets ``ELECTION_REQUIRE_BYZFL=1``, so a test that
would silently skip there fails instead.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

HAVE_BYZFL = importlib.util.find_spec("byzfl") is not None
INSTALL_HINT = "pip install -e '.[byzfl]'"


def need_byzfl() -> None:
    """Skip the calling test without the extra (fail instead under ELECTION_REQUIRE_BYZFL=1)."""
    if HAVE_BYZFL:
        return
    if os.environ.get("ELECTION_REQUIRE_BYZFL") == "1":
        pytest.fail(f"ELECTION_REQUIRE_BYZFL=1 but byzfl is not installed ({INSTALL_HINT})")
    pytest.skip(f"optional extra byzfl not installed ({INSTALL_HINT})")


@pytest.fixture
def byzfl_installed() -> None:
    """Fixture form of :func:`need_byzfl` (``@pytest.mark.usefixtures("byzfl_installed")``)."""
    need_byzfl()
