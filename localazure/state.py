"""The emulated tenant: resource groups, registries, vaults, applications and role assignments.

A `Seed` is plain data (loaded from JSON or YAML, or built in a test); `State` is the live,
lock-protected world the handlers read and change. Role definitions carry the real action names
so that `AuthorizationFailed` messages name what Azure would name.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DOMAIN = "azure.localhost"
REGISTRY_DOMAIN = "azurecr.localhost"
GITHUB_ISSUER_HOST = "token.actions.githubusercontent.localhost"
GITHUB_API_HOST = "api.github.localhost"


@dataclass(frozen=True)
class RoleDefinition:
    """A built-in role: control-plane actions (minus `not_actions`) and data actions, with wildcards.

    `id` is the role's GUID, the same in every tenant (Microsoft Learn, "Azure built-in roles").
    """

    name: str
    actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    id: str = ""

    @property
    def guid(self) -> str:
        """The role definition's name (a GUID): the real one, or one derived from the role name."""
        return self.id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"role:{self.name.lower()}"))


# Who may write role assignments: Owner, User Access Administrator and Role Based Access Control
# Administrator have Microsoft.Authorization/roleAssignments/write; Contributor's NotActions take
# Microsoft.Authorization/*/Write and */Delete away (Learn, "Azure built-in roles": privileged).
AUTHORIZATION_WRITE = "Microsoft.Authorization/*/Write"
ROLES: dict[str, RoleDefinition] = {
    role.name.lower(): role
    for role in (
        RoleDefinition("Owner", actions=("*",), id="8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
        RoleDefinition(
            "Contributor",
            actions=("*",),
            not_actions=(
                "Microsoft.Authorization/*/Delete",
                AUTHORIZATION_WRITE,
                "Microsoft.Authorization/elevateAccess/Action",
            ),
            id="b24988ac-6180-42a0-ab88-20f7382dd24c",
        ),
        RoleDefinition("Reader", actions=("*/read",), id="acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        RoleDefinition(
            "User Access Administrator",
            actions=("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"),
            id="18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        ),
        RoleDefinition(
            "Role Based Access Control Administrator",
            actions=(
                "Microsoft.Authorization/roleAssignments/write",
                "Microsoft.Authorization/roleAssignments/delete",
                "*/read",
                "Microsoft.Support/*",
            ),
            id="f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        ),
    )
}


@dataclass
class FederatedCredential:
    """A federated identity credential of an application (issuer + subject + audiences)."""

    name: str
    issuer: str
    subject: str
    audiences: list[str] = field(default_factory=lambda: ["api://AzureADTokenExchange"])


@dataclass
class App:
    """An Entra application with its service principal (client id = appId, object id = SP oid)."""

    client_id: str
    display_name: str
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    secret: str | None = None
    federated_credentials: list[FederatedCredential] = field(default_factory=list)
    # When the principal was created (time.monotonic()); None: before the emulator started. A
    # principal younger than `Settings.principal_replication_seconds` is not yet known to RBAC.
    created_at: float | None = None
    # The resource id of the user-assigned managed identity this principal is, if it is one.
    managed_identity: str | None = None


@dataclass
class RoleAssignment:
    """A role granted to a principal (by client id or object id) at a scope.

    `name` is the assignment's GUID (its ARM name); `effective_at` (time.monotonic()) is when
    authorization checks start to see it (role assignment propagation).
    """

    principal: str
    role: str
    scope: str
    name: str = field(default_factory=lambda: str(uuid.uuid4()))
    principal_type: str | None = None
    effective_at: float = 0.0
    created_on: str = ""
    created_by: str | None = None


LEGACY_REGISTRY_PERMISSIONS = "LegacyRegistryPermissions"
ABAC_REPOSITORY_PERMISSIONS = "AbacRepositoryPermissions"


@dataclass
class Registry:
    """An Azure Container Registry; the login server is derived from the emulator's port.

    The settings below are the registry's ARM properties that change who may use its data plane:
    * `authentication_as_arm` (`policies.azureADAuthenticationAsArmPolicy.status`): "disabled"
      makes `/oauth2/exchange` refuse Entra tokens with ARM's audience, accepting only ACR's own
      (container-registry-disable-authentication-as-arm).
    * `role_assignment_mode`: in "AbacRepositoryPermissions" the registry ignores AcrPull, AcrPush,
      AcrDelete, and Owner/Contributor/Reader's data access; only the Container Registry Repository
      roles (data actions) count (container-registry-rbac-abac-repository-permissions).
    * `public_network_access` "Disabled", or `network_default_action` "Deny" with `ip_rules` that
      do not hold the caller's address: the data plane answers 403 `DENIED` (ACR firewall).
    """

    name: str
    resource_group: str
    location: str | None = None
    sku: str = "Basic"
    authentication_as_arm: str = "enabled"
    role_assignment_mode: str = LEGACY_REGISTRY_PERMISSIONS
    public_network_access: str = "Enabled"
    network_default_action: str = "Allow"
    ip_rules: list[str] = field(default_factory=list)
    # Another subscription of the tenant (one of `Seed.other_subscriptions`); None: the main one.
    subscription_id: str | None = None

    def admits(self, address: str) -> bool:
        """Does the registry's network configuration let a client at `address` in?"""
        import ipaddress

        if self.public_network_access.lower() == "disabled":
            return False
        if self.network_default_action.lower() != "deny":
            return True
        try:
            client = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(client in ipaddress.ip_network(rule, strict=False) for rule in self.ip_rules)


@dataclass
class SecretVersion:
    """One version of a Key Vault secret."""

    value: str
    version: str = field(default_factory=lambda: uuid.uuid4().hex)
    content_type: str | None = None
    tags: dict[str, str] | None = None
    enabled: bool = True
    created: int = 0
    updated: int = 0


@dataclass
class Vault:
    """A Key Vault with its secrets (newest version last).

    `enable_rbac_authorization` False: the data plane authorizes by `access_policies` only
    (`{"objectId", "tenantId", "permissions": {"secrets": [...]}}`) and ignores role assignments.
    """

    name: str
    resource_group: str
    location: str | None = None
    secrets: dict[str, list[SecretVersion]] = field(default_factory=dict)
    enable_rbac_authorization: bool = True
    access_policies: list[dict[str, Any]] = field(default_factory=list)
    sku: str = "standard"
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Settings:
    """Timings of the tenant that tests may change (seed keys of the same names, or the control API).

    * `role_assignment_propagation_seconds`: a role assignment written through ARM counts for
      authorization checks only this long after it was created (Azure: "up to 10 minutes",
      Learn, troubleshooting Azure RBAC, "Role assignment changes are not being detected").
    * `principal_replication_seconds`: a principal (user-assigned identity) created this recently
      is unknown to a role assignment without `principalType` (PrincipalNotFound).
    * `provider_registration_seconds`: how long a resource provider stays `Registering`.
    """

    role_assignment_propagation_seconds: float = 0.0
    principal_replication_seconds: float = 0.0
    provider_registration_seconds: float = 0.0


@dataclass
class Seed:
    """Everything a fresh emulator starts with."""

    tenant_id: str
    subscription_id: str
    resource_groups: dict[str, str]  # name -> location
    registries: list[Registry] = field(default_factory=list)
    vaults: list[Vault] = field(default_factory=list)
    apps: list[App] = field(default_factory=list)
    role_assignments: list[RoleAssignment] = field(default_factory=list)
    subscription_name: str = "acr-action local"
    # Further subscriptions of the tenant (id -> display name), e.g. a shared registry's. Resource
    # group names are one namespace across them (a simplification: Azure keeps one per subscription).
    other_subscriptions: dict[str, str] = field(default_factory=dict)
    # Resource provider namespaces not registered on the subscription (all others are).
    unregistered_providers: list[str] = field(default_factory=list)
    # Registry and vault names taken elsewhere in Azure (names are global).
    taken_names: list[str] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seed:
        """Build a seed from its JSON/YAML form (see `seed.example.yaml`)."""
        vaults = []
        for raw in data.get("vaults", []):
            secrets = {
                name: [SecretVersion(value=str(value))]
                for name, value in raw.get("secrets", {}).items()
            }
            extra = {
                k: raw[k] for k in ("enable_rbac_authorization", "access_policies") if k in raw
            }
            vaults.append(
                Vault(
                    raw["name"],
                    raw["resource_group"],
                    raw.get("location"),
                    secrets=secrets,
                    **extra,
                )
            )
        apps = [
            App(
                client_id=raw["client_id"],
                display_name=raw.get("display_name", raw["client_id"]),
                object_id=raw.get("object_id") or str(uuid.uuid4()),
                secret=raw.get("secret"),
                federated_credentials=[
                    FederatedCredential(**fc) for fc in raw.get("federated_credentials", [])
                ],
            )
            for raw in data.get("apps", [])
        ]
        return cls(
            tenant_id=data["tenant_id"],
            subscription_id=data["subscription_id"],
            resource_groups=dict(data.get("resource_groups", {})),
            registries=[Registry(**raw) for raw in data.get("registries", [])],
            vaults=vaults,
            apps=apps,
            role_assignments=[RoleAssignment(**raw) for raw in data.get("role_assignments", [])],
            other_subscriptions=dict(data.get("other_subscriptions", {})),
            unregistered_providers=list(data.get("unregistered_providers", [])),
            taken_names=list(data.get("taken_names", [])),
            settings=Settings(**data.get("settings", {})),
        )

    @classmethod
    def default(cls) -> Seed:
        """The demo tenant of `seed.yaml` (what the README's one-time setup creates)."""
        return cls.load(Path(__file__).with_name("seed.yaml"))

    @classmethod
    def empty(cls) -> Seed:
        """An empty subscription with an Owner and unregistered providers (`seed-empty.yaml`)."""
        return cls.load(Path(__file__).with_name("seed-empty.yaml"))

    @classmethod
    def load(cls, path: Path) -> Seed:
        """Read a seed file (`.json`, or `.yaml`/`.yml`)."""
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            import yaml

            return cls.from_dict(yaml.safe_load(text))
        return cls.from_dict(json.loads(text))


def scope_contains(outer: str, inner: str) -> bool:
    """True when `inner` is `outer` or below it (ARM scopes are case-insensitive)."""
    outer, inner = outer.rstrip("/").lower(), inner.rstrip("/").lower()
    return inner == outer or inner.startswith(outer + "/")


def _matches(patterns: tuple[str, ...], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _allows(role: RoleDefinition, action: str, *, data_action: bool) -> bool:
    """Does `role` allow `action`: matched by its actions and by none of its NotActions?"""
    if data_action:
        return _matches(role.data_actions, action)
    return _matches(role.actions, action) and not _matches(role.not_actions, action)


class State:
    """The live emulated world. Handlers hold `lock` while they read and change it."""

    def __init__(self, seed: Seed) -> None:
        self.lock = threading.RLock()
        self.tenant_id = seed.tenant_id
        self.subscription_id = seed.subscription_id
        self.subscription_name = seed.subscription_name
        self.other_subscriptions = {k.lower(): v for k, v in seed.other_subscriptions.items()}
        self.resource_groups = {
            name.lower(): (name, loc) for name, loc in seed.resource_groups.items()
        }
        self.resource_group_tags: dict[str, dict[str, str]] = {}
        self.registries = {r.name.lower(): r for r in seed.registries}
        self.vaults = {v.name.lower(): v for v in seed.vaults}
        self.apps = {a.client_id.lower(): a for a in seed.apps}
        self.role_assignments = list(seed.role_assignments)
        self.settings = Settings(**vars(seed.settings))
        # Namespace (lower case) -> (spelling, registrationState, monotonic time it completes).
        self.providers: dict[str, tuple[str, str, float]] = {
            ns.lower(): (ns, "NotRegistered", 0.0) for ns in seed.unregistered_providers
        }
        self.taken_names = {name.lower() for name in seed.taken_names}
        # The built-in roles: the general ones, then those the services add (`add_roles`).
        self.roles = dict(ROLES)
        # Resources that services own, per resource type, keyed by lower-case resource id.
        self.resources: dict[str, dict[str, Any]] = {}

    def add_roles(self, roles: Iterable[RoleDefinition]) -> None:
        """Make these built-in roles assignable (a service's `ROLES`)."""
        with self.lock:
            self.roles.update((role.name.lower(), role) for role in roles)

    def table(self, resource_type: str) -> dict[str, Any]:
        """The live resources of one type (e.g. `Microsoft.ContainerInstance/containerGroups`)."""
        with self.lock:
            return self.resources.setdefault(resource_type.lower(), {})

    @property
    def container_groups(self) -> dict[str, Any]:
        """ACI's container groups (the table `aci.py` keeps)."""
        return self.table("Microsoft.ContainerInstance/containerGroups")

    # --- lookups ---------------------------------------------------------------------------
    def app(self, client_id: str) -> App | None:
        """The application with this client id, if any."""
        return self.apps.get(client_id.lower())

    def app_by_object_id(self, object_id: str) -> App | None:
        """The application whose service principal has this object id."""
        return next(
            (a for a in self.apps.values() if a.object_id.lower() == object_id.lower()), None
        )

    def resource_group(self, name: str) -> tuple[str, str] | None:
        """(name as created, location) of a resource group."""
        return self.resource_groups.get(name.lower())

    def subscription_scope(self) -> str:
        return f"/subscriptions/{self.subscription_id}"

    def rg_scope(self, rg: str) -> str:
        return f"{self.subscription_scope()}/resourceGroups/{rg}"

    def knows_subscription(self, subscription: str) -> bool:
        """Is `subscription` one of this tenant's (the main one or another)?"""
        return (
            subscription.lower() == self.subscription_id.lower()
            or subscription.lower() in self.other_subscriptions
        )

    def registry_subscription(self, registry: Registry) -> str:
        return registry.subscription_id or self.subscription_id

    def registry_id(self, registry: Registry) -> str:
        return (
            f"/subscriptions/{self.registry_subscription(registry)}"
            f"/resourceGroups/{registry.resource_group}"
            f"/providers/Microsoft.ContainerRegistry/registries/{registry.name}"
        )

    def vault_id(self, vault: Vault) -> str:
        return f"{self.rg_scope(vault.resource_group)}/providers/Microsoft.KeyVault/vaults/{vault.name}"

    @contextmanager
    def registry_settings(self, name: str, **settings: Any) -> Iterator[Registry]:
        """Change a registry's settings (`Registry` fields) for the `with` block, then restore them."""
        registry = self.registries[name.lower()]
        unknown = set(settings) - {f.name for f in fields(Registry)}
        if unknown:
            raise TypeError(f"unknown registry settings: {sorted(unknown)}")
        with self.lock:
            saved = {key: getattr(registry, key) for key in settings}
            for key, value in settings.items():
                setattr(registry, key, value)
        try:
            yield registry
        finally:
            with self.lock:
                for key, value in saved.items():
                    setattr(registry, key, value)

    # --- resource providers ----------------------------------------------------------------
    def provider(self, namespace: str) -> tuple[str, str]:
        """(namespace as spelt, registrationState): Registered unless the seed said otherwise."""
        with self.lock:
            found = self.providers.get(namespace.lower())
            if found is None:
                return namespace, "Registered"
            spelling, state, done_at = found
            if state == "Registering" and time.monotonic() >= done_at:
                self.providers.pop(namespace.lower())
                return spelling, "Registered"
            return spelling, state

    def register_provider(self, namespace: str) -> tuple[str, str]:
        """Start registering `namespace` (done after `provider_registration_seconds`)."""
        with self.lock:
            spelling, state = self.provider(namespace)
            if state != "Registered":
                done_at = time.monotonic() + self.settings.provider_registration_seconds
                self.providers[namespace.lower()] = (spelling, "Registering", done_at)
            return self.provider(namespace)

    def name_taken(self, table: dict[str, Any], name: str) -> bool:
        """Is this registry (or vault) name used anywhere: here (`table`) or elsewhere in Azure?"""
        with self.lock:
            return name.lower() in self.taken_names or name.lower() in table

    # --- RBAC ----------------------------------------------------------------------------
    def grant(self, principal: str, role: str, scope: str) -> RoleAssignment:
        """Add a role assignment (tests use this to change permissions mid-run)."""
        if role.lower() not in self.roles:
            raise KeyError(
                f"unknown role {role!r}; known: {sorted(r.name for r in self.roles.values())}"
            )
        assignment = RoleAssignment(principal, role, scope)
        with self.lock:
            self.role_assignments.append(assignment)
        return assignment

    def role(self, name_or_guid: str) -> RoleDefinition | None:
        """A built-in role by name or by its GUID."""
        with self.lock:
            found = self.roles.get(name_or_guid.lower())
            if found is not None:
                return found
            return next(
                (r for r in self.roles.values() if r.guid.lower() == name_or_guid.lower()), None
            )

    def revoke(self, principal: str, role: str | None = None) -> None:
        """Remove a principal's assignments (of one role, or all)."""
        with self.lock:
            self.role_assignments = [
                ra
                for ra in self.role_assignments
                if not (
                    ra.principal.lower() == principal.lower()
                    and (role is None or ra.role.lower() == role.lower())
                )
            ]

    def authorized(self, app: App, action: str, scope: str, *, data_action: bool = False) -> bool:
        """Does any role assigned to `app` at or above `scope` allow `action`?"""
        ids = {app.client_id.lower(), app.object_id.lower()}
        moment = time.monotonic()
        with self.lock:
            for ra in self.role_assignments:
                if ra.principal.lower() not in ids or not scope_contains(ra.scope, scope):
                    continue
                if ra.effective_at > moment:
                    continue  # not propagated yet
                role = self.roles.get(ra.role.lower())
                if role is None:
                    continue  # a seed may name a role of a service this emulator lacks
                if _allows(role, action, data_action=data_action):
                    return True
        return False
