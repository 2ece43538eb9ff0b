"""Virtual networks: `subnet-ids`, `ip-address`, `dns-config` and `health-check-url`.

ACI's rules, checked before any network call where the inputs alone can tell:

* A group in a virtual network (`subnetIds`) has a private IP address or none, never a public
  one, and no DNS label: "Public IP or DNS label - Container groups deployed to a virtual network
  don't currently support exposing containers directly to the internet with a public IP address
  or a fully qualified domain name" (learn.microsoft.com/azure/container-instances/
  container-instances-virtual-network-concepts, "Unsupported networking scenarios"). ACI's
  answers: "IP Address type can't be public when network profile is set." (Azure/azure-cli#13802),
  "DNS name label for container group is only supported when IP Address type is public."
  (Azure/aci-deploy#53).
* A private IP needs a subnet: "Private IP address is only supported when network profile is
  defined" (CompositionalIT/farmer#125).
* "the subnet and the container group must be on the same Azure subscription" (the same page,
  "Other limitations"), and the subnet is delegated to `Microsoft.ContainerInstance/
  containerGroups` (ACI answers `SubnetMissingRequiredDelegation`, Azure/dev-box-images#8; the
  action cannot see the delegation without Network reads it has no role for, so the local Azure
  models the refusal and `errors` words it).
* Windows groups are no longer refused: "Container group deployment to a virtual network is
  generally available for Linux and Windows containers" (the same page).
* "Container instances don't read or inherit DNS settings from an associated virtual network.
  DNS settings must be explicitly set" (the same page): hence `dns-config`, the 2023-05-01 spec's
  `dnsConfig` (`nameServers` required, `searchDomains` and `options` one string each), written
  the way resolv.conf says it.

None of the inputs given: the existing group keeps its subnets, DNS configuration and IP address
type (`spec.resolve`); a group someone put in a virtual network stays there.

The runner cannot reach a private address, so a private group is waited for until Running and
its HTTP probe is skipped with a notice, unless `health-check-url` names an address the runner
can reach (a self-hosted runner in the virtual network, an application gateway).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from acr_action.errors import EXISTING_GROUP_READ, InputError, InputProblem
from acr_action.inputs_rules import DOMAIN_NAME

if TYPE_CHECKING:
    from azure.mgmt.containerinstance.models import ContainerGroup

__all__ = [
    "DnsConfig",
    "NetworkInputs",
    "ProbeUrl",
    "parse_network",
    "probe_url",
    "subnet_id",
]

IP_ADDRESS_TYPES: tuple[str, ...] = ("Public", "Private")

# A subnet's resource ID (Microsoft.Network's `virtualNetworks/{vnet}/subnets/{subnet}`); resource
# group names as ARM allows them, virtual network and subnet names 1-80 characters.
SUBNET_ID = re.compile(
    r"/subscriptions/(?P<subscription>[0-9a-fA-F-]{36})/resourceGroups/(?P<rg>[-\w._()]{1,90})"
    r"/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>[\w][\w.-]{0,79})"
    r"/subnets/(?P<subnet>[\w][\w.-]{0,79})",
    re.IGNORECASE,
)
SUBNET_EXAMPLE = (
    "subnet-ids: /subscriptions/2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11/resourceGroups/network"
    "/providers/Microsoft.Network/virtualNetworks/app-vnet/subnets/aci"
)
DNS_EXAMPLE = (
    "dns-config: |\n  nameserver 10.0.0.10\n  search internal.contoso.com\n  options ndots:2"
)
# resolv.conf's option words: `ndots:2`, `timeout:1`, `rotate`, `edns0`.
_OPTION = re.compile(r"[a-z][a-z0-9-]*(:[0-9]{1,3})?")
# ACI's delegation service name (container-instances-vnet; azure-cli's custom.py).
DELEGATION = "Microsoft.ContainerInstance/containerGroups"


class _Reader(Protocol):
    """What `inputs._Reader` offers a group's parser (named here: inputs imports this module)."""

    reported: set[str]

    def raw(self, name: str) -> str | None: ...
    def line(self, name: str) -> str | None: ...
    def optional_choice(self, name: str, options: tuple[str, ...]) -> str | None: ...
    def add(
        self, name: str, message: str, shown: str | None = None, example: str | None = None
    ) -> None: ...


@dataclass(frozen=True)
class DnsConfig:
    """`dnsConfig`: name servers, search domains and resolver options."""

    name_servers: tuple[str, ...]
    search_domains: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetworkInputs:
    """Where the group lives on the network; None: the existing group's (or a new one's default)."""

    subnet_ids: tuple[str, ...] | None = None
    ip_address: str | None = None  # "Public" or "Private"
    dns_config: DnsConfig | None = None
    health_check_url: str | None = None


@dataclass(frozen=True)
class ProbeUrl:
    """Where the readiness probe connects, and the Host it sends."""

    host: str
    port: int
    path: str
    host_header: str


def subnet_id(text: str) -> re.Match[str] | None:
    """The parts of a subnet's resource ID, or None."""
    return SUBNET_ID.fullmatch(text.strip().rstrip("/"))


