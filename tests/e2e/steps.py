"""What the end-to-end tests share: a step's result (`Run`), the images, how to check a deploy.

The fixtures that run the step live in conftest.py, under the names both step suites use
(tests/shared.py). tests/conftest.py registers this module for pytest's assertion rewriting, so
a failing check here shows its values as it would in a test module.
"""

from __future__ import annotations

import hashlib
import http.client
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tests.harness.container_action import RunnerFolders
from tests.harness.workflow import REGISTRY
from tests.shared import BUSYBOX_IMAGE, StepResult

if TYPE_CHECKING:
    from localazure.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
PYTHON_IMAGE = "acr-action-local/python:3.11-slim-bookworm"


@dataclass
class Run(StepResult):
    """What one `docker run` of the action left: exit code, log, outputs file, step summary."""

    log: str
    seconds: float
    runner_dir: Path = field(repr=False)
    folders: RunnerFolders = field(repr=False)
    container: str = ""  # the container's `--name`
    cancelled_with: tuple[str, ...] = ()  # the cancel signals the runner sent
    configs_seen: frozenset[str] = frozenset()  # temporary Docker configs seen on the host


def hello_inputs(**more: str) -> dict[str, str]:
    """Inputs for a step that builds examples/hello from the local busybox stand-in."""
    return {"build-args": f"BUSYBOX_IMAGE={BUSYBOX_IMAGE}", **more}


def commit_sha(label: str) -> str:
    """A stable fake commit SHA for a named commit."""
    return hashlib.sha1(label.encode()).hexdigest()


def request(
    ip: str, fqdn: str, method: str = "GET", path: str = "/", body: object | None = None
) -> tuple[int, str]:
    """One HTTP request to a deployed group, by its IP with its FQDN as `Host`."""
    connection = http.client.HTTPConnection(ip, 80, timeout=15)
    headers = {"Host": fqdn}
    payload = None
    if body is not None:
        payload = json.dumps(body)
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def serves(run: Run, path: str = "/") -> str:
    """The body the deployed group answers at `path` (asserting HTTP 200)."""
    status, body = request(run.outputs["ip-address"], run.outputs["fqdn"], path=path)
    assert status == 200, body
    return body


def assert_deployed(run: Run, azure: Emulator, name: str) -> None:
    """A successful deploy: outputs, summary and the runner's conventions."""
    assert run.exit_code == 0, run.log[-3000:]
    outputs = run.outputs
    assert outputs["name"] == name
    assert outputs["state"] == "Running"
    assert outputs["fqdn"].endswith(".azurecontainer.io")
    assert outputs["url"] == f"http://{outputs['fqdn']}"
    assert outputs["digest"].startswith("sha256:")
    assert outputs["image-ref"].startswith(azure.login_server(REGISTRY) + "/")
    assert outputs["image-ref"].endswith("@" + outputs["digest"])
    assert outputs["container-group-id"].endswith(f"/containerGroups/{name}")
    assert "acr-action: Deployed" in run.summary
    assert outputs["digest"] in run.summary


def assert_failed(run: Run, *messages: str) -> None:
    """A failed step: non-zero, each message in the log and the summary, no deploy claimed."""
    assert run.exit_code != 0, run.log[-3000:]
    assert "::error" in run.log
    assert "acr-action failed" in run.summary
    for message in messages:
        assert message in run.log, f"{message!r} not in the step's log:\n{run.log[-3000:]}"
        assert message in run.summary, f"{message!r} not in the summary:\n{run.summary}"
    assert not run.outputs.get("url"), "a failed step must not output a URL"
