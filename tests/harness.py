"""What the integration and end-to-end suites share about running the action as a step.

Light on imports: the unit suite's conftest files load this module too.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """Whether this run is CI's (`CI=true`), where a suite that cannot run is a failure."""
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere, with `reason`."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this suite must run, not skip)", pytrace=False)
    pytest.skip(reason)
