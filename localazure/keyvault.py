"""Key Vault secrets data plane: get (latest or a version), set, list; challenge auth and RBAC.

Vaults answer at `https://<vault>.vault.azure.localhost:PORT` and the challenge names the resource
`https://vault.azure.localhost:PORT`, a parent domain of every vault host with the same port, so
azure-keyvault-secrets' challenge-resource check passes without `verify_challenge_resource=False`
(PROTOCOL.md §5). A request without `Authorization` gets the real 401 challenge; the token must be
an Entra token for that resource and tenant; the caller needs a data action from a role at the
vault (or secret) scope: Key Vault Secrets User reads, Secrets Officer also writes. A vault
without RBAC authorization (`enable_rbac_authorization` False, made by `vaults.py`) counts only
its access policies' secret permissions (get, set, list) and ignores role assignments.

Unknown vault names: in Azure the host name does not resolve (a DNS failure). Here only seeded
vaults are written to /etc/hosts, so the same happens; a name that does resolve but is not in the
state gets a 404 `VaultNotFound` [inferred] instead.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

import jwt
from aiohttp import web

from .auth import bearer
from .service import ServiceBase
from .state import DOMAIN, App, RoleDefinition, SecretVersion, Vault
from .tokens import now
from .web import Router, json_response

if TYPE_CHECKING:
    from .server import Emulator

GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
SET_SECRET = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
READ_METADATA = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
PAGE_SIZE = 25  # Key Vault's default `maxresults`
# The access-policy permission each data action needs in a vault without RBAC authorization.
ACCESS_POLICY_PERMISSIONS = {GET_SECRET: "get", SET_SECRET: "set", READ_METADATA: "list"}
RECOVERY = {"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}


def _kv_error(status: int, code: str, message: str, inner: str | None = None) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner is not None:
        error["innererror"] = {"code": inner}
    return json_response({"error": error}, status)


class Service(ServiceBase):
    """The Key Vault data plane of every vault in the state."""

    HOSTS: ClassVar[dict[str, str]] = {
        "vault": rf"(?P<vault>[a-z0-9-]+)\.vault\.{DOMAIN}",
        "vault-root": rf"vault\.{DOMAIN}",  # the challenge's resource (no routes)
    }
    VERSIONED: ClassVar[dict[str, tuple[str, str]]] = {"vaults": ("vault", r"^/secrets")}
    ROLES: ClassVar[tuple[RoleDefinition, ...]] = (
        RoleDefinition(
            "Key Vault Secrets User",
            data_actions=(
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ),
            id="4633458b-17de-408a-b874-0445c86b69e6",  # GUIDs: Learn, "Azure built-in roles"
        ),
        RoleDefinition(
            "Key Vault Secrets Officer",
            actions=("Microsoft.KeyVault/vaults/secrets/*",),
            data_actions=("Microsoft.KeyVault/vaults/secrets/*",),
            id="b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        ),
        RoleDefinition(
            "Key Vault Administrator",
            actions=("Microsoft.KeyVault/*",),
            data_actions=("Microsoft.KeyVault/vaults/*",),
            id="00482a5a-887f-4fb3-b363-3b7fe8e74483",
        ),
    )

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        started = now()
        with emulator.state.lock:
            for vault in emulator.state.vaults.values():
                for versions in vault.secrets.values():
                    for version in versions:
                        version.created = version.created or started
                        version.updated = version.updated or started

    def host_names(self) -> list[str]:
        """The challenge resource's host and one host per vault."""
        with self.emulator.state.lock:
            vaults = [
                f"{v.name.lower()}.vault.{DOMAIN}" for v in self.emulator.state.vaults.values()
            ]
        return [f"vault.{DOMAIN}", *vaults]

    def register(self, router: Router) -> None:
        """Add the secrets routes on vault hosts."""
        name = r"(?P<name>[^/]+)"
        router.add("vault", "GET", r"/secrets/?", self._wrap(self.list_secrets))
        router.add("vault", "GET", rf"/secrets/{name}/?", self._wrap(self.get_secret))
        router.add(
            "vault", "GET", rf"/secrets/{name}/(?P<version>[^/]+)", self._wrap(self.get_secret)
        )
        router.add("vault", "PUT", rf"/secrets/{name}/?", self._wrap(self.set_secret))

    # --- the pipeline every request goes through ---------------------------------------------
    def _wrap(self, handler: Any) -> Any:
        async def handle(request: web.Request, vault: str, **params: str) -> web.StreamResponse:
            found = self.emulator.state.vaults.get(vault.lower())
            if found is None:
                response: web.StreamResponse = _kv_error(
                    404, "VaultNotFound", f"The vault '{vault}' does not exist in this local Azure."
                )
            else:
                app = self._authenticate(request)
                response = (
                    app
                    if isinstance(app, web.Response)
                    else await handler(request, found, app, **params)
                )
            if response.status >= 400 and response.status != 401:
                # As in arm.py: the SDK raises holding the connection; close it from this side.
                # (Not on the 401 challenge: the SDK retries on the same connection.)
                response.force_close()
            response.headers["x-ms-request-id"] = str(uuid.uuid4())
            response.headers["x-ms-keyvault-region"] = (
                found.location if found and found.location else "local"
            )
            response.headers["x-ms-keyvault-service-version"] = "1.9.0.0"
            response.headers["Cache-Control"] = "no-cache"
            if "x-ms-client-request-id" in request.headers:
                response.headers["x-ms-client-request-id"] = request.headers[
                    "x-ms-client-request-id"
                ]
            return response

        return handle

    def _challenge(self, message: str) -> web.Response:
        """401 with the Bearer challenge (tenant authority + resource), as Key Vault sends it."""
        response = _kv_error(401, "Unauthorized", message)
        authority = f"{self.emulator.authority_url}/{self.emulator.state.tenant_id}"
        response.headers["WWW-Authenticate"] = (
            f'Bearer authorization="{authority}", resource="{self.emulator.vault_resource}"'
        )
        return response

    def _authenticate(self, request: web.Request) -> App | web.Response:
        token = bearer(request)
        if token is None:
            return self._challenge("AKV10000: Request is missing a Bearer or PoP token.")
        resource = self.emulator.vault_resource
        tenant = self.emulator.state.tenant_id
        try:
            claims = self.emulator.keys.entra.decode(token, audience=[resource, resource + "/"])
        except jwt.InvalidAudienceError:
            found = jwt.decode(token, options={"verify_signature": False}).get("aud")
            return self._challenge(
                f"AKV10022: Invalid audience. Expected {resource}, found: {found}."
            )
        except jwt.ExpiredSignatureError:
            return self._challenge("AKV10004: Token expired.")  # [inferred] wording
        except jwt.InvalidTokenError:
            return self._challenge("AKV10005: Token validation failed.")  # [inferred] wording
        if claims.get("tid") != tenant:
            return self._challenge(
                "AKV10032: Invalid issuer. Expected one of"
                f" https://sts.windows.net/{tenant}/, found {claims.get('iss')}."
            )
        app = self.emulator.state.app_by_object_id(str(claims.get("oid", "")))
        if app is None:
            return self._challenge("AKV10005: Token validation failed.")  # [inferred] wording
        return app

    def _forbidden(self, app: App, vault: Vault, action: str, resource: str) -> web.Response:
        """403 ForbiddenByRbac naming the caller, the data action and the resource."""
        tenant = self.emulator.state.tenant_id
        # Where ARM says the vault is (arm.py get_vault): its own location, else its group's.
        group = self.emulator.state.resource_group(vault.resource_group)
        location = vault.location or (group[1] if group else "westeurope")
        message = (
            "Caller is not authorized to perform action on resource.\r\n"
            "If role assignments, deny assignments or role definitions were changed recently,"
            " please observe propagation time.\r\n"
            f"Caller: appid={app.client_id};oid={app.object_id};iss=https://sts.windows.net/{tenant}/\r\n"
            f"Action: '{action}'\r\n"
            f"Resource: '{resource.lower()}'\r\n"
            "Assignment: (not found)\r\n"
            "DenyAssignmentId: null\r\n"
            "DecisionReason: null \r\n"
            f"Vault: {vault.name};location={location}\r\n"
        )
        return _kv_error(403, "Forbidden", message, "ForbiddenByRbac")

    def _authorize(
        self, app: App, vault: Vault, action: str, secret: str | None
    ) -> web.Response | None:
        if not vault.enable_rbac_authorization:
            return self._by_access_policy(app, vault, action)
        scope = self.emulator.state.vault_id(vault)
        if secret is not None:
            scope = f"{scope}/secrets/{secret}"
        if self.emulator.state.authorized(app, action, scope, data_action=True):
            return None
        return self._forbidden(app, vault, action, scope)

    def _by_access_policy(self, app: App, vault: Vault, action: str) -> web.Response | None:
        """A vault in access-policy mode: only its access policies count, never role assignments.

        The refusal is Key Vault's 403 `Forbidden` with inner code `AccessDenied` and the
        "does not have secrets get permission" text (Learn, "Troubleshooting Azure Key Vault
        access policy issues"), unlike RBAC's `ForbiddenByRbac`.
        """
        permission = ACCESS_POLICY_PERMISSIONS[action]
        tenant = self.emulator.state.tenant_id
        for policy in vault.access_policies:
            if str(policy.get("objectId", "")).lower() != app.object_id.lower():
                continue
            granted = {str(p).lower() for p in (policy.get("permissions") or {}).get("secrets", [])}
            if permission in granted or "all" in granted:
                return None
        group = self.emulator.state.resource_group(vault.resource_group)
        location = vault.location or (group[1] if group else "westeurope")
        message = (
            f"The user, group or application 'appid={app.client_id};oid={app.object_id};"
            f"iss=https://sts.windows.net/{tenant}/' does not have secrets {permission} permission"
            f" on key vault '{vault.name};location={location}'. For help resolving this issue,"
            " please see https://go.microsoft.com/fwlink/?linkid=2125287"
        )
        return _kv_error(403, "Forbidden", message, "AccessDenied")

    # --- secrets -------------------------------------------------------------------------------
    def _find(self, vault: Vault, name: str) -> tuple[str, list[SecretVersion]] | None:
        """A secret's stored name and versions (names are case-insensitive in Key Vault)."""
        for stored, versions in vault.secrets.items():
            if stored.lower() == name.lower():
                return stored, versions
        return None

    def _bundle(
        self, vault: Vault, name: str, version: SecretVersion, *, with_value: bool = True
    ) -> dict[str, Any]:
        base = self.emulator.vault_url(vault.name.lower())
        attributes: dict[str, Any] = {
            "enabled": version.enabled,
            "created": version.created,
            "updated": version.updated,
        }
        attributes.update(RECOVERY)
        body: dict[str, Any] = {}
        if with_value:
            body["value"] = version.value
            body["id"] = f"{base}/secrets/{name}/{version.version}"
        else:
            body["id"] = f"{base}/secrets/{name}"
        if version.content_type is not None:
            body["contentType"] = version.content_type
        body["attributes"] = attributes
        if version.tags:
            body["tags"] = version.tags
        return body

    @staticmethod
    def _not_found(name: str) -> web.Response:
        return _kv_error(
            404,
            "SecretNotFound",
            f"A secret with (name/id) {name} was not found in this key vault. If you recently"
            " deleted this secret you may be able to recover it using the correct recovery"
            " command. For help resolving this issue, please see"
            " https://go.microsoft.com/fwlink/?linkid=2125182",
        )

    async def get_secret(
        self, request: web.Request, vault: Vault, app: App, name: str, version: str | None = None
    ) -> web.Response:
        """`GET /secrets/{name}[/{version}]` (`/secrets/{name}/` is the latest, as the SDK asks)."""
        del request
        refusal = self._authorize(app, vault, GET_SECRET, name)
        if refusal is not None:
            return refusal
        with self.emulator.state.lock:
            found = self._find(vault, name)
            if found is None or not found[1]:
                return self._not_found(name)
            stored, versions = found
            if version:
                chosen = next((v for v in versions if v.version.lower() == version.lower()), None)
                if chosen is None:
                    return self._not_found(f"{name}/{version}")
            else:
                chosen = versions[-1]
            if not chosen.enabled:
                return _kv_error(
                    403,
                    "Forbidden",
                    "Operation get is not allowed on a disabled secret.",
                    "SecretDisabled",
                )
            return json_response(self._bundle(vault, stored, chosen))

    async def set_secret(
        self, request: web.Request, vault: Vault, app: App, name: str
    ) -> web.Response:
        """`PUT /secrets/{name}`: a new version becomes the latest."""
        refusal = self._authorize(app, vault, SET_SECRET, name)
        if refusal is not None:
            return refusal
        try:
            body = json.loads(await request.text() or "{}")
        except json.JSONDecodeError:
            return _kv_error(400, "BadParameter", "The request body is not valid JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            return _kv_error(400, "BadParameter", "Property value is required.")
        attributes = body.get("attributes") or {}
        stamp = now()
        version = SecretVersion(
            value=body["value"],
            content_type=body.get("contentType"),
            tags=body.get("tags"),
            enabled=attributes.get("enabled", True) is not False,
            created=stamp,
            updated=stamp,
        )
        with self.emulator.state.lock:
            found = self._find(vault, name)
            stored = found[0] if found else name
            vault.secrets.setdefault(stored, []).append(version)
        return json_response(self._bundle(vault, stored, version))

    async def list_secrets(self, request: web.Request, vault: Vault, app: App) -> web.Response:
        """`GET /secrets`: secret items (no values), paged with `nextLink`."""
        refusal = self._authorize(app, vault, READ_METADATA, None)
        if refusal is not None:
            return refusal
        try:
            size = max(1, min(int(request.query.get("maxresults", PAGE_SIZE)), PAGE_SIZE))
            token = request.query.get("$skiptoken")
            start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        except ValueError:
            return _kv_error(
                400,
                "BadParameter",
                "The value of the maxresults or $skiptoken parameter is invalid.",
            )
        with self.emulator.state.lock:
            items = [
                self._bundle(vault, stored, versions[-1], with_value=False)
                for stored, versions in sorted(vault.secrets.items(), key=lambda kv: kv[0].lower())
                if versions
            ]
        page = items[start : start + size]
        next_link = None
        if start + size < len(items):
            skip = base64.urlsafe_b64encode(str(start + size).encode()).decode()
            api_version = request.query.get("api-version", "")
            next_link = (
                f"{self.emulator.vault_url(vault.name.lower())}/secrets?api-version={api_version}"
                f"&$skiptoken={skip}&maxresults={size}"
            )
        return json_response({"value": page, "nextLink": next_link})
