"""User-assigned managed identities and their federated identity credentials.

Shapes from Azure/azure-rest-api-specs `specification/msi/resource-manager/
Microsoft.ManagedIdentity/stable/2023-01-31/ManagedIdentity.json` (az 2.91 sends
2025-05-31-preview for identities and 2025-01-31-preview for credentials, same shapes):

* `UserAssignedIdentities_CreateOrUpdate` (PUT, `location` required; 201 created, 200 updated),
  `_Get`, `_Delete` (200, 204 when absent), `_ListByResourceGroup`. `properties.tenantId`,
  `principalId` and `clientId` are generated: the identity is an Entra service principal here
  (a `state.App` without secret), so it signs in, holds roles and is checked like an app.
* `FederatedIdentityCredentials_CreateOrUpdate` / `_Get` / `_List` / `_Delete` under an identity:
  `properties.issuer`, `subject`, `audiences` all required (the spec's `required`); the name matches
  `^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$`. Learn ("Important considerations and restrictions for
  federated identity credentials", workload-identity-federation-considerations): "A maximum of 20
  federated identity credentials can be added to an application or user-assigned managed
  identity" and "The combination of issuer and subject must be unique". The codes and wording of
  those refusals are [inferred].

Entra (`identity.py`) then accepts a `client_assertion` for the identity's client id when one of
its credentials matches: issuer and subject exactly (case-sensitively), and an audience.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, ClassVar
from urllib.parse import urlparse

from aiohttp import web

from .arm import RG
from .arm_provider import ArmProvider
from .state import App, FederatedCredential
from .web import Router, arm_error, json_response

KIND = "Microsoft.ManagedIdentity/userAssignedIdentities"
FIC_KIND = f"{KIND}/federatedIdentityCredentials"
BASE = RG + r"/providers/Microsoft\.ManagedIdentity/userAssignedIdentities"
FIC_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}")
IDENTITY_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-_]{2,127}")
MAX_CREDENTIALS = 20


class Service(ArmProvider):
    """User-assigned identities and their federated credentials, on ARM's host."""

    VERSIONED: ClassVar[dict[str, tuple[str, str]]] = {
        "userAssignedIdentities": (
            "arm",
            r"(?i)/providers/Microsoft\.ManagedIdentity/userAssignedIdentities",
        ),
    }

    def register(self, router: Router) -> None:
        """Add the identity and federated credential routes."""
        one = BASE + r"/(?P<name>[^/]+)"
        fics = one + r"/federatedIdentityCredentials"
        self.arm_route(router, "GET", BASE + "/?", self.list_identities)
        self.arm_route(router, "PUT", one + "/?", self.put_identity)
        self.arm_route(router, "GET", one + "/?", self.get_identity)
        self.arm_route(router, "DELETE", one + "/?", self.delete_identity)
        self.arm_route(router, "GET", fics + "/?", self.list_credentials)
        self.arm_route(router, "PUT", fics + r"/(?P<fic>[^/]+)/?", self.put_credential)
        self.arm_route(router, "GET", fics + r"/(?P<fic>[^/]+)/?", self.get_credential)
        self.arm_route(router, "DELETE", fics + r"/(?P<fic>[^/]+)/?", self.delete_credential)

    @property
    def identities(self) -> dict[str, dict[str, Any]]:
        """The identities by lower-case resource id."""
        return self.emulator.state.table(KIND)

    def _view(self, identity: dict[str, Any]) -> dict[str, Any]:
        app: App = identity["app"]
        body = {
            "id": identity["id"],
            "name": identity["name"],
            "type": KIND,
            "location": identity["location"],
            "tags": identity["tags"],
            "properties": {
                "tenantId": self.emulator.state.tenant_id,
                "principalId": app.object_id,
                "clientId": app.client_id,
                "isolationScope": "None",
            },
        }
        return body

    def _checked(
        self, request: web.Request, subscription: str, rg: str, name: str, action: str
    ) -> tuple[str, dict[str, Any] | None] | web.Response:
        """The identity's id and record (None when absent), after ARM's checks."""
        resource_id = self.resource_id(subscription, rg, KIND, name)
        refusal = self.check(request, subscription, f"{KIND}/{action}", resource_id, rg)
        if refusal is not None:
            return refusal
        return resource_id, self.identities.get(resource_id.lower())

    # --- identities ----------------------------------------------------------------------
    async def put_identity(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`UserAssignedIdentities_CreateOrUpdate`."""
        found = self._checked(request, subscription, rg, name, "write")
        if isinstance(found, web.Response):
            return found
        resource_id, identity = found
        body = await self.json_body(request)
        if isinstance(body, web.Response):
            return body
        if not isinstance(body.get("location"), str) or not body["location"]:
            return arm_error(
                400, "LocationRequired", "The location property is required for this definition."
            )
        if not IDENTITY_NAME.fullmatch(name):
            return arm_error(400, "InvalidResourceName",  # [inferred] code and wording
                             f"The identity name '{name}' is invalid: 3-128 letters, digits,"
                             " hyphens and underscores, starting with a letter or digit.")  # fmt: skip
        state = self.emulator.state
        with state.lock:
            created = identity is None
            if identity is None:
                app = App(str(uuid.uuid4()), name, created_at=time.monotonic(),
                          managed_identity=resource_id)  # fmt: skip
                state.apps[app.client_id.lower()] = app
                identity = {"id": resource_id, "name": name, "app": app}
                self.identities[resource_id.lower()] = identity
            identity["location"] = body["location"]
            identity["tags"] = body.get("tags") or {}
            view = self._view(identity)
        return json_response(view, 201 if created else 200)

    async def get_identity(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`UserAssignedIdentities_Get`."""
        found = self._checked(request, subscription, rg, name, "read")
        if isinstance(found, web.Response):
            return found
        if found[1] is None:
            return self.resource_not_found(KIND, name, rg)
        with self.emulator.state.lock:
            return json_response(self._view(found[1]))

    async def delete_identity(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`UserAssignedIdentities_Delete`: its service principal goes too (role assignments stay)."""
        found = self._checked(request, subscription, rg, name, "delete")
        if isinstance(found, web.Response):
            return found
        resource_id, identity = found
        if identity is None:
            return web.Response(status=204)
        state = self.emulator.state
        with state.lock:
            self.identities.pop(resource_id.lower(), None)
            state.apps.pop(identity["app"].client_id.lower(), None)
        return web.Response(status=200)

    async def list_identities(
        self, request: web.Request, subscription: str, rg: str
    ) -> web.Response:
        """`UserAssignedIdentities_ListByResourceGroup`."""
        scope = f"{self.subscription_scope(subscription)}/resourceGroups/{rg}"
        refusal = self.check(request, subscription, f"{KIND}/read", scope, rg)
        if refusal is not None:
            return refusal
        prefix = scope.lower() + "/"
        with self.emulator.state.lock:
            chosen = [i for key, i in self.identities.items() if key.startswith(prefix)]
        return self.page(request, chosen, self._view)

    # --- federated identity credentials ------------------------------------------------------
    def _credential_view(
        self, identity: dict[str, Any], fic: FederatedCredential
    ) -> dict[str, Any]:
        return {
            "id": f"{identity['id']}/federatedIdentityCredentials/{fic.name}",
            "name": fic.name,
            "type": FIC_KIND,
            "properties": {
                "issuer": fic.issuer,
                "subject": fic.subject,
                "audiences": list(fic.audiences),
            },
        }

    def _identity_for_credentials(
        self, request: web.Request, subscription: str, rg: str, name: str, action: str
    ) -> dict[str, Any] | web.Response:
        found = self._checked(
            request, subscription, rg, name, f"federatedIdentityCredentials/{action}"
        )
        if isinstance(found, web.Response):
            return found
        if found[1] is None:
            return self.resource_not_found(KIND, name, rg)
        return found[1]

    async def put_credential(
        self, request: web.Request, subscription: str, rg: str, name: str, fic: str
    ) -> web.Response:
        """`FederatedIdentityCredentials_CreateOrUpdate`: 201 created, 200 replaced."""
        identity = self._identity_for_credentials(request, subscription, rg, name, "write")
        if isinstance(identity, web.Response):
            return identity
        body = await self.json_body(request)
        if isinstance(body, web.Response):
            return body
        credential = _credential(fic, body.get("properties") or {})
        if isinstance(credential, web.Response):
            return credential
        app: App = identity["app"]
        with self.emulator.state.lock:
            others = [c for c in app.federated_credentials if c.name.lower() != fic.lower()]
            replaced = len(others) != len(app.federated_credentials)
            refusal = _conflict(name, others, credential)
            if refusal is not None:
                return refusal
            app.federated_credentials = [*others, credential]
            view = self._credential_view(identity, credential)
        return json_response(view, 200 if replaced else 201)

    def _find_credential(self, identity: dict[str, Any], fic: str) -> FederatedCredential | None:
        app: App = identity["app"]
        return next((c for c in app.federated_credentials if c.name.lower() == fic.lower()), None)

    async def get_credential(
        self, request: web.Request, subscription: str, rg: str, name: str, fic: str
    ) -> web.Response:
        """`FederatedIdentityCredentials_Get`."""
        identity = self._identity_for_credentials(request, subscription, rg, name, "read")
        if isinstance(identity, web.Response):
            return identity
        with self.emulator.state.lock:
            credential = self._find_credential(identity, fic)
            if credential is None:
                return self.resource_not_found(f"{FIC_KIND}", f"{name}/{fic}", rg)
            return json_response(self._credential_view(identity, credential))

    async def delete_credential(
        self, request: web.Request, subscription: str, rg: str, name: str, fic: str
    ) -> web.Response:
        """`FederatedIdentityCredentials_Delete`: 200 deleted, 204 when there was none."""
        identity = self._identity_for_credentials(request, subscription, rg, name, "delete")
        if isinstance(identity, web.Response):
            return identity
        with self.emulator.state.lock:
            credential = self._find_credential(identity, fic)
            if credential is None:
                return web.Response(status=204)
            identity["app"].federated_credentials.remove(credential)
        return web.Response(status=200)

    async def list_credentials(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`FederatedIdentityCredentials_List`."""
        identity = self._identity_for_credentials(request, subscription, rg, name, "read")
        if isinstance(identity, web.Response):
            return identity
        with self.emulator.state.lock:
            credentials = list(identity["app"].federated_credentials)
        return self.page(request, credentials, lambda c: self._credential_view(identity, c))


def _bad(message: str) -> web.Response:
    return arm_error(400, "BadRequest", message)  # [inferred] code


def _credential(name: str, properties: dict[str, Any]) -> FederatedCredential | web.Response:
    """A valid federated credential from a PUT's `properties`, or the 400."""
    if not FIC_NAME.fullmatch(name):
        return _bad(f"The federated identity credential name '{name}' is invalid. It must match"
                    " ^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$.")  # fmt: skip
    missing = [key for key in ("issuer", "subject", "audiences") if not properties.get(key)]
    if missing:
        return _bad(f"The federated identity credential needs {', '.join(missing)}.")
    issuer, subject, audiences = (
        properties["issuer"],
        properties["subject"],
        properties["audiences"],
    )
    parsed = urlparse(str(issuer))
    if parsed.scheme != "https" or not parsed.netloc:
        return _bad(f"The issuer '{issuer}' is not a valid https URL.")
    if not isinstance(audiences, list) or not all(isinstance(a, str) and a for a in audiences):
        return _bad("audiences must be a list of strings.")
    if not isinstance(subject, str) or len(subject) > 600:
        return _bad("The subject must be a string of at most 600 characters.")
    return FederatedCredential(name, str(issuer), subject, list(audiences))


def _conflict(
    identity: str, others: list[FederatedCredential], new: FederatedCredential
) -> web.Response | None:
    """The refusal when `new` would be the 21st, or repeat another's issuer and subject."""
    if len(others) >= MAX_CREDENTIALS:
        return _bad(f"The identity '{identity}' already has {MAX_CREDENTIALS} federated identity"
                    " credentials, the most an identity may have.")  # fmt: skip
    for other in others:
        if other.issuer == new.issuer and other.subject == new.subject:
            return arm_error(409, "Conflict",  # [inferred] code and wording
                             f"The federated identity credential '{other.name}' already has issuer"
                             f" '{new.issuer}' and subject '{new.subject}': the pair must be"
                             " unique on an identity.")  # fmt: skip
    return None
