"""`python -m acr_action setup`: from an empty subscription to what a deploy needs, with no secret.

Read what exists (`observe`), work out what is missing (`plan`, pure), print it, and with no
`--dry-run` create it in order (`apply`). A second run finds everything and changes nothing.

What it makes, all through ARM (`arm_rest.ArmRest`):

1. the resource providers registered (`POST .../providers/{ns}/register`, then polled until
   `registrationState` is `Registered`);
2. the resource group and the registry (`adminUserEnabled: false`), created or adopted;
3. the deployer: a user-assigned managed identity with one federated identity credential per
   subject the workflows present (issuer `https://token.actions.githubusercontent.com`,
   audience `api://AzureADTokenExchange`, learn.microsoft.com/entra/workload-id/
   workload-identity-federation-create-trust-user-assigned-managed-identity). No app
   registration, no client secret;
4. least privilege: Contributor on the resource group (deploying container groups), AcrPush on
   the registry (or Container Registry Repository Writer on an ABAC-mode registry), and for the
   pull path either Key Vault Secrets User on an RBAC vault holding the pull credentials
   (`--pull-credentials key-vault`) or a pull identity with AcrPull (`--pull-credentials
   identity`, which the action pulls with when given as `registry-identity`);
5. waits until each role assignment reads back, and until the vault lets the signed-in user write
   the pull secrets, instead of failing at first use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .roles import ABAC_PULL, ABAC_PUSH, ROLE_IDS, Assignment, assignment_name, holds
from .workflows import AUDIENCE, ISSUER, Presented

PROVIDERS = (
    "Microsoft.ContainerInstance",
    "Microsoft.ContainerRegistry",
    "Microsoft.ManagedIdentity",
    "Microsoft.KeyVault",
)
DEPLOYER, PULL, YOU = "deployer", "pull", "you"
PULL_PRINCIPAL = "pull principal"  # the existing principal whose credentials the vault holds
ABAC_MODE = "AbacRepositoryPermissions"


@dataclass(frozen=True)
class SetupConfig:
    """What the repository needs: names, region, subjects and the pull path."""

    repo: str
    subscription: str
    tenant: str
    resource_group: str
    location: str | None
    registry: str
    identity: str
    subjects: tuple[Presented, ...]
    pull: str = "key-vault"  # or "identity"
    key_vault: str | None = None
    pull_identity: str | None = None
    signed_in: str | None = None  # object id of the person running setup
    pull_principal: str | None = None  # object id of the vault's pull principal (AcrPull)
    issuer: str = ISSUER
    audience: str = AUDIENCE

    @property
    def group_id(self) -> str:
        """The resource group's resource id."""
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"

    def resource_id(self, provider: str, name: str) -> str:
        """The id of a resource of the group (`Microsoft.KeyVault/vaults`, name)."""
        return f"{self.group_id}/providers/{provider}/{name}"

    @property
    def registry_id(self) -> str:
        """The registry's resource id."""
        return self.resource_id("Microsoft.ContainerRegistry/registries", self.registry)

    @property
    def vault_id(self) -> str:
        """The vault's resource id."""
        return self.resource_id("Microsoft.KeyVault/vaults", self.key_vault or "")

    def identity_id(self, key: str) -> str:
        """The resource id of the deployer or the pull identity."""
        name = self.identity if key == DEPLOYER else self.pull_identity or ""
        return self.resource_id("Microsoft.ManagedIdentity/userAssignedIdentities", name)


@dataclass(frozen=True)
class Observed:
    """What exists, as ARM answered (None: not there)."""

    providers: Mapping[str, str] = field(default_factory=dict)  # namespace -> registrationState
    group: Mapping[str, Any] | None = None
    registry: Mapping[str, Any] | None = None
    identities: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # key -> body
    credentials: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> body
    vault: Mapping[str, Any] | None = None
    assignments: tuple[Assignment, ...] = ()
    role_ids: Mapping[str, str] = field(default_factory=dict)  # resolved ABAC role ids


@dataclass(frozen=True)
class Step:
    """One line of the plan: what, its state, and (unless it exists) what `apply` does."""

    kind: str  # provider, resource group, registry, identity, federated credential, ...
    name: str
    state: str  # exists, create, update, register, grant, blocked
    detail: str = ""
    body: Mapping[str, Any] | None = None  # the PUT body, when one is sent
    principal: str = ""  # grants: DEPLOYER, PULL or YOU
    role: str = ""  # grants
    scope: str = ""  # grants

    @property
    def changes(self) -> bool:
        """Does `apply` do anything for this step?"""
        return self.state not in ("exists", "blocked")


