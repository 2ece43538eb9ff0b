"""How the action moves an existing container group: in place, by recreating it, or back to life."""

from __future__ import annotations

import http.client
from collections.abc import Callable

import pytest

from tests.emulator.server import Emulator

from .conftest import Run

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
