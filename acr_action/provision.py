"""What `setup` reads from ARM (`observe`) and how it carries out a plan (`apply`).

Wire shapes (Azure/azure-rest-api-specs): providers `Providers_Register` and `Providers_Get`
(`registrationState`), resource groups `ResourceGroups_CreateOrUpdate`, registries
`Registries_Create` (long-running), managed identities `UserAssignedIdentities_CreateOrUpdate`
and `FederatedIdentityCredentials_CreateOrUpdate`, vaults `Vaults_CreateOrUpdate`, role
assignments `RoleAssignments_Create` (`409 RoleAssignmentExists` when the same principal
already holds the role at the scope under another name) and `RoleAssignments_List` with
`$filter=principalId eq '...'`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .errors import AzureCallFailed
from .roles import ABAC_PULL, ABAC_PUSH, Assignment
from .setup import (
    DEPLOYER,
    PROVIDERS,
    PULL,
    PULL_PRINCIPAL,
    YOU,
    Observed,
    SetupConfig,
    Step,
    grant_name,
    known_role_id,
    principal_of,
    push_role,
    role_body,
    with_principal,
)

if TYPE_CHECKING:
    from .arm_rest import ArmRest
    from .cloud import ApiVersions

AUTHORIZATION = "/providers/Microsoft.Authorization"
# How long a registration or a new role assignment may take to show before setup gives up.
# ARM caches role assignments, so changes take minutes to count (learn.microsoft.com/azure/
# role-based-access-control/troubleshooting, "Role assignment changes are not being detected";
# Microsoft's answers quote it as "up to 10" and "up to 30 minutes").
SETTLE_SECONDS = 600.0


def observe(arm: ArmRest, versions: ApiVersions, config: SetupConfig) -> Observed:
    """Read everything the plan depends on."""
    subscription = f"/subscriptions/{config.subscription}"
    providers = {}
    for namespace in PROVIDERS:
        body = arm.get(f"{subscription}/providers/{namespace}", versions.providers) or {}
        providers[namespace.lower()] = str(body.get("registrationState") or "NotRegistered")
    group = arm.get(config.group_id, versions.resource_groups)
    registry = arm.get(config.registry_id, versions.registries) if group else None
    vault = None
    if group and config.pull == "key-vault" and config.key_vault:
        vault = arm.get(config.vault_id, versions.vaults)
    observed = Observed(providers=providers, group=group, registry=registry, vault=vault)
    identities: dict[str, Any] = {}
    for key in (DEPLOYER, PULL):
        if group and (key == DEPLOYER or (config.pull == "identity" and config.pull_identity)):
            found = arm.get(config.identity_id(key), versions.managed_identities)
            if found is not None:
                identities[key] = found
    observed = replace(observed, identities=identities)
    return replace(
        observed,
        credentials=_credentials(arm, versions, config, observed),
        assignments=_assignments(arm, versions, config, observed),
        role_ids=_abac_role_ids(arm, versions, config, observed),
    )


def _credentials(
    arm: ArmRest, versions: ApiVersions, config: SetupConfig, observed: Observed
) -> dict[str, Any]:
    if DEPLOYER not in observed.identities:
        return {}
    path = f"{config.identity_id(DEPLOYER)}/federatedIdentityCredentials"
    return {str(body.get("name")): body for body in arm.list(path, versions.managed_identities)}


def _assignments(
    arm: ArmRest, versions: ApiVersions, config: SetupConfig, observed: Observed
) -> tuple[Assignment, ...]:
    found: list[Assignment] = []
    for key in (DEPLOYER, PULL, YOU, PULL_PRINCIPAL):
        principal = principal_of(config, observed, key)
        if principal:
            found += list_assignments(arm, versions, config.subscription, principal)
    return tuple(found)


def list_assignments(
    arm: ArmRest, versions: ApiVersions, subscription: str, principal: str
) -> list[Assignment]:
    """Every role assignment of a principal in the subscription, at any scope."""
    path = f"/subscriptions/{subscription}{AUTHORIZATION}/roleAssignments"
    bodies = arm.list(
        path, versions.role_assignments, **{"$filter": f"principalId eq '{principal}'"}
    )
    return [Assignment.from_arm(body) for body in bodies]


def _abac_role_ids(
    arm: ArmRest, versions: ApiVersions, config: SetupConfig, observed: Observed
) -> dict[str, str]:
    if push_role(observed) != ABAC_PUSH:
        return {}
    return resolve_roles(arm, versions, config.subscription, (ABAC_PUSH, ABAC_PULL))


def resolve_roles(
    arm: ArmRest, versions: ApiVersions, subscription: str, names: tuple[str, ...]
) -> dict[str, str]:
    """Role definition GUIDs by role name (`roleDefinitions?$filter=roleName eq '...'`)."""
    ids = {}
    path = f"/subscriptions/{subscription}{AUTHORIZATION}/roleDefinitions"
    for name in names:
        for body in arm.list(
            path, versions.role_assignments, **{"$filter": f"roleName eq '{name}'"}
        ):
            ids[name] = str(body.get("name"))
    return ids


def apply(
    arm: ArmRest,
    versions: ApiVersions,
    config: SetupConfig,
    observed: Observed,
    steps: list[Step],
    log: Callable[[str], None],
) -> Observed:
    """Carry out the changing steps in order; returns what exists afterwards."""
    for step in steps:
        if not step.changes:
            continue
        log(f"{step.state} {step.kind} {step.name}")
        observed = _APPLY[step.kind](arm, versions, config, observed, step)
    return observed


def _register(
    arm: ArmRest, versions: ApiVersions, config: SetupConfig, observed: Observed, step: Step
) -> Observed:
    path = f"/subscriptions/{config.subscription}/providers/{step.name}"
    arm.post(f"{path}/register", versions.providers)
    _settle(
        arm,
        lambda: (arm.get(path, versions.providers) or {}).get("registrationState") == "Registered",
        f"registration of {step.name}",
    )
    return replace(observed, providers={**observed.providers, step.name.lower(): "Registered"})


# The plain resources: kind -> (its id on SetupConfig, its api-version, its field of Observed).
_RESOURCES = {
    "resource group": ("group_id", "resource_groups", "group"),
    "registry": ("registry_id", "registries", "registry"),
    "key vault": ("vault_id", "vaults", "vault"),
}


def _resource(
    arm: ArmRest, versions: ApiVersions, config: SetupConfig, observed: Observed, step: Step
) -> Observed:
    path, version, known = _RESOURCES[step.kind]
    body = arm.put(getattr(config, path), getattr(versions, version), step.body or {})
    changes: dict[str, Any] = {known: body}
    return replace(observed, **changes)


def _identity(
    arm: ArmRest, versions: ApiVersions, config: SetupConfig, observed: Observed, step: Step
) -> Observed:
    key = DEPLOYER if step.name == config.identity else PULL
    body = arm.put(config.identity_id(key), versions.managed_identities, step.body or {})
    return with_principal(observed, key, body)


def _credential(
    arm: ArmRest, versions: ApiVersions, config: SetupConfig, observed: Observed, step: Step
) -> Observed:
    # One at a time: Entra refuses concurrent federated-credential writes on one identity
    # (learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations,
    # "Concurrent updates aren't supported").
    path = f"{config.identity_id(DEPLOYER)}/federatedIdentityCredentials/{step.name}"
    body = arm.put(path, versions.managed_identities, step.body or {})
    return replace(observed, credentials={**observed.credentials, step.name: body})


def _grant(
    arm: ArmRest, versions: ApiVersions, config: SetupConfig, observed: Observed, step: Step
) -> Observed:
    principal = principal_of(config, observed, step.principal)
    role_id = known_role_id(step.role, observed)
    if not principal or not role_id:
        raise AzureCallFailed("setup", None, "Unresolved", f"cannot grant {step.name}")
    name = grant_name(step, principal, role_id)
    path = f"{step.scope}{AUTHORIZATION}/roleAssignments/{name}"
    # The identities were just made: name their type, or ARM looks for them in a directory that
    # has not replicated them yet (400 PrincipalNotFound). You and the pull principal exist.
    fresh = step.principal in (DEPLOYER, PULL)
    body = role_body(config.subscription, role_id, principal, "ServicePrincipal" if fresh else None)
    try:
        arm.put(path, versions.role_assignments, body)
    except AzureCallFailed as exc:
        if exc.code != "RoleAssignmentExists":
            raise
    else:
        _settle(
            arm, lambda: arm.get(path, versions.role_assignments) is not None, f"role {step.name}"
        )
    added = Assignment(principal.lower(), role_id.lower(), step.scope)
    return replace(observed, assignments=(*observed.assignments, added))


def _settle(arm: ArmRest, done: Callable[[], bool], what: str) -> None:
    """Wait until `done()` (backing off to 10 s), or fail after `SETTLE_SECONDS`."""
    started, wait = arm.clock(), 1.0
    while not done():
        if arm.clock() - started > SETTLE_SECONDS:
            raise AzureCallFailed(
                "setup", None, "NotYetInEffect", f"{what} did not take effect in time; rerun setup"
            )
        arm.sleep(wait)
        wait = min(10.0, wait * 2)


_APPLY: dict[str, Callable[[ArmRest, ApiVersions, SetupConfig, Observed, Step], Observed]] = {
    "provider": _register,
    "resource group": _resource,
    "registry": _resource,
    "identity": _identity,
    "federated credential": _credential,
    "key vault": _resource,
    "role": _grant,
}
