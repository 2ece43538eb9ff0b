"""What the runner does around a container action, and the action behaving well under each.

actions/runner (`src/Runner.Worker/Handlers/ContainerActionHandler.cs`, `Container/ContainerInfo.cs`,
`src/Runner.Sdk/ProcessInvoker.cs`): host paths in every variable and input become container
paths; `RUNNER_TEMP` is `/github/runner_temp` where the runner mounts it (v2.331.0 and later) and
an unmounted host path on older runners; the ID-token request token is the runtime token; a cancel
is SIGINT, SIGTERM 7.5 s later, then the `docker run` client killed 2.5 s after that.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from localazure.server import Emulator
from tests.harness.container_action import (
    DOCKER,
    SIGINT_WAIT_SECONDS,
    SIGTERM_WAIT_SECONDS,
    RunnerFolders,
    cancel_like_the_runner,
    container_exists,
)
from tests.shared import BUSYBOX_IMAGE, CONFIG_PREFIX

from .steps import Run, assert_deployed, hello_inputs, serves

pytestmark = [pytest.mark.docker, pytest.mark.emulator]


def configs_in_runner_temp(run: Run) -> set[str]:
    """The temporary Docker configs seen directly in the runner's temp folder during the step."""
    return {seen for seen in run.configs_seen if seen.startswith(f"_temp/{CONFIG_PREFIX}")}


def test_inputs_given_as_host_workspace_paths(
    azure: Emulator, run_action: Callable[..., Run], hello_app: Path, cleanup_groups: list[str]
) -> None:
    # `context: ${{ github.workspace }}/web` is a host path in the workflow; the runner rewrites
    # it, like every variable, to the container's /github/workspace/web.
    cleanup_groups.append("hello-e2e-paths")
    web = hello_app / "web"
    web.mkdir()
    for item in ("Dockerfile", "www"):
        (hello_app / item).rename(web / item)

    run = run_action(
        inputs=hello_inputs(
            name="hello-e2e-paths", context=str(web), dockerfile=str(web / "Dockerfile")
        ),
        workspace=hello_app,
    )

    assert_deployed(run, azure, "hello-e2e-paths")
    assert str(hello_app) not in run.log  # the action only ever saw container paths
    assert "hello" in serves(run).lower()


def test_runner_temp_mounted_holds_the_docker_config_for_the_step_only(
    azure: Emulator, run_action: Callable[..., Run], hello_app: Path, cleanup_groups: list[str]
) -> None:
    # Runners since v2.331.0 mount their temp folder at /github/runner_temp, RUNNER_TEMP rewritten.
    cleanup_groups.append("hello-e2e-temp")

    run = run_action(inputs=hello_inputs(name="hello-e2e-temp"), workspace=hello_app)

    assert_deployed(run, azure, "hello-e2e-temp")
    assert configs_in_runner_temp(run), f"no Docker config seen in RUNNER_TEMP: {run.configs_seen}"
    assert run.configs_seen == configs_in_runner_temp(run)  # nowhere else on the host
    # (the step fixture asserts that none is left behind)


@pytest.mark.parametrize(
    "tmpdir",
    [pytest.param(False, id="no-tmpdir"), pytest.param(True, id="tmpdir-in-the-workspace")],
)
def test_runner_temp_unmounted_on_an_older_runner(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Path,
    cleanup_groups: list[str],
    tmpdir: bool,
) -> None:
    # Before v2.331.0 RUNNER_TEMP stays the host's path, which does not exist in the container.
    # A step's `env: TMPDIR: ${{ github.workspace }}/.tmp` must not draw the token there either.
    cleanup_groups.append("hello-e2e-oldtemp")
    step_vars = {}
    if tmpdir:
        (hello_app / ".tmp").mkdir()
        step_vars["TMPDIR"] = str(hello_app / ".tmp")

    run = run_action(
        inputs=hello_inputs(name="hello-e2e-oldtemp"),
        workspace=hello_app,
        runner_temp_mounted=False,
        step_vars=step_vars,
    )

    assert_deployed(run, azure, "hello-e2e-oldtemp")
    # The config stayed inside the container (removed with it), never in a host folder.
    assert not run.configs_seen, f"a Docker config reached the host: {run.configs_seen}"