def credential_name(presented: Presented) -> str:
    """The federated credential's name for a subject: `github-environment-production`, ..."""
    tail = presented.subject.split(":", 2)[2]  # after repo:OWNER/REPO:
    slug = "".join(char if char.isalnum() else "-" for char in tail).strip("-")
    return f"github-{slug}"[:120]


def push_role(observed: Observed) -> str:
    """AcrPush, or the repository role on a registry in ABAC repository-permissions mode."""
    mode = ((observed.registry or {}).get("properties") or {}).get("roleAssignmentMode")
    return ABAC_PUSH if mode == ABAC_MODE else "AcrPush"


def _pull_role(observed: Observed) -> str:
    return ABAC_PULL if push_role(observed) == ABAC_PUSH else "AcrPull"


def plan(config: SetupConfig, observed: Observed) -> list[Step]:
    """Everything the setup needs, each step marked exists / create / ... (pure)."""
    return [
        *_provider_steps(observed),
        *_group_steps(config, observed),
        *_identity_steps(config, observed),
        *_credential_steps(config, observed),
        *_vault_steps(config, observed),
        *_grant_steps(config, observed),
    ]


def _provider_steps(observed: Observed) -> Iterator[Step]:
    for namespace in PROVIDERS:
        state = observed.providers.get(namespace.lower(), "NotRegistered")
        done = state == "Registered"
        yield Step("provider", namespace, "exists" if done else "register", state)


def _group_steps(config: SetupConfig, observed: Observed) -> Iterator[Step]:
    location = (observed.group or {}).get("location") or config.location
    if observed.group is not None:
        yield Step("resource group", config.resource_group, "exists", str(location))
    elif not location:
        yield Step(
            "resource group",
            config.resource_group,
            "blocked",
            "does not exist: give `--location REGION` to create it",
        )
    else:
        body = {"location": location}
        yield Step("resource group", config.resource_group, "create", location, body)
    if observed.registry is not None:
        mode = (observed.registry.get("properties") or {}).get("roleAssignmentMode")
        yield Step("registry", config.registry, "exists", f"role mode {mode or 'legacy'}")
    else:
        body = {
            "location": location,
            "sku": {"name": "Basic"},
            "properties": {"adminUserEnabled": False},
        }
        yield Step("registry", config.registry, "create", "Basic, admin user off", body)


def _identity_steps(config: SetupConfig, observed: Observed) -> Iterator[Step]:
    location = (observed.group or {}).get("location") or config.location
    wanted = [(DEPLOYER, config.identity, "signs in from the workflows")]
    if config.pull == "identity" and config.pull_identity:
        wanted.append((PULL, config.pull_identity, "pulls the image (AcrPull)"))
    for key, name, why in wanted:
        state = "exists" if key in observed.identities else "create"
        body = None if state == "exists" else {"location": location}
        yield Step("identity", name, state, why, body)


def _credential_steps(config: SetupConfig, observed: Observed) -> Iterator[Step]:
    existing = {
        (
            props.get("issuer"),
            props.get("subject"),
            tuple(props.get("audiences") or ()),
        )
        for props in ((body.get("properties") or {}) for body in observed.credentials.values())
    }
    for presented in config.subjects:
        name = credential_name(presented)
        properties = {
            "issuer": config.issuer,
            "subject": presented.subject,
            "audiences": [config.audience],
        }
        detail = f"{presented.subject} ({presented.workflow}: {presented.why})"
        if (config.issuer, presented.subject, (config.audience,)) in existing:
            yield Step("federated credential", name, "exists", detail)
            continue
        state = "update" if name in observed.credentials else "create"
        yield Step("federated credential", name, state, detail, {"properties": properties})


def _vault_steps(config: SetupConfig, observed: Observed) -> Iterator[Step]:
    if config.pull != "key-vault" or not config.key_vault:
        return
    location = (observed.group or {}).get("location") or config.location
    if observed.vault is None:
        body = {
            "location": location,
            "properties": {
                "tenantId": config.tenant,
                "sku": {"family": "A", "name": "standard"},
                "enableRbacAuthorization": True,
            },
        }
        yield Step("key vault", config.key_vault, "create", "RBAC authorization", body)
        return
    if (observed.vault.get("properties") or {}).get("enableRbacAuthorization"):
        yield Step("key vault", config.key_vault, "exists", "RBAC authorization")
        return
    yield Step(
        "key vault",
        config.key_vault,
        "blocked",
        "uses access policies, not Azure RBAC: switch it with `az keyvault update --name "
        f"{config.key_vault} --enable-rbac-authorization true` (access policies then stop "
        "applying), or name another vault with `--key-vault`",
    )


