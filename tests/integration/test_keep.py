"""A group set up by other tools keeps what the action does not manage.

A container group PUT replaces the whole group ("If you don't set a value for a property, it
reverts to its default value", container-instances-update), so these groups are created outside
the action, through the SDK, and read back after a deploy: volumes, the identity, the subnet
(private IP), probes, an init container, a sidecar, cpu, memory and restart policy survive, and
what a GET cannot show (secure values, storage keys, Log Analytics keys) stops the deploy before
any change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from localazure.server import Emulator
from tests.harness.workflow import REGISTRY, RESOURCE_GROUP
from tests.vnets import ensure_subnets

from .steps import Run

pytestmark = pytest.mark.docker

PULLER = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"  # AcrPull on the registry (seed.yaml)
PULLER_SECRET = "Xq8~pullPrincipalSecret.Local-0001"
IDENTITY = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/id-rg/providers"
    "/Microsoft.ManagedIdentity/userAssignedIdentities/app-identity"
)
SIDECAR_SECRET = "sidecar-secret-value-4410"
STORAGE_KEY = "storage-key-value-9921"
WORKSPACE_KEY = "workspace-key-value-6613"
# Read-only in the 2023-05-01 spec: never part of what the action sends.
READ_ONLY = ("provisioningState", "instanceView", "fqdn", "principalId", "tenantId", "clientId")


@pytest.fixture
def pushed(run_action: Callable[..., Run], hello_app: Any) -> str:
    """The hello app's image in the registry, as `mode: build` pushed it."""
    built = run_action(inputs={"mode": "build"}, workspace=hello_app)
    assert built.exit_code == 0, built.stdout
    return built.outputs["image-ref"]


