"""Fixtures shared by the unit tests."""

from __future__ import annotations

import os

import pytest

from election.votes import native
from election.votes.majority import NATIVE_AVAILABLE


@pytest.fixture(params=["native", "numpy"])
def executor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test under one vote executor; native is required when ELECTION_REQUIRE_NATIVE=1."""
    if request.param == "native" and not NATIVE_AVAILABLE:
        if os.environ.get("ELECTION_REQUIRE_NATIVE") == "1":
            pytest.fail("the native vote kernel was not built (ELECTION_REQUIRE_NATIVE=1)")
        pytest.skip("native vote kernel not built (no C compiler at install time)")
    monkeypatch.setattr(native, "default_executor", request.param)
    return str(request.param)
