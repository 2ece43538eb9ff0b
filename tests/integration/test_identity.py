"""Pulls by managed identity (`registry-identity`) and the app's own identities (`identity`).

Against the local Azure: the identities are real user-assigned identities of its ARM
(`managedidentity.py`), their AcrPull a role assignment on the registry, and ACI pulls as the
identity (`aci_identity.py`), so a missing role is a refused pull, as in Azure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.rest import HttpRequest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from localazure.server import Emulator
from tests.harness.workflow import REGISTRY, RESOURCE_GROUP

from .steps import Run
from .test_keep import base_body, made_elsewhere, pushed, read

__all__ = ["pushed"]  # a fixture used by name below

pytestmark = pytest.mark.docker


def _identity_id(azure: Emulator, name: str) -> str:
    return (
        f"/subscriptions/{azure.state.subscription_id}/resourceGroups/{RESOURCE_GROUP}"
        f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )


def _registry_id(azure: Emulator) -> str:
    return (
        f"/subscriptions/{azure.state.subscription_id}/resourceGroups/{RESOURCE_GROUP}"
        f"/providers/Microsoft.ContainerRegistry/registries/{REGISTRY}"
    )


@pytest.fixture
def make_identity(
    azure: Emulator, aci: ContainerInstanceManagementClient
) -> Iterator[Callable[..., str]]:
    """Create user-assigned identities through ARM (optionally with AcrPull); their ids."""
    made: list[tuple[str, str]] = []

    def make(name: str, *, acr_pull: bool = False) -> str:
        resource_id = _identity_id(azure, name)
        url = f"{azure.arm_url}{resource_id}?api-version=2023-01-31"
        answer = aci._client.send_request(HttpRequest("PUT", url, json={"location": "westeurope"}))
        assert answer.status_code in (200, 201), answer.text()
        principal = answer.json()["properties"]["principalId"]
        if acr_pull:
            azure.state.grant(principal, "AcrPull", _registry_id(azure))
        made.append((resource_id, principal))
        return resource_id

    yield make
    for resource_id, principal in made:
        azure.state.revoke(principal)
        aci._client.send_request(
            HttpRequest("DELETE", f"{azure.arm_url}{resource_id}?api-version=2023-01-31")
        )


def _identities(group: dict[str, Any]) -> tuple[str, set[str]]:
    identity = group.get("identity") or {}
    return identity.get("type", ""), {k.lower() for k in identity.get("userAssignedIdentities", {})}


def test_a_deploy_with_registry_identity_pulls_with_it_and_answers(
    azure: Emulator,
    aci: ContainerInstanceManagementClient,
    run_action: Callable[..., Run],
    hello_app: Any,
    make_identity: Callable[..., str],
    cleanup_groups: list[str],
) -> None:
    name = "identity-pull"
    cleanup_groups.append(name)
    puller = make_identity("acr-pull-ok", acr_pull=True)
    vault_reads = azure.count("GET", "/secrets/acractiondemo-pull")

    run = run_action(inputs={"name": name, "registry-identity": puller}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    assert run.outputs["state"] == "Running"
    # No pull credentials were read: only the identity pulls.
    assert azure.count("GET", "/secrets/acractiondemo-pull") == vault_reads
    group = read(azure, aci, name)
    logins = group["properties"]["imageRegistryCredentials"]
    assert logins == [{"server": azure.login_server(REGISTRY), "identity": puller}]
    assert _identities(group) == ("UserAssigned", {puller.lower()})


def test_an_identity_without_acrpull_gives_the_pull_failure(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Any,
    make_identity: Callable[..., str],
    cleanup_groups: list[str],
) -> None:
    name = "identity-no-pull"
    cleanup_groups.append(name)
    puller = make_identity("acr-pull-none")

    run = run_action(inputs={"name": name, "registry-identity": puller}, workspace=hello_app)

    assert run.exit_code == 1, run.stdout
    assert "Container Instances could not pull" in run.stdout
    assert "InaccessibleImage" in run.stdout
    assert "az role assignment create" in run.stdout
    assert puller in run.stdout


def test_identities_attached_elsewhere_survive_a_registry_identity_deploy(
    azure: Emulator,
    aci: ContainerInstanceManagementClient,
    run_action: Callable[..., Run],
    hello_app: Any,
    pushed: str,
    make_identity: Callable[..., str],
    cleanup_groups: list[str],
) -> None:
    name = "identity-kept"
    cleanup_groups.append(name)
    theirs = make_identity("their-app-identity")
    puller = make_identity("acr-pull-kept", acr_pull=True)
    body = base_body(azure, name, pushed, {})
    body["properties"]["ipAddress"] = {"type": "Public", "ports": [{"port": 80, "protocol": "TCP"}]}
    body["identity"] = {
        "type": "SystemAssigned, UserAssigned",
        "userAssignedIdentities": {theirs: {}},
    }
    made_elsewhere(azure, aci, name, body)

    run = run_action(inputs={"name": name, "registry-identity": puller}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    after = read(azure, aci, name)
    assert _identities(after) == (
        "SystemAssigned, UserAssigned",
        {theirs.lower(), puller.lower()},
    )
    assert azure.count("DELETE", f"/containerGroups/{name}") == 0


def test_identity_is_created_updated_in_place_and_kept_when_not_mentioned(
    azure: Emulator,
    aci: ContainerInstanceManagementClient,
    run_action: Callable[..., Run],
    hello_app: Any,
    make_identity: Callable[..., str],
    cleanup_groups: list[str],
) -> None:
    name = "identity-app"
    cleanup_groups.append(name)
    own = make_identity("app-own-identity")

    first = run_action(inputs={"name": name, "identity": "system"}, workspace=hello_app)
    assert first.exit_code == 0, first.stdout
    assert _identities(read(azure, aci, name)) == ("SystemAssigned", set())

    puts = azure.count("PUT", f"/containerGroups/{name}")
    second = run_action(inputs={"name": name, "identity": f"system, {own}"}, workspace=hello_app)
    assert second.exit_code == 0, second.stdout
    after = read(azure, aci, name)
    assert _identities(after) == ("SystemAssigned, UserAssigned", {own.lower()})
    assert azure.count("PUT", f"/containerGroups/{name}") == puts + 1
    assert azure.count("DELETE", f"/containerGroups/{name}") == 0

    third = run_action(inputs={"name": name}, workspace=hello_app)
    assert third.exit_code == 0, third.stdout
    assert _identities(read(azure, aci, name)) == ("SystemAssigned, UserAssigned", {own.lower()})
    assert azure.count("DELETE", f"/containerGroups/{name}") == 0