def needs(config: SetupConfig, observed: Observed) -> list[tuple[str, str, str, str]]:
    """(principal, role, scope, why) of every grant the setup needs."""
    wanted = [
        (DEPLOYER, "Contributor", config.group_id, "deploys the container groups"),
        (DEPLOYER, push_role(observed), config.registry_id, "pushes the image"),
    ]
    if config.pull == "key-vault" and config.key_vault:
        wanted.append(
            (DEPLOYER, "Key Vault Secrets User", config.vault_id, "reads the pull credentials")
        )
        if config.signed_in:
            wanted.append(
                (YOU, "Key Vault Secrets Officer", config.vault_id, "writes the pull secrets")
            )
        if config.pull_principal:
            wanted.append(
                (PULL_PRINCIPAL, _pull_role(observed), config.registry_id, "pulls the image")
            )
    if config.pull == "identity" and config.pull_identity:
        wanted.append((PULL, _pull_role(observed), config.registry_id, "pulls the image"))
    return wanted


def principal_of(config: SetupConfig, observed: Observed, key: str) -> str | None:
    """The object id of DEPLOYER, PULL (once they exist) or YOU."""
    if key == YOU:
        return config.signed_in
    if key == PULL_PRINCIPAL:
        return config.pull_principal
    body = observed.identities.get(key)
    principal = ((body or {}).get("properties") or {}).get("principalId")
    return str(principal) if principal else None


def _grant_steps(config: SetupConfig, observed: Observed) -> Iterator[Step]:
    names = {
        DEPLOYER: config.identity,
        PULL: config.pull_identity or "",
        YOU: "you",
        PULL_PRINCIPAL: f"the pull principal {config.pull_principal}",
    }
    for key, role, scope, why in needs(config, observed):
        principal = principal_of(config, observed, key)
        found = principal and holds(
            observed.assignments, principal, role, scope, dict(observed.role_ids)
        )
        where = scope.rsplit("/", 1)[-1]
        text = f"{role} on {where} to {names[key]} ({why})"
        if found:
            yield Step("role", text, "exists", f"as {found}")
        else:
            yield Step("role", text, "grant", principal=key, role=role, scope=scope)


def summary(steps: Sequence[Step]) -> str:
    """The plan as aligned lines, then one line that says what a run would change."""
    width = max((len(step.kind) for step in steps), default=0)
    lines = [
        f"  {step.state:<8} {step.kind:<{width}}  {step.name}"
        + (f"  [{step.detail}]" if step.detail else "")
        for step in steps
    ]
    changing = [step for step in steps if step.changes]
    blocked = [step for step in steps if step.state == "blocked"]
    if blocked:
        lines.append(f"{len(blocked)} step(s) blocked: see above; nothing was changed.")
    elif not changing:
        lines.append("Nothing to change: everything exists as it should.")
    else:
        lines.append(f"{len(changing)} change(s) to make.")
    return "\n".join(lines)


def with_principal(observed: Observed, key: str, body: Mapping[str, Any]) -> Observed:
    """`observed` after an identity was created (its principal id known)."""
    return replace(observed, identities={**observed.identities, key: body})


def role_body(
    subscription: str, role_id: str, principal: str, principal_type: str | None
) -> dict[str, Any]:
    """The PUT body of a role assignment (Microsoft.Authorization 2022-04-01)."""
    properties: dict[str, Any] = {
        "roleDefinitionId": (
            f"/subscriptions/{subscription}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{role_id}"
        ),
        "principalId": principal,
    }
    if principal_type:
        # Named, so ARM does not look a new identity up in Entra before it replicated
        # (learn.microsoft.com/azure/role-based-access-control/role-assignments-template,
        # "principalType").
        properties["principalType"] = principal_type
    return {"properties": properties}


def grant_name(step: Step, principal: str, role_id: str) -> str:
    """The stable name of a step's role assignment."""
    return assignment_name(step.scope, principal, role_id)


def known_role_id(role: str, observed: Observed) -> str | None:
    """A role's definition GUID: built-in table first, then what was resolved by name."""
    return ROLE_IDS.get(role) or observed.role_ids.get(role)
