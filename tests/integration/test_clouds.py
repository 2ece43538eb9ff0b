"""Clouds other than public Azure: older api-versions, and Azure Stack Hub's metadata and services.

The emulator plays a cloud that serves only some api-versions (localazure/api_versions.py)
or that answers metadata in Azure Stack Hub's shape (localazure/metadata.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import pytest

from localazure.api_versions import HYBRID_PROFILE
from localazure.server import RESOURCE_TYPES, Emulator

from .steps import Run

pytestmark = pytest.mark.docker


@pytest.fixture
def lagging_cloud(azure: Emulator) -> Iterator[dict[str, tuple[str, ...]]]:
    """The emulator serves only the versions a test sets, until the test ends."""
    served: dict[str, tuple[str, ...]] = {}
    azure.api_versions.served = served
    yield served
    azure.api_versions.served = {}


@pytest.fixture
def azure_stack(azure: Emulator, lagging_cloud: dict[str, tuple[str, ...]]) -> Iterator[None]:
    """Metadata in Azure Stack Hub's shape, its API profile, and no Container Instances."""
    metadata = azure.services["metadata"]
    metadata.shape = "azure-stack"
    lagging_cloud.update(HYBRID_PROFILE, containerGroups=())
    yield
    metadata.shape = "azure"


def api_versions_sent(azure: Emulator, since: int) -> dict[str, set[str]]:
    """Resource type -> the api-versions the requests since `since` asked for."""
    sent: dict[str, set[str]] = {}
    for record in azure.requests[since:]:
        version = (parse_qs(record.query).get("api-version") or [""])[0]
        for resource_type, (_kind, pattern) in RESOURCE_TYPES.items():
            if version and re.search(pattern, record.path):
                sent.setdefault(resource_type, set()).add(version)
    return sent


def test_a_cloud_serving_only_older_api_versions_still_deploys(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app,
    cleanup_groups: list[str],
    lagging_cloud: dict[str, tuple[str, ...]],
) -> None:
    cleanup_groups.append("hello-older-apis")
    lagging_cloud.update(HYBRID_PROFILE, containerGroups=("2023-05-01",))
    since = len(azure.requests)

    run = run_action(inputs={"name": "hello-older-apis"}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout[-3000:]
    assert run.outputs["state"] == "Running"
    sent = api_versions_sent(azure, since)
    # The newest first (only it reports the role mode and ARM-token policy), refused, then the
    # hybrid profile's.
    assert sent["registries"] == {"2025-11-01", "2019-05-01"}
    assert sent["vaults"] == {"2016-10-01"}
    assert sent["containerGroups"] == {"2023-05-01"}
    assert "NoRegisteredProviderFound" not in run.stdout  # the refusal is handled, not shown


def test_azure_stack_hub_refuses_deploy_before_calling_container_instances(
    azure: Emulator, run_action: Callable[..., Run], hello_app, azure_stack: None
) -> None:
    since = len(azure.requests)

    run = run_action(inputs={"name": "hello-stack"}, workspace=hello_app)

    assert run.exit_code == 1
    assert "does not offer Azure Container Instances" in run.stdout
    assert "mode: build" in run.stdout
    assert not any("Microsoft.ContainerInstance" in r.path for r in azure.requests[since:])


def test_azure_stack_hub_builds_and_pushes(
    azure: Emulator, run_action: Callable[..., Run], hello_app, azure_stack: None
) -> None:
    run = run_action(
        inputs={"name": "hello-stack-build", "mode": "build", "tags": "stack"},
        workspace=hello_app,
    )

    assert run.exit_code == 0, run.stdout[-3000:]
    assert run.outputs["digest"].startswith("sha256:")
    assert run.outputs["image"].endswith(":stack")
