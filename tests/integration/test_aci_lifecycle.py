"""How the action moves an existing container group: in place, by recreating it, or back to life."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from typing import Any

import pytest

from localazure.server import Emulator
from tests.harness.workflow import REGISTRY, RESOURCE_GROUP

from .steps import Run

PULL_SP = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"  # the pull principal of seed.yaml
pytestmark = pytest.mark.docker


def http_status(ip: str, port: int) -> int:
    """The status of one HTTP GET to a deployed container."""
    connection = http.client.HTTPConnection(ip, port, timeout=10)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status
    finally:
        connection.close()


def test_port_change_updates_in_place(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-ports")
    assert run_action(inputs={"name": "hello-ports"}, workspace=hello_app).exit_code == 0

    run = run_action(inputs={"name": "hello-ports", "ports": "80, 8080"}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    assert "plan: update (ports)" in run.stdout
    assert azure.count("DELETE", "/containerGroups/hello-ports") == 0
    assert "::warning" not in run.stdout
    assert http_status(run.outputs["ip-address"], 80) == 200


def test_recreate_with_an_unreadable_image_keeps_the_old_group(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-guard")
    first = run_action(inputs={"name": "hello-guard"}, workspace=hello_app)
    assert first.exit_code == 0, first.stdout
    scope = azure.state.registry_id(azure.state.registries[REGISTRY])
    azure.state.revoke(PULL_SP, "AcrPull")
    try:
        run = run_action(inputs={"name": "hello-guard", "cpu": "2"}, workspace=hello_app)
    finally:
        azure.state.grant(PULL_SP, "AcrPull", scope)

    assert run.exit_code == 1, run.stdout
    assert "could not pull" in run.stdout
    assert "the existing group was left as it is" in run.stdout
    assert azure.count("DELETE", "/containerGroups/hello-guard") == 0
    assert http_status(first.outputs["ip-address"], 80) == 200


def test_create_failing_after_the_delete_says_so_and_the_rerun_converges(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-phoenix")
    assert run_action(inputs={"name": "hello-phoenix"}, workspace=hello_app).exit_code == 0
    azure.faults.add_event("lro-fail", name="hello-phoenix")

    failed = run_action(inputs={"name": "hello-phoenix", "cpu": "2"}, workspace=hello_app)
    rerun = run_action(inputs={"name": "hello-phoenix", "cpu": "2"}, workspace=hello_app)

    assert failed.exit_code == 1, failed.stdout
    assert "was deleted to be recreated, but creating it failed" in failed.stdout
    assert "Nothing runs under the name `hello-phoenix` now" in failed.stdout
    assert rerun.exit_code == 0, rerun.stdout
    assert rerun.outputs["state"] == "Running"
    assert http_status(rerun.outputs["ip-address"], 80) == 200


def _group(azure: Emulator, name: str) -> Any:
    return next(g for g in azure.state.container_groups.values() if g.name == name)


def test_stopped_group_is_deployed_again(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-stopped")
    assert run_action(inputs={"name": "hello-stopped"}, workspace=hello_app).exit_code == 0
    azure.call(azure.services["aci"].stop_group(_group(azure, "hello-stopped")))

    # Nothing runs, so nothing is taken down: even `on-immutable-change: fail` lets it recreate.
    run = run_action(
        inputs={"name": "hello-stopped", "timeout": "45s", "on-immutable-change": "fail"},
        workspace=hello_app,
    )

    assert run.exit_code == 0, run.stdout
    assert "plan: recreate" in run.stdout
    assert "its state is Stopped" in run.stdout
    assert run.outputs["state"] == "Running"
    assert http_status(run.outputs["ip-address"], 80) == 200


def test_restart_never_group_that_finished_is_deployed_again(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-once")
    inputs = {"name": "hello-once", "restart-policy": "Never"}
    azure.faults.add_event(
        "crash", name="hello-once", exit_code=0, output="done", shell="/bin/busybox sh"
    )
    assert run_action(inputs={**inputs, "wait": "false"}, workspace=hello_app).exit_code == 0
    assert wait_until(lambda: _state(azure, "hello-once") == "Succeeded")

    run = run_action(inputs={**inputs, "timeout": "45s"}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    assert "its state is Succeeded" in run.stdout
    assert run.outputs["state"] == "Running"


@pytest.mark.parametrize(
    ("state", "plan"),
    [
        pytest.param("Unhealthy", "plan: recreate", id="unhealthy"),
        pytest.param("NotAccessible", "plan: recreate", id="not-accessible"),
        pytest.param("Canceled", "plan: update", id="canceled"),
    ],
)
def test_group_the_platform_gave_up_on_is_deployed_again(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app,
    cleanup_groups: list[str],
    state: str,
    plan: str,
) -> None:
    name = f"hello-{state.lower()}"
    cleanup_groups.append(name)
    assert run_action(inputs={"name": name}, workspace=hello_app).exit_code == 0
    azure.services["aci"].set_provisioning_state(RESOURCE_GROUP, name, state)

    run = run_action(inputs={"name": name}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    assert plan in run.stdout
    assert _group(azure, name).provisioning_state == "Succeeded"


def test_pull_that_keeps_failing_fails_fast_with_its_events(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-backoff")
    azure.faults.add_event("pull-backoff", name="hello-backoff", message="manifest unknown")

    started = time.monotonic()
    run = run_action(inputs={"name": "hello-backoff", "timeout": "60s"}, workspace=hello_app)

    assert run.exit_code == 1, run.stdout
    assert "could not pull" in run.stdout
    assert "Back-off pulling image" in run.stdout
    assert "manifest unknown" in run.stdout
    assert "Timed out" not in run.stdout
    assert time.monotonic() - started < 45


def _state(azure: Emulator, name: str) -> str:
    group = _group(azure, name)
    instance = azure.call(azure.services["aci"]._instance_view(group))
    return str(instance["state"])


def wait_until(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.5)
    return True
