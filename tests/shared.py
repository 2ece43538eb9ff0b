"""What the integration and end-to-end suites share about running the action as a step.

Both suites run the action as a workflow step, in-process (tests/integration) or with
`docker run` as the runner does (tests/e2e), under the same fixture names:

- `run_action`: the step runner; each suite's conftest.py says how it runs the step, and every
  run goes through the leak check (tests/leaks.py) and returns the suite's `Run` (defined, with
  the suite's other shared helpers, in its `steps.py`: test modules import from there, never
  from a conftest or from another test module);
- `hello_app`: a copy of examples/hello as the job's workspace (tests/conftest.py);
- `busybox_image`: the local stand-in its Dockerfile builds from (tests/conftest.py);
- `cleanup_groups`: names of container groups the test creates, removed afterwards with the
  action's own `mode: delete` through the suite's `run_action` (tests/conftest.py).

Light on imports: the unit suite's conftest files load this module too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.runner_log import Step

# The local stand-in for busybox (built by scripts/base-images.sh); examples/hello builds on it.
BUSYBOX_IMAGE = "acr-action-local/busybox"
# The local stand-in for python:3.11-slim-bookworm (scripts/base-images.sh).
PYTHON_IMAGE = "acr-action-local/python:3.11-slim-bookworm"
# The action's temporary Docker config folders (they hold a registry token).
CONFIG_PREFIX = "acr-action-docker-"


def in_ci() -> bool:
    """Whether this run is CI's (`CI=true`), where a suite that cannot run is a failure."""
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere, with `reason`."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this suite must run, not skip)", pytrace=False)
    pytest.skip(reason)


@dataclass
class StepResult:
    """What every run of the action as a step leaves, in either suite (each suite's `Run` adds
    what its way of running shows: the in-process `stdout`, the container's `log`)."""

    exit_code: int
    outputs: dict[str, str]
    summary: str
    # What the runner makes of the step (tests/runner_log.py). Not in repr: it holds the masks,
    # and pytest prints the repr of a value in a failed assertion.
    seen: Step = field(repr=False)

    @property
    def shown(self) -> str:
        """Everything a reader of the job sees: the log and summary as the runner shows them
        (masks applied as it applies them, tests/runner_log.py), and the outputs."""
        return self.seen.shown
