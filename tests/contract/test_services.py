"""The services of the local Azure, as they register themselves: hosts, names, roles, state."""

from __future__ import annotations

import re
import socket

import pytest

from localazure.arm_provider import ArmProvider
from localazure.server import (
    HOST_PATTERNS,
    RESOURCE_TYPES,
    SERVICE_MODULES,
    Emulator,
    service_classes,
)
from localazure.service import ServiceBase

pytestmark = pytest.mark.emulator


def test_the_registered_services_and_their_hosts() -> None:
    hosts = {name: sorted(cls.HOSTS) for name, cls in service_classes().items()}

    assert hosts == {
        "metadata": [],
        "oidc": ["oidc"],
        "identity": ["login"],
        "arm": ["arm"],
        "resources": [],
        "authorization": [],
        "managedidentity": [],
        "vaults": [],
        "registries": [],
        "keyvault": ["vault", "vault-root"],
        "storage": [],
        "loganalytics": [],
        "github": ["github"],
        "acr": ["acr"],
        "network": [],
        "aci": [],
        "control": [],
    }
    assert list(hosts) == list(SERVICE_MODULES)
    assert sorted(HOST_PATTERNS) == sorted(k for kinds in hosts.values() for k in kinds)
    assert all(issubclass(cls, ServiceBase) for cls in service_classes().values())
    # The resource types whose api-versions a test may narrow, each on a declared host kind.
    assert sorted(RESOURCE_TYPES) == [
        "containerGroups",
        "providers",
        "registries",
        "resourceGroups",
        "roleAssignments",
        "roleDefinitions",
        "storageAccounts",
        "userAssignedIdentities",
        "vaults",
    ]
    assert {kind for kind, _ in RESOURCE_TYPES.values()} <= set(HOST_PATTERNS)
    # Every ARM resource provider shares one base: checks, headers, paging, operations.
    assert {n for n, cls in service_classes().items() if issubclass(cls, ArmProvider)} == {
        "arm",
        "resources",
        "authorization",
        "managedidentity",
        "vaults",
        "registries",
        "storage",
        "loganalytics",
        "network",
        "aci",
    }


def test_every_declared_name_resolves_to_loopback_and_routes(azure_http: Emulator) -> None:
    names = azure_http.host_names()

    assert "management.azure.localhost" in names
    assert "acractiondemo.azurecr.localhost" in names
    for name in names:
        assert socket.getaddrinfo(name, None, socket.AF_INET)[0][4][0] == "127.0.0.1", name
        assert azure_http.router.host_kind(name) is not None, name


def test_every_host_a_service_serves_by_one_name_is_declared_to_resolve(
    azure_http: Emulator,
) -> None:
    """A host kind whose pattern is one literal name (the OIDC issuer, GitHub's API, Entra, ARM)
    must be in `host_names()`: the start-up writes only those names to /etc/hosts, and a machine
    that has run the emulator before still has every old name there, which hides an omission
    until a brand-new machine (scripts/fresh-machine.sh) cannot reach the host at all."""
    declared = set(azure_http.host_names())
    literal = {
        kind: re.sub(r"\\(.)", r"\1", pattern)
        for cls in service_classes().values()
        for kind, pattern in cls.HOSTS.items()
        if re.escape(re.sub(r"\\(.)", r"\1", pattern)) == pattern
    }

    assert literal, "no host kind is one literal name: the check would pass vacuously"
    assert {kind: name for kind, name in literal.items() if name not in declared} == {}


def test_services_bring_their_roles(azure_http: Emulator) -> None:
    roles = azure_http.state.roles

    assert {"owner", "contributor", "reader"} <= set(roles)  # ARM's general roles
    assert {"acrpull", "acrpush"} <= set(roles)  # acr.py's
    assert "key vault secrets user" in roles  # keyvault.py's
    with pytest.raises(KeyError, match="unknown role"):
        azure_http.state.grant("someone", "No Such Role", "/")


def test_state_keeps_any_resource_type(azure_http: Emulator) -> None:
    state = azure_http.state
    table = state.table("Contoso.Widgets/widgets")
    table["/subscriptions/x/resourcegroups/y/providers/contoso.widgets/widgets/w"] = {"n": 1}
    try:
        assert state.table("contoso.widgets/WIDGETS") is table
        assert state.container_groups is state.table("Microsoft.ContainerInstance/containerGroups")
    finally:
        del state.resources["contoso.widgets/widgets"]
