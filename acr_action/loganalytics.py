"""`log-analytics-workspace`: the workspace's ID and primary key, read through ARM and masked.

The input is the workspace's resource ID. ACI wants, in `diagnostics.logAnalytics`
(Azure/azure-rest-api-specs containerInstance.json, `LogAnalytics`), the workspace (customer)
ID and a shared key, both required; `logType`, `metadata` and `workspaceResourceId` are
optional, and `workspaceKey` and `workspaceResourceId` are `x-ms-secret` (a GET never returns
them: keep.py). `az container create --log-analytics-workspace` sends the workspace ID and the
primary shared key only (azure-cli `command_modules/container/custom.py`,
`_get_diagnostics_from_workspace`, which lists the workspaces and calls
`shared_keys.get_shared_keys`); the action does the same, with two ARM calls instead of a
listing (Microsoft.OperationalInsights 2020-08-01, `Workspaces_Get` -> `properties.customerId`,
`SharedKeys_GetSharedKeys`, a POST on `.../sharedKeys` -> `primarySharedKey`). Reading the keys
is the action `Microsoft.OperationalInsights/workspaces/sharedKeys/action`, which Contributor
on the workspace has and Reader does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .failures import Dependency
from .retry import Retrier

if TYPE_CHECKING:
    pass

API_VERSION = "2020-08-01"
# The workspace a deploy set, so that the next deploy without the input reads its key again
# (az sets the tag `oms-resource-link` to the workspace ID for the portal's link).
WORKSPACE_TAG = "acr-action.log-analytics-workspace"
LOG_ANALYTICS = Dependency(
    "Azure Resource Manager (Log Analytics workspace)",
    "https://status.azure.com (Azure Resource Manager) and the runner's network",
)
# Workspace names: 4-63 letters, digits and `-`, starting and ending with a letter or digit.
WORKSPACE_ID = re.compile(
    r"/subscriptions/(?P<subscription>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
    r"-[0-9a-fA-F]{12})/resourceGroups/(?P<group>[-\w.()]{0,89}[-\w()])"
    r"/providers/Microsoft\.OperationalInsights/workspaces/"
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9])/?",
    re.IGNORECASE,
)
EXAMPLE = (
    "log-analytics-workspace: /subscriptions/2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11/resourceGroups/"
    "monitoring/providers/Microsoft.OperationalInsights/workspaces/app-logs"
)


@dataclass(frozen=True)
class Workspace:
    """What ACI needs of a workspace: its customer ID and a shared key (a secret)."""

    workspace_id: str
    workspace_key: str = field(repr=False)
    resource_id: str = ""


def read_workspace(
    token: str,
    resource_manager: str,
    resource_id: str,
    mask: Callable[[str], None],
    retrier: Retrier | None = None,
) -> Workspace:
    """GET the workspace's customer ID and POST for its primary key (masked on arrival)."""
    resource_id = resource_id.rstrip("/")
    base = f"{resource_manager}{resource_id}"
    workspace = _call(token, "GET", f"{base}?api-version={API_VERSION}", resource_id, retrier)
    customer_id = str((workspace.get("properties") or {}).get("customerId") or "")
    keys = _call(
        token, "POST", f"{base}/sharedKeys?api-version={API_VERSION}", resource_id, retrier
    )
    key = str(keys.get("primarySharedKey") or "")
    if key:
        mask(key)
    secondary = keys.get("secondarySharedKey")
    if secondary:
        mask(str(secondary))
    if not customer_id or not key:
        from .errors import AzureCallFailed

        raise AzureCallFailed(
            LOG_ANALYTICS.name,
            200,
            None,
            f"the workspace {resource_id} answered without a customer ID or a primary key",
        )
    return Workspace(customer_id, key, resource_id)


def _call(
    token: str, method: str, url: str, resource_id: str, retrier: Retrier | None
) -> dict[str, Any]:
    from .arm import bearer_call

    # The keys come only in a 200 answer; an error answer's text is an error envelope.
    body = bearer_call(LOG_ANALYTICS, method, url, token, retrier, name=resource_id).json()
    return body if isinstance(body, dict) else {}


def to_model(workspace: Workspace) -> Any:
    """`diagnostics` as az sends it: the workspace ID and key."""
    from azure.mgmt.containerinstance.models import ContainerGroupDiagnostics, LogAnalytics

    return ContainerGroupDiagnostics(
        log_analytics=LogAnalytics(
            workspace_id=workspace.workspace_id, workspace_key=workspace.workspace_key
        )
    )
