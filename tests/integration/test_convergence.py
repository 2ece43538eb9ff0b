"""Interrupt a real run at each phase, rerun it with the same inputs: it converges.

The interrupted run is `python -m acr_action` in a child process with a workflow step's
environment, stopped the way a cancelled job stops it: SIGTERM (which the runner sends 7.5 s
after SIGINT) or SIGKILL (the runner's last resort). The emulator's request records, the
action's own log or its open files say when the run has reached the phase; a fault with a delay
holds it there. The rerun is an ordinary in-process run (with the leak detector). Afterwards:
one container group, Running the pushed digest, serving over HTTP; one container; one preview
comment; no temporary Docker config left behind.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from acr_action.preview import marker
from localazure.server import Emulator
from tests.harness.workflow import Event, step_env

from .steps import Run
from .test_faults import PROBE_PATH, add_probe_cgi

pytestmark = pytest.mark.docker

REPO = "octo-org/iris-api"
TOKEN = "ghs_convergenceTokenForTheEmulator01"
ROOT = Path(__file__).resolve().parents[2]


class Child:
    """`python -m acr_action` in a child process, its output collected as it comes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process = subprocess.Popen(
            [sys.executable, "-m", "acr_action"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def config_dirs(self) -> set[Path]:
        """The temporary Docker config folders the child holds open (their lock files)."""
        found = set()
        for fd in Path(f"/proc/{self.process.pid}/fd").glob("*"):
            try:
                target = Path(os.readlink(fd))
            except OSError:
                continue
            if target.name == ".lock" and target.parent.name.startswith("acr-action-docker-"):
                found.add(target.parent)
        return found

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code


def until(condition: Callable[[], Any], child: Child, what: str, timeout: float = 90.0) -> Any:
    """Poll `condition` until it is true; fail (with the child's log) if the child ends first."""
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        found = condition()
        if found:
            return found
        if child.process.poll() is not None:
            pytest.fail(f"the run ended before {what}:\n{child.output[-3000:]}")
        time.sleep(0.02)
    child.process.kill()
    pytest.fail(f"the run never reached {what}:\n{child.output[-3000:]}")


@dataclass(frozen=True)
class Scenario:
    """Where to stop the first run, with which signal, and what holds it there."""

    phase: str
    signal: signal.Signals
    hold: dict[str, Any] | None = None  # a fault rule (with a delay) that keeps the run there
    preview: bool = False  # a pull-request preview with its sticky comment
    extra: dict[str, str] = field(default_factory=dict)


SCENARIOS = [
    pytest.param(
        # The background read of the existing group is held: the image is pushed, nothing deployed.
        Scenario(
            "after-push",
            signal.SIGTERM,
            {"method": "GET", "path": r".*/containerGroups/{name}", "delay": 15.0},
        ),
        id="after-push-sigterm",
    ),
    pytest.param(
        # The operation status poll is held: ACI has accepted the PUT and provisions on its own.
        Scenario(
            "during-lro",
            signal.SIGKILL,
            {"method": "GET", "path": r".*/operations/.*", "delay": 20.0},
        ),
        id="during-lro-sigkill",
    ),
    pytest.param(
        # The app answers 503 to its first 8 readiness requests (about 4 s of retries).
        Scenario(
            "during-readiness",
            signal.SIGTERM,
            preview=True,
            extra={"health-check-path": PROBE_PATH, "environment-variables": "FAIL_TIMES=8"},
        ),
        id="during-readiness-sigterm-preview",
    ),
    pytest.param(
        # Killed outright while the build holds its temporary Docker config (with the ACR token).
        Scenario("during-build", signal.SIGKILL),
        id="during-build-sigkill",
    ),
]


PHASES: list[Scenario] = [param.values[0] for param in SCENARIOS]  # type: ignore[misc]  # pytest.param values


def reached(azure: Emulator, scenario: Scenario, name: str, since: int, child: Child) -> Any:
    """Has the first run reached the scenario's phase?"""
    records = azure.requests[since:]
    if scenario.phase == "after-push":
        return any(r.method == "PUT" and "/manifests/" in r.path for r in records)
    if scenario.phase == "during-lro":
        return any(
            r.method == "PUT" and r.path.endswith(f"/containerGroups/{name}") for r in records
        )
    if scenario.phase == "during-readiness":
        return any(line.startswith("Readiness probe") for line in child.lines)
    return child.config_dirs()


def group_of(azure: Emulator, name: str) -> list[Any]:
    with azure.state.lock:
        return [g for g in azure.state.container_groups.values() if g.name == name]


def get(ip: str, path: str, host: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(ip, 80, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": host})
        answer = connection.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        connection.close()


@pytest.fixture
def child_env(azure: Emulator, tmp_path: Path, busybox_image: str) -> Callable[..., dict[str, str]]:
    """The environment of the step as a child process sees it (the same inputs as run_action)."""

    def make(inputs: dict[str, str], event: Event, workspace: Path) -> dict[str, str]:
        merged = {"build-args": f"BUSYBOX_IMAGE={busybox_image}", "timeout": "3m", **inputs}
        env = step_env(
            azure, tmp_path / "child-runner", event=event, inputs=merged, workspace=workspace
        )
        passed = ("DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "TMPDIR", "LANG")
        env.update({k: os.environ[k] for k in passed if k in os.environ})
        # Debian's docker CLI first (BuildKit without the buildx plugin), as in run_action.
        env["PATH"] = "/usr/bin:" + os.environ.get("PATH", "")
        env["REQUESTS_CA_BUNDLE"] = str(azure.ca_path)
        env["PYTHONPATH"] = str(ROOT)
        return env

    return make


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_an_interrupted_run_converges_on_rerun(
    scenario: Scenario,
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Path,
    child_env: Callable[..., dict[str, str]],
    cleanup_groups: list[str],
    docker_engine: Any,
) -> None:
    name = f"converge-{scenario.phase}"
    cleanup_groups.append(name)
    number = 90 + [s.phase for s in PHASES].index(scenario.phase)
    event = Event(name="pull_request", pr_number=number) if scenario.preview else Event()
    inputs = {"name": name, **scenario.extra}
    if scenario.preview:
        github = azure.services["github"]
        github.add_token(TOKEN, REPO)
        github.add_pull(REPO, number)
        inputs.update({"comment-on-pr": "true", "github-token": TOKEN})
    workspace = add_probe_cgi(hello_app)
    if scenario.hold is not None:
        rule = {
            k: v.replace("{name}", name) if isinstance(v, str) else v
            for k, v in scenario.hold.items()
        }
        azure.faults.add(**rule, times=1)
    since = len(azure.requests)

    child = Child(child_env(inputs, event, workspace))
    held = until(lambda: reached(azure, scenario, name, since, child), child, scenario.phase)
    sent = time.monotonic()
    child.process.send_signal(scenario.signal)
    code = child.wait(timeout=30)
    stopped_in = time.monotonic() - sent

    if scenario.signal == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:
        # Handled: one clear error, exit 128 + 15, promptly (the runner kills 2.5 s later; a
        # worker stuck in a held request is cut off by the 5 s watchdog).
        assert code == 128 + signal.SIGTERM, child.output[-3000:]
        errors = [line for line in child.lines if line.startswith("::error ")]
        assert len(errors) == 1, child.output[-3000:]
        assert "Cancelled by SIGTERM" in errors[0]
        assert "Rerun the step with the same inputs" in errors[0]
        assert "Traceback" not in child.output
        assert stopped_in < 7.0, f"took {stopped_in:.1f} s to stop"
        if scenario.phase == "during-readiness":
            assert "during the readiness probe" in errors[0]
            assert stopped_in < 2.0
    if scenario.phase == "during-build":
        # SIGKILL runs no cleanup: the config folder (with the token) is still there...
        assert all(folder.exists() for folder in held), "the killed run's config is gone already"
    else:
        assert not child.config_dirs()
    azure.faults.clear()

    # The rerun shares the killed run's RUNNER_TEMP, as a self-hosted runner's later run would
    # share a machine temp folder; a GitHub-hosted runner also empties it between jobs.
    runner_temp = child.env["RUNNER_TEMP"]
    rerun = run_action(
        event=event, inputs=inputs, workspace=workspace, env_overrides={"RUNNER_TEMP": runner_temp}
    )

    assert rerun.exit_code == 0, rerun.stdout[-4000:]
    if scenario.phase == "during-build":
        # ...and the rerun removed it before its own build.
        assert not any(folder.exists() for folder in held)
    assert rerun.outputs["state"] == "Running"
    digest = rerun.outputs["digest"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    (group,) = group_of(azure, name)  # one group
    image = group.spec["properties"]["containers"][0]["properties"]["image"]
    assert image.endswith(f"@{digest}"), image
    assert group.provisioning_state == "Succeeded"
    containers = docker_engine.containers.list(filters={"name": f"aci-{name}-"})
    assert len(containers) == 1, [c.name for c in containers]  # no orphan from the first run
    ip = rerun.outputs["ip-address"]
    status, body = get(ip, "/", rerun.outputs["fqdn"])
    assert status == 200
    assert "<" in body
    if scenario.preview:
        comments = [
            c for c in azure.services["github"].comments(REPO, number) if marker(name) in c.body
        ]
        assert len(comments) == 1
        assert digest in comments[0].body or rerun.outputs["url"] in comments[0].body
    if isinstance(held, set):
        leftovers = {p.name for p in Path(runner_temp).glob("acr-action-docker-*")}
        assert not leftovers & {folder.name for folder in held}
