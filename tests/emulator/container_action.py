"""Build the action image and run it the way the GitHub runner runs a Docker container action.

The runner (actions/runner `ContainerActionHandler`) builds the image from the action's
Dockerfile, then runs it with the workspace as working directory, the Docker socket and its
`/github/*` folders mounted, `HOME=/github/home`, and inputs as `INPUT_<NAME>` variables.
Here the container joins the host network, because the local Azure listens on loopback.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

DOCKER = "/usr/bin/docker"  # Debian's CLI: BuildKit through DOCKER_BUILDKIT=1, no buildx needed
LOCAL_BUILD_ARGS = {
    "BASE_IMAGE": "acr-action-local/python:3.11-bookworm",
    "DOCKER_CLI_IMAGE": "acr-action-local/docker-cli",
}


@dataclass(frozen=True)
class ContainerRun:
    """Exit code and combined log of one container action run."""

    exit_code: int
    log: str


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


def run_container_action(
    image: str,
    env: dict[str, str],
    runner_dir: Path,
    workspace: Path,
    ca_path: Path,
    *,
    stream: bool = False,
) -> ContainerRun:
    """`docker run` the action as the runner would; `env` is from `step_env(..., in_container=True)`."""
    shutil.copy(ca_path, runner_dir / "home" / "local-azure-ca.pem")
    env = {**env, "REQUESTS_CA_BUNDLE": "/github/home/local-azure-ca.pem"}
    command = [
        DOCKER, "run", "--rm", "--network", "host", "--workdir", "/github/workspace",
        "-v", "/var/run/docker.sock:/var/run/docker.sock",
        "-v", f"{runner_dir / 'home'}:/github/home",
        "-v", f"{runner_dir / 'workflow'}:/github/workflow",
        "-v", f"{runner_dir / 'file_commands'}:/github/file_commands",
        "-v", f"{workspace}:/github/workspace",
    ]  # fmt: skip
    for name in sorted(env):
        command += ["-e", name]  # values travel in the environment, not on the command line
    command.append(image)
    lines = []
    # `with`: the pipe is closed when the run ends (an open one is a ResourceWarning in pytest).
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if stream:
                print(line, end="", flush=True)
        exit_code = process.wait()
    return ContainerRun(exit_code, "".join(lines))