def parse_network(r: _Reader, subscription_id: str | None, dns_label_given: bool) -> NetworkInputs:
    """The network inputs, every problem reported to `r`."""
    subnets = _parse_subnets(r, subscription_id)
    ip_type = r.optional_choice("ip-address", IP_ADDRESS_TYPES)
    if subnets and ip_type == "Public":
        r.add(
            "ip-address",
            "cannot be Public with `subnet-ids`: a group in a virtual network has a private IP "
            'address only (ACI: "IP Address type can\'t be public when network profile is set")',
            shown=ip_type,
            example="ip-address: Private",
        )
    if subnets and ip_type is None:
        ip_type = "Private"
    if dns_label_given and ip_type == "Private":
        r.add(
            "dns-name-label",
            "cannot be set on a private group (`ip-address: Private` or `subnet-ids`): ACI gives "
            "a DNS label only to a public IP address",
            example="ip-address: Public",
        )
    return NetworkInputs(
        subnet_ids=subnets,
        ip_address=ip_type,
        dns_config=_parse_dns(r),
        health_check_url=_parse_url(r),
    )


def _parse_subnets(r: _Reader, subscription_id: str | None) -> tuple[str, ...] | None:
    raw = r.raw("subnet-ids")
    if raw is None:
        return None
    found: list[str] = []
    for item in re.split(r"[\s,]+", raw.strip()):
        if not item:
            continue
        match = subnet_id(item)
        if match is None:
            r.add(
                "subnet-ids",
                "each entry must be a subnet's resource ID, /subscriptions/<id>/resourceGroups/"
                "<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>",
                shown=item,
            )
            continue
        if subscription_id and match["subscription"].lower() != subscription_id.lower():
            r.add(
                "subnet-ids",
                f"is in subscription {match['subscription']}, not {subscription_id}: ACI needs "
                "the subnet and the container group in the same subscription",
                shown=item,
            )
        if any(item.lower() == seen.lower() for seen in found):
            r.add("subnet-ids", "lists a subnet twice", shown=item)
            continue
        found.append(item.rstrip("/"))
    return tuple(found)


def _parse_dns(r: _Reader) -> DnsConfig | None:
    """resolv.conf lines: `nameserver IP` (one or more), `search DOMAIN...`, `options OPTION...`."""
    raw = r.raw("dns-config")
    if raw is None:
        return None
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    for number, line in enumerate(raw.split("\n"), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        key, values = words[0].lower(), words[1:]
        if key not in ("nameserver", "search", "options") or not values:
            r.add(
                "dns-config",
                f"line {number} must be `nameserver <IP>`, `search <domain>...` or "
                "`options <option>...`",
                shown=line.strip(),
                example=DNS_EXAMPLE,
            )
        elif key == "nameserver":
            for value in values:
                try:
                    servers.append(str(ipaddress.ip_address(value)))
                except ValueError:
                    r.add(
                        "dns-config",
                        f"line {number}: `{value}` is not an IP address",
                        shown=line.strip(),
                        example=DNS_EXAMPLE,
                    )
        elif key == "search":
            for value in values:
                if DOMAIN_NAME.fullmatch(value.rstrip(".")) or "." not in value:
                    search.append(value)
                else:
                    r.add("dns-config", f"line {number}: `{value}` is not a domain name",
                          shown=line.strip(), example=DNS_EXAMPLE)  # fmt: skip
        else:
            for value in values:
                if _OPTION.fullmatch(value):
                    options.append(value)
                else:
                    r.add("dns-config", f"line {number}: `{value}` is not a resolver option",
                          shown=line.strip(), example=DNS_EXAMPLE)  # fmt: skip
    if not servers and "dns-config" not in r.reported:
        # `nameServers` is required in the 2023-05-01 spec's DnsConfiguration.
        r.add("dns-config", "needs at least one `nameserver` line", example=DNS_EXAMPLE)
    return DnsConfig(tuple(servers), tuple(dict.fromkeys(search)), tuple(dict.fromkeys(options)))


def _parse_url(r: _Reader) -> str | None:
    text = r.line("health-check-url")
    if text is None:
        return None
    if probe_url(text) is None:
        r.add(
            "health-check-url",
            "must be an http:// URL the runner can reach, with a host and an optional port and path",
            shown=text,
        )
        return None
    return text


def probe_url(url: str) -> ProbeUrl | None:
    """Host, port, path and Host header of an http:// URL; None when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port or 80
    except ValueError:
        return None
    if parts.scheme.lower() != "http" or not parts.hostname or parts.username or " " in url:
        return None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return ProbeUrl(parts.hostname, port, path, parts.netloc)


def is_private(group: ContainerGroup) -> bool:
    """Whether `group` (a GET result) has a private IP address or sits in a subnet."""
    ip = group.ip_address
    return bool(group.subnet_ids) or (ip is not None and (ip.type or "").lower() == "private")


def check_private(
    ip_type: str | None, subnet_ids: tuple[str, ...] | None, existing: ContainerGroup | None
) -> None:
    """Refuse, before the PUT, a private group that would have no subnet (ACI refuses it).

    `ip_type` and `subnet_ids` are the spec's once resolved against `existing`.
    """
    kept = existing.subnet_ids if existing is not None else None
    subnets = subnet_ids if subnet_ids is not None else kept
    if ip_type == "Private" and not subnets:
        raise InputError(
            [
                InputProblem(
                    "ip-address",
                    "is Private, but the group is in no subnet: give `subnet-ids` too (ACI: "
                    '"Private IP address is only supported when network profile is defined")',
                    SUBNET_EXAMPLE + "\nip-address: Private",
                    "Private",
                )
            ],
            shown_by=EXISTING_GROUP_READ,
        )


def skipped_probe_notice(ip: str | None) -> str:
    """The notice of a private group's readiness probe that is not run."""
    return (
        f"The group has a private IP address ({ip or 'not reported yet'}) in a virtual network, "
        "which the runner cannot reach: it was waited for until Running, and the HTTP readiness "
        "probe was skipped. Give `health-check-url` with an address the runner can reach to "
        "probe it."
    )
