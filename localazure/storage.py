"""Storage accounts, their keys and their Azure Files shares: what an ACI Azure Files volume needs.

Shapes from Azure/azure-rest-api-specs `specification/storage/resource-manager/Microsoft.Storage`
(2023-05-01): `StorageAccounts_Create` (PUT, `sku`, `kind` and `location` required; the local
Azure answers 200 at once, provisioningState Succeeded, where Azure may answer 202 and finish
later), `StorageAccounts_GetProperties`, `StorageAccounts_ListKeys` (POST `.../listKeys`:
`{"keys": [{"creationTime", "keyName": "key1"|"key2", "value", "permissions": "FULL"}]}`, the
action `Microsoft.Storage/storageAccounts/listkeys/action`, which Contributor has and Reader has
not), `StorageAccounts_RegenerateKey` (POST `.../regenerateKey` with `{"keyName"}`) and
`FileShares_Create` / `FileShares_Get` (`.../fileServices/default/shares/{share}`).

Account names are 3-24 lower-case letters and digits and global (`AccountNameInvalid`,
`StorageAccountAlreadyTaken`: the codes Azure answers; the wording as users quote it). A key is
64 random bytes in base64, as real keys are (88 characters). A share is a folder on this machine
(`share_path`), which the ACI runtime bind-mounts into the containers (`aci_volumes.py`).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from aiohttp import web

from .arm import RG, SUB
from .arm_provider import ArmProvider
from .web import Router, arm_error, json_response

KIND = "Microsoft.Storage/storageAccounts"
BASE = RG + r"/providers/Microsoft\.Storage/storageAccounts/(?P<name>[^/]+)"
ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")
SHARE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]")


def new_key() -> str:
    """A storage account key: 64 random bytes, base64."""
    return base64.b64encode(secrets.token_bytes(64)).decode("ascii")


@dataclass
class Account:
    """A storage account: its two keys and its file shares (folders under `root`)."""

    name: str
    resource_group: str
    location: str
    root: Path
    keys: dict[str, str] = field(default_factory=lambda: {"key1": new_key(), "key2": new_key()})
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    )
    shares: set[str] = field(default_factory=set)
    sku: str = "Standard_LRS"
    kind: str = "StorageV2"


class Service(ArmProvider):
    """Storage accounts and file shares on ARM's host."""

    VERSIONED: ClassVar[dict[str, tuple[str, str]]] = {
        "storageAccounts": ("arm", r"(?i)/providers/Microsoft\.Storage/storageAccounts"),
    }

    def register(self, router: Router) -> None:
        """Add the account, key and share routes."""
        check_name = SUB + r"/providers/Microsoft\.Storage/checkNameAvailability/?"
        self.arm_route(router, "POST", check_name, self.check_name)
        self.arm_route(router, "PUT", BASE + "/?", self.put_account)
        self.arm_route(router, "GET", BASE + "/?", self.get_account)
        self.arm_route(router, "POST", BASE + "/listKeys/?", self.list_keys)
        self.arm_route(router, "POST", BASE + "/regenerateKey/?", self.regenerate_key)
        share = BASE + r"/fileServices/default/shares/(?P<share>[^/]+)/?"
        self.arm_route(router, "PUT", share, self.put_share)
        self.arm_route(router, "GET", share, self.get_share)

    async def stop(self) -> None:
        """Remove the shares' folders."""
        shutil.rmtree(self.emulator.workdir / "storage", ignore_errors=True)

    # --- hooks for tests --------------------------------------------------------------
    def add_account(
        self, resource_group: str, name: str, *, shares: tuple[str, ...] = (), location: str = ""
    ) -> Account:
        """Create a storage account (and shares) without a request, as a setup step would."""
        state = self.emulator.state
        group = state.resource_group(resource_group)
        assert group is not None, f"no resource group {resource_group}"
        with state.lock:
            account = Account(name, group[0], location or group[1], self._root(name))
            state.table(KIND)[name.lower()] = account
        for share in shares:
            self._make_share(account, share)
        return account

    def account(self, name: str) -> Account | None:
        """An account by name (names are global)."""
        with self.emulator.state.lock:
            found: Account | None = self.emulator.state.table(KIND).get(name.lower())
        return found

    def share_path(self, account: str, share: str) -> Path:
        """The folder that holds a share's files."""
        return self._root(account) / share

    def _root(self, name: str) -> Path:
        return self.emulator.workdir / "storage" / name.lower()

    def _make_share(self, account: Account, share: str) -> None:
        path = account.root / share
        path.mkdir(parents=True, exist_ok=True)
        # Shares are mounted with file_mode=0777,dir_mode=0777 (the CIFS options ACI's mounts
        # show, MicrosoftDocs/azure-docs#19017): any user of the container may write.
        path.chmod(0o777)
        with self.emulator.state.lock:
            account.shares.add(share)

    # --- handlers -------------------------------------------------------------------
    def _found(self, request: web.Request, sub: str, rg: str, name: str, action: str) -> Any:
        scope = self.resource_id(sub, rg, KIND, name)
        refused = self.check(request, sub, f"{KIND}/{action}", scope, rg)
        if refused is not None:
            return refused
        account = self.account(name)
        if account is None or account.resource_group.lower() != rg.lower():
            return self.resource_not_found(KIND, name, rg)
        return account

    async def check_name(self, request: web.Request, subscription: str) -> web.Response:
        """`StorageAccounts_CheckNameAvailability` (az storage account create asks it first)."""
        caller = self.caller(request)
        if isinstance(caller, web.Response):
            return caller
        if not self.serves_subscription(subscription):
            return self.subscription_not_found(subscription)
        body = await self.json_body(request)
        if isinstance(body, web.Response):
            return body
        name = str(body.get("name", ""))
        if not ACCOUNT_NAME.fullmatch(name):
            return json_response(
                {"nameAvailable": False, "reason": "AccountNameInvalid", "message": _invalid(name)}
            )
        if self.account(name) is not None or self.emulator.state.name_taken({}, name):
            return json_response(
                {"nameAvailable": False, "reason": "AlreadyExists", "message": _taken(name)}
            )
        return json_response({"nameAvailable": True})

    async def put_account(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`StorageAccounts_Create`."""
        body = await self.checked_write(request, subscription, rg, KIND, name)
        if isinstance(body, web.Response):
            return body
        if not ACCOUNT_NAME.fullmatch(name):
            return arm_error(400, "AccountNameInvalid", _invalid(name))
        missing = [key for key in ("sku", "kind", "location") if not body.get(key)]
        if missing:
            return arm_error(  # [inferred] wording
                400, "InvalidRequestContent", f"The request must have {', '.join(missing)}."
            )
        existing = self.account(name)
        if existing is not None and existing.resource_group.lower() != rg.lower():
            return arm_error(
                409,
                "StorageAccountAlreadyTaken",
                f"The storage account named {name} is already taken.",
            )
        account = existing or self.add_account(rg, name, location=str(body["location"]))
        account.sku = str((body.get("sku") or {}).get("name", account.sku))
        account.kind = str(body.get("kind") or account.kind)
        return json_response(self._view(subscription, account))

    async def get_account(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`StorageAccounts_GetProperties` (no keys: those need listKeys)."""
        found = self._found(request, subscription, rg, name, "read")
        if isinstance(found, web.Response):
            return found
        return json_response(self._view(subscription, found))

    async def list_keys(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`StorageAccounts_ListKeys`."""
        found = self._found(request, subscription, rg, name, "listkeys/action")
        if isinstance(found, web.Response):
            return found
        return json_response({"keys": self._keys(found)})

    async def regenerate_key(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`StorageAccounts_RegenerateKey`: a new value for key1 or key2."""
        found = self._found(request, subscription, rg, name, "regeneratekey/action")
        if isinstance(found, web.Response):
            return found
        body = await self.json_body(request)
        if isinstance(body, web.Response):
            return body
        key_name = str(body.get("keyName", "")).lower()
        if key_name not in found.keys:
            return arm_error(  # [inferred] code and wording
                400, "InvalidValuesForRequestParameters", "keyName must be key1 or key2."
            )
        with self.emulator.state.lock:
            found.keys[key_name] = new_key()
        return json_response({"keys": self._keys(found)})

    async def put_share(
        self, request: web.Request, subscription: str, rg: str, name: str, share: str
    ) -> web.Response:
        """`FileShares_Create`."""
        found = self._found(request, subscription, rg, name, "fileServices/shares/write")
        if isinstance(found, web.Response):
            return found
        if not SHARE_NAME.fullmatch(share):
            return arm_error(  # [inferred] wording
                400, "InvalidResourceName", f"The specified resource name '{share}' is invalid."
            )
        created = share not in found.shares
        self._make_share(found, share)
        return json_response(self._share_view(subscription, found, share), 201 if created else 200)

    async def get_share(
        self, request: web.Request, subscription: str, rg: str, name: str, share: str
    ) -> web.Response:
        """`FileShares_Get`."""
        found = self._found(request, subscription, rg, name, "fileServices/shares/read")
        if isinstance(found, web.Response):
            return found
        if share not in found.shares:
            return self.resource_not_found(f"{KIND}/fileServices/shares", share, rg)
        return json_response(self._share_view(subscription, found, share))

    # --- views ----------------------------------------------------------------------
    def _keys(self, account: Account) -> list[dict[str, str]]:
        with self.emulator.state.lock:
            return [
                {
                    "creationTime": account.created,
                    "keyName": key_name,
                    "value": value,
                    "permissions": "FULL",
                }
                for key_name, value in account.keys.items()
            ]

    def _view(self, subscription: str, account: Account) -> dict[str, Any]:
        host = f"https://{account.name}.file.core.windows.net/"
        return {
            "id": self.resource_id(subscription, account.resource_group, KIND, account.name),
            "name": account.name,
            "type": KIND,
            "location": account.location,
            "kind": account.kind,
            "sku": {"name": account.sku, "tier": "Standard"},
            "properties": {
                "provisioningState": "Succeeded",
                "creationTime": account.created,
                "primaryEndpoints": {"file": host},
            },
        }

    def _share_view(self, subscription: str, account: Account, share: str) -> dict[str, Any]:
        base = self.resource_id(subscription, account.resource_group, KIND, account.name)
        return {
            "id": f"{base}/fileServices/default/shares/{share}",
            "name": share,
            "type": f"{KIND}/fileServices/shares",
            "properties": {"shareQuota": 5120, "enabledProtocols": "SMB"},
        }


def _invalid(name: str) -> str:
    return (
        f"{name} is not a valid storage account name. Storage account name must be between 3 and"
        " 24 characters in length and use numbers and lower-case letters only."
    )


def _taken(name: str) -> str:
    return f"The storage account named {name} is already taken."
