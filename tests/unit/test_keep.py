"""The group to PUT is the existing one with the action's parts changed (keep.py, spec.resolve)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest

from acr_action.keep import lost_secrets
from acr_action.spec import KEEPABLE, diff, immutable_changes, resolve, servers, to_model

from .test_spec import BASE, as_group, service_get

UNSET = replace(BASE, unset=KEEPABLE)
SUBNET = "/subscriptions/sub/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/aci"
IDENTITY = "/subscriptions/sub/resourceGroups/id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"


def made_elsewhere(**changes: Any) -> dict[str, Any]:
    """The GET of a group someone else sized and extended, without the action's fingerprint."""
    body = service_get(BASE, fingerprint_tag=False)
    props = body["properties"]
    ours = props["containers"][0]["properties"]
    ours["resources"]["requests"] = {"cpu": 2, "memoryInGB": 7}
    ours["volumeMounts"] = [{"name": "cache", "mountPath": "/cache"}]
    ours["livenessProbe"] = {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 10}
    ours["instanceView"]["events"] = [{"name": "Started", "message": "Started container"}]
    props["restartPolicy"] = "OnFailure"
    props["volumes"] = [{"name": "cache", "emptyDir": {}}]
    props["dnsConfig"] = {"nameServers": ["10.0.0.10"]}
    props["instanceView"] = {"state": "Running", "events": []}
    props["initContainers"] = [
        {"name": "migrate", "properties": {"image": "myreg.azurecr.io/migrate:1"}}
    ]
    props["containers"].append(
        {
            "name": "log",
            "properties": {
                "image": "mcr.microsoft.com/azuremonitor/agent:1",
                "environmentVariables": [{"name": "MODE", "value": "tail"}],
                "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}},
            },
        }
    )
    props["imageRegistryCredentials"].append({"server": "other.azurecr.io", "identity": IDENTITY})
    body["identity"] = {
        "type": "SystemAssigned, UserAssigned",
        "principalId": "p-1",
        "tenantId": "t-1",
        "userAssignedIdentities": {IDENTITY: {"principalId": "p-2", "clientId": "c-2"}},
    }
    body["zones"] = ["1"]
    for key, value in changes.items():
        props[key] = value
    return body