def made_elsewhere(
    azure: Emulator, aci: ContainerInstanceManagementClient, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Create the group outside the action (a raw PUT through the SDK's pipeline); its GET."""
    from azure.core.rest import HttpRequest

    url = (
        f"{azure.arm_url}/subscriptions/{azure.state.subscription_id}/resourceGroups/"
        f"{RESOURCE_GROUP}/providers/Microsoft.ContainerInstance/containerGroups/{name}"
        "?api-version=2023-05-01"
    )
    answer = aci._client.send_request(HttpRequest("PUT", url, json=body))
    assert answer.status_code == 201, answer.text()
    deadline = time.monotonic() + 60
    while aci.container_groups.get(RESOURCE_GROUP, name).provisioning_state != "Succeeded":
        assert time.monotonic() < deadline, "the group made elsewhere never started"
        time.sleep(0.5)
    return read(azure, aci, name)


def read(azure: Emulator, aci: ContainerInstanceManagementClient, name: str) -> dict[str, Any]:
    """The group's GET as JSON, without what changes by itself (instance views, ip)."""
    group = aci.container_groups.get(RESOURCE_GROUP, name).serialize(keep_readonly=False)
    assert isinstance(group, dict)
    return group


def app(image: str, **extra: Any) -> dict[str, Any]:
    return {
        "image": image,
        "ports": [{"port": 80, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": 0.75, "memoryInGB": 0.7}},
        **extra,
    }


def sidecar(image: str, **extra: Any) -> dict[str, Any]:
    return {
        "image": image,
        "command": ["/bin/busybox", "httpd", "-f", "-p", "8081", "-h", "/www"],
        "resources": {"requests": {"cpu": 0.25, "memoryInGB": 0.25}},
        **extra,
    }


def base_body(azure: Emulator, name: str, image: str, app_extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "restartPolicy": "OnFailure",
            "imageRegistryCredentials": [
                {
                    "server": azure.login_server(REGISTRY),
                    "username": PULLER,
                    "password": PULLER_SECRET,
                }
            ],
            "containers": [
                {"name": name, "properties": app(image, **app_extra)},
                {"name": "log", "properties": sidecar(image)},
            ],
        },
    }


def private_rich_body(azure: Emulator, name: str, image: str) -> dict[str, Any]:
    """A private group with everything that can be kept: volumes, probes, an init container,
    a sidecar, identities; cpu, memory and restart policy not the action's defaults."""
    body = base_body(
        azure,
        name,
        image,
        {
            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
            "livenessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 10},
            "readinessProbe": {"exec": {"command": ["/bin/busybox", "true"]}},
        },
    )
    props = body["properties"]
    props["subnetIds"] = [{"id": ensure_subnets(azure), "name": "aci"}]
    props["ipAddress"] = {"type": "Private", "ports": [{"port": 80, "protocol": "TCP"}]}
    props["volumes"] = [
        {"name": "cache", "emptyDir": {}},
        {"name": "repo", "gitRepo": {"repository": "https://github.com/octo-org/config"}},
    ]
    props["initContainers"] = [
        {
            "name": "migrate",
            "properties": {
                "image": image,
                "command": ["/bin/busybox", "true"],
                "volumeMounts": [{"name": "repo", "mountPath": "/repo"}],
            },
        }
    ]
    props["dnsConfig"] = {"nameServers": ["10.0.0.10"], "searchDomains": "corp.example"}
    body["identity"] = {
        "type": "SystemAssigned, UserAssigned",
        "userAssignedIdentities": {IDENTITY: {}},
    }
    body["tags"] = {"team": "web"}
    return body


def kept_part(group: dict[str, Any]) -> dict[str, Any]:
    """What the action must not touch: everything but our container's image, env, command and
    the tags (which `resource-tags` and the provenance tags own)."""
    props = {k: v for k, v in group["properties"].items() if k != "imageRegistryCredentials"}
    containers = []
    for container in props["containers"]:
        cprops = {
            k: v
            for k, v in container["properties"].items()
            if k not in ("image", "environmentVariables", "command")
        }
        containers.append({"name": container["name"], "properties": cprops})
    return {
        **{k: v for k, v in group.items() if k not in ("tags", "properties")},
        "properties": {**props, "containers": containers},
    }


def test_a_private_group_made_elsewhere_keeps_all_it_has(
    azure: Emulator,
    aci: ContainerInstanceManagementClient,
    run_action: Callable[..., Run],
    hello_app: Any,
    pushed: str,
    cleanup_groups: list[str],
) -> None:
    name = "keep-private"
    cleanup_groups.append(name)
    before = made_elsewhere(azure, aci, name, private_rich_body(azure, name, pushed))

    run = run_action(inputs={"name": name}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    after = read(azure, aci, name)
    assert kept_part(after) == kept_part(before)
    assert after["properties"]["ipAddress"]["type"] == "Private"
    assert "dnsNameLabel" not in after["properties"]["ipAddress"]
    # cpu, memory and restart policy were not given: the group's own, so no recreate.
    assert azure.count("DELETE", f"/containerGroups/{name}") == 0
    assert "plan: recreate" not in run.stdout
    sent = _group(azure, name).sent
    assert not [key for key in READ_ONLY if f'"{key}"' in repr(sent).replace("'", '"')]
    assert "ip" not in sent["properties"]["ipAddress"]


def test_a_public_group_made_elsewhere_keeps_its_dns_label_and_sizes(
    azure: Emulator,
    aci: ContainerInstanceManagementClient,
    run_action: Callable[..., Run],
    hello_app: Any,
    pushed: str,
    cleanup_groups: list[str],
) -> None:
    name = "keep-public"
    cleanup_groups.append(name)
    body = base_body(azure, name, pushed, {})
    body["properties"]["ipAddress"] = {
        "type": "Public",
        "dnsNameLabel": "their-own-label-7",
        "ports": [{"port": 80, "protocol": "TCP"}],
    }
    before = made_elsewhere(azure, aci, name, body)

    run = run_action(inputs={"name": name}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    after = read(azure, aci, name)
    assert kept_part(after) == kept_part(before)
    assert after["properties"]["ipAddress"]["dnsNameLabel"] == "their-own-label-7"
    assert run.outputs["fqdn"] == "their-own-label-7.westeurope.azurecontainer.io"
    assert azure.count("DELETE", f"/containerGroups/{name}") == 0


def test_what_a_get_cannot_show_stops_the_deploy_before_any_change(
    azure: Emulator,
    aci: ContainerInstanceManagementClient,
    run_action: Callable[..., Run],
    hello_app: Any,
    pushed: str,
    cleanup_groups: list[str],
) -> None:
    name = "keep-secrets"
    cleanup_groups.append(name)
    body = base_body(azure, name, pushed, {})
    props = body["properties"]
    props["containers"][1]["properties"]["environmentVariables"] = [
        {"name": "TOKEN", "secureValue": SIDECAR_SECRET}
    ]
    props["containers"][1]["properties"]["volumeMounts"] = [{"name": "share", "mountPath": "/s"}]
    props["volumes"] = [
        {
            "name": "share",
            "azureFile": {
                "shareName": "logs",
                "storageAccountName": "acct",
                "storageAccountKey": STORAGE_KEY,
            },
        }
    ]
    props["diagnostics"] = {
        "logAnalytics": {"workspaceId": "workspace-1", "workspaceKey": WORKSPACE_KEY}
    }
    props["ipAddress"] = {"type": "Public", "ports": [{"port": 80, "protocol": "TCP"}]}
    # The share must exist for ACI to mount it; its account is in a resource group other than
    # the deployment's, where the action's listKeys does not find it to read the key again.
    with azure.state.lock:
        azure.state.resource_groups.setdefault("keep-storage-rg", ("keep-storage-rg", "westeurope"))
    account = azure.services["storage"].add_account("keep-storage-rg", "acct", shares=("logs",))
    account.keys["key1"] = STORAGE_KEY
    made_elsewhere(azure, aci, name, body)
    puts = azure.count("PUT", f"/containerGroups/{name}")

    run = run_action(inputs={"name": name}, workspace=hello_app)

    assert run.exit_code == 1, run.stdout
    assert azure.count("PUT", f"/containerGroups/{name}") == puts
    assert azure.count("DELETE", f"/containerGroups/{name}") == 0
    shown = run.stdout
    assert "secure environment variable `TOKEN` of container `log`" in shown
    assert "storage account key of Azure Files volume `share`" in shown
    assert "Log Analytics workspace key" in shown
    for secret in (SIDECAR_SECRET, STORAGE_KEY, WORKSPACE_KEY):
        assert secret not in shown
    assert _group(azure, name).spec["properties"]["volumes"][0]["azureFile"]["storageAccountKey"]


def _group(azure: Emulator, name: str) -> Any:
    return next(g for g in azure.state.container_groups.values() if g.name == name)
