"""From an empty subscription: `setup` on the laptop, then the deploy-on-merge step as the runner
runs the action container, then `doctor` green."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from acr_action.__main__ import main
from localazure.server import Emulator
from tests.harness.container_action import RunnerFolders, run_container_action, with_action_defaults
from tests.harness.from_empty import (
    PULL_SECRET,
    empty_seed,
    inputs_from,
    laptop,
    laptop_env,
    set_up,
)
from tests.harness.workflow import Event, step_env
from tests.leaks import as_the_runner_shows, assert_nothing_leaked

from .conftest import complete_runner_env
from .steps import ROOT


def test_setup_then_the_container_action_deploys_then_doctor_is_green(
    action_image: str,
    hello_app: Path,
    busybox_image: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Emulator(empty_seed(), workdir=tmp_path / "azure") as azure:
        admin = azure.seed.apps[0]
        for name, value in laptop_env(azure).items():
            if name != "PATH":
                monkeypatch.setenv(name, value)
        workflows = tmp_path / "repo" / ".github" / "workflows"
        variables = set_up(azure, workflows)

        event = Event(environment="production")
        folders = RunnerFolders(tmp_path / "runner" / "_temp", hello_app)
        inputs = {
            **inputs_from(variables),
            "build-args": f"BUSYBOX_IMAGE={busybox_image}",
            "timeout": "3m",
        }
        env = step_env(azure, folders.temp, event=event, inputs=inputs, workspace=hello_app)
        env = with_action_defaults(complete_runner_env(env, event, folders), ROOT / "action.yml")
        result = run_container_action(action_image, env, folders, azure.ca_path)
        files = folders.file_commands
        seen = as_the_runner_shows(result.log, files / "output", files / "step_summary")
        try:
            assert result.exit_code == 0, result.log[-3000:]
            assert seen.outputs["url"].startswith("http://")
            secrets = {PULL_SECRET, str(admin.secret), env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]}
            assert_nothing_leaked(seen.shown, secrets, "the deploy step")
            assert "Ready to deploy" in laptop(azure, "doctor", "--workflows", str(workflows))
        finally:
            deleted = main(
                {**env, "INPUT_MODE": "delete", "PATH": os.environ["PATH"]}, out=io.StringIO()
            )
            assert deleted == 0
