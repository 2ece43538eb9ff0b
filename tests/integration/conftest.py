"""Running the action in-process against the local Azure, a real Docker engine and registry."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from acr_action.__main__ import main
from localazure.server import Emulator
from tests.conftest import unavailable
from tests.harness.workflow import Event, step_env
from tests.leaks import JWT, as_the_runner_shows, known_secrets
from tests.runner_log import Step

BUSYBOX_IMAGE = "acr-action-local/busybox"


def leftover_docker_configs(runner_temp: str) -> set[str]:
    """Temporary Docker config folders of the action (they hold a registry token).

    The action keeps them in the job's RUNNER_TEMP, so this looks only at the run's own
    folder: other runs on the machine cannot make a test fail or pass.
    """
    return {p.name for p in Path(runner_temp).glob("acr-action-docker-*")}


@dataclass
class Run:
    """What one run of the action left behind."""

    exit_code: int
    stdout: str
    outputs: dict[str, str]
    summary: str
    seen: Step  # what the runner makes of the step (tests/runner_log.py)

    @property
    def everything(self) -> str:
        """All text of the run a user (or an attacker) can read: the job log as the runner
        shows it (masks applied as it applies them), the summary as shown, the outputs."""
        return self.seen.shown


@pytest.fixture(scope="session")
def busybox_image(docker_engine) -> str:  # type: ignore[no-untyped-def]
    """The local stand-in for busybox (built by scripts/base-images.sh)."""
    try:
        docker_engine.images.get(BUSYBOX_IMAGE)
    except Exception:
        unavailable(f"image {BUSYBOX_IMAGE} is missing; run scripts/base-images.sh")
    return BUSYBOX_IMAGE


@pytest.fixture
def hello_app(tmp_path: Path, repo_root: Path, busybox_image: str) -> Path:
    """A copy of examples/hello as the workflow's workspace."""
    workspace = tmp_path / "workspace"
    shutil.copytree(repo_root / "examples" / "hello", workspace)
    return workspace


@pytest.fixture
def run_action(
    azure: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, busybox_image: str
) -> Callable[..., Run]:
    """Run the action's `main()` as a workflow step would; returns what it wrote."""
    # The SDKs read the CA bundle from the process environment, as they do on a runner.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azure.ca_path))
    # Debian's docker CLI does BuildKit without the buildx plugin (the action image ships buildx).
    monkeypatch.setenv("PATH", "/usr/bin:" + os.environ.get("PATH", ""))
    counter = iter(range(1000))

    def run(
        *,
        event: Event | None = None,
        inputs: dict[str, str] | None = None,
        workspace: Path | None = None,
        oidc: bool = True,
        env_overrides: dict[str, str] | None = None,
    ) -> Run:
        runner_dir = tmp_path / f"runner-{next(counter)}"
        merged = {"build-args": f"BUSYBOX_IMAGE={busybox_image}", "timeout": "3m", **(inputs or {})}
        env = step_env(
            azure, runner_dir, event=event, inputs=merged, workspace=workspace, oidc=oidc
        )
        env["PATH"] = os.environ["PATH"]
        env["REQUESTS_CA_BUNDLE"] = str(azure.ca_path)
        env.update(env_overrides or {})
        out = io.StringIO()
        configs_before = leftover_docker_configs(env["RUNNER_TEMP"])
        code = main(env, out=out)
        seen = as_the_runner_shows(
            out.getvalue(), Path(env["GITHUB_OUTPUT"]), Path(env["GITHUB_STEP_SUMMARY"])
        )
        run = Run(
            exit_code=code,
            stdout=out.getvalue(),
            outputs=seen.outputs,
            summary=Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8"),
            seen=seen,
        )
        # The leak detector: every run of every test, success or failure.
        secrets = known_secrets(azure) | {
            value
            for line in merged.get("secure-environment-variables", "").splitlines()
            for value in [line.partition("=")[2]]
            if len(value) >= 6
        }
        leaked = sorted(secret for secret in secrets if secret in run.everything)
        assert not leaked, (
            f"{len(leaked)} secret value(s) appear in the step's output, summary or outputs"
        )
        assert not JWT.search(run.everything), "a token (JWT) appears in the step's output"
        assert leftover_docker_configs(env["RUNNER_TEMP"]) <= configs_before, (
            "a temporary Docker config outlived the step"
        )
        return run

    return run


@pytest.fixture
def cleanup_groups(run_action: Callable[..., Run]) -> Iterator[list[str]]:
    """Names of container groups to delete after the test (with the action's own delete mode)."""
    names: list[str] = []
    yield names
    for name in names:
        run_action(inputs={"mode": "delete", "name": name})
