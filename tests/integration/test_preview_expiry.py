"""Expiry and cost of previews against the local Azure: ARM's tag limit, max-idle.

Preview groups that only need to exist are placed with `aci.add_group`, which never runs a
container.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from localazure.server import Emulator
from tests.harness.workflow import RESOURCE_GROUP

from .steps import Run

pytestmark = pytest.mark.docker

REPO = "octo-org/iris-api"


def group(azure: Emulator, name: str) -> object | None:
    with azure.state.lock:
        return next((g for g in azure.state.container_groups.values() if g.name == name), None)


@pytest.fixture
def placed(azure: Emulator) -> Iterator[Callable[..., str]]:
    """Place never-provisioned groups; whatever is left is removed afterwards."""
    names: list[str] = []

    def place(name: str, tags: dict[str, str]) -> str:
        azure.services["aci"].add_group(RESOURCE_GROUP, name, tags=tags)
        names.append(name)
        return name

    yield place
    with azure.state.lock:
        for key in [k for k, g in azure.state.container_groups.items() if g.name in names]:
            del azure.state.container_groups[key]


def test_the_tag_limit_counts_the_tags_kept_from_the_existing_group(
    azure: Emulator, run_action: Callable[..., Run], placed, hello_app
) -> None:
    name = placed("tagged-app", {f"policy-{i}": "kept" for i in range(45)})
    puts = azure.count("PUT", f"/containerGroups/{name}")

    run = run_action(
        inputs={
            "name": name,
            "resource-tags": "team=web\ncost-center=1234",
        },
        workspace=hello_app,
    )

    assert run.exit_code == 1, run.stdout
    assert "2 from `resource-tags`" in run.stdout
    assert "45 kept from the existing group" in run.stdout
    assert "of the action's own (`acr-action.*`)" in run.stdout
    assert azure.count("PUT", f"/containerGroups/{name}") == puts  # refused before the PUT
