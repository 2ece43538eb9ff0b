"""Managed identities of the container group: the one it pulls with, and the app's own.

`registry-identity` is a user-assigned identity that Container Instances pulls the image with:
no service principal, no password in Key Vault, nothing that expires. The group then carries it
twice, as Microsoft's "Deploy to Azure Container Instances from Azure Container Registry using a
managed identity" (container-instances/using-azure-container-registry-mi) shows: in
`identity.userAssignedIdentities` (attached to the group) and as `imageRegistryCredentials[]
.identity`, beside the registry's login server as `server`, with no username or password. The
REST spec (containerInstance.json, 2023-05-01) has `ImageRegistryCredential.identity` ("The
identity for the private registry.") and `identityUrl`, which the action leaves unset. `az
container create --acr-identity` does the same (azure-cli `command_modules/container/custom.py`,
`_create_image_registry_credentials`: `ImageRegistryCredential(server=..., username=None,
password=None, identity=<resource ID>)`), but leaves attaching the identity to `--assign-identity`;
ACI refuses a credential whose identity is not attached with `InvalidImageRegistryIdentity`
(MicrosoftDocs/azure-docs#117644), so the action attaches it itself.

`identity` is the app's own: `system` (the group's system-assigned identity) and/or resource IDs
of user-assigned ones, as `az container create --assign-identity` takes them (its `[system]`,
`_build_identities_info`): SystemAssigned, UserAssigned, or "SystemAssigned, UserAssigned".

A deploy never removes an identity: those someone else attached stay (keep.py's rule for what the
action does not manage), a deploy that names none leaves the group's identity as it is, and one
named once and later left out stays attached until it is removed outside the action.

Pure: no network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .inputs_rules import USER_IDENTITY_ID

if TYPE_CHECKING:
    from azure.mgmt.containerinstance.models import ContainerGroup, ContainerGroupIdentity

SYSTEM = "system"
# The spellings of the system-assigned identity: ours, and azure-cli's `--assign-identity [system]`.
_SYSTEM_WORDS = frozenset({"system", "[system]", "systemassigned"})


@dataclass(frozen=True)
class AppIdentity:
    """The identities the `identity` input asks for."""

    system: bool = False
    user_assigned: tuple[str, ...] = ()  # resource IDs as written, without duplicates


@dataclass(frozen=True)
class RegistryIdentity:
    """The registry login of a group that pulls with a user-assigned identity."""

    server: str
    resource_id: str


@dataclass(frozen=True)
class Wanted:
    """What a deploy asks of the group's identity: the app's and the pull identity."""

    system: bool = False
    user_assigned: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.system or bool(self.user_assigned)


def parse(text: str) -> tuple[AppIdentity, list[str]]:
    """The `identity` input (items separated by commas or newlines), and what is wrong in it."""
    system = False
    found: dict[str, str] = {}
    problems: list[str] = []
    for item in re.split(r"[,\n]", text):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        if item.lower() in _SYSTEM_WORDS:
            system = True
        elif USER_IDENTITY_ID.fullmatch(item):
            found.setdefault(item.rstrip("/").lower(), item.rstrip("/"))
        else:
            problems.append(item)
    return AppIdentity(system, tuple(found.values())), problems


def wanted(app: AppIdentity | None, registry: RegistryIdentity | None) -> Wanted:
    """The identities the group must have for this deploy."""
    users = list(app.user_assigned if app else ())
    if registry and registry.resource_id.lower() not in {u.lower() for u in users}:
        users.append(registry.resource_id)
    return Wanted(bool(app and app.system), tuple(users))


def current(group: ContainerGroup | None) -> tuple[bool, frozenset[str]]:
    """The group's system-assigned flag and user-assigned identities (lower case)."""
    identity = group.identity if group is not None else None
    if identity is None:
        return False, frozenset()
    kind = str(identity.type or "")
    users = frozenset(key.lower() for key in (identity.user_assigned_identities or {}))
    return "SystemAssigned" in kind, users if "UserAssigned" in kind else frozenset()


def differs(existing: ContainerGroup, want: Wanted) -> bool:
    """Whether the group lacks an identity the deploy asks for (none is ever taken away)."""
    system, users = current(existing)
    return (want.system and not system) or not {u.lower() for u in want.user_assigned} <= users


def merged(group: ContainerGroup, want: Wanted) -> ContainerGroupIdentity | None:
    """The identity to PUT: the group's own (`group` is the PUT's base) plus what is wanted."""
    from azure.mgmt.containerinstance.models import ContainerGroupIdentity, UserAssignedIdentities

    identity = group.identity
    if not want:
        return identity
    system, _ = current(group)
    users: dict[str, UserAssignedIdentities] = {}
    if identity is not None and "UserAssigned" in str(identity.type or ""):
        users = dict(identity.user_assigned_identities or {})
    known = {key.lower() for key in users}
    for resource_id in want.user_assigned:
        if resource_id.lower() not in known:
            users[resource_id] = UserAssignedIdentities()
            known.add(resource_id.lower())
    system = system or want.system
    kind = ", ".join(
        name for name, on in (("SystemAssigned", system), ("UserAssigned", bool(users))) if on
    )
    return ContainerGroupIdentity(type=kind, user_assigned_identities=users or None)


def canonical(want: Wanted) -> dict[str, object]:
    """The wanted identities in the fingerprint's form (case and order ignored, as ARM does)."""
    return {"system": want.system, "userAssigned": sorted(u.lower() for u in want.user_assigned)}
