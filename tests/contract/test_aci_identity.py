"""The local ACI's answers about identities, through the real SDK (`aci_identity.py`).

Azure's codes: InvalidImageRegistryIdentity (MicrosoftDocs/azure-docs#117644), the managed
identity service's "non-UserAssigned identity type" refusal (Azure/azure-rest-api-specs#17650);
FailedIdentityOperation for a pull identity that does not exist is [inferred].
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.containerinstance.models import (
    ContainerGroupIdentity,
    ImageRegistryCredential,
    UserAssignedIdentities,
)

from localazure.server import Emulator

from .test_aci import REGISTRY, RG, client, docker_api, group, image, unique

__all__ = ["client", "docker_api", "image"]  # fixtures used by name below

pytestmark = [pytest.mark.emulator, pytest.mark.docker]


def _identity_id(azure: Emulator, name: str) -> str:
    return (
        f"/subscriptions/{azure.state.subscription_id}/resourceGroups/{RG}"
        f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )


@pytest.fixture(scope="module")
def made_identity(
    azure: Emulator, client: ContainerInstanceManagementClient
) -> Iterator[dict[str, Any]]:
    resource_id = _identity_id(azure, "ct-aci-pull")
    url = f"{azure.arm_url}{resource_id}?api-version=2023-01-31"
    answer = client._send_request(HttpRequest("PUT", url, json={"location": "westeurope"}))
    assert answer.status_code in (200, 201), answer.text()
    yield answer.json()
    azure.state.revoke(answer.json()["properties"]["principalId"])
    client._send_request(HttpRequest("DELETE", url))


def _by_identity(azure: Emulator, image: str, resource_id: str, attached: str | None) -> Any:
    body = group(azure, image, ports=())
    body.image_registry_credentials = [
        ImageRegistryCredential(server=azure.login_server(REGISTRY), identity=resource_id)
    ]
    if attached is not None:
        body.identity = ContainerGroupIdentity(
            type="UserAssigned", user_assigned_identities={attached: UserAssignedIdentities()}
        )
    return body


def test_a_pull_identity_not_attached_is_refused(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str, made_identity: Any
) -> None:
    name = unique("id-detached")
    body = _by_identity(azure, image, made_identity["id"], None)
    with pytest.raises(HttpResponseError) as caught:
        client.container_groups.begin_create_or_update(RG, name, body, polling_interval=1)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidImageRegistryIdentity"
    assert caught.value.error.message == (
        f"The identity in the 'imageRegistryCredentials' of container group '{name}' not found"
        " in container group identity list"
    )


def test_a_pull_identity_that_does_not_exist_is_refused(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    missing = _identity_id(azure, "nobody-here")
    body = _by_identity(azure, image, missing, missing)
    with pytest.raises(HttpResponseError) as caught:
        client.container_groups.begin_create_or_update(RG, unique("id-missing"), body)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "FailedIdentityOperation"


def test_user_assigned_identities_need_a_user_assigned_type(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str, made_identity: Any
) -> None:
    body = group(azure, image, ports=())
    body.identity = ContainerGroupIdentity(
        type="SystemAssigned",
        user_assigned_identities={made_identity["id"]: UserAssignedIdentities()},
    )
    with pytest.raises(HttpResponseError) as caught:
        client.container_groups.begin_create_or_update(RG, unique("id-type"), body)
    assert caught.value.status_code == 400
    assert "a non-UserAssigned identity type should not contain" in caught.value.error.message


def test_an_attached_identity_echoes_its_real_ids(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str, made_identity: Any
) -> None:
    azure.state.grant(
        made_identity["properties"]["principalId"],
        "AcrPull",
        f"/subscriptions/{azure.state.subscription_id}/resourceGroups/{RG}"
        f"/providers/Microsoft.ContainerRegistry/registries/{REGISTRY}",
    )
    name = unique("id-pull")
    body = _by_identity(azure, image, made_identity["id"], made_identity["id"])
    created = client.container_groups.begin_create_or_update(
        RG, name, body, polling_interval=1
    ).result()
    assert created.provisioning_state == "Succeeded"
    (shown,) = created.identity.user_assigned_identities.values()
    assert shown.principal_id == made_identity["properties"]["principalId"]
    assert shown.client_id == made_identity["properties"]["clientId"]
    client.container_groups.begin_delete(RG, name).result()
