"""Log Analytics workspaces (Microsoft.OperationalInsights/workspaces), on ARM's host.

Shapes from Azure/azure-rest-api-specs `specification/operationalinsights`, api-version
2020-08-01: `Workspaces_CreateOrUpdate` (PUT, `location` required; the service sets
`properties.customerId`, a GUID, and `provisioningState`), `Workspaces_Get`, and
`SharedKeys_GetSharedKeys` (POST `.../sharedKeys`, answer `primarySharedKey` and
`secondarySharedKey`), which needs the action `.../workspaces/sharedKeys/action` (Contributor
has it through `*`, Reader does not). Keys here are random base64 of 64 bytes, as real ones
look. `add_workspace` places one without a request, for tests.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .arm import RG
from .arm_provider import ArmProvider
from .web import Router, json_response

KIND = "Microsoft.OperationalInsights/workspaces"


@dataclass
class Workspace:
    """One workspace: its ARM id, customer (workspace) ID and shared keys."""

    id: str
    name: str
    resource_group: str
    location: str
    customer_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    primary_key: str = field(default_factory=lambda: _key(), repr=False)
    secondary_key: str = field(default_factory=lambda: _key(), repr=False)


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()


class Service(ArmProvider):
    """Workspaces and their shared keys."""

    def register(self, router: Router) -> None:
        """Add the workspace PUT, GET and the sharedKeys POST."""
        path = RG + r"/providers/Microsoft\.OperationalInsights/workspaces/(?P<name>[^/]+)"
        self.arm_route(router, "PUT", "(?i)" + path + "/?", self.put_workspace)
        self.arm_route(router, "GET", "(?i)" + path + "/?", self.get_workspace)
        self.arm_route(router, "POST", "(?i)" + path + "/sharedKeys", self.shared_keys)

    def add_workspace(
        self, resource_group: str, name: str, location: str = "westeurope"
    ) -> Workspace:
        """Create a workspace directly (no request), as a test's setup."""
        state = self.emulator.state
        group = state.resource_group(resource_group)
        rg = group[0] if group else resource_group
        resource_id = f"{state.subscription_scope()}/resourceGroups/{rg}/providers/{KIND}/{name}"
        workspace = Workspace(resource_id, name, rg, location)
        with state.lock:
            state.table(KIND)[resource_id.lower()] = workspace
        return workspace

    def _find(self, subscription: str, rg: str, name: str) -> Workspace | None:
        resource_id = self.resource_id(subscription, rg, KIND, name)
        with self.emulator.state.lock:
            found: Workspace | None = self.emulator.state.table(KIND).get(resource_id.lower())
            return found

    async def put_workspace(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`Workspaces_CreateOrUpdate` (answers finished, no long-running operation)."""
        body = await self.checked_write(request, subscription, rg, KIND, name)
        if isinstance(body, web.Response):
            return body
        existing = self._find(subscription, rg, name)
        workspace = existing or self.add_workspace(rg, name, str(body.get("location", "")))
        return json_response(_view(workspace), 200 if existing else 201)

    async def get_workspace(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`Workspaces_Get`: never with the keys."""
        scope = self.resource_id(subscription, rg, KIND, name)
        refused = self.check(request, subscription, f"{KIND}/read", scope, rg)
        if refused is not None:
            return refused
        workspace = self._find(subscription, rg, name)
        if workspace is None:
            return self.resource_not_found(KIND, name, rg)
        return json_response(_view(workspace))

    async def shared_keys(
        self, request: web.Request, subscription: str, rg: str, name: str
    ) -> web.Response:
        """`SharedKeys_GetSharedKeys`."""
        scope = self.resource_id(subscription, rg, KIND, name)
        refused = self.check(request, subscription, f"{KIND}/sharedKeys/action", scope, rg)
        if refused is not None:
            return refused
        workspace = self._find(subscription, rg, name)
        if workspace is None:
            return self.resource_not_found(KIND, name, rg)
        return json_response(
            {
                "primarySharedKey": workspace.primary_key,
                "secondarySharedKey": workspace.secondary_key,
            }
        )


def _view(workspace: Workspace) -> dict[str, Any]:
    return {
        "id": workspace.id,
        "name": workspace.name,
        "type": KIND,
        "location": workspace.location,
        "properties": {
            "customerId": workspace.customer_id,
            "provisioningState": "Succeeded",
            "sku": {"name": "PerGB2018"},
            "retentionInDays": 30,
        },
    }
