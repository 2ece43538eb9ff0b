"""Microsoft.Network virtual networks and subnets, with delegations: where private groups live.

Shapes from Azure/azure-rest-api-specs `specification/network/resource-manager/Microsoft.Network`
(`virtualNetwork.json`): `PUT|GET .../providers/Microsoft.Network/virtualNetworks/{vnet}` with
`location` and `properties.addressSpace.addressPrefixes`, `properties.subnets[]` (`name`,
`properties.addressPrefix`, `properties.delegations[]` with `name` and `properties.serviceName`),
and `PUT|GET .../virtualNetworks/{vnet}/subnets/{subnet}` for one subnet. Creates answer finished
(`provisioningState` Succeeded), with no long-running operation.

Rules modelled:
* Address prefixes are IPv4 CIDR blocks, not in the ranges Azure refuses (virtual-networks-faq:
  224.0.0.0/4 multicast, 255.255.255.255/32 broadcast, 127.0.0.0/8 loopback, 169.254.0.0/16
  link-local, 168.63.129.16/32 internal DNS) [inferred code and wording]; a subnet lies inside
  its network's address space [inferred code].
* Azure reserves five addresses of each subnet (the network address, .1 for the gateway, .2 and
  .3 for Azure DNS, and the broadcast address: virtual-networks-faq), so a container group's
  private address is the subnet's next free one from .4 on.

ACI asks this module for the subnets of a PUT (`aci.py`): a subnet that does not exist or is not
delegated to `Microsoft.ContainerInstance/containerGroups` is refused there.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .arm import RG
from .arm_provider import ArmProvider
from .web import Router, arm_error, json_response

KIND = "Microsoft.Network/virtualNetworks"
DELEGATION = "Microsoft.ContainerInstance/containerGroups"
REFUSED = tuple(
    ipaddress.ip_network(block)
    for block in (
        "224.0.0.0/4",
        "255.255.255.255/32",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "168.63.129.16/32",
    )
)


@dataclass
class Subnet:
    """One subnet: its prefix, the services it is delegated to and the addresses given out."""

    name: str
    prefix: str
    delegations: list[str] = field(default_factory=list)
    used: dict[str, str] = field(default_factory=dict)  # address -> owner's resource id


@dataclass
class VirtualNetwork:
    """A virtual network and its subnets (by lower-case name)."""

    id: str
    name: str
    location: str
    prefixes: list[str]
    subnets: dict[str, Subnet] = field(default_factory=dict)


class NetworkError(Exception):
    """A refused virtual network or subnet write."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Service(ArmProvider):
    """Virtual networks and subnets on ARM's host."""

    def register(self, router: Router) -> None:
        """Add the virtual network and subnet routes."""
        vnet = RG + r"/providers/Microsoft\.Network/virtualNetworks/(?P<name>[^/]+)"
        subnet = vnet + r"/subnets/(?P<subnet>[^/]+)"
        self.arm_route(router, "PUT", vnet + "/?", self.put_vnet)
        self.arm_route(router, "GET", vnet + "/?", self.get_vnet)
        self.arm_route(router, "PUT", subnet + "/?", self.put_subnet)
        self.arm_route(router, "GET", subnet + "/?", self.get_subnet)

    # --- for tests and seeds -----------------------------------------------------------
    def add_vnet(
        self,
        resource_group: str,
        name: str,
        prefix: str = "10.0.0.0/16",
        subnets: dict[str, tuple[str, bool]] | None = None,
        location: str = "westeurope",
    ) -> dict[str, str]:
        """Create a virtual network with subnets (name: (prefix, delegated to ACI)); their ids."""
        body = {
            "location": location,
            "properties": {
                "addressSpace": {"addressPrefixes": [prefix]},
                "subnets": [
                    {
                        "name": sname,
                        "properties": {
                            "addressPrefix": sprefix,
                            "delegations": [
                                {"name": "aci", "properties": {"serviceName": DELEGATION}}
                            ]
                            if delegated
                            else [],
                        },
                    }
                    for sname, (sprefix, delegated) in (subnets or {}).items()
                ],
            },
        }
        sub = self.emulator.state.subscription_id
        vnet = self._store(self.resource_id(sub, resource_group, KIND, name), name, body)
        return {s.name: f"{vnet.id}/subnets/{s.name}" for s in vnet.subnets.values()}

    def find_subnet(self, subnet_id: str) -> Subnet | None:
        """The subnet of a resource ID, or None."""
        vnet_id, _, name = subnet_id.rstrip("/").rpartition("/subnets/")
        with self.emulator.state.lock:
            vnet: VirtualNetwork | None = self.emulator.state.table(KIND).get(vnet_id.lower())
            return vnet.subnets.get(name.lower()) if vnet is not None else None

    def allocate(self, subnet_id: str, owner: str) -> str:
        """The subnet's next free address from .4 on (Azure keeps the first four and the last)."""
        subnet = self.find_subnet(subnet_id)
        assert subnet is not None, subnet_id
        with self.emulator.state.lock:
            for address, holder in subnet.used.items():
                if holder == owner.lower():
                    return address
            hosts = list(ipaddress.ip_network(subnet.prefix).hosts())[3:]
            for host in hosts:
                if str(host) not in subnet.used:
                    subnet.used[str(host)] = owner.lower()
                    return str(host)
        raise NetworkError(
            "SubnetIsFull",  # [inferred]
            f"Subnet '{subnet.name}' has no free address left in {subnet.prefix}.",
        )

    def release(self, owner: str) -> None:
        """Give back every address `owner` holds."""
        with self.emulator.state.lock:
            for vnet in self.emulator.state.table(KIND).values():
                for subnet in vnet.subnets.values():
                    for address in [a for a, o in subnet.used.items() if o == owner.lower()]:
                        del subnet.used[address]

    # --- handlers ----------------------------------------------------------------------
    async def put_vnet(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`VirtualNetworks_CreateOrUpdate`: 201 created, 200 updated."""
        body = await self.checked_write(request, subscription, rg, KIND, name)
        if isinstance(body, web.Response):
            return body
        resource_id = self.resource_id(subscription, rg, KIND, name)
        created = self._vnet(resource_id) is None
        try:
            vnet = self._store(resource_id, name, body)
        except NetworkError as exc:
            return arm_error(400, exc.code, exc.message)
        return json_response(self._view(vnet), 201 if created else 200)

    async def get_vnet(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`VirtualNetworks_Get`."""
        resource_id = self.resource_id(subscription, rg, KIND, name)
        refusal = self.check(request, subscription, f"{KIND}/read", resource_id, rg)
        if refusal is not None:
            return refusal
        vnet = self._vnet(resource_id)
        if vnet is None:
            return self.resource_not_found(KIND, name, rg)
        return json_response(self._view(vnet))

    async def put_subnet(
        self, request: web.Request, subscription: str, rg: str, name: str, subnet: str
    ) -> web.Response:
        """`Subnets_CreateOrUpdate` (a write of the virtual network)."""
        body = await self.checked_write(request, subscription, rg, KIND, name)
        if isinstance(body, web.Response):
            return body
        vnet = self._vnet(self.resource_id(subscription, rg, KIND, name))
        if vnet is None:
            return self.resource_not_found(KIND, name, rg)
        try:
            stored = self._subnet(vnet, subnet, body.get("properties") or {})
        except NetworkError as exc:
            return arm_error(400, exc.code, exc.message)
        created = subnet.lower() not in vnet.subnets
        with self.emulator.state.lock:
            if not created:
                stored.used = vnet.subnets[subnet.lower()].used
            vnet.subnets[subnet.lower()] = stored
        return json_response(self._subnet_view(vnet, stored), 201 if created else 200)

    async def get_subnet(
        self, request: web.Request, subscription: str, rg: str, name: str, subnet: str
    ) -> web.Response:
        """`Subnets_Get`."""
        resource_id = self.resource_id(subscription, rg, KIND, name)
        refusal = self.check(request, subscription, f"{KIND}/subnets/read", resource_id, rg)
        if refusal is not None:
            return refusal
        vnet = self._vnet(resource_id)
        found = vnet.subnets.get(subnet.lower()) if vnet is not None else None
        if vnet is None or found is None:
            return self.resource_not_found(f"{KIND}/subnets", f"{name}/{subnet}", rg)
        return json_response(self._subnet_view(vnet, found))

    # --- state -------------------------------------------------------------------------
    def _vnet(self, resource_id: str) -> VirtualNetwork | None:
        with self.emulator.state.lock:
            found: VirtualNetwork | None = self.emulator.state.table(KIND).get(resource_id.lower())
            return found

    def _store(self, resource_id: str, name: str, body: dict[str, Any]) -> VirtualNetwork:
        props = body.get("properties") or {}
        prefixes = list((props.get("addressSpace") or {}).get("addressPrefixes") or [])
        if not prefixes:
            raise NetworkError(
                "InvalidAddressSpace",  # [inferred]
                f"Virtual network '{name}' must have at least one address prefix.",
            )
        for prefix in prefixes:
            _block(prefix)
        vnet = VirtualNetwork(resource_id, name, str(body.get("location") or ""), prefixes)
        for entry in props.get("subnets") or []:
            subnet = self._subnet(vnet, str(entry.get("name")), entry.get("properties") or {})
            vnet.subnets[subnet.name.lower()] = subnet
        with self.emulator.state.lock:
            old = self._vnet(resource_id)
            for key, subnet in vnet.subnets.items():
                if old is not None and key in old.subnets:
                    subnet.used = old.subnets[key].used
            self.emulator.state.table(KIND)[resource_id.lower()] = vnet
        return vnet

    @staticmethod
    def _subnet(vnet: VirtualNetwork, name: str, props: dict[str, Any]) -> Subnet:
        prefix = str(props.get("addressPrefix") or "")
        block = _block(prefix)
        if not any(block.subnet_of(_block(p)) for p in vnet.prefixes):
            raise NetworkError(
                "NetcfgSubnetRangeOutsideVnet",  # [inferred]
                f"Subnet '{name}' is not valid because its IP address range is outside the IP"
                f" address range of virtual network '{vnet.name}'.",
            )
        services = [
            str((d.get("properties") or {}).get("serviceName") or "")
            for d in props.get("delegations") or []
        ]
        return Subnet(name, prefix, services)

    def _view(self, vnet: VirtualNetwork) -> dict[str, Any]:
        return {
            "id": vnet.id,
            "name": vnet.name,
            "type": KIND,
            "location": vnet.location,
            "properties": {
                "provisioningState": "Succeeded",
                "addressSpace": {"addressPrefixes": list(vnet.prefixes)},
                "subnets": [self._subnet_view(vnet, s) for s in vnet.subnets.values()],
            },
        }

    @staticmethod
    def _subnet_view(vnet: VirtualNetwork, subnet: Subnet) -> dict[str, Any]:
        subnet_id = f"{vnet.id}/subnets/{subnet.name}"
        return {
            "id": subnet_id,
            "name": subnet.name,
            "type": f"{KIND}/subnets",
            "properties": {
                "provisioningState": "Succeeded",
                "addressPrefix": subnet.prefix,
                "delegations": [
                    {
                        "id": f"{subnet_id}/delegations/{index}",
                        "name": str(index),
                        "type": f"{KIND}/subnets/delegations",
                        "properties": {"provisioningState": "Succeeded", "serviceName": service},
                    }
                    for index, service in enumerate(subnet.delegations)
                ],
            },
        }


def _block(prefix: str) -> ipaddress.IPv4Network:
    """An IPv4 CIDR block Azure accepts, or `NetworkError`."""
    try:
        block = ipaddress.ip_network(prefix, strict=True)
    except ValueError:
        block = None
    if not isinstance(block, ipaddress.IPv4Network):
        raise NetworkError(
            "InvalidAddressPrefixFormat",  # [inferred]
            f"Address prefix {prefix} is not a valid IPv4 CIDR block.",
        )
    if any(block.overlaps(refused) for refused in REFUSED):
        raise NetworkError(
            "InvalidAddressPrefix",  # [inferred]; the ranges are virtual-networks-faq's
            f"Address prefix {prefix} overlaps a range Azure reserves and cannot be used.",
        )
    return block
