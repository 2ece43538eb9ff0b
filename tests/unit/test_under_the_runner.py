"""The action under the runner's container contract: temp folders, job tokens, cancel timing.

actions/runner (ContainerActionHandler.cs, ContainerInfo.cs, ProcessInvoker.cs): RUNNER_TEMP is
/github/runner_temp only on runners that mount it; ACTIONS_RUNTIME_TOKEN is the ID-token request
token; a cancel is SIGINT, SIGTERM 7.5 s later, then a kill 2.5 s after that.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acr_action import orchestrate, registry
from acr_action.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


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


def test_builds_carry_no_default_attestation_unless_the_step_asks(tmp_path: Path) -> None:
    # A provenance attestation holds the build's timestamps: every rebuild a new digest.
    assert orchestrate.docker_cli_env({}, tmp_path)["BUILDX_NO_DEFAULT_ATTESTATIONS"] == "1"
    step = {"BUILDX_NO_DEFAULT_ATTESTATIONS": "0"}  # the step's `env:` keeps buildx's default
    assert orchestrate.docker_cli_env(step, tmp_path)["BUILDX_NO_DEFAULT_ATTESTATIONS"] == "0"


# --------------------------------------------------------------------------- cancel timing

STUBBORN_CLI = """\
#!/bin/sh
# A Docker CLI that ignores SIGTERM while its build goes on.
trap '' TERM
echo $$ > "$(dirname "$0")/pid"
echo "#1 [internal] load build definition"
i=0
while [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
"""


def test_a_cancelled_build_is_stopped_within_the_sigint_window(tmp_path: Path) -> None:
    cli = tmp_path / "docker"
    cli.write_text(STUBBORN_CLI, encoding="utf-8")
    cli.chmod(0o755)
    command = [str(cli), "build", "--iidfile", str(tmp_path / "iid"), "."]

    def cancelled_on_first_line(lines: Iterator[str]) -> None:
        next(lines)
        raise KeyboardInterrupt("SIGINT")

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        registry.run_build(command, {"PATH": "/usr/bin:/bin"}, cancelled_on_first_line)
    elapsed = time.monotonic() - started
    pid = (tmp_path / "pid").read_text(encoding="utf-8").strip()
    still_running = Path(f"/proc/{pid}").exists()
    if still_running:
        os.kill(int(pid), signal.SIGKILL)  # the old behaviour's orphan: not left to the machine

    assert not still_running, "the cancelled build's CLI was left running"
    # Stopped well before the runner's SIGTERM (7.5 s after SIGINT), leaving time for cleanup.
    assert elapsed < 5


FORCED_EXIT = """\
import io, sys
from pathlib import Path
from typing import Any
from acr_action import __main__ as entry, registry
from acr_action.runner import Runner

with registry.docker_config("myacr.azurecr.io", "refresh-token", root=sys.argv[1]) as folder:
    print(folder, flush=True)
    # The watchdog's exit (or a second cancel signal) while the run is stuck: no unwinding.
    entry.Cancellation(Runner({}, io.StringIO()))._exit_now()
"""


def test_a_forced_exit_removes_the_docker_config(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FORCED_EXIT), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )

    folder = Path(done.stdout.splitlines()[0])
    assert done.returncode == 130, done.stderr
    assert folder.parent == tmp_path
    assert not folder.exists(), "the registry token's folder outlived the process"


# --------------------------------------------------------------------------- paths in inputs


def build_inputs(workspace: Path, **inputs: str) -> Any:
    """Parsed inputs of a build, on a runner whose workspace is `workspace`."""
    from acr_action.inputs import parse_inputs

    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": "octo-org/iris-api",
        "GITHUB_SHA": "0" * 40,
        "INPUT_MODE": "build",
        "INPUT_RESOURCE-GROUP": "demo-rg",
        "INPUT_REGISTRY": "acractiondemo",
        "INPUT_SUBSCRIPTION-ID": "2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11",
    }
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    return parse_inputs(env)


def test_build_paths_in_the_workspace_pass(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").touch()

    orchestrate.check_build_paths(build_inputs(tmp_path, context="./web"))
    orchestrate.check_build_paths(build_inputs(tmp_path, context=str(tmp_path / "web")))
    orchestrate.check_build_paths(build_inputs(tmp_path, dockerfile="web/Dockerfile"))


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        pytest.param(
            {"context": "/home/runner/work/_temp/ctx"}, "context", id="older-runner-temp-context"
        ),
        pytest.param(
            {"dockerfile": "/home/runner/Dockerfile"}, "dockerfile", id="host-only-dockerfile"
        ),
    ],
)
def test_build_paths_missing_in_the_container_are_input_errors(
    tmp_path: Path, inputs: dict[str, str], named: str
) -> None:
    with pytest.raises(InputError) as raised:
        orchestrate.check_build_paths(build_inputs(tmp_path, **inputs))

    text = raised.value.render()
    assert f"`{named}`" in text
    assert inputs[named] in text  # the value given
    assert "/github/workspace" in text


def test_a_forced_exit_still_names_the_phase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The watchdog's report has no traceback to read: the phase comes from where the signal
    # found the main thread.
    from acr_action import __main__ as entry
    from acr_action.runner import Runner

    monkeypatch.setattr(entry, "EXIT_GRACE_SECONDS", None)  # no watchdog in the test process
    out = io.StringIO()
    cancellation = entry.Cancellation(Runner({}, out))
    cli = tmp_path / "docker"
    cli.write_text('#!/bin/sh\necho "#1 building"\nexec sleep 5\n', encoding="utf-8")
    cli.chmod(0o755)

    def signalled_while_showing(lines: Iterator[str]) -> None:
        next(lines)
        cancellation._handle(signal.SIGINT, sys._getframe())

    with pytest.raises(KeyboardInterrupt):
        registry.run_build(
            [str(cli), "--iidfile", str(tmp_path / "iid")],
            {"PATH": "/usr/bin:/bin"},
            signalled_while_showing,
        )
    code = cancellation.report()  # what the watchdog calls: no exception to read

    assert code == 130
    assert "Cancelled by SIGINT during the image build" in out.getvalue()
