"""What the integration tests share: a step's result (`Run`) and what a step leaves behind.

The fixtures that run the step live in conftest.py, under the names both step suites use
(tests/shared.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.shared import CONFIG_PREFIX, StepResult


def leftover_docker_configs(runner_temp: str) -> set[str]:
    """Temporary Docker config folders of the action (they hold a registry token).

    The action keeps them in the job's RUNNER_TEMP, so this looks only at the run's own
    folder: other runs on the machine cannot make a test fail or pass.
    """
    return {p.name for p in Path(runner_temp).glob(CONFIG_PREFIX + "*")}


@dataclass
class Run(StepResult):
    """What one in-process run of the action left behind."""

    stdout: str
