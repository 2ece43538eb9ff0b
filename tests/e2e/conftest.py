"""The action as GitHub runs it: the image built from the Dockerfile, one `docker run` per step.

The runner contract (actions/runner `ContainerActionHandler`, modelled in
`tests/harness/container_action.py`): the working directory is `/github/workspace`; the Docker
socket, `/github/runner_temp`, `/github/home`, `/github/workflow`, `/github/file_commands` and
`/github/workspace` are mounted; `HOME=/github/home`; every environment value that is a host path
under those folders (the file commands, the event payload, `RUNNER_TEMP`, inputs) arrives as the
container's path; every input of action.yml arrives as `INPUT_<NAME>` (upper-cased, hyphens
kept), given or defaulted; the ID-token request token is the job's runtime token. Every step run
here goes through the leak detector.
"""

from __future__ import annotations

import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localazure.server import Emulator
from tests.harness.container_action import (
    DOCKER,
    LOCAL_BUILD_ARGS,
    RunnerFolders,
    build_action_image,
    container_exists,
    run_container_action,
    with_action_defaults,
)
from tests.harness.workflow import REGISTRY, Event, step_env
from tests.integration.tls_fixtures import pebble, proxy_image  # noqa: F401  # the TLS scenario
from tests.leaks import (
    JWT,
    as_the_runner_shows,
    assert_nothing_leaked,
    known_secrets,
    secure_inputs,
)
from tests.shared import BUSYBOX_IMAGE, CONFIG_PREFIX, unavailable

from .steps import PYTHON_IMAGE, ROOT, Run

# One tag per test session: sessions from other checkouts share the Docker engine, and with one
# fixed tag each would run (and at its end remove) the image another built from its own tree.
ACTION_IMAGE = f"acr-action:e2e-{secrets.token_hex(4)}"
# The runner gives every step an Actions runtime token (cache, artifacts). The action never needs
# it; it is seeded with a known value here so the leak detector can look for it. A job with
# `id-token: write` gets the same token as ACTIONS_ID_TOKEN_REQUEST_TOKEN (ContainerActionHandler
# sets both from the system connection's access token), so there it is the OIDC request token.
RUNTIME_TOKEN = "rt-" + secrets.token_urlsafe(32)


def files_holding(folder: Path, needles: set[str]) -> list[str]:
    """Files under `folder` that contain one of `needles` or a JWT."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        text = data.decode("utf-8", "replace")
        if JWT.search(text) or any(needle in text for needle in needles):
            found.append(str(path.relative_to(folder)))
    return found


def complete_runner_env(
    env: dict[str, str], event: Event, folders: RunnerFolders
) -> dict[str, str]:
    """The rest of what the runner sets for a step: `GITHUB_*`, `RUNNER_*`, `ACTIONS_*` values.

    `step_env` gives those the action reads; these are the others a real step has, so that the
    action runs in the full environment (and must ignore, or keep secret, what it does not use).
    Paths are the host's, as the runner has them before it translates them for the container.
    """
    for name in ("add_path", "save_state"):
        (folders.file_commands / name).touch()
    owner, repo = event.repository.split("/")
    ref = env["GITHUB_REF"]
    extra = {
        "GITHUB_JOB": "deploy",
        "GITHUB_ACTION": "deploy",
        "GITHUB_ACTION_REPOSITORY": "acr-action/acr-action",
        "GITHUB_ACTION_REF": "v1",
        "GITHUB_ACTOR_ID": "583231",
        "GITHUB_TRIGGERING_ACTOR": env.get("GITHUB_ACTOR", "octocat"),
        "GITHUB_REPOSITORY_ID": "123456789",
        "GITHUB_REPOSITORY_OWNER_ID": "9919",
        "GITHUB_RUN_NUMBER": "7",
        "GITHUB_REF_TYPE": "tag" if ref.startswith("refs/tags/") else "branch",
        "GITHUB_REF_PROTECTED": "false",
        "GITHUB_WORKFLOW_REF": f"{event.repository}/.github/workflows/deploy.yml@{ref}",
        "GITHUB_WORKFLOW_SHA": event.sha,
        "GITHUB_GRAPHQL_URL": env["GITHUB_API_URL"].rstrip("/") + "/graphql",
        "GITHUB_RETENTION_DAYS": "90",
        "GITHUB_PATH": str(folders.file_commands / "add_path"),
        "GITHUB_STATE": str(folders.file_commands / "save_state"),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "RUNNER_NAME": "GitHub Actions 2",
        "RUNNER_ENVIRONMENT": "github-hosted",
        "RUNNER_TOOL_CACHE": "/opt/hostedtoolcache",
        "RUNNER_WORKSPACE": f"/home/runner/work/{repo}",
        "RUNNER_DEBUG": "",
        # Loopback names that nothing serves: a request to them would fail, not leave the machine.
        "ACTIONS_RUNTIME_URL": f"https://pipelines.actions.githubusercontent.localhost/{owner}/",
        "ACTIONS_RESULTS_URL": "https://results-receiver.actions.githubusercontent.localhost/",
        "ACTIONS_RUNTIME_TOKEN": env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", RUNTIME_TOKEN),
    }
    # RUNNER_TEMP is the runner's `_temp`, the parent of the home, workflow and file-command
    # folders (step_env, written for the in-process suites, points it at the home folder).
    return {**extra, **env, "RUNNER_TEMP": str(folders.temp)}


# How long a container may outlive its `docker run` client (killed by the runner's cancel).
CANCEL_GRACE_SECONDS = 20.0


def until_gone(container: str, seconds: float) -> bool:
    """Wait up to `seconds` for the container to be gone (`--rm` removes it when it ends)."""
    ends = time.monotonic() + seconds
    while container_exists(container):
        if time.monotonic() > ends:
            subprocess.run([DOCKER, "rm", "--force", container], capture_output=True, check=False)
            return False
        time.sleep(0.2)
    return True


class ConfigWatch:
    """Records every temporary Docker config folder that appears on the host during a step."""

    def __init__(self, runner_dir: Path, workspace: Path) -> None:
        """Watch the step's runner folders (paths seen: relative to it) and the workspace."""
        self.folders = {"": runner_dir, "workspace/": workspace}
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            for label, folder in self.folders.items():
                try:
                    found = list(folder.rglob(CONFIG_PREFIX + "*"))
                except OSError:  # a folder removed while it was being walked: look again
                    continue
                self.seen.update(label + str(path.relative_to(folder)) for path in found)

    def __enter__(self) -> ConfigWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="session")
