"""Managed identities of container groups, and image pulls by a user-assigned identity.

What the 2023-05-01 REST spec (Azure/azure-rest-api-specs, `specification/containerinstance/
resource-manager/Microsoft.ContainerInstance/stable/2023-05-01/containerInstance.json`) says:
`ImageRegistryCredential` has `server` (required), `username`, `password` (`x-ms-secret`),
`identity` ("The identity for the private registry.") and `identityUrl`; `ContainerGroupIdentity`
has `type` (SystemAssigned, UserAssigned, "SystemAssigned, UserAssigned", None) and
`userAssignedIdentities`, keyed by the identities' resource IDs, whose `principalId` and
`clientId` are read-only. Microsoft's "Deploy to Azure Container Instances from Azure Container
Registry using a managed identity" (container-instances/using-azure-container-registry-mi) puts
the same resource ID in both places: `identity.userAssignedIdentities` and
`imageRegistryCredentials[].identity`, with the registry's login server as `server`, and no
username or password.

How the local Azure answers (checked at the PUT, before anything changes):

* a credential whose identity is not in the group's `identity.userAssignedIdentities` is 400
  `InvalidImageRegistryIdentity`, "The identity in the 'imageRegistryCredentials' of container
  group '<name>' not found in container group identity list" (the wording users quote,
  MicrosoftDocs/azure-docs#117644, where the system-assigned identity was tried);
* `userAssignedIdentities` with a type that has no UserAssigned is 400 `BadRequest`, "The request
  format was unexpected, a non-UserAssigned identity type should not contain:
  userAssignedIdentities" (the managed identity service's answer, Azure/azure-rest-api-specs#17650;
  the envelope around it here is ACI's usual one [inferred]);
* a pull identity that does not exist (`managedidentity.py` has no such resource) is 400
  `FailedIdentityOperation` [inferred code and wording, in the shape of the "Failed to perform
  resource identity operation. Status: ..." text of #17650];
* an identity without AcrPull (or another role with `.../pull/read`) on the registry pulls
  nothing: its ACR token grants no `pull`, the registry refuses, and ACI answers the PUT with its
  usual 400 `InaccessibleImage` ("The image ... is not accessible. Please check the image and
  registry credential.", which users of managed-identity pulls report, MicrosoftDocs/azure-docs
  #89111 and #111077).

A pull by identity goes to the Docker daemon as the null-GUID user with an ACR refresh token minted
for the identity's service principal (`acr.Service.mint_refresh_token`): what `az acr login
--identity` leaves behind, so the daemon does the token dance against the login server, and the
registry's roles decide per pull, exactly as for a service principal. Attaching an identity does
not check the caller's `Microsoft.ManagedIdentity/userAssignedIdentities/assign/action` on it
(Azure's LinkedAuthorizationFailed); that is a known gap.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from . import aci_validate as v
from .acr import NULL_GUID
from .managedidentity import KIND

if TYPE_CHECKING:
    from .server import Emulator


def user_assigned(spec: dict[str, Any]) -> dict[str, str]:
    """The group's user-assigned identities: lower-case resource ID -> the ID as written."""
    identity = spec.get("identity")
    if not isinstance(identity, dict):
        return {}
    attached = identity.get("userAssignedIdentities")
    if not isinstance(attached, dict):
        return {}
    return {str(key).lower(): str(key) for key in attached}


def check(emulator: Emulator, name: str, spec: dict[str, Any]) -> None:
    """Refuse a PUT whose identities do not fit together (raises `aci_validate.AciError`)."""
    identity = spec.get("identity") if isinstance(spec.get("identity"), dict) else None
    attached = user_assigned(spec)
    if identity is not None and attached and "UserAssigned" not in str(identity.get("type")):
        raise v.AciError(
            400,
            "BadRequest",
            "The request format was unexpected, a non-UserAssigned identity type should not"
            " contain: userAssignedIdentities",
        )
    table = emulator.state.table(KIND)
    for credential in spec["properties"].get("imageRegistryCredentials") or []:
        wanted = credential.get("identity")
        if not wanted:
            continue
        if str(wanted).lower() not in attached:
            raise v.AciError(
                400,
                "InvalidImageRegistryIdentity",
                f"The identity in the 'imageRegistryCredentials' of container group '{name}' not"
                " found in container group identity list",
            )
        with emulator.state.lock:
            exists = str(wanted).lower() in table
        if not exists:
            raise v.AciError(  # [inferred] code and wording
                400,
                "FailedIdentityOperation",
                f"Identity operation for resource '{name}' failed with error 'Failed to perform"
                f" resource identity operation. Status: 'NotFound'. Response: 'The user-assigned"
                f" identity '{wanted}' was not found.''.",
            )


def pull_credentials(emulator: Emulator, credentials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The group's registry logins as the runtime uses them: an identity's becomes the null-GUID
    user with an ACR refresh token for that identity (nothing, when the registry is unknown)."""
    table = emulator.state.table(KIND)
    resolved: list[dict[str, Any]] = []
    for credential in credentials:
        wanted = credential.get("identity")
        if not wanted or credential.get("username"):
            resolved.append(credential)
            continue
        with emulator.state.lock:
            identity = table.get(str(wanted).lower())
        server = str(credential.get("server", ""))
        registry = server.split(".", 1)[0]
        if identity is None:
            continue
        try:
            token = emulator.services["acr"].mint_refresh_token(identity["app"], registry)
        except KeyError:
            continue  # not one of this emulator's registries: the pull goes without a login
        resolved.append({"server": server, "username": NULL_GUID, "password": token})
    return resolved


def view(emulator: Emulator, identity: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """The group's identity as ACI echoes it: a user-assigned identity that exists with its real
    principal and client ids (`managedidentity.py`), the others as `aci_validate` makes them up."""
    shown = v.identity_view(identity, resource_id, emulator.state.tenant_id)
    table = emulator.state.table(KIND)
    for key, value in (shown.get("userAssignedIdentities") or {}).items():
        with emulator.state.lock:
            found = table.get(str(key).lower())
        if found is not None and isinstance(value, dict):
            value["principalId"] = found["app"].object_id
            value["clientId"] = found["app"].client_id
    return copy.deepcopy(shown)