@pytest.mark.parametrize(
    "mounted",
    [pytest.param(True, id="current-runner"), pytest.param(False, id="older-runner")],
)
def test_context_in_runner_temp(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Path,
    cleanup_groups: list[str],
    mounted: bool,
) -> None:
    # `context: ${{ runner.temp }}/app`: /github/runner_temp/app where the runner mounts its temp
    # folder; elsewhere a host path the container lacks, refused before any call to Azure.
    cleanup_groups.append("hello-e2e-tempctx")

    def app_in_runner_temp(folders: RunnerFolders) -> dict[str, str]:
        shutil.copytree(hello_app, folders.temp / "app")
        return {"context": str(folders.temp / "app")}

    requests_before = len(azure.requests)
    run = run_action(
        inputs=hello_inputs(name="hello-e2e-tempctx"),
        workspace=hello_app,
        runner_temp_mounted=mounted,
        runner_inputs=app_in_runner_temp,
    )

    if mounted:
        assert_deployed(run, azure, "hello-e2e-tempctx")
        return
    assert run.exit_code != 0, run.log[-3000:]
    assert "Invalid inputs: 1 problem in context" in run.log
    assert "/github/runner_temp" in run.log  # says why the folder is missing
    assert str(run.folders.temp / "app") in run.log  # the value given
    assert len(azure.requests) == requests_before, "the local Azure was called"


DOCKER_WRAPPER = """\
#!/bin/sh
# First on the step's PATH: records the environment the action gives the Docker CLI.
env > "$(dirname "$0")/../docker-cli-env.txt"
exec /usr/local/bin/docker "$@"
"""