def action_image(docker_engine) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The action image, built once from the repository's Dockerfile as the runner builds it."""
    for image in [*LOCAL_BUILD_ARGS.values(), BUSYBOX_IMAGE, PYTHON_IMAGE]:
        try:
            docker_engine.images.get(image)
        except Exception:
            unavailable(f"image {image} is missing; run scripts/base-images.sh")
    started = time.monotonic()
    try:
        build_action_image(ROOT, ACTION_IMAGE)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"building the action image failed: {exc}", pytrace=False)
    print(f"action image built in {time.monotonic() - started:.1f} s")
    yield ACTION_IMAGE
    # The tag goes; BuildKit's cache keeps the next build quick.
    subprocess.run(
        [DOCKER, "image", "rm", "--force", ACTION_IMAGE], capture_output=True, check=False
    )


@pytest.fixture(scope="session")
def pushed_images(azure: Emulator) -> Iterator[None]:
    """Removes, at the end, the local tags the action's builds left under this emulator's registry."""
    login_server = azure.login_server(REGISTRY)

    def references() -> set[str]:
        listed = subprocess.run(
            [DOCKER, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        return {ref for ref in listed if ref.startswith(login_server + "/")}

    before = references()
    yield
    stale = sorted(ref for ref in references() - before if not ref.endswith(":<none>"))
    if stale:
        subprocess.run([DOCKER, "image", "rm", *stale], capture_output=True, check=False)


@pytest.fixture
def run_action(
    azure: Emulator, action_image: str, pushed_images: None, tmp_path: Path
) -> Callable[..., Run]:
    """Run the action container for one workflow step; returns what it left behind."""
    counter = iter(range(1000))

    def run(
        *,
        event: Event | None = None,
        inputs: dict[str, str] | None = None,
        workspace: Path | None = None,
        oidc: bool = True,
        runner_temp_mounted: bool = True,
        cancel_when: Callable[[str], bool] | None = None,
        step_vars: dict[str, str] | None = None,
        runner_inputs: Callable[[RunnerFolders], dict[str, str]] | None = None,
    ) -> Run:
        event = event or Event()
        runner_dir = tmp_path / f"runner-{next(counter)}"
        folders = RunnerFolders(runner_dir / "_temp", workspace or runner_dir / "workspace")
        folders.workspace.mkdir(parents=True, exist_ok=True)
        # Inputs built from the runner's own paths, e.g. `${{ runner.temp }}/...`.
        from_runner = runner_inputs(folders) if runner_inputs else {}
        merged = {"timeout": "3m", **(inputs or {}), **from_runner}
        env = step_env(
            azure, folders.temp, event=event, inputs=merged, workspace=folders.workspace, oidc=oidc
        )
        env = complete_runner_env(env, event, folders)
        env.update(step_vars or {})  # the step's `env:`
        env = with_action_defaults(env, ROOT / "action.yml")
        started = time.monotonic()
        with ConfigWatch(runner_dir, folders.workspace) as watch:
            result = run_container_action(
                action_image,
                env,
                folders,
                azure.ca_path,
                runner_temp_mounted=runner_temp_mounted,
                cancel_when=cancel_when,
            )
            # A client the runner killed leaves its container running: give it time to end.
            gone = until_gone(result.container, CANCEL_GRACE_SECONDS)
        files = folders.file_commands
        seen = as_the_runner_shows(result.log, files / "output", files / "step_summary")
        done = Run(
            exit_code=result.exit_code,
            log=result.log,
            outputs=seen.outputs,
            summary=(files / "step_summary").read_text(encoding="utf-8"),
            seconds=time.monotonic() - started,
            seen=seen,
            runner_dir=runner_dir,
            folders=folders,
            container=result.container,
            cancelled_with=result.cancelled_with,
            configs_seen=frozenset(watch.seen),
        )
        assert gone, f"the action's container {result.container} outlived the step"
        # The leak detector, on every run, success or failure: no known secret and no token in
        # the log, the summary or the outputs, nor in any file left in the runner's folders.
        needles = known_secrets(azure) | {RUNTIME_TOKEN} | secure_inputs(merged)
        if "ACTIONS_ID_TOKEN_REQUEST_TOKEN" in env:
            needles.add(env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
        left = sorted(
            str(path)
            for folder in (runner_dir, folders.workspace)
            for path in folder.rglob(CONFIG_PREFIX + "*")
        )
        assert not left, f"temporary Docker configs outlived the step: {left}"
        assert_nothing_leaked(done.shown, needles, "the step's log or files")
        for folder in (runner_dir, folders.workspace):
            holding = files_holding(folder, needles)
            assert not holding, f"files left in {folder} hold a secret or token: {holding}"
        return done

    return run
