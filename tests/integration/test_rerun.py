"""A rerun of the same commit is a no-op for every trigger: same image digest, no ACI update.

The workspace is a real actions/checkout result (a depth-1 fetch, tests/harness/checkout.py),
and the step's PATH holds only the docker CLI, as in the action image, which has no git: the
image's `created` time must come from `.git` itself. Only `push` events carry a commit time in
their payload; `pull_request`, `workflow_dispatch` and `schedule` do not.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from localazure.server import Emulator
from tests.harness.checkout import check_out, origin_repository
from tests.harness.workflow import Event

from .steps import Run

pytestmark = pytest.mark.docker

COMMITTED = "2026-11-20T08:15:00+00:00"


def image_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The step's PATH as in the action image: a docker CLI, no git."""
    tools = tmp_path / "image-bin"
    tools.mkdir()
    (tools / "docker").symlink_to("/usr/bin/docker")  # Debian's CLI: BuildKit without buildx
    monkeypatch.setenv("PATH", str(tools))


@pytest.mark.parametrize(
    ("event_name", "pr_number"),
    [
        pytest.param("push", None, id="push"),
        pytest.param("pull_request", 92, id="pull_request"),
        pytest.param("workflow_dispatch", None, id="workflow_dispatch"),
        pytest.param("schedule", None, id="schedule"),
    ],
)
def test_rerun_of_the_same_commit_is_a_noop(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cleanup_groups: list[str],
    event_name: str,
    pr_number: int | None,
) -> None:
    name = f"rerun-{event_name.replace('_', '-')}"
    cleanup_groups.append(name)
    origin = tmp_path / "origin"
    sha = origin_repository(hello_app, origin, committed=COMMITTED, commits=2)
    workspace = tmp_path / "checkout"
    check_out(origin, workspace, sha, pull_request=pr_number)
    event = Event(name=event_name, sha=sha, pr_number=pr_number)
    image_path(tmp_path, monkeypatch)
    assert not any(Path(d, "git").exists() for d in os.environ["PATH"].split(os.pathsep))

    first = run_action(event=event, inputs={"name": name}, workspace=workspace)
    assert first.exit_code == 0, first.stdout[-3000:]
    assert first.outputs["name"] == name
    puts = azure.count("PUT", f"/containerGroups/{name}")
    time.sleep(1.1)  # `created` is to the second: a wall-clock time would differ now

    again = run_action(event=event, inputs={"name": name}, workspace=workspace)

    assert again.exit_code == 0, again.stdout[-3000:]
    assert again.outputs["digest"] == first.outputs["digest"]
    assert "0 layer(s) uploaded" in again.stdout
    assert "plan: noop" in again.stdout
    assert azure.count("PUT", f"/containerGroups/{name}") == puts