def sent(spec: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The PUT body the SDK would send for `spec` over the GET `body`."""
    model = to_model(spec, as_group(body))
    document = model.serialize()
    assert isinstance(document, dict)
    return document


def test_inputs_not_given_take_the_existing_groups_values() -> None:
    resolved = resolve(UNSET, as_group(made_elsewhere()))

    assert (resolved.cpu, resolved.memory, resolved.restart_policy) == (2.0, 7.0, "OnFailure")
    assert resolved.ports == BASE.ports
    assert resolved.dns_name_label == BASE.dns_name_label
    assert resolved.unset == frozenset()


def test_inputs_not_given_for_a_new_group_are_the_old_defaults() -> None:
    resolved = resolve(UNSET, None)

    assert (resolved.cpu, resolved.memory, resolved.ports) == (BASE.cpu, BASE.memory, BASE.ports)
    assert resolved.ip_type == "Public"


def test_given_inputs_win() -> None:
    given = replace(BASE, cpu=0.5, unset=KEEPABLE - {"cpu"})

    assert resolve(given, as_group(made_elsewhere())).cpu == 0.5


def test_sizes_not_given_are_no_immutable_change() -> None:
    existing = as_group(made_elsewhere())

    plan = diff(existing, UNSET)

    assert plan.action == "update"
    assert immutable_changes(existing, UNSET) == ()
    # Given, the same sizes are a recreate, as ACI needs for them.
    assert set(immutable_changes(existing, BASE)) == {"cpu", "memory", "restart policy"}


def test_everything_the_action_does_not_manage_goes_back_unchanged() -> None:
    before = made_elsewhere()
    spec = replace(UNSET, image_ref="myreg.azurecr.io/app:2", command_line=("serve",))

    body = sent(spec, before)

    props = body["properties"]
    assert props["volumes"] == before["properties"]["volumes"]
    assert props["dnsConfig"] == before["properties"]["dnsConfig"]
    assert props["initContainers"] == before["properties"]["initContainers"]
    assert props["restartPolicy"] == "OnFailure"
    assert body["zones"] == ["1"]
    assert body["identity"] == {
        "type": "SystemAssigned, UserAssigned",
        "userAssignedIdentities": {IDENTITY: {}},
    }
    app, log = props["containers"]
    assert app["properties"]["image"] == "myreg.azurecr.io/app:2"
    assert app["properties"]["command"] == ["serve"]
    assert app["properties"]["volumeMounts"] == [{"name": "cache", "mountPath": "/cache"}]
    assert app["properties"]["livenessProbe"]["httpGet"] == {"path": "/", "port": 80}
    assert app["properties"]["resources"]["requests"] == {"cpu": 2.0, "memoryInGB": 7.0}
    assert log == before["properties"]["containers"][1]
    # Our login with its password, the identity-based one as it was.
    logins = props["imageRegistryCredentials"]
    assert [c["server"] for c in logins] == ["myreg.azurecr.io", "other.azurecr.io"]
    assert logins[0]["password"] == "pull-password-0123456789"
    assert logins[1] == {"server": "other.azurecr.io", "identity": IDENTITY}


def test_nothing_the_service_sets_is_sent_back() -> None:
    text = json.dumps(sent(UNSET, made_elsewhere()))

    for read_only in (
        "provisioningState",
        "instanceView",
        "fqdn",
        "52.224.145.193",  # ipAddress.ip
        "principalId",
        "tenantId",
        "clientId",
        '"id": "/subscriptions/sub/resourceGroups/rg',
    ):
        assert read_only not in text


@pytest.mark.parametrize(
    ("ip", "subnets", "expected"),
    [
        pytest.param(
            {"type": "Private", "ports": [{"port": 80}]}, [{"id": SUBNET}], "Private", id="private"
        ),
        pytest.param(None, None, None, id="none"),
    ],
)
def test_the_network_exposure_is_kept(
    ip: dict[str, Any] | None, subnets: list[dict[str, str]] | None, expected: str | None
) -> None:
    body = made_elsewhere(ipAddress=ip, subnetIds=subnets)
    if ip is None:
        body["properties"]["containers"][0]["properties"]["ports"] = []

    got = sent(UNSET, body)["properties"]

    assert (got.get("ipAddress") or {}).get("type") == expected
    assert "dnsNameLabel" not in (got.get("ipAddress") or {})
    assert got.get("subnetIds") == subnets
    assert diff(as_group(body), UNSET).action == "update"  # no network change, no recreate


def test_ports_given_open_a_public_ip_on_a_group_without_one() -> None:
    body = made_elsewhere(ipAddress=None)
    spec = replace(BASE, unset=KEEPABLE - {"ports"}, ports=(8080,))

    got = sent(spec, body)["properties"]["ipAddress"]

    assert got["type"] == "Public"
    assert got["ports"] == [{"protocol": "TCP", "port": 8080}]


@pytest.mark.parametrize(
    "given",
    [pytest.param({}, id="ports-not-given"), pytest.param({"ports": (53,)}, id="ports-given")],
)
def test_a_protocol_not_given_is_the_existing_groups(given: dict[str, Any]) -> None:
    body = made_elsewhere()
    for port in [
        *body["properties"]["ipAddress"]["ports"],
        *body["properties"]["containers"][0]["properties"]["ports"],
    ]:
        port["protocol"] = "UDP"
    spec = replace(BASE, **given, unset=KEEPABLE - set(given))

    got = sent(spec, body)["properties"]

    assert {p["protocol"] for p in got["ipAddress"]["ports"]} == {"UDP"}
    assert {p["protocol"] for p in got["containers"][0]["properties"]["ports"]} == {"UDP"}


def test_a_label_not_given_is_the_existing_groups() -> None:
    body = made_elsewhere()
    body["properties"]["ipAddress"]["dnsNameLabel"] = "their-label"

    assert sent(UNSET, body)["properties"]["ipAddress"]["dnsNameLabel"] == "their-label"
    assert sent(BASE, body)["properties"]["ipAddress"]["dnsNameLabel"] == BASE.dns_name_label


def lost(body: dict[str, Any]) -> list[str]:
    return lost_secrets(as_group(body), BASE.container_name, servers(BASE))


def test_a_group_that_can_be_kept_loses_nothing() -> None:
    assert lost(made_elsewhere()) == []


def test_what_a_get_does_not_return_is_named() -> None:
    body = made_elsewhere()
    props = body["properties"]
    props["containers"][1]["properties"]["environmentVariables"].append({"name": "TOKEN"})
    props["initContainers"][0]["properties"]["environmentVariables"] = [{"name": "DB_PASSWORD"}]
    props["volumes"] += [
        {"name": "share", "azureFile": {"shareName": "s", "storageAccountName": "a"}},
        {"name": "config", "secret": {}},
    ]
    props["diagnostics"] = {"logAnalytics": {"workspaceId": "w"}}
    props["imageRegistryCredentials"] += [
        {"server": "mcr.microsoft.com", "username": "puller"},  # the sidecar pulls from it
        {"server": "unused.azurecr.io", "username": "old"},  # nothing pulls from it
    ]

    assert lost(body) == [
        "secure environment variable `TOKEN` of container `log`",
        "secure environment variable `DB_PASSWORD` of init container `migrate`",
        "password of the registry login `puller` for `mcr.microsoft.com`, which `log` pulls with",
        "storage account key of Azure Files volume `share`",
        "contents of secret volume `config`",
        "Log Analytics workspace key (diagnostics.logAnalytics)",
    ]
    # The unused login is not sent again (it has no password to send).
    logins = sent(UNSET, body)["properties"]["imageRegistryCredentials"]
    assert "unused.azurecr.io" not in [c["server"] for c in logins]


def test_our_own_secure_variables_are_the_inputs_not_a_loss() -> None:
    body = copy.deepcopy(made_elsewhere())

    assert lost(body) == []  # BASE's API_KEY and PIN come back name-only; the inputs hold them
