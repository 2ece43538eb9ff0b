"""Key Vault's ARM writes: `Vaults_CreateOrUpdate` (the reads stay in `arm.py`).

Shape from Azure/azure-rest-api-specs `specification/keyvault/resource-manager/
Microsoft.KeyVault/KeyVault`, api-version 2026-02-01 (azure-mgmt-keyvault 14's default, what
az 2.91 sends): `PUT .../providers/Microsoft.KeyVault/vaults/{name}` with `location` and
`properties.tenantId` and `properties.sku` (`family` A, `name` standard/premium) required;
`enableRbacAuthorization`, `accessPolicies` (`tenantId`, `objectId`, `permissions`) optional.
200 updated, 201 created; vault names `^[a-zA-Z0-9-]{3,24}$` and global.

`enableRbacAuthorization` left out means true from api-version 2026-02-01 on (az 2.91's help:
"If null or not specified, the vault is created with the default value of true"), false before.
A vault without RBAC authorizes its data plane by access policies only and ignores role
assignments (`keyvault.py`), as Key Vault does, so a doctor can tell the two apart.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from . import hosts
from .arm import RG
from .arm_provider import ArmProvider
from .state import DOMAIN, Vault
from .web import Router, arm_error, json_response

KIND = "Microsoft.KeyVault/vaults"
NAME = re.compile(r"[a-zA-Z0-9-]{3,24}")
RBAC_BY_DEFAULT_SINCE = "2026-02-01"


class Service(ArmProvider):
    """Key Vault creation on ARM's host (its data plane is `keyvault.py`)."""

    def register(self, router: Router) -> None:
        """Add the vault PUT."""
        path = RG + r"/providers/Microsoft\.KeyVault/vaults/(?P<name>[^/]+)/?"
        self.arm_route(router, "PUT", path, self.put_vault)

    async def put_vault(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`Vaults_CreateOrUpdate`."""
        group = self.emulator.state.resource_group(rg)
        body = await self.checked_write(request, subscription, rg, KIND, name)
        if isinstance(body, web.Response):
            return body
        invalid = self._invalid(name, body)
        if invalid is not None:
            return invalid
        properties = body["properties"]
        state = self.emulator.state
        with state.lock:
            vault = state.vaults.get(name.lower())
            if vault is not None and vault.resource_group.lower() != rg.lower():
                vault = None
            if vault is None and state.name_taken(state.vaults, name):
                return _already_exists(name)
            created = vault is None
            if vault is None:
                vault = Vault(name, group[0] if group else rg, body["location"])
            rbac = properties.get("enableRbacAuthorization")
            if rbac is None and created:
                rbac = request.query.get("api-version", "")[:10] >= RBAC_BY_DEFAULT_SINCE
            if rbac is not None:
                vault.enable_rbac_authorization = bool(rbac)
            if "accessPolicies" in properties or created:
                vault.access_policies = list(properties.get("accessPolicies") or [])
            vault.sku = str(properties["sku"].get("name", "standard"))
            vault.tags = dict(body.get("tags") or {})
            state.vaults[name.lower()] = vault
        await asyncio.to_thread(hosts.ensure, [f"{name.lower()}.vault.{DOMAIN}"])
        answer = self.emulator.services["arm"].vault_body(vault, group[1] if group else "")
        return json_response(answer, 201 if created else 200)

    def _invalid(self, name: str, body: dict[str, Any]) -> web.Response | None:
        """ARM's 400 for a bad name or a body without what the spec requires."""
        if not NAME.fullmatch(name):
            return arm_error(400, "VaultNameNotValid",  # [inferred] code; rule from the spec
                             f"The vault name '{name}' is invalid. A vault's name must be between"
                             " 3-24 alphanumeric characters.")  # fmt: skip
        if not isinstance(body.get("location"), str) or not body["location"]:
            return arm_error(
                400, "LocationRequired", "The location property is required for this definition."
            )
        properties = body.get("properties")
        missing = [
            key
            for key in ("tenantId", "sku")
            if not isinstance(properties, dict) or not properties.get(key)
        ]
        if missing:
            return arm_error(400, "BadRequest",  # [inferred] code and wording
                             f"The vault's properties must have {' and '.join(missing)}.")  # fmt: skip
        assert isinstance(properties, dict)
        if str(properties["tenantId"]).lower() != self.emulator.state.tenant_id.lower():
            return arm_error(400, "BadRequest",  # [inferred] code and wording
                             f"The tenant '{properties['tenantId']}' is not the subscription's tenant.")  # fmt: skip
        return None


def _already_exists(name: str) -> web.Response:
    """409 for a name taken anywhere in Azure (Key Vault names are global)."""
    return arm_error(
        409,
        "VaultAlreadyExists",
        f"The vault name '{name}' is already in use. Vault names are globally unique so it is"
        " possible that the name is already taken.",
    )
