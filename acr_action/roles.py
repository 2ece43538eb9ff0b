"""The built-in Azure roles `setup` grants and `doctor` looks for, and what each need accepts.

Role definition IDs are the same in every subscription of public Azure; they are from Microsoft
Learn's built-in roles pages (learn.microsoft.com/azure/role-based-access-control/built-in-roles,
*General*, *Containers*, *Security*): the JSON of each role carries `"name": "<guid>"`. The
Container Registry Repository roles of ABAC-mode registries are newer and not listed here by
ID: `setup` resolves them by name (`roleDefinitions?$filter=roleName eq '...'`, as
`az role assignment create --role NAME` does).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

ROLE_IDS = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrDelete": "c2f4ef07-c644-48eb-af81-4b1b4947fb11",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}
ABAC_PUSH = "Container Registry Repository Writer"
ABAC_PULL = "Container Registry Repository Reader"

# A need is met by the role itself or by a broader one at the same scope or above. On an
# ABAC-mode registry the registry ignores AcrPush, AcrPull and the data access of
# Owner/Contributor/Reader (learn.microsoft.com/azure/container-registry/
# container-registry-rbac-abac-repository-permissions): only the repository roles count there.
ACCEPTS = {
    "Contributor": ("Contributor", "Owner"),
    "AcrPush": ("AcrPush", "Contributor", "Owner"),
    "AcrPull": ("AcrPull", "AcrPush", "Contributor", "Owner"),
    ABAC_PUSH: (ABAC_PUSH, "Container Registry Repository Contributor"),
    ABAC_PULL: (ABAC_PULL, ABAC_PUSH, "Container Registry Repository Contributor"),
    "Key Vault Secrets User": (
        "Key Vault Secrets User",
        "Key Vault Secrets Officer",
        "Key Vault Administrator",
    ),
    "Key Vault Secrets Officer": ("Key Vault Secrets Officer", "Key Vault Administrator"),
}


@dataclass(frozen=True)
class Assignment:
    """A role assignment as ARM lists it: principal object id, role definition GUID, scope."""

    principal: str
    role_id: str
    scope: str

    @classmethod
    def from_arm(cls, body: dict[str, object]) -> Assignment:
        """From an item of `roleAssignments` (properties.principalId, roleDefinitionId, scope)."""
        properties = body.get("properties")
        props = properties if isinstance(properties, dict) else {}
        definition = str(props.get("roleDefinitionId", ""))
        return cls(
            str(props.get("principalId", "")).lower(),
            definition.rstrip("/").rsplit("/", 1)[-1].lower(),
            str(props.get("scope", "")),
        )


def scope_contains(outer: str, inner: str) -> bool:
    """Is `inner` the scope `outer` or below it (ARM scopes compare case-insensitively)?"""
    outer, inner = outer.rstrip("/").lower(), inner.rstrip("/").lower()
    return inner == outer or inner.startswith(outer + "/")


def holds(
    assignments: tuple[Assignment, ...] | list[Assignment],
    principal: str,
    role: str,
    scope: str,
    ids: dict[str, str] | None = None,
) -> str | None:
    """The name of the role that meets `role` at `scope` for `principal`, or None."""
    known = {**ROLE_IDS, **(ids or {})}
    by_id = {known[name].lower(): name for name in ACCEPTS.get(role, (role,)) if name in known}
    for assignment in assignments:
        if assignment.principal != principal.lower() or assignment.role_id not in by_id:
            continue
        if scope_contains(assignment.scope, scope):
            return by_id[assignment.role_id]
    return None


def assignment_name(scope: str, principal: str, role_id: str) -> str:
    """A role assignment's name (a GUID) that is the same on every run: reruns find it again.

    Bicep templates name theirs `guid(scope, principal, role)` for the same reason.
    """
    key = f"{scope.lower()}|{principal.lower()}|{role_id.lower()}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))
