"""`spec-file`: a group with a sidecar and an init container, from a file in the repository.

Against the local Azure, whose init containers run to completion, in order, before the others
(localazure/aci_init.py, after container-instances-init-container): the group deploys and the
app answers, the sidecar runs, a changed file updates in place, an unchanged one is a no-op,
and a sidecar someone else added survives; a failing init container fails the deploy.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from localazure.server import Emulator
from tests.harness.workflow import RESOURCE_GROUP

from .steps import Run
from .test_keep import base_body, made_elsewhere, pushed, read  # noqa: F401 - fixtures

pytestmark = pytest.mark.docker


def _file(image: str, sidecar_port: int = 8081, init_command: str = "true") -> str:
    return f"""\
# as `az container create --file` reads it
apiVersion: '2023-05-01'
type: Microsoft.ContainerInstance/containerGroups
properties:
  restartPolicy: Never
  containers:
  - name: web
    properties:
      environmentVariables:
      - name: FROM_FILE
        value: yes-it-is
  - name: log
    properties:
      image: {image}
      command: [/bin/busybox, httpd, -f, -p, '{sidecar_port}', -h, /www]
      resources:
        requests: {{cpu: 0.25, memoryInGb: 0.25}}
  initContainers:
  - name: prepare
    properties:
      image: {image}
      command: [/bin/busybox, sh, -c, '{init_command}']
"""


def _deploy(
    run_action: Callable[..., Run], workspace: Path, name: str, text: str, **inputs: str
) -> Run:
    (workspace / "aci.yaml").write_text(text)
    return run_action(
        inputs={"name": name, "spec-file": "aci.yaml", **inputs},
        workspace=workspace,
    )


def _states(client: ContainerInstanceManagementClient, name: str) -> dict[str, Any]:
    group = client.container_groups.get(RESOURCE_GROUP, name)
    # The SDK types the read-only instance views as None; a GET fills them in.
    containers: list[Any] = list(group.containers)
    inits: list[Any] = list(group.init_containers or [])
    states: dict[str, Any] = {c.name: c.instance_view.current_state.state for c in containers}
    for init in inits:
        current = init.instance_view.current_state
        states[init.name] = (current.state, current.exit_code)
    return states


def test_a_sidecar_and_an_init_container_from_the_file(
    azure: Emulator,
    aci: ContainerInstanceManagementClient,
    run_action: Callable[..., Run],
    hello_app: Path,
    pushed: str,  # noqa: F811 - the fixture
    cleanup_groups: list[str],
) -> None:
    name = "spec-file-app"
    cleanup_groups.append(name)
    first = _deploy(run_action, hello_app, name, _file(pushed))
    assert first.exit_code == 0, first.stdout
    assert _states(aci, name) == {"web": "Running", "log": "Running", "prepare": ("Terminated", 0)}
    group = read(azure, aci, name)
    web = group["properties"]["containers"][0]["properties"]
    assert web["image"] == first.outputs["image-ref"]
    assert {"name": "FROM_FILE", "value": "yes-it-is"} in web["environmentVariables"]
    with urllib.request.urlopen(f"http://{first.outputs['ip-address']}:80/", timeout=5) as answer:
        assert answer.status == 200  # the app answers (the action probed it too)

    changed = _deploy(run_action, hello_app, name, _file(pushed, sidecar_port=8082))
    assert changed.exit_code == 0, changed.stdout
    # The run tags move too (spec.RUN_TAGS), but a plan names them only when nothing else changed.
    assert "plan: update (spec file)" in changed.stdout
    assert azure.count("DELETE", f"/containerGroups/{name}") == 0  # in place
    command = read(azure, aci, name)["properties"]["containers"][1]["properties"]["command"]
    assert "8082" in command

    puts = azure.count("PUT", f"/containerGroups/{name}")
    again = _deploy(run_action, hello_app, name, _file(pushed, sidecar_port=8082))
    assert again.exit_code == 0, again.stdout
    assert "plan: noop" in again.stdout
    assert azure.count("PUT", f"/containerGroups/{name}") == puts


def test_a_sidecar_made_elsewhere_survives(
    azure: Emulator,
    aci: ContainerInstanceManagementClient,
    run_action: Callable[..., Run],
    hello_app: Path,
    pushed: str,  # noqa: F811 - the fixture
    cleanup_groups: list[str],
) -> None:
    name = "spec-file-kept"
    cleanup_groups.append(name)
    body = base_body(azure, name, pushed, {})
    body["properties"]["restartPolicy"] = "Never"
    body["properties"]["containers"][0]["name"] = "web"
    body["properties"]["ipAddress"] = {"type": "Public", "ports": [{"port": 80, "protocol": "TCP"}]}
    made_elsewhere(azure, aci, name, body)  # containers web and `log`, made outside the action
    text = _file(pushed).replace("  - name: log\n", "  - name: metrics\n")
    run = _deploy(run_action, hello_app, name, text.replace("8081", "8083"))
    assert run.exit_code == 0, run.stdout
    names = [c["name"] for c in read(azure, aci, name)["properties"]["containers"]]
    assert names == ["web", "metrics", "log"]


def test_a_failing_init_container_fails_the_deploy(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Path,
    pushed: str,  # noqa: F811 - the fixture
    cleanup_groups: list[str],
) -> None:
    name = "spec-file-init-fails"
    cleanup_groups.append(name)
    run = _deploy(run_action, hello_app, name, _file(pushed, init_command="exit 4"))
    assert run.exit_code != 0, run.stdout
    assert "prepare" in run.stdout
