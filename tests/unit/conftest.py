"""Fixtures of the unit layer: no network, no Docker, the runner's files in `tmp_path`.

The unit suite collects and passes with only the action's own dependencies
(requirements/action.lock) and pytest installed; `test_layers.py` keeps it so.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection attempt fails the test: a unit test never reaches the network, and input
    validation happens before any cloud call."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network call attempted: {args[:1]}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def runner_files(tmp_path: Path) -> dict[str, str]:
    """A step's GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files."""
    (tmp_path / "output").touch()
    (tmp_path / "summary").touch()
    return {
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
