"""The local Azure's virtual networks and subnets over ARM: shapes, delegations, refusals."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from localazure.server import Emulator
from tests.contract.test_arm_provider import deployer_token

pytestmark = pytest.mark.emulator

VNETS = "/subscriptions/{sub}/resourceGroups/demo-rg/providers/Microsoft.Network/virtualNetworks"


def put(azure: Emulator, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.put(
        f"{azure.arm_url}{path.format(sub=azure.state.subscription_id)}",
        params={"api-version": "2024-05-01"},
        json=body,
        headers={"Authorization": f"Bearer {deployer_token(azure)}"},
        verify=str(azure.ca_path),
        timeout=30,
    )


def vnet(prefix: str, subnet: str, delegated: bool = True) -> dict[str, Any]:
    delegations = [
        {
            "name": "aci",
            "properties": {"serviceName": "Microsoft.ContainerInstance/containerGroups"},
        }
    ]
    return {
        "location": "westeurope",
        "properties": {
            "addressSpace": {"addressPrefixes": [prefix]},
            "subnets": [{"name": "aci", "properties": {"addressPrefix": subnet,
                         "delegations": delegations if delegated else []}}],
        },
    }  # fmt: skip


def test_a_virtual_network_with_a_delegated_subnet(azure_http: Emulator) -> None:
    created = put(azure_http, VNETS + "/net-ok", vnet("10.8.0.0/16", "10.8.1.0/24"))
    again = put(azure_http, VNETS + "/net-ok", vnet("10.8.0.0/16", "10.8.1.0/24"))
    subnet = put(
        azure_http,
        VNETS + "/net-ok/subnets/plain",
        {"properties": {"addressPrefix": "10.8.2.0/24"}},
    )

    assert created.status_code == 201, created.text
    assert again.status_code == 200
    found = created.json()["properties"]["subnets"][0]
    assert found["id"].endswith("/virtualNetworks/net-ok/subnets/aci")
    assert found["properties"]["delegations"][0]["properties"]["serviceName"] == (
        "Microsoft.ContainerInstance/containerGroups"
    )
    assert subnet.status_code == 201
    assert subnet.json()["properties"]["delegations"] == []


@pytest.mark.parametrize(
    ("prefix", "subnet"),
    [
        pytest.param("127.0.0.0/16", "127.0.1.0/24", id="loopback"),
        pytest.param("169.254.0.0/16", "169.254.1.0/24", id="link-local"),
        pytest.param("10.9.0.0/16", "10.10.1.0/24", id="subnet-outside"),
        pytest.param("10.9.0.1/16", "10.9.1.0/24", id="not-a-network-address"),
    ],
)
def test_prefixes_azure_refuses(azure_http: Emulator, prefix: str, subnet: str) -> None:
    answer = put(azure_http, VNETS + "/net-bad", vnet(prefix, subnet))

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"]
