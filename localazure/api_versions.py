"""Which api-versions this cloud serves, and the answer to a version it does not.

By default every version is served (the SDKs, the Azure CLI and the action each send their own).
A test can make the emulator behave like a cloud that lags public Azure, a sovereign cloud or
Azure Stack Hub, by naming the versions it serves for a resource type. The refusals have the
real shapes:

- ARM, HTTP 400 `NoRegisteredProviderFound`: "No registered resource provider found for location
  '{location}' and API version '{version}' for type '{type}'. The supported api-versions are
  '{versions}'. The supported locations are '{locations}'." (Azure/azure-cli#23985, "Latest API
  version not available in sovereign clouds"; Azure/azure-rest-api-specs#18857).
- Key Vault, HTTP 400 `BadParameter`: "The specified version ({version}) is not recognized.
  Consider using the latest supported version ({latest})."  [inferred: wording of public
  reports; the status and code match the vault's other request errors]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from aiohttp import web

from .web import json_response

# Resource type -> (host kind, path pattern): what each service declares in `VERSIONED`
# (`server.RESOURCE_TYPES` gathers them).
ResourceTypes = dict[str, tuple[str, str]]
LOCATIONS = "westeurope, northeurope"

# The versions of the Azure CLI's `2020-09-01-hybrid` profile (Azure Stack Hub), from
# azure-cli `azure/cli/core/profiles/_shared.py`: what such a cloud serves at least.
HYBRID_PROFILE = {
    "registries": ("2019-05-01",),
    "resourceGroups": ("2019-10-01",),
    "vaults": ("2016-10-01",),
}


@dataclass
class ServedVersions:
    """The api-versions served per resource type; a type not named serves every version."""

    resource_types: ResourceTypes
    served: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def refusal(self, kind: str, path: str, query: str) -> web.Response | None:
        """The cloud's answer to an api-version it does not serve, or None to go on."""
        version = (parse_qs(query).get("api-version") or [""])[0]
        for resource_type, versions in self.served.items():
            type_kind, pattern = self.resource_types[resource_type]
            if kind != type_kind or not re.search(pattern, path) or version in versions:
                continue
            if kind == "vault":
                message = (
                    f"The specified version ({version}) is not recognized. Consider using the "
                    f"latest supported version ({versions[-1]})."
                )
                return json_response({"error": {"code": "BadParameter", "message": message}}, 400)
            message = (
                f"No registered resource provider found for location '{LOCATIONS.split(',')[0]}'"
                f" and API version '{version}' for type '{resource_type}'. The supported "
                f"api-versions are '{', '.join(versions)}'. The supported locations are "
                f"'{LOCATIONS}'."
            )
            return json_response(
                {"error": {"code": "NoRegisteredProviderFound", "message": message}}, 400
            )
        return None
