"""Container Registry's ARM writes: `Registries_Create` and `Registries_CheckNameAvailability`.

Shapes from Azure/azure-rest-api-specs `specification/containerregistry/resource-manager/
Microsoft.ContainerRegistry/Registry/stable/2025-11-01` (azure-mgmt-containerregistry 15's
version; the reads stay in `arm.py`, the data plane in `acr.py`):

* `PUT .../providers/Microsoft.ContainerRegistry/registries/{name}`: `location` and `sku.name`
  (Basic, Standard, Premium; Classic is retired) required; `registryName` is 5-50 characters of
  `^[a-zA-Z0-9]*$`. 201 created, 200 updated. Names are global: one taken anywhere is 409 with the
  text `az acr create` prints, "The registry DNS name {name}.azurecr.io is already in use. You can
  check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/
  api/containerregistry/registries/checknameavailability" (code `AlreadyInUse` [inferred]).
* `DELETE` of the same path: 200, or 204 when there is no such registry.
* `POST /subscriptions/{s}/providers/Microsoft.ContainerRegistry/checkNameAvailability` with
  `{"name", "type": "Microsoft.ContainerRegistry/registries"}` -> `nameAvailable`, and when taken
  `reason` "AlreadyExists" and `message` "The registry {name} is already in use." (the spec's
  RegistryCheckNameNotAvailable example).

A created registry is served like a seeded one: its login server resolves, its token endpoints
answer and, with Docker, a Distribution process stores its images (`acr.Service.serve`).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from . import hosts
from .arm import RG, SUB
from .arm_provider import ArmProvider
from .state import REGISTRY_DOMAIN, Registry
from .web import Router, arm_error, json_response

KIND = "Microsoft.ContainerRegistry/registries"
NAME = re.compile(r"[a-zA-Z0-9]{5,50}")
SKUS = ("Basic", "Standard", "Premium")
CHECK_DOCS = (
    "https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability"
)


class Service(ArmProvider):
    """Registry creation and name checks on ARM's host."""

    def register(self, router: Router) -> None:
        """Add the registry PUT and the name check."""
        path = RG + r"/providers/Microsoft\.ContainerRegistry/registries/(?P<name>[^/]+)/?"
        self.arm_route(router, "PUT", path, self.put_registry)
        self.arm_route(router, "DELETE", path, self.delete_registry)
        check = SUB + r"/providers/Microsoft\.ContainerRegistry/checkNameAvailability/?"
        self.arm_route(router, "POST", check, self.check_name)

    async def put_registry(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`Registries_Create` (answered finished: `provisioningState` Succeeded)."""
        state = self.emulator.state
        group = state.resource_group(rg)
        body = await self.checked_write(request, subscription, rg, KIND, name)
        if isinstance(body, web.Response):
            return body
        invalid = _invalid(name, body)
        if invalid is not None:
            return invalid
        with state.lock:
            registry = state.registries.get(name.lower())
            home = registry.subscription_id if registry else None
            ours = registry is not None and registry.resource_group.lower() == rg.lower()
            if ours and (home or state.subscription_id).lower() != subscription.lower():
                ours = False
            if not ours and state.name_taken(state.registries, name):
                return arm_error(409, "AlreadyInUse",
                                 f"The registry DNS name {name.lower()}.azurecr.io is already in"
                                 " use. You can check if the name is already claimed using"
                                 f" following API: {CHECK_DOCS}")  # fmt: skip
            created = registry is None
            if registry is None:
                registry = Registry(name, group[0] if group else rg, body["location"])
                if subscription.lower() != state.subscription_id.lower():
                    registry.subscription_id = subscription
            _apply(registry, body)
            state.registries[name.lower()] = registry
        await asyncio.to_thread(hosts.ensure, [f"{name.lower()}.{REGISTRY_DOMAIN}"])
        await self.emulator.services["acr"].serve(registry)
        answer = self.emulator.services["arm"].registry_body(
            registry, group[1] if group else "", request.query.get("api-version", "")
        )
        return json_response(answer, 201 if created else 200)

    async def delete_registry(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`Registries_Delete`: 200 deleted (its images go too), 204 when there was none."""
        scope = self.resource_id(subscription, rg, KIND, name)
        refusal = self.check(request, subscription, f"{KIND}/delete", scope, rg)
        if refusal is not None:
            return refusal
        state = self.emulator.state
        with state.lock:
            registry = state.registries.get(name.lower())
            if registry is None or registry.resource_group.lower() != rg.lower():
                return web.Response(status=204)
            del state.registries[name.lower()]
        await self.emulator.services["acr"].retire(name)
        return web.Response(status=200)

    async def check_name(self, request: web.Request, subscription: str) -> web.Response:
        """`Registries_CheckNameAvailability`."""
        scope = self.subscription_scope(subscription)
        refusal = self.check(request, subscription, f"{KIND}/checkNameAvailability/read", scope)
        if refusal is not None:
            return refusal
        body = await self.json_body(request)
        if isinstance(body, web.Response):
            return body
        name = str(body.get("name", ""))
        if not NAME.fullmatch(name):
            return json_response({"nameAvailable": False, "reason": "Invalid",  # [inferred]
                                  "message": "The registry name must be 5-50 letters and digits."})  # fmt: skip
        if self.emulator.state.name_taken(self.emulator.state.registries, name):
            return json_response(
                {
                    "nameAvailable": False,
                    "reason": "AlreadyExists",
                    "message": f"The registry {name} is already in use.",
                }
            )
        return json_response({"nameAvailable": True})


def _invalid(name: str, body: dict[str, Any]) -> web.Response | None:
    """ARM's 400 for a bad name, location or SKU."""
    if not NAME.fullmatch(name):
        return arm_error(400, "InvalidParameter",  # [inferred] code and wording; rule: the spec
                         f"The registry name '{name}' is invalid: 5-50 alphanumeric characters.")  # fmt: skip
    if not isinstance(body.get("location"), str) or not body["location"]:
        return arm_error(
            400, "LocationRequired", "The location property is required for this definition."
        )
    sku = (body.get("sku") or {}).get("name") if isinstance(body.get("sku"), dict) else None
    if sku not in SKUS:
        return arm_error(400, "InvalidSku",  # [inferred] code and wording
                         f"The SKU '{sku}' is not valid; use one of {', '.join(SKUS)}.")  # fmt: skip
    return None


def _apply(registry: Registry, body: dict[str, Any]) -> None:
    """The settings of a create or update that the local Azure honours."""
    registry.sku = body["sku"]["name"]
    properties = body.get("properties") or {}
    if properties.get("publicNetworkAccess"):
        registry.public_network_access = str(properties["publicNetworkAccess"])
    if properties.get("roleAssignmentMode"):
        registry.role_assignment_mode = str(properties["roleAssignmentMode"])
    policy = (properties.get("policies") or {}).get("azureADAuthenticationAsArmPolicy") or {}
    if policy.get("status"):
        registry.authentication_as_arm = str(policy["status"])
