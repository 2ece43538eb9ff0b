"""Cloud metadata: `GET /metadata/endpoints` on the ARM host, describing this local cloud.

The document has the shape ARM serves for `api-version=2022-09-01` (one cloud object, not the
older list): the Azure CLI's `az cloud register --endpoint-resource-manager` and the action's
`resource-manager-endpoint` input read it. Fields the CLI indexes without a default
(`sqlManagement`, `batch`, `gallery`, `graphAudience`, `vmImageAliasDoc`, `media`, and the
`storage`/`keyVaultDns`/`sqlServerHostname` suffixes; azure-cli `cloud.py::_arm_to_cli_mapper`) are
always present, pointing at names that do not answer.

Deliberate difference: real suffixes carry no port (`vault.azure.net`, `azurecr.io`); here the
services listen on one non-443 port, so `keyVaultDns` and `acrLoginServer` include `:PORT` and a
client that forms `https://<vault>.<keyVaultDns>` or `<registry>.<acrLoginServer>` gets a URL
that answers (the same strings `Emulator.vault_url` and `Emulator.login_server` build).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .service import ServiceBase
from .state import DOMAIN, REGISTRY_DOMAIN
from .web import Router, json_response

if TYPE_CHECKING:
    from .server import Emulator

CLOUD_NAME = "AzureLocal"


def cloud_metadata(emulator: Emulator) -> dict[str, Any]:
    """The metadata document of this emulator's cloud."""
    port = emulator.port
    unserved = f"https://unserved.{DOMAIN}"  # endpoints the emulator does not implement
    return {
        "name": CLOUD_NAME,
        "portal": f"https://portal.{DOMAIN}",
        "authentication": {
            "loginEndpoint": emulator.authority_url + "/",
            "audiences": [emulator.arm_url + "/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "resourceManager": emulator.arm_url + "/",
        "media": unserved + "/media",
        "graphAudience": unserved + "/graph/",
        "graph": unserved + "/graph/",
        "batch": unserved + "/batch/",
        "gallery": unserved + "/gallery/",
        "sqlManagement": unserved + "/sql/",
        "vmImageAliasDoc": unserved + "/aliases.json",
        "activeDirectoryDataLake": unserved + "/datalake/",
        "microsoftGraphResourceId": unserved + "/msgraph/",
        "appInsightsResourceId": unserved + "/appinsights",
        "appInsightsTelemetryChannelResourceId": unserved + "/appinsights/v2/track",
        "attestationResourceId": unserved + "/attest",
        "synapseAnalyticsResourceId": unserved + "/synapse",
        "logAnalyticsResourceId": unserved + "/loganalytics",
        "ossrDbmsResourceId": unserved + "/ossrdbms",
        "suffixes": {
            "keyVaultDns": f"vault.{DOMAIN}:{port}",
            "acrLoginServer": f"{REGISTRY_DOMAIN}:{port}",
            "storage": f"storage.{DOMAIN}",
            "sqlServerHostname": f"database.{DOMAIN}",
            "azureDataLakeStoreFileSystem": f"datalakestore.{DOMAIN}",
            "azureDataLakeAnalyticsCatalogAndJob": f"datalakeanalytics.{DOMAIN}",
            "azureFrontDoorEndpointSuffix": f"azurefd.{DOMAIN}",
            "mhsmDns": f"managedhsm.{DOMAIN}",
            "mysqlServerEndpoint": f"mysql.database.{DOMAIN}",
            "postgresqlServerEndpoint": f"postgres.database.{DOMAIN}",
            "mariadbServerEndpoint": f"mariadb.database.{DOMAIN}",
            "synapseAnalytics": f"dev.azuresynapse.{DOMAIN}",
            "attestationEndpoint": f"attest.{DOMAIN}",
        },
    }


def azure_stack_metadata(emulator: Emulator) -> dict[str, Any]:
    """The document in Azure Stack Hub's shape, whatever api-version is asked for.

    learn.microsoft.com/azure-stack/user/azure-stack-rest-api-use: gallery, graph and portal
    endpoints plus `authentication`; no `name`, `resourceManager` or `suffixes` (so no
    `keyVaultDns`). Deliberate difference: a real hub's audience is an app ID URI of the
    operator's tenant; here it stays the ARM URL, the audience the emulator's ARM accepts.
    """
    unserved = f"https://unserved.{DOMAIN}"
    return {
        "galleryEndpoint": unserved + "/gallery/",
        "graphEndpoint": unserved + "/graph/",
        "portalEndpoint": f"https://portal.{DOMAIN}/",
        "authentication": {
            "loginEndpoint": emulator.authority_url + "/",
            "audiences": [emulator.arm_url + "/"],
        },
    }


class Service(ServiceBase):
    """Serves the cloud metadata document."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.shape = "azure"  # or "azure-stack": the older document Azure Stack Hub serves

    def register(self, router: Router) -> None:
        """Add the metadata route on the ARM host."""
        router.add("arm", "GET", r"/metadata/endpoints/?", self.endpoints)

    async def endpoints(self, request: web.Request) -> web.Response:
        """`GET /metadata/endpoints?api-version=...`: any version clients send is accepted."""
        # Real clients each send their own version (the action 2022-09-01, the Azure CLI others);
        # the answer is the 2022-09-01 shape whatever the version.
        del request
        if self.shape == "azure-stack":
            return json_response(azure_stack_metadata(self.emulator))
        return json_response(cloud_metadata(self.emulator))
