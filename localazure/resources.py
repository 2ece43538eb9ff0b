"""Microsoft.Resources writes: resource groups (create, check existence) and provider registration.

Shapes from Azure/azure-rest-api-specs `specification/resources/resource-manager/
Microsoft.Resources/resources/stable/2024-11-01/resources.json`:

* `ResourceGroups_CreateOrUpdate`: `PUT /subscriptions/{s}/resourcegroups/{rg}`, body
  `ResourceGroup` with `location` required (`tags`, `managedBy` optional); 201 when created,
  200 when it existed. `resourceGroupName` is 1-90 characters of `^[-\\w\\._\\(\\)]+$`.
* `ResourceGroups_CheckExistence`: `HEAD` of the same path, 204 or 404, no body.
* `Providers_Get`: `GET /subscriptions/{s}/providers/{namespace}` -> `Provider` (`id`,
  `namespace`, `registrationState`, `registrationPolicy`, `resourceTypes`);
  `Providers_Register`: `POST .../providers/{namespace}/register` -> `Provider`;
  `Providers_List`: `GET /subscriptions/{s}/providers`.

The reads of a resource group stay in `arm.py`. A write to a namespace that is not registered
(seed `unregistered_providers`) is refused by every provider with 409
`MissingSubscriptionRegistration` (`arm_provider.missing_subscription_registration`); the SDKs'
`ARMAutoResourceProviderRegistrationPolicy` then registers it and polls `Providers_Get` every 10 s
(azure-mgmt-core `policies/_base.py`).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from aiohttp import web

from .arm import RG, SUB
from .arm_provider import ArmProvider
from .web import Router, arm_error, json_response

RG_WRITE = "Microsoft.Resources/subscriptions/resourceGroups/write"
RG_READ = "Microsoft.Resources/subscriptions/resourceGroups/read"
RG_NAME = re.compile(r"[-\w._()]{1,90}")
# The resource types the local Azure serves, per namespace (for `Provider.resourceTypes`).
RESOURCE_TYPES: dict[str, tuple[str, ...]] = {
    "microsoft.containerregistry": ("registries",),
    "microsoft.keyvault": ("vaults",),
    "microsoft.managedidentity": ("userAssignedIdentities",),
    "microsoft.containerinstance": ("containerGroups",),
    "microsoft.network": ("virtualNetworks",),
}


class Service(ArmProvider):
    """Resource group writes and resource provider registration, on ARM's host."""

    VERSIONED: ClassVar[dict[str, tuple[str, str]]] = {
        "providers": ("arm", r"(?i)^/subscriptions/[^/]+/providers(/[^/]+(/register)?)?/?$"),
    }

    def register(self, router: Router) -> None:
        """Add the resource group PUT/HEAD and the provider routes."""
        self.arm_route(router, "PUT", RG + "/?", self.put_resource_group)
        self.arm_route(router, "HEAD", RG + "/?", self.resource_group_exists)
        namespace = SUB + r"/providers/(?P<namespace>[^/]+)"
        self.arm_route(router, "GET", SUB + r"/providers/?", self.list_providers)
        self.arm_route(router, "GET", namespace + "/?", self.get_provider)
        self.arm_route(router, "POST", namespace + r"/register/?", self.register_provider)

    # --- resource groups ---------------------------------------------------------------
    async def put_resource_group(
        self, request: web.Request, subscription: str, rg: str
    ) -> web.Response:
        """`ResourceGroups_CreateOrUpdate`: 201 created, 200 updated; `location` required."""
        sub_scope = self.subscription_scope(subscription)
        refusal = self.check(request, subscription, RG_WRITE, f"{sub_scope}/resourceGroups/{rg}")
        if refusal is not None:
            return refusal
        body = await self.json_body(request)
        if isinstance(body, web.Response):
            return body
        location = body.get("location")
        if not isinstance(location, str) or not location:
            return arm_error(
                400, "LocationRequired", "The location property is required for this definition."
            )
        if not RG_NAME.fullmatch(rg) or rg.endswith("."):
            return arm_error(
                400,
                "InvalidResourceGroupName",  # [inferred] code and wording; rule from the spec
                f"The resource group name '{rg}' is invalid. It must be 1-90 letters, digits,"
                " underscores, hyphens, periods (not at the end) or parentheses.",
            )
        state = self.emulator.state
        with state.lock:
            found = state.resource_group(rg)
            if found is not None and _region(found[1]) != _region(location):
                return arm_error(
                    409,
                    "InvalidResourceGroupLocation",
                    f"Invalid resource group location '{location}'. The Resource group already"
                    f" exists in location '{found[1]}'.",
                )
            if found is None:
                state.resource_groups[rg.lower()] = (rg, location)
            name, stored = state.resource_group(rg) or (rg, location)
            tags = body.get("tags") if isinstance(body.get("tags"), dict) else None
            if tags is not None:
                state.resource_group_tags[rg.lower()] = dict(tags)
            tags = state.resource_group_tags.get(rg.lower())
        answer: dict[str, Any] = {
            "id": f"{sub_scope}/resourceGroups/{name}",
            "name": name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": stored,
            "properties": {"provisioningState": "Succeeded"},
        }
        if tags:
            answer["tags"] = tags
        return json_response(answer, 200 if found is not None else 201)

    async def resource_group_exists(
        self, request: web.Request, subscription: str, rg: str
    ) -> web.Response:
        """`ResourceGroups_CheckExistence`: 204 or 404 without a body."""
        scope = f"{self.subscription_scope(subscription)}/resourceGroups/{rg}"
        refusal = self.check(request, subscription, RG_READ, scope)
        if refusal is not None:
            return refusal
        found = self.emulator.state.resource_group(rg) is not None
        return web.Response(status=204 if found else 404)

    # --- providers ---------------------------------------------------------------------
    def _provider(self, subscription: str, namespace: str) -> dict[str, Any]:
        spelling, state = self.emulator.state.provider(namespace)
        types = RESOURCE_TYPES.get(namespace.lower(), ())
        return {
            "id": f"{self.subscription_scope(subscription)}/providers/{spelling}",
            "namespace": spelling,
            "registrationState": state,
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": [
                {"resourceType": kind, "locations": [], "apiVersions": []} for kind in types
            ],
        }

    def _signed_in(self, request: web.Request, subscription: str) -> web.Response | None:
        """Provider reads need a signed-in caller of a known subscription, no role [inferred]."""
        caller = self.caller(request)
        if isinstance(caller, web.Response):
            return caller
        if not self.serves_subscription(subscription):
            return self.subscription_not_found(subscription)
        return None

    async def list_providers(self, request: web.Request, subscription: str) -> web.Response:
        """`Providers_List`: the namespaces the local Azure serves, and the seed's unregistered."""
        refusal = self._signed_in(request, subscription)
        if refusal is not None:
            return refusal
        known = {"Microsoft.ContainerRegistry", "Microsoft.KeyVault", "Microsoft.ManagedIdentity",
                 "Microsoft.ContainerInstance", "Microsoft.Authorization", "Microsoft.Resources"}  # fmt: skip
        with self.emulator.state.lock:
            known |= {spelling for spelling, _, _ in self.emulator.state.providers.values()}
        rows = [self._provider(subscription, ns) for ns in sorted(known, key=str.lower)]
        return self.page(request, rows, lambda row: row)

    async def get_provider(
        self, request: web.Request, subscription: str, namespace: str
    ) -> web.Response:
        """`Providers_Get`: `registrationState` Registered, NotRegistered or Registering."""
        refusal = self._signed_in(request, subscription)
        if refusal is not None:
            return refusal
        return json_response(self._provider(subscription, namespace))

    async def register_provider(
        self, request: web.Request, subscription: str, namespace: str
    ) -> web.Response:
        """`Providers_Register`: needs `{namespace}/register/action` on the subscription."""
        action = f"{namespace}/register/action"
        refusal = self.check(request, subscription, action, self.subscription_scope(subscription))
        if refusal is not None:
            return refusal
        self.emulator.state.register_provider(namespace)
        return json_response(self._provider(subscription, namespace))


def _region(location: str) -> str:
    """A location as ARM compares them: `West Europe` and `westeurope` are one region."""
    return location.replace(" ", "").lower()
