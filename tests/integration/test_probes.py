"""Probes, Log Analytics, priority and per-port protocols against the local Azure.

Each is created by a deploy, changed in place by the next, and left as it is by a deploy that
does not mention it; what the runner shows never holds the workspace key (tests/runner_log.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from localazure.server import Emulator
from tests.harness.workflow import RESOURCE_GROUP

from .steps import Run

pytestmark = pytest.mark.docker


def _group(azure: Emulator, name: str) -> Any:
    return next(g for g in azure.state.container_groups.values() if g.name == name)


def _ours(azure: Emulator, name: str) -> dict[str, Any]:
    props = _group(azure, name).spec["properties"]
    found: dict[str, Any] = next(c for c in props["containers"] if c["name"] == name)
    return found["properties"]


def test_probes_are_created_changed_in_place_and_kept(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Any,
    cleanup_groups: list[str],
) -> None:
    name = "probes-app"
    cleanup_groups.append(name)
    first = run_action(
        inputs={
            "name": name,
            "liveness-probe": "http-get / initial-delay=1 period=5 failure-threshold=3",
            "readiness-probe": "exec /bin/busybox true period=5",
        },
        workspace=hello_app,
    )
    assert first.exit_code == 0, first.stdout
    container = _ours(azure, name)
    assert container["livenessProbe"] == {
        "httpGet": {"path": "/", "port": 80},
        "initialDelaySeconds": 1,
        "periodSeconds": 5,
        "failureThreshold": 3,
    }
    assert container["readinessProbe"] == {
        "exec": {"command": ["/bin/busybox", "true"]},
        "periodSeconds": 5,
    }

    changed = run_action(
        inputs={"name": name, "liveness-probe": "http-get / period=7"}, workspace=hello_app
    )
    assert changed.exit_code == 0, changed.stdout
    assert "liveness probe" in changed.stdout
    assert azure.count("DELETE", f"/containerGroups/{name}") == 0
    container = _ours(azure, name)
    assert container["livenessProbe"] == {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 7}
    assert container["readinessProbe"]["exec"]["command"] == ["/bin/busybox", "true"]

    silent = run_action(inputs={"name": name}, workspace=hello_app)
    assert silent.exit_code == 0, silent.stdout
    assert "plan: noop" in silent.stdout
    container = _ours(azure, name)
    assert container["livenessProbe"]["periodSeconds"] == 7
    assert "readinessProbe" in container

    removed = run_action(inputs={"name": name, "readiness-probe": "none"}, workspace=hello_app)
    assert removed.exit_code == 0, removed.stdout
    assert "readinessProbe" not in _ours(azure, name)


def test_log_analytics_key_is_read_sent_and_never_shown(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Any,
    cleanup_groups: list[str],
) -> None:
    name = "logs-app"
    cleanup_groups.append(name)
    workspace = azure.services["loganalytics"].add_workspace(RESOURCE_GROUP, "app-logs")

    run = run_action(
        inputs={"name": name, "log-analytics-workspace": workspace.id}, workspace=hello_app
    )

    assert run.exit_code == 0, run.stdout
    sent = _group(azure, name).sent["properties"]["diagnostics"]["logAnalytics"]
    assert sent == {"workspaceId": workspace.customer_id, "workspaceKey": workspace.primary_key}
    assert workspace.primary_key not in run.shown
    assert azure.count("POST", "/workspaces/app-logs/sharedKeys") == 1

    again = run_action(
        inputs={"name": name, "log-analytics-workspace": workspace.id}, workspace=hello_app
    )
    assert again.exit_code == 0, again.stdout
    assert "plan: noop" in again.stdout
    assert workspace.primary_key not in again.shown

    # Without the input: the group's tag names the workspace, whose key (which the GET hides)
    # is read again and sent back, so Log Analytics survives a deploy that does not mention it.
    silent = run_action(
        inputs={"name": name, "environment-variables": "CHANGED=1"}, workspace=hello_app
    )
    assert silent.exit_code == 0, silent.stdout
    assert "plan: update" in silent.stdout
    sent = _group(azure, name).sent["properties"]["diagnostics"]["logAnalytics"]
    assert sent == {"workspaceId": workspace.customer_id, "workspaceKey": workspace.primary_key}
    assert workspace.primary_key not in silent.shown
    assert azure.count("POST", "/workspaces/app-logs/sharedKeys") == 3


def test_log_analytics_set_elsewhere_stops_the_deploy_until_the_input_names_it(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Any,
    cleanup_groups: list[str],
) -> None:
    name = "logs-elsewhere"
    cleanup_groups.append(name)
    workspace = azure.services["loganalytics"].add_workspace(RESOURCE_GROUP, "other-logs")
    made = run_action(inputs={"name": name}, workspace=hello_app)
    assert made.exit_code == 0, made.stdout
    group = _group(azure, name)
    # Log Analytics set by another tool: no tag of ours names the workspace.
    group.spec["properties"]["diagnostics"] = {
        "logAnalytics": {"workspaceId": workspace.customer_id, "workspaceKey": "elsewhere-key-1"}
    }
    puts = azure.count("PUT", f"/containerGroups/{name}")

    stopped = run_action(inputs={"name": name, "cpu": "0.5"}, workspace=hello_app)

    assert stopped.exit_code != 0
    assert "Log Analytics workspace key" in stopped.shown
    assert "log-analytics-workspace:" in stopped.shown
    assert azure.count("PUT", f"/containerGroups/{name}") == puts

    given = run_action(
        inputs={"name": name, "log-analytics-workspace": workspace.id}, workspace=hello_app
    )
    assert given.exit_code == 0, given.stdout
    sent = _group(azure, name).sent["properties"]["diagnostics"]["logAnalytics"]
    assert sent["workspaceKey"] == workspace.primary_key
    assert workspace.primary_key not in given.shown


def test_a_group_with_a_udp_port_keeps_it(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Any,
    cleanup_groups: list[str],
) -> None:
    name = "udp-app"
    cleanup_groups.append(name)
    run = run_action(inputs={"name": name, "ports": "80, 5353/udp"}, workspace=hello_app)
    assert run.exit_code == 0, run.stdout
    ip = _group(azure, name).spec["properties"]["ipAddress"]
    assert ip["ports"] == [{"port": 80, "protocol": "TCP"}, {"port": 5353, "protocol": "UDP"}]

    silent = run_action(inputs={"name": name}, workspace=hello_app)
    assert silent.exit_code == 0, silent.stdout
    assert "plan: noop" in silent.stdout
    ip = _group(azure, name).spec["properties"]["ipAddress"]
    assert ip["ports"] == [{"port": 80, "protocol": "TCP"}, {"port": 5353, "protocol": "UDP"}]


def test_spot_deploys_without_an_ip_address(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Any,
    cleanup_groups: list[str],
) -> None:
    name = "spot-worker"
    cleanup_groups.append(name)
    run = run_action(inputs={"name": name, "priority": "Spot"}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    props = _group(azure, name).spec["properties"]
    assert props["priority"] == "Spot"
    assert "ipAddress" not in props
    assert "Spot container group has no IP address" in run.shown
    assert run.outputs["fqdn"] == ""

    silent = run_action(inputs={"name": name}, workspace=hello_app)
    assert silent.exit_code == 0, silent.stdout
    props = _group(azure, name).spec["properties"]
    assert props["priority"] == "Spot"
    assert "ipAddress" not in props


def test_a_failing_liveness_probe_restarts_the_container(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Any,
    cleanup_groups: list[str],
) -> None:
    import time

    name = "probe-fails"
    cleanup_groups.append(name)
    run = run_action(
        inputs={
            "name": name,
            "liveness-probe": "exec /bin/busybox false initial-delay=1 period=1 failure-threshold=2",
            "readiness-probe": "http-get /missing period=1",
        },
        workspace=hello_app,
    )
    assert run.exit_code == 0, run.stdout

    deadline = time.monotonic() + 30
    messages: list[str] = []
    while time.monotonic() < deadline:
        record = _group(azure, name).containers[name]
        messages = [f"{e['name']}: {e['message']}" for e in record.events]
        if any("failed liveness probe, will be restarted" in m for m in messages) and any(
            m.startswith("Unhealthy: Readiness probe failed") for m in messages
        ):
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"no liveness restart seen: {messages}")
    assert any(m.startswith("Unhealthy: Liveness probe failed") for m in messages)
