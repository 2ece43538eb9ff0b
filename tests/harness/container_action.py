"""Build the action image and run it the way the GitHub runner runs a Docker container action.

What the runner does, read in actions/runner (`src/Runner.Worker/Handlers/ContainerActionHandler.cs`,
`Container/ContainerInfo.cs`, `Container/DockerCommandManager.cs`, `src/Runner.Sdk/ProcessInvoker.cs`):

- mounts the Docker socket, its temp folder at `/github/runner_temp` (always since v2.331.0;
  older runners do not), `/github/home`, `/github/workflow`, `/github/file_commands` and the
  workspace at `/github/workspace`, which is the working directory;
- rewrites every environment value, inputs included, that is a host path under one of those
  folders to the container's path (`TranslateToContainerPath`: the value equal to the folder or
  starting with it and `/`), so `RUNNER_TEMP` becomes `/github/runner_temp` only where that
  folder is mounted, and `context: ${{ github.workspace }}/app` arrives as `/github/workspace/app`;
- runs `docker run --name <image>_<6 hex> --label <runner label> --workdir /github/workspace --rm`
  with each variable as `-e NAME` (values through the environment, not the command line);
- cancels it with SIGINT to the `docker run` client, then SIGTERM 7.5 s later, then kills the
  client 2.5 s after that; `docker run` forwards the signals to the container's PID 1, and a
  killed client leaves the container running.

Here the container joins the host network, because the local Azure listens on loopback.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DOCKER = "/usr/bin/docker"  # Debian's CLI: BuildKit through DOCKER_BUILDKIT=1, no buildx needed
LOCAL_BUILD_ARGS = {
    "BASE_IMAGE": "acr-action-local/python:3.11-slim-bookworm",
    "DOCKER_CLI_IMAGE": "acr-action-local/docker-cli:26-buildx",
}
# The runner labels every container it starts (DockerCommandManager's `DockerInstanceLabel`).
RUNNER_LABEL = "acr-action-e2e-runner"
# ProcessInvoker: SIGINT, then SIGTERM after 7.5 s, then the kill after another 2.5 s.
SIGINT_WAIT_SECONDS = 7.5
SIGTERM_WAIT_SECONDS = 2.5


@dataclass(frozen=True)
class RunnerFolders:
    """One job's runner folders on the host, as `workflow.step_env` lays them out under `temp`."""

    temp: Path  # RUNNER_TEMP on the host: the runner's `_work/_temp`
    workspace: Path  # GITHUB_WORKSPACE on the host

    @property
    def home(self) -> Path:
        """`/github/home` in the container (the runner's `_temp/_github_home`)."""
        return self.temp / "home"

    @property
    def workflow(self) -> Path:
        """`/github/workflow` (the event payload)."""
        return self.temp / "workflow"

    @property
    def file_commands(self) -> Path:
        """`/github/file_commands` (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, ...)."""
        return self.temp / "file_commands"

    def mounts(self, *, runner_temp: bool = True) -> list[tuple[Path, str]]:
        """(host folder, container path) in the runner's mount order."""
        mounts = [(self.temp, "/github/runner_temp")] if runner_temp else []
        return [
            *mounts,
            (self.home, "/github/home"),
            (self.workflow, "/github/workflow"),
            (self.file_commands, "/github/file_commands"),
            (self.workspace, "/github/workspace"),
        ]


def translate_to_container_path(value: str, mounts: list[tuple[Path, str]]) -> str:
    """`value` with a mounted host folder at its start replaced by the container's path.

    The runner adds each mapping at the front of its list, so the last mounted folder is tried
    first and the first match wins; only a value that *starts* with the folder is rewritten.
    """
    for host, container in reversed(mounts):
        if value == str(host):
            return container
        if value.startswith(str(host) + "/"):
            return container + value[len(str(host)) :]
    return value