def test_the_docker_cli_gets_no_job_token(
    azure: Emulator, run_action: Callable[..., Run], hello_app: Path, cleanup_groups: list[str]
) -> None:
    # ACTIONS_RUNTIME_TOKEN is the ID-token request token: a build must get neither. The
    # step fixture's leak detector also fails the step if the record holds either.
    cleanup_groups.append("hello-e2e-cli-env")
    wrapper = hello_app / "bin" / "docker"
    wrapper.parent.mkdir()
    wrapper.write_text(DOCKER_WRAPPER, encoding="utf-8")
    wrapper.chmod(0o755)
    path = f"{hello_app / 'bin'}:/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    run = run_action(
        inputs=hello_inputs(name="hello-e2e-cli-env"), workspace=hello_app, step_vars={"PATH": path}
    )

    assert_deployed(run, azure, "hello-e2e-cli-env")
    names = {
        line.partition("=")[0]
        for line in (hello_app / "docker-cli-env.txt").read_text(encoding="utf-8").splitlines()
    }
    assert "DOCKER_CONFIG" in names  # the wrapper did run the build
    assert "GITHUB_REPOSITORY" in names  # the step's environment otherwise passes
    assert "BUILDX_NO_DEFAULT_ATTESTATIONS" in names  # an unchanged rebuild keeps its digest
    assert not names & {"ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}
    assert not {name for name in names if name.startswith("INPUT_")}


SLOW_BUILD = """\
ARG BUSYBOX_IMAGE=busybox:1.36
FROM ${BUSYBOX_IMAGE}
RUN ["/bin/busybox", "sh", "-c", "echo cancel-point-NONCE; /bin/busybox sleep 300"]
"""


def test_cancel_during_the_build(
    azure: Emulator, run_action: Callable[..., Run], hello_app: Path
) -> None:
    # The runner's cancel: SIGINT to `docker run`, which passes it to the action (PID 1).
    nonce = secrets.token_hex(4)
    (hello_app / "Dockerfile").write_text(SLOW_BUILD.replace("NONCE", nonce), encoding="utf-8")

    run = run_action(
        inputs=hello_inputs(name="hello-e2e-cancel"),
        workspace=hello_app,
        cancel_when=lambda line: f"cancel-point-{nonce}" in line and "echo" not in line,
    )

    # The action ended within the SIGINT window: no SIGTERM, no killed client.
    assert run.cancelled_with == ("SIGINT",), run.log[-3000:]
    assert run.exit_code == 130, run.log[-3000:]
    errors = [line for line in run.log.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, errors
    assert "Cancelled by SIGINT during the image build" in errors[0]
    assert "acr-action cancelled" in run.summary
    assert not run.outputs.get("url")
    assert configs_in_runner_temp(run)  # there was one, and it is gone (the fixture checks)


SLOW_START = '["/bin/busybox", "sh", "-c", "sleep 8; exec /bin/busybox httpd -f -p 80 -h /www"]'


def test_cancel_during_the_readiness_probe_then_rerun_converges(
    azure: Emulator, run_action: Callable[..., Run], hello_app: Path, cleanup_groups: list[str]
) -> None:
    # Cancelled after Azure accepted the group: the rerun with the same inputs finishes the job.
    cleanup_groups.append("hello-e2e-cancel-probe")
    inputs = hello_inputs(name="hello-e2e-cancel-probe", **{"command-line": SLOW_START})
    group_path = "/containerGroups/hello-e2e-cancel-probe"

    cancelled = run_action(
        inputs=inputs, workspace=hello_app, cancel_when=lambda line: "Readiness probe" in line
    )

    assert cancelled.cancelled_with == ("SIGINT",), cancelled.log[-3000:]
    assert cancelled.exit_code == 130, cancelled.log[-3000:]
    errors = [line for line in cancelled.log.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, errors
    assert "Cancelled by SIGINT during the readiness probe" in errors[0]
    puts = azure.count("PUT", group_path)
    assert puts >= 1  # the group was created before the cancel

    rerun = run_action(inputs=inputs, workspace=hello_app)

    assert_deployed(rerun, azure, "hello-e2e-cancel-probe")
    assert "plan: noop" in rerun.log  # nothing left half-done: the group was already right
    assert azure.count("PUT", group_path) == puts
    assert "hello" in serves(rerun).lower()


def test_the_model_kills_only_the_client(action_image: str) -> None:
    # The harness's cancel against the real engine: a PID 1 that ignores SIGINT and SIGTERM (no
    # handler: the kernel drops them for PID 1) sees the whole sequence, and the container
    # outlives its killed `docker run` client, as the runner's cancel leaves it, until it ends.
    name = f"acr-action-e2e-kill-{secrets.token_hex(3)}"
    command = [DOCKER, "run", "--rm", "--name", name, BUSYBOX_IMAGE, "/bin/busybox", "sleep", "60"]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as client:
        try:
            started = time.monotonic()
            while not container_exists(name):
                assert time.monotonic() - started < 30, "the container never started"
                time.sleep(0.1)
            started = time.monotonic()
            sent: list[str] = []
            cancel_like_the_runner(client, sent)
            elapsed = time.monotonic() - started
            client.wait(5)

            assert sent == ["SIGINT", "SIGTERM", "SIGKILL"]
            assert SIGINT_WAIT_SECONDS + SIGTERM_WAIT_SECONDS <= elapsed < 15
            assert container_exists(name), "killing the client removed the container"
            # When the container ends, the daemon removes it (`--rm`), client or no client.
            subprocess.run([DOCKER, "kill", name], capture_output=True, check=False)
            ends = time.monotonic() + 10
            while container_exists(name) and time.monotonic() < ends:
                time.sleep(0.1)
            assert not container_exists(name), "--rm did not remove the ended container"
        finally:
            subprocess.run([DOCKER, "rm", "--force", name], capture_output=True, check=False)
