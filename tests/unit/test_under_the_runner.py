"""The action under the runner's container contract: temp folders, job tokens, cancel timing.

actions/runner (ContainerActionHandler.cs, ContainerInfo.cs, ProcessInvoker.cs): RUNNER_TEMP is
/github/runner_temp only on runners that mount it; ACTIONS_RUNTIME_TOKEN is the ID-token request
token; a cancel is SIGINT, SIGTERM 7.5 s later, then a kill 2.5 s after that.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from acr_action import orchestrate
from acr_action.errors import InputError

# --------------------------------------------------------------------------- temp folders


def test_mounted_runner_temp_holds_the_docker_config(tmp_path: Path) -> None:
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir()
    env = {"RUNNER_TEMP": str(runner_temp), "TMPDIR": str(tmp_path)}

    assert orchestrate.docker_config_root(env, ".", cwd=str(tmp_path / "ws")) == str(runner_temp)


@pytest.mark.parametrize(
    "tmpdir",
    [
        pytest.param(None, id="no-tmpdir"),
        pytest.param("ws/.tmp", id="tmpdir-in-the-build-context"),
        pytest.param("ws", id="tmpdir-is-the-build-context"),
    ],
)
def test_unmounted_runner_temp_falls_back_outside_the_build_context(
    tmp_path: Path, tmpdir: str | None
) -> None:
    # An older runner: RUNNER_TEMP is the host's path, absent in the container.
    workspace = tmp_path / "ws"
    (workspace / ".tmp").mkdir(parents=True)
    env = {"RUNNER_TEMP": "/home/runner/work/_temp"}
    if tmpdir:
        env["TMPDIR"] = str(tmp_path / tmpdir)

    root = Path(orchestrate.docker_config_root(env, ".", cwd=str(workspace)))

    assert root.is_dir()
    assert not root.is_relative_to(workspace)


def test_runner_temp_inside_the_build_context_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    env = {"RUNNER_TEMP": str(tmp_path / "tmp")}

    root = orchestrate.docker_config_root(env, str(tmp_path), cwd=str(tmp_path))

    assert not Path(root).is_relative_to(tmp_path)


def test_a_context_holding_every_temp_folder_is_refused() -> None:
    with pytest.raises(InputError) as raised:
        orchestrate.docker_config_root({"RUNNER_TEMP": "/tmp", "TMPDIR": "/tmp"}, "/", cwd="/")

    assert "`context`" in raised.value.render()


# --------------------------------------------------------------------------- job tokens


def test_the_docker_cli_gets_neither_job_token(tmp_path: Path) -> None:
    token = "the-system-connection-access-token"
    env = {
        "ACTIONS_RUNTIME_TOKEN": token,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": token,
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.example.localhost/",
        "INPUT_REGISTRY-PASSWORD": "pw",
        "GITHUB_REPOSITORY": "octo-org/iris-api",
        "PATH": "/usr/bin",
    }

    build_env = orchestrate.docker_cli_env(env, tmp_path)

    assert token not in build_env.values()
    assert not {name for name in build_env if name.startswith(("ACTIONS_", "INPUT_"))}
    assert build_env["GITHUB_REPOSITORY"] == "octo-org/iris-api"
    assert build_env["DOCKER_CONFIG"] == str(tmp_path)