def build_action_image(repo_root: Path, tag: str = "acr-action:local") -> str:
    """Build the action image from the repository's Dockerfile with local base images."""
    command = [DOCKER, "build", "--network", "host", "--tag", tag]
    for key, value in LOCAL_BUILD_ARGS.items():
        command += ["--build-arg", f"{key}={value}"]
    command.append(str(repo_root))
    subprocess.run(command, check=True, env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin"})
    return tag


def with_action_defaults(env: Mapping[str, str], action_yml: Path) -> dict[str, str]:
    """`env` plus an `INPUT_<NAME>` for every input of `action_yml` that the step did not give.

    The runner merges the step's `with:` over action.yml: an input the step omits gets its
    `default`, or the empty string when it declares none, so a container action sees every declared
    input (actions/runner `ActionRunner.cs`, "Merge the default inputs from the definition", and
    `ActionManifestManager.ConvertInputs`). A given input, even `""`, is kept as it is.
    """
    declared = yaml.safe_load(action_yml.read_text(encoding="utf-8")).get("inputs") or {}
    merged = dict(env)
    for name, spec in declared.items():
        key = f"INPUT_{name.replace(' ', '_').upper()}"
        if key not in merged:
            default = (spec or {}).get("default")
            if isinstance(default, bool):  # YAML's `true` reaches the action as the text "true"
                default = "true" if default else "false"
            merged[key] = "" if default is None else str(default)
    return merged


@dataclass(frozen=True)
class ContainerRun:
    """Exit code and combined log of one container action run, and how a cancel went."""

    exit_code: int
    log: str
    container: str  # the `--name` of the container
    cancelled_with: tuple[str, ...] = ()  # the signals the runner had to send, in order


def run_container_action(
    image: str,
    env: Mapping[str, str],
    folders: RunnerFolders,
    ca_path: Path,
    *,
    runner_temp_mounted: bool = True,
    cancel_when: Callable[[str], bool] | None = None,
    stream: bool = False,
) -> ContainerRun:
    """`docker run` the action as the runner would; `env` holds host paths, as the runner's does.

    `runner_temp_mounted=False` is a runner before v2.331.0: no `/github/runner_temp`, and
    `RUNNER_TEMP` left a host path that does not exist in the container. `cancel_when` cancels
    the step, with the runner's signal sequence, at the first log line it accepts.
    """
    shutil.copy(ca_path, folders.home / "local-azure-ca.pem")
    mounts = folders.mounts(runner_temp=runner_temp_mounted)
    host_env = {**env, "REQUESTS_CA_BUNDLE": str(folders.home / "local-azure-ca.pem")}
    container_env = {
        name: translate_to_container_path(value, mounts) for name, value in host_env.items()
    }
    name = f"acr-action-e2e_{uuid.uuid4().hex[:6]}"
    command = [
        DOCKER, "run", "--name", name, "--label", RUNNER_LABEL,
        "--workdir", "/github/workspace", "--rm", "--network", "host",
    ]  # fmt: skip
    for variable in sorted(container_env):
        command += ["-e", variable]  # values travel in the environment, not on the command line
    command += ["-v", "/var/run/docker.sock:/var/run/docker.sock"]
    for host, target in mounts:
        command += ["-v", f"{host}:{target}"]
    command.append(image)
    lines: list[str] = []
    sent: list[str] = []
    canceller: threading.Thread | None = None
    # `with`: the pipe is closed when the run ends (an open one is a ResourceWarning in pytest).
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": "/usr/bin:/bin", **container_env},
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if stream:
                print(line, end="", flush=True)
            if cancel_when is not None and canceller is None and cancel_when(line):
                canceller = threading.Thread(target=cancel_like_the_runner, args=(process, sent))
                canceller.start()
        exit_code = process.wait()
    if canceller is not None:
        canceller.join()
    return ContainerRun(exit_code, "".join(lines), name, tuple(sent))


def cancel_like_the_runner(process: subprocess.Popen[Any], sent: list[str]) -> None:
    """ProcessInvoker's cancel: SIGINT, 7.5 s, SIGTERM, 2.5 s, then kill the `docker run` client."""
    for signum, wait in (
        (signal.SIGINT, SIGINT_WAIT_SECONDS),
        (signal.SIGTERM, SIGTERM_WAIT_SECONDS),
    ):
        if process.poll() is not None:
            return
        process.send_signal(signum)
        sent.append(signum.name)
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        process.kill()  # the client only: the container it started keeps running
        sent.append("SIGKILL")


def container_exists(name: str) -> bool:
    """Whether a container of that name exists (running or not)."""
    found = subprocess.run(
        [DOCKER, "ps", "--all", "--quiet", "--filter", f"name=^{name}$"],
        capture_output=True,
        text=True,
        check=False,
    )
    return bool(found.stdout.strip())
