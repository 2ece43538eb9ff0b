"""In the action image (no git), a rerun of one checked-out commit is a no-op for every trigger.

The workspace is made with the git commands of actions/checkout (tests/harness/checkout.py); the
image reads the commit time from that `.git` without a git binary.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from localazure.server import Emulator
from tests.harness.checkout import check_out, origin_repository
from tests.harness.workflow import Event

from .steps import Run, hello_inputs

pytestmark = pytest.mark.docker


@pytest.mark.parametrize(
    ("event_name", "pr_number"),
    [
        pytest.param("pull_request", 93, id="pull_request"),
        pytest.param("workflow_dispatch", None, id="workflow_dispatch"),
        pytest.param("schedule", None, id="schedule"),
    ],
)
def test_rerun_of_a_checked_out_commit_is_a_noop(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Path,
    tmp_path: Path,
    cleanup_groups: list[str],
    event_name: str,
    pr_number: int | None,
) -> None:
    name = f"e2e-rerun-{event_name.replace('_', '-')}"
    cleanup_groups.append(name)
    sha = origin_repository(
        hello_app, tmp_path / "origin", committed="2026-11-20T08:15:00+00:00", commits=2
    )
    workspace = tmp_path / "checkout"
    check_out(tmp_path / "origin", workspace, sha, pull_request=pr_number)
    event = Event(name=event_name, sha=sha, pr_number=pr_number)
    inputs = hello_inputs(name=name)

    first = run_action(event=event, inputs=inputs, workspace=workspace)
    assert first.exit_code == 0, first.log[-3000:]
    puts = azure.count("PUT", f"/containerGroups/{name}")

    again = run_action(event=event, inputs=inputs, workspace=workspace)

    assert again.exit_code == 0, again.log[-3000:]
    assert again.outputs["digest"] == first.outputs["digest"]
    assert "plan: noop" in again.log
    assert azure.count("PUT", f"/containerGroups/{name}") == puts
