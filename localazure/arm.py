"""Azure Resource Manager reads: subscriptions, resource groups, registries and vaults.

Path segments are matched case-insensitively, as ARM does. Every call is authenticated and
authorized by role assignments (`ArmProvider.check`) with the real action names, before the
resource's existence is checked (ARM authorizes the requested scope, so a caller without a role
learns nothing about what exists). Errors use the ARM envelope with the messages of
`azure-reference/arm_error_envelopes.md`; 404s for missing resources carry
`x-ms-failure-cause: gateway` like the real front door. Container groups belong to `aci.py`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web

from .arm_provider import ArmProvider
from .state import DOMAIN, App, Registry, Vault
from .web import Handler, Router, arm_error, json_response

if TYPE_CHECKING:
    from .server import Emulator

SUB = r"(?i)/subscriptions/(?P<subscription>[^/]+)"
RG = SUB + r"/resourcegroups/(?P<rg>[^/]+)"
PROVIDERS = RG + r"/providers"

RG_READ = "Microsoft.Resources/subscriptions/resourceGroups/read"
REGISTRY_TYPE = "Microsoft.ContainerRegistry/registries"
VAULT_TYPE = "Microsoft.KeyVault/vaults"
REGISTRY_READ = f"{REGISTRY_TYPE}/read"
VAULT_READ = f"{VAULT_TYPE}/read"
# The `$filter` of Resources_List that the local Azure understands: `<property> eq '<value>'`
# clauses joined by `and`, on the properties below (a subset of the ones resources.json lists).
FILTER_CLAUSE = re.compile(r"\s*(?P<key>\w+)\s+eq\s+'(?P<value>[^']*)'\s*", re.IGNORECASE)
FILTER_KEYS = {
    "resourcetype": "type",
    "name": "name",
    "resourcegroup": "rg",
    "location": "location",
}


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _resource_filter(text: str) -> dict[str, str] | None:
    """A Resources_List `$filter` as {row key: value}; None when the local Azure cannot apply it."""
    wanted: dict[str, str] = {}
    if not text.strip():
        return wanted
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        matched = FILTER_CLAUSE.fullmatch(clause)
        if matched is None or matched.group("key").lower() not in FILTER_KEYS:
            return None
        wanted[FILTER_KEYS[matched.group("key").lower()]] = matched.group("value")
    return wanted


class Service(ArmProvider):
    """The ARM read endpoints of the emulated subscription (and the owner of ARM's host)."""

    HOSTS: ClassVar[dict[str, str]] = {"arm": rf"management\.{DOMAIN}"}
    VERSIONED: ClassVar[dict[str, tuple[str, str]]] = {
        "registries": ("arm", r"(?i)/providers/Microsoft\.ContainerRegistry/registries/"),
        "resourceGroups": ("arm", r"(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+/?$"),
    }

    def host_names(self) -> list[str]:
        """ARM's host, where every resource provider and the control API answer."""
        return [f"management.{DOMAIN}"]

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.created = dt.datetime.now(dt.UTC)

    def register(self, router: Router) -> None:
        """Add the subscription, resource group, registry and vault routes."""
        routes: dict[str, Handler] = {
            r"(?i)/subscriptions/?": self.list_subscriptions,
            SUB + "/?": self.get_subscription,
            RG + "/?": self.get_resource_group,
            SUB + "/resources/?": self.list_resources,
            PROVIDERS
            + r"/Microsoft\.ContainerRegistry/registries/(?P<name>[^/]+)/?": self.get_registry,
            PROVIDERS + r"/Microsoft\.KeyVault/vaults/(?P<name>[^/]+)/?": self.get_vault,
        }
        for pattern, handler in routes.items():
            self.arm_route(router, "GET", pattern, handler)

    # --- subscriptions ---------------------------------------------------------------------
    def _subscription_known(self, subscription: str) -> bool:
        return self.emulator.state.knows_subscription(subscription)

    def _can_see_subscription(self, app: App) -> bool:
        """Azure lists a subscription to a principal with any role assignment inside it."""
        state = self.emulator.state
        ids = {app.client_id.lower(), app.object_id.lower()}
        prefix = state.subscription_scope().lower()
        with state.lock:
            return any(
                ra.principal.lower() in ids and (ra.scope.lower() + "/").startswith(prefix + "/")
                for ra in state.role_assignments
            )

    def _subscription_body(self) -> dict[str, Any]:
        state = self.emulator.state
        return {
            "id": state.subscription_scope(),
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": state.subscription_id,
            "tenantId": state.tenant_id,
            "displayName": state.subscription_name,
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        }

    async def list_subscriptions(self, request: web.Request) -> web.Response:
        """`GET /subscriptions`: those the caller has a role in (`az login` lists them)."""
        app = self.caller(request)
        if isinstance(app, web.Response):
            return app
        value = [self._subscription_body()] if self._can_see_subscription(app) else []
        return json_response({"value": value, "count": {"type": "Total", "value": len(value)}})

    async def get_subscription(self, request: web.Request, subscription: str) -> web.Response:
        """`GET /subscriptions/{id}`."""
        app = self.caller(request)
        if isinstance(app, web.Response):
            return app
        if not self.serves_subscription(subscription) or not self._can_see_subscription(app):
            return self.subscription_not_found(subscription)
        return json_response(self._subscription_body())

    # --- resource groups and resources -----------------------------------------------------
    async def get_resource_group(
        self, request: web.Request, subscription: str, rg: str
    ) -> web.Response:
        """`GET .../resourcegroups/{rg}`: where the group is (the action reads its location)."""
        sub_scope = self.subscription_scope(subscription)
        scope = f"{sub_scope}/resourceGroups/{rg}"
        refusal = self.check(request, subscription, RG_READ, scope, rg)
        if refusal is not None:
            return refusal
        name, location = self.emulator.state.resource_group(rg) or (rg, "")
        body: dict[str, Any] = {
            "id": f"{sub_scope}/resourceGroups/{name}",
            "name": name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location,
            "properties": {"provisioningState": "Succeeded"},
        }
        tags = self.emulator.state.resource_group_tags.get(rg.lower())
        if tags:  # a group without tags has none in its body (`az group show`: "tags": null)
            body["tags"] = tags
        return json_response(body)

    async def list_resources(self, request: web.Request, subscription: str) -> web.Response:
        """`GET /subscriptions/{id}/resources` (Resources_List): registries and vaults.

        `az acr login --name` without `--resource-group` finds the registry's group this way
        (azure-cli acr/_utils.py `get_resources_in_subscription`, with
        `$filter=resourceType eq 'Microsoft.ContainerRegistry/registries'`). The list holds what
        the caller may read, as ARM's subscription-wide lists do, and no error for the rest.
        (`az keyvault show --name` adds `and name eq '...'`.) Only `eq` clauses joined by `and`
        on FILTER_KEYS are understood here; any other filter is refused rather than ignored, so
        a client that relies on one finds out.
        """
        app = self.caller(request)
        if isinstance(app, web.Response):
            return app
        if not self.serves_subscription(subscription):
            return self.subscription_not_found(subscription)
        wanted = _resource_filter(request.query.get("$filter", ""))
        if wanted is None:
            return arm_error(
                400,
                "InvalidFilterInQueryString",
                "The local Azure supports only $filter=<property> eq '<value>' [and ...] on"
                f" resourceType, name, resourceGroup and location here, not: {request.query['$filter']}",
            )
        return self.page(request, self._resources(app, wanted), lambda row: row)

    def _resources(self, app: App, wanted: dict[str, str]) -> list[dict[str, Any]]:
        """The registries and vaults `app` may read that match the filter, as list rows."""
        state = self.emulator.state
        with state.lock:
            rows = [
                (REGISTRY_TYPE, state.registry_id(r), r.name, r.resource_group, r.location)
                for r in state.registries.values()
            ] + [
                (VAULT_TYPE, state.vault_id(v), v.name, v.resource_group, v.location)
                for v in state.vaults.values()
            ]
        value: list[dict[str, Any]] = []
        for kind, resource_id, name, rg, location in rows:
            found = state.resource_group(rg)
            row = {
                "type": kind,
                "name": name,
                "rg": rg,
                "location": location or (found[1] if found else ""),
            }
            if any(row[key].lower() != want.lower() for key, want in wanted.items()):
                continue
            if not state.authorized(app, f"{kind}/read", resource_id):
                continue
            value.append(
                {
                    "id": resource_id,
                    "name": name,
                    "type": kind,
                    "location": row["location"],
                    "tags": {},
                }
            )
        return value

    def _read_resource(
        self,
        request: web.Request,
        subscription: str,
        rg: str,
        kind: str,
        name: str,
        action: str,
        table: Mapping[str, Any],
    ) -> tuple[Any, str] | web.Response:
        """A resource of `kind` in `rg` and the group's location, checked as ARM checks a read.

        Order as in ARM: the caller's role first, then the group, then the resource.
        """
        scope = (
            f"{self.subscription_scope(subscription)}/resourceGroups/{rg}/providers/{kind}/{name}"
        )
        refusal = self.check(request, subscription, action, scope, rg)
        if refusal is not None:
            return refusal
        found = self.emulator.state.resource_group(rg) or (rg, "")
        resource = table.get(name.lower())
        home = getattr(resource, "subscription_id", None) or self.emulator.state.subscription_id
        if (
            resource is None
            or resource.resource_group.lower() != rg.lower()
            or home.lower() != subscription.lower()
        ):
            return self.resource_not_found(kind, name, rg)
        return resource, found[1]

    async def get_registry(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`GET .../Microsoft.ContainerRegistry/registries/{name}` (as the 2025-11-01 example)."""
        state = self.emulator.state
        found = self._read_resource(
            request, subscription, rg, "Microsoft.ContainerRegistry/registries", name,
            REGISTRY_READ, state.registries,
        )  # fmt: skip
        if isinstance(found, web.Response):
            return found
        registry, rg_location = found
        return json_response(
            self.registry_body(registry, rg_location, request.query.get("api-version", ""))
        )

    def registry_body(
        self, registry: Registry, rg_location: str, api_version: str
    ) -> dict[str, Any]:
        """A registry as ARM answers it for `api_version` (GET, and the PUT of `registries.py`)."""
        state = self.emulator.state
        body: dict[str, Any] = {
            "id": state.registry_id(registry),
            "name": registry.name,
            "type": "Microsoft.ContainerRegistry/registries",
            "location": registry.location or rg_location,
            "tags": {},
            "sku": {"name": registry.sku, "tier": registry.sku},
            "properties": {
                "loginServer": self.emulator.login_server(registry.name),
                "creationDate": _iso(self.created),
                "provisioningState": "Succeeded",
                "adminUserEnabled": False,
                "policies": {
                    "quarantinePolicy": {"status": "disabled"},
                    "trustPolicy": {"type": "Notary", "status": "disabled"},
                    "retentionPolicy": {"days": 7, "status": "disabled"},
                    "exportPolicy": {"status": "enabled"},
                    "azureADAuthenticationAsArmPolicy": {"status": registry.authentication_as_arm},
                },
                "encryption": {"status": "disabled"},
                "status": None,
                "dataEndpointEnabled": False,
                "dataEndpointHostNames": [],
                "privateEndpointConnections": [],
                "publicNetworkAccess": registry.public_network_access,
                "networkRuleSet": {
                    "defaultAction": registry.network_default_action,
                    "ipRules": [{"action": "Allow", "value": rule} for rule in registry.ip_rules],
                },
                "networkRuleBypassOptions": "AzureServices",
                "networkRuleBypassAllowedForTasks": False,
                "zoneRedundancy": "Disabled",
                "anonymousPullEnabled": False,
                "roleAssignmentMode": registry.role_assignment_mode,
            },
        }
        return _as_of_version(body, api_version)

    async def get_vault(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`GET .../Microsoft.KeyVault/vaults/{name}`: an RBAC-mode vault and its URI."""
        state = self.emulator.state
        found = self._read_resource(
            request, subscription, rg, "Microsoft.KeyVault/vaults", name, VAULT_READ, state.vaults
        )
        if isinstance(found, web.Response):
            return found
        vault, rg_location = found
        return json_response(self.vault_body(vault, rg_location))

    def vault_body(self, vault: Vault, rg_location: str) -> dict[str, Any]:
        """A vault as ARM answers it (GET, and the PUT of `vaults.py`)."""
        state = self.emulator.state
        body: dict[str, Any] = {
            "id": state.vault_id(vault),
            "name": vault.name,
            "type": "Microsoft.KeyVault/vaults",
            "location": vault.location or rg_location,
            "tags": dict(vault.tags),
            "properties": {
                "sku": {"family": "A", "name": vault.sku},
                "tenantId": state.tenant_id,
                "accessPolicies": list(vault.access_policies),
                "enabledForDeployment": False,
                "enabledForDiskEncryption": False,
                "enabledForTemplateDeployment": False,
                "enableSoftDelete": True,
                "softDeleteRetentionInDays": 90,
                "enableRbacAuthorization": vault.enable_rbac_authorization,
                "vaultUri": self.emulator.vault_url(vault.name.lower()) + "/",
                "provisioningState": "Succeeded",
                "publicNetworkAccess": "Enabled",
            },
        }
        return body


# Registry properties ARM leaves out of an answer whose api-version predates them: ARM shapes a
# resource by the requested version's schema, so an older client never sees newer fields.
# `roleAssignmentMode` is in the 2025-05-01-preview and 2025-11-01 RegistryGet examples and in no
# earlier version's (Azure/azure-rest-api-specs, specification/containerregistry); the
# `azureADAuthenticationAsArmPolicy` boundary is [inferred] (the policy shipped in 2021; the
# 2019-05-01 version of Azure Stack Hub's hybrid profile certainly lacks both).
_REGISTRY_FIELDS_SINCE = {
    ("roleAssignmentMode",): "2025-05-01",
    ("policies", "azureADAuthenticationAsArmPolicy"): "2021-08-01",
}


def _as_of_version(body: dict[str, Any], api_version: str) -> dict[str, Any]:
    """`body` (a registry) without the properties `api_version` does not define."""
    properties = body["properties"]
    for path, since in _REGISTRY_FIELDS_SINCE.items():
        if api_version[:10] >= since:
            continue
        holder = properties
        for key in path[:-1]:
            holder = holder.get(key, {})
        holder.pop(path[-1], None)
    return body
