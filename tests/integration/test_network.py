"""Groups in a virtual network: deployed into a delegated subnet with a private IP, kept there by
deploys that say nothing about networking, DNS settings set, changed in place and kept, and the
refusals of ACI surfaced as clear errors, before any call where the inputs alone tell.

The runner cannot reach a private address (here: one of the subnet's 10.0.1.0/24, routed nowhere
on this machine, which nothing may connect to), so the probe is skipped with a notice; the local
Azure publishes the group's ports on a loopback address only a test knows (`reachable_at`),
standing in for a runner inside the virtual network, which `health-check-url` then probes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from azure.core.rest import HttpRequest

from localazure.server import Emulator
from tests.harness.workflow import RESOURCE_GROUP
from tests.vnets import SUBNET, UNDELEGATED, ensure_subnets

from .steps import Run

pytestmark = pytest.mark.docker


def group_json(azure: Emulator, name: str) -> dict[str, Any]:
    """The group as the local Azure holds it, in its public view."""
    group = next(g for g in azure.state.container_groups.values() if g.name == name)
    return azure.services["aci"]._view(group)  # type: ignore[attr-defined, no-any-return]  # aci.Service


def test_a_group_in_a_subnet_is_private_kept_there_and_gets_dns_settings(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Any,
    cleanup_groups: list[str],
) -> None:
    ensure_subnets(azure)
    name = "net-private"
    cleanup_groups.append(name)

    created = run_action(inputs={"name": name, "subnet-ids": SUBNET}, workspace=hello_app)

    assert created.exit_code == 0, created.stdout[-3000:]
    assert created.outputs["ip-address"].startswith("10.0.1."), created.outputs
    assert created.outputs["fqdn"] == ""
    assert created.outputs["url"] == ""
    assert "::notice::" in created.stdout
    assert "probe was skipped" in created.stdout
    assert "time: readiness" not in created.summary
    props = group_json(azure, name)["properties"]
    assert props["ipAddress"]["type"] == "Private"
    assert "dnsNameLabel" not in props["ipAddress"]
    assert [s["id"] for s in props["subnetIds"]] == [SUBNET]

    # Nothing about networking: still private, in the same subnet, updated in place.
    kept = run_action(inputs={"name": name}, workspace=hello_app)

    assert kept.exit_code == 0, kept.stdout[-3000:]
    props = group_json(azure, name)["properties"]
    assert props["ipAddress"]["type"] == "Private"
    assert "dnsNameLabel" not in props["ipAddress"]
    assert [s["id"] for s in props["subnetIds"]] == [SUBNET]
    assert kept.outputs["ip-address"] == created.outputs["ip-address"]
    assert azure.count("DELETE", f"/containerGroups/{name}") == 0

    # DNS settings: created, then changed in place, then kept by a deploy that does not say.
    dns = "nameserver 10.0.0.10\nsearch internal.contoso.com\noptions ndots:2"
    with_dns = run_action(inputs={"name": name, "dns-config": dns}, workspace=hello_app)
    changed = run_action(
        inputs={"name": name, "dns-config": "nameserver 10.0.0.11\nnameserver 10.0.0.12"},
        workspace=hello_app,
    )
    after = group_json(azure, name)["properties"]["dnsConfig"]
    survived = run_action(inputs={"name": name}, workspace=hello_app)

    assert with_dns.exit_code == changed.exit_code == survived.exit_code == 0
    assert "plan: update (dns config)" in with_dns.stdout
    assert after == {"nameServers": ["10.0.0.11", "10.0.0.12"]}
    assert group_json(azure, name)["properties"]["dnsConfig"] == after
    assert azure.count("DELETE", f"/containerGroups/{name}") == 0

    # A probe URL the runner can reach is used instead of the skipped probe.
    reach = azure.services["aci"].reachable_at(RESOURCE_GROUP, name)  # type: ignore[attr-defined]  # aci.Service
    assert reach is not None
    assert reach.startswith("127.")
    probed = run_action(
        inputs={"name": name, "health-check-url": f"http://{reach}:80/"}, workspace=hello_app
    )

    assert probed.exit_code == 0, probed.stdout[-3000:]
    assert "time: readiness" in probed.summary
    assert "probe was skipped" not in probed.stdout


def test_an_undelegated_subnet_is_refused_by_aci_with_its_words(
    azure: Emulator, run_action: Callable[..., Run], hello_app: Any
) -> None:
    ensure_subnets(azure)

    run = run_action(
        inputs={"name": "net-undelegated", "subnet-ids": UNDELEGATED}, workspace=hello_app
    )

    assert run.exit_code != 0
    assert "`net-undelegated` cannot join its subnet: it is not delegated to ACI" in run.stdout
    assert "--delegations Microsoft.ContainerInstance/containerGroups" in run.stdout
    assert "Subnet missing required delegation" in run.stdout
    assert not [g for g in azure.state.container_groups.values() if g.name == "net-undelegated"]


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        pytest.param(
            {"subnet-ids": SUBNET, "dns-name-label": "net-label-12345"},
            "dns-name-label",
            id="label-on-private",
        ),
        pytest.param(
            {"subnet-ids": SUBNET, "ip-address": "Public"}, "ip-address", id="public-in-subnet"
        ),
        pytest.param({"ip-address": "Private"}, "ip-address", id="private-without-subnet"),
    ],
)
def test_what_the_inputs_tell_is_refused_before_any_change(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Any,
    inputs: dict[str, str],
    named: str,
) -> None:
    """Refused with the input named; a private group without a subnet once the read shows
    there is no group (so no subnet to keep), still before the PUT."""
    puts = azure.count("PUT", "/containerGroups/")

    run = run_action(inputs={"name": "net-refused", **inputs}, workspace=hello_app)

    assert run.exit_code != 0
    assert f"`{named}`" in run.stdout, run.stdout[-2000:]
    assert azure.count("PUT", "/containerGroups/") == puts


def test_the_local_azure_refuses_what_aci_refuses(azure: Emulator) -> None:
    """A label on a private group and a subnet that does not exist, sent straight to ARM."""
    from .steps import deployer_aci

    ensure_subnets(azure)
    client = deployer_aci(azure)
    url = (
        f"{azure.arm_url}/subscriptions/{azure.state.subscription_id}/resourceGroups/"
        f"{RESOURCE_GROUP}/providers/Microsoft.ContainerInstance/containerGroups/net-raw"
        "?api-version=2023-05-01"
    )

    def put(ip: dict[str, Any], subnet: str) -> Any:
        body = {
            "location": "westeurope",
            "properties": {
                "osType": "Linux",
                "containers": [{"name": "a", "properties": {"image": "x/y:1",
                                "resources": {"requests": {"cpu": 0.1, "memoryInGB": 0.1}}}}],
                "ipAddress": {"ports": [{"port": 80}], **ip},
                "subnetIds": [{"id": subnet}],
            },
        }  # fmt: skip
        return client._client.send_request(HttpRequest("PUT", url, json=body))

    with client:
        label = put({"type": "Private", "dnsNameLabel": "net-raw-label"}, SUBNET)
        missing = put({"type": "Private"}, SUBNET.replace("/aci", "/nowhere"))

    assert label.status_code == 400
    assert label.json()["error"]["code"] == "DnsNameLabelNotSupported"
    assert "only supported when IP Address type is public" in label.json()["error"]["message"]
    assert missing.status_code == 400
    assert "was not found" in missing.json()["error"]["message"]
