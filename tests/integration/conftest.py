"""Running the action in-process against the local Azure, a real Docker engine and registry."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from acr_action.__main__ import main
from localazure.server import Emulator
from tests.harness.workflow import Event, step_env
from tests.leaks import as_the_runner_shows, assert_nothing_leaked, known_secrets, secure_inputs

from .steps import Run, deployer_aci, leftover_docker_configs
from .tls_fixtures import pebble, proxy_image  # noqa: F401  # fixtures of the TLS suites


@pytest.fixture
def aci(azure: Emulator) -> Iterator[ContainerInstanceManagementClient]:
    """The real ACI client as the deployer: the "other tool" that makes or reads a group."""
    client = deployer_aci(azure)
    yield client
    client.close()


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
        secrets = known_secrets(azure) | secure_inputs(merged)
        assert_nothing_leaked(run.shown, secrets, "the step's output, summary or outputs")
        assert leftover_docker_configs(env["RUNNER_TEMP"]) <= configs_before, (
            "a temporary Docker config outlived the step"
        )
        return run

    return run


# How long the pollers of a test's long-running operations may take to end after it (its groups
# deleted, whose operations ACI then ends). One poll interval is ACI's Retry-After (1 s), but on
# a loaded 2-core machine a poll in flight or in its retry back-off can take longer to notice:
# 10 s was once too short inside the fresh-machine check.
POLLER_GRACE_SECONDS = 30.0


@pytest.fixture(autouse=True)
def _no_poller_outlives_its_test() -> Iterator[None]:
    """A step that fails while Azure still runs its operation (a pull that keeps failing, a
    timeout) leaves azure-core's poller thread polling in this process; in the next test those
    polls would meet that test's faults and count as its traffic. Wait for them to end."""
    yield
    deadline = time.monotonic() + POLLER_GRACE_SECONDS
    while pollers := [t for t in threading.enumerate() if t.name.startswith("LROPoller(")]:
        if time.monotonic() > deadline:
            pytest.fail(
                f"{len(pollers)} long-running-operation poller(s) still running "
                f"{POLLER_GRACE_SECONDS:.0f} s after the test: delete the groups it created "
                "(cleanup_groups) so that their operations end",
                pytrace=False,
            )
        time.sleep(0.1)
