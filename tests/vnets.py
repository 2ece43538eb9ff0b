"""A virtual network with a subnet delegated to ACI in the local Azure, for private groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localazure.server import Emulator

# The seed's subscription (localazure/seed.yaml): ACI needs the subnet in the group's.
SUBSCRIPTION = "0b1f6471-1bf0-4dda-aec3-111122223333"
VNET = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/net-rg/providers"
    "/Microsoft.Network/virtualNetworks/vnet"
)
SUBNET = f"{VNET}/subnets/aci"  # delegated to Microsoft.ContainerInstance/containerGroups
UNDELEGATED = f"{VNET}/subnets/plain"


def ensure_subnets(azure: Emulator) -> str:
    """Create (again) `vnet` with the delegated `aci` (10.0.1.0/24) and `plain`; SUBNET."""
    azure.services["network"].add_vnet(  # type: ignore[attr-defined]  # network.Service
        "net-rg",
        "vnet",
        "10.0.0.0/16",
        {"aci": ("10.0.1.0/24", True), "plain": ("10.0.2.0/24", False)},
    )
    return SUBNET
