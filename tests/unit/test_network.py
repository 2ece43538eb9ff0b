"""Virtual network inputs: parsing, ACI's rules before any call, and what the PUT keeps or sets."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from azure.mgmt.containerinstance.models import ContainerGroup

from acr_action import network
from acr_action.errors import InputError
from acr_action.inputs import parse_inputs
from acr_action.network import DnsConfig
from acr_action.spec import diff, to_model
from tests.unit.support import make_env
from tests.unit.test_spec import BASE

SUB = "2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11"
SUBNET = (
    f"/subscriptions/{SUB}/resourceGroups/network/providers/Microsoft.Network"
    "/virtualNetworks/app-vnet/subnets/aci"
)


def problems(inputs: dict[str, str]) -> dict[str, str]:
    """Each refused input and its message."""
    with pytest.raises(InputError) as caught:
        parse_inputs(make_env(inputs))
    return {p.input: p.message for p in caught.value.problems}


def test_subnet_ids_make_the_group_private() -> None:
    parsed = parse_inputs(make_env({"subnet-ids": SUBNET}))

    assert parsed.network.subnet_ids == (SUBNET,)
    assert parsed.network.ip_address == "Private"


def test_nothing_said_keeps_everything() -> None:
    parsed = parse_inputs(make_env())

    assert parsed.network == network.NetworkInputs()


@pytest.mark.parametrize(
    ("inputs", "name", "says"),
    [
        pytest.param({"subnet-ids": "app-vnet/aci"}, "subnet-ids", "resource ID", id="not-an-id"),
        pytest.param(
            {"subnet-ids": SUBNET.replace("subnets", "subnet")}, "subnet-ids", "resource ID",
            id="wrong-segment",
        ),
        pytest.param(
            {"subnet-ids": f"{SUBNET}\n{SUBNET.upper()}"}, "subnet-ids", "twice", id="twice"
        ),
        pytest.param(
            {"subnet-ids": SUBNET, "subscription-id": "0f8fad5b-d9cb-469f-a165-70867728950e",
             "client-id": "0f8fad5b-d9cb-469f-a165-70867728950e",
             "tenant-id": "72f988bf-86f1-41af-91ab-2d7cd011db47"},
            "subnet-ids", "same subscription", id="other-subscription",
        ),
        pytest.param(
            {"subnet-ids": SUBNET, "ip-address": "Public"}, "ip-address", "cannot be Public",
            id="public-in-subnet",
        ),
        pytest.param(
            {"ip-address": "Private", "dns-name-label": "my-app-12345"}, "dns-name-label",
            "private group", id="label-on-private",
        ),
        pytest.param({"ip-address": "Internal"}, "ip-address", "one of Public", id="bad-type"),
        pytest.param(
            {"dns-config": "search contoso.com"}, "dns-config", "nameserver", id="no-server"
        ),
        pytest.param(
            {"dns-config": "nameserver dns.contoso.com"}, "dns-config", "not an IP", id="name"
        ),
        pytest.param({"dns-config": "domain x.com"}, "dns-config", "line 1", id="unknown-key"),
        pytest.param(
            {"health-check-url": "https://app.internal/healthz"}, "health-check-url", "http://",
            id="https-url",
        ),
        pytest.param({"health-check-url": "/healthz"}, "health-check-url", "http://", id="path"),
        pytest.param(
            {"mode": "delete", "name": "app", "subnet-ids": SUBNET}, "subnet-ids", "only applies",
            id="not-in-delete",
        ),
    ],
)  # fmt: skip
def test_refused_before_any_call(inputs: dict[str, str], name: str, says: str) -> None:
    found = problems(inputs)

    assert name in found, found
    assert says in found[name]


def test_dns_config_reads_like_resolv_conf() -> None:
    text = "# ours\nnameserver 10.0.0.10\nnameserver 10.0.0.11\nsearch a.internal b\noptions ndots:2 rotate\n"

    parsed = parse_inputs(make_env({"dns-config": text}))

    assert parsed.network.dns_config == DnsConfig(
        ("10.0.0.10", "10.0.0.11"), ("a.internal", "b"), ("ndots:2", "rotate")
    )


def test_probe_url_parts() -> None:
    assert network.probe_url("http://10.0.2.4:8080/healthz?deep=1") == network.ProbeUrl(
        "10.0.2.4", 8080, "/healthz?deep=1", "10.0.2.4:8080"
    )
    assert network.probe_url("http://app.internal") == network.ProbeUrl(
        "app.internal", 80, "/", "app.internal"
    )


def vnet_group(**extra: Any) -> ContainerGroup:
    """A GET of a private group someone put in a subnet, with DNS settings."""
    body = {
        "location": "westus",
        "properties": {
            "osType": "Linux",
            "containers": [
                {"name": "app", "properties": {"image": BASE.image_ref,
                 "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}}}}
            ],
            "ipAddress": {"type": "Private", "ip": "10.0.0.4",
                          "ports": [{"port": 80, "protocol": "TCP"}]},
            "subnetIds": [{"id": SUBNET, "name": "aci"}],
            "dnsConfig": {"nameServers": ["10.0.0.10"], "searchDomains": "a.internal"},
            **extra,
        },
    }  # fmt: skip
    return ContainerGroup.deserialize(body)


def test_a_group_in_a_subnet_stays_there_when_nothing_is_said() -> None:
    existing = vnet_group()
    spec = replace(BASE, ports=(80,), unset=frozenset({"dns_name_label"}))

    body = to_model(spec, existing).serialize()

    props = body["properties"]
    assert props["subnetIds"] == [{"id": SUBNET, "name": "aci"}]
    assert props["ipAddress"]["type"] == "Private"
    assert "dnsNameLabel" not in props["ipAddress"]
    assert props["dnsConfig"] == {"nameServers": ["10.0.0.10"], "searchDomains": "a.internal"}
    assert "network" not in diff(existing, spec).changed
    assert "subnets" not in diff(existing, spec).changed


def test_a_new_private_group_gets_no_label_and_its_subnet() -> None:
    spec = replace(
        BASE, ip_type="Private", subnet_ids=(SUBNET,), dns_config=DnsConfig(("1.1.1.1",))
    )

    props = to_model(spec).serialize()["properties"]

    assert props["ipAddress"]["type"] == "Private"
    assert "dnsNameLabel" not in props["ipAddress"]
    assert props["subnetIds"] == [{"id": SUBNET}]
    assert props["dnsConfig"] == {"nameServers": ["1.1.1.1"]}


def test_dns_config_changes_in_place() -> None:
    spec = replace(BASE, ports=(80,), dns_config=DnsConfig(("10.0.0.12",), ("b.internal",)))

    plan = diff(vnet_group(), spec)

    assert "dns config" in plan.changed
    assert plan.action == "update", plan


def test_public_takes_the_group_out_of_its_subnet_by_recreating() -> None:
    spec = replace(BASE, ports=(80,), ip_type="Public")

    plan = diff(vnet_group(), spec)
    props = to_model(spec, vnet_group()).serialize()["properties"]

    assert plan.action == "recreate"
    assert "network" in plan.changed
    assert "subnetIds" not in props
    assert props["ipAddress"]["type"] == "Public"


def test_private_without_a_subnet_is_refused_before_the_put() -> None:
    with pytest.raises(InputError) as caught:
        network.check_private("Private", None, None)

    assert caught.value.problems[0].input == "ip-address"
    network.check_private("Private", None, vnet_group())  # the group's own subnet is kept


def test_spot_refuses_a_virtual_network() -> None:
    """Spot groups "can't be deployed behind a virtual network" (spot-containers-overview)."""
    found = problems({"priority": "Spot", "subnet-ids": SUBNET})

    assert "priority: Spot" in found["subnet-ids"]
