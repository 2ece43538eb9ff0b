"""Where Azure is: the endpoints of public Azure, the sovereign clouds, or a custom cloud.

Every client factory takes an `Endpoints` value, so public Azure, Azure China, US Government,
Azure Stack and the local emulator differ only in data. A custom cloud is read from its ARM
metadata document, the same document `az cloud register --endpoint-resource-manager` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .errors import AzureCallFailed, CloudLacksService, display_value
from .failures import CLOUD_METADATA, translate
from .retry import Retrier

if TYPE_CHECKING:
    import requests

METADATA_API_VERSION = "2022-09-01"


@dataclass(frozen=True)
class ApiVersions:
    """The REST api-version each service is called with.

    The SDKs default to their newest (azure-mgmt-containerregistry 15: 2025-11-01,
    azure-keyvault-secrets 4.12: 2026-04-01), which a sovereign cloud or Azure Stack Hub may not
    serve yet: ARM answers `NoRegisteredProviderFound` ("The supported api-versions are ...",
    Azure/azure-cli#23985). The action reads little (a registry's login server, a resource
    group's region, secrets), so it asks for versions every cloud it supports serves: those of
    the Azure CLI's `2020-09-01-hybrid` profile for Azure Stack Hub (azure-cli
    `azure/cli/core/profiles/_shared.py`: container registry 2019-05-01, Key Vault data plane
    2016-10-01, resources 2019-10-01), which public Azure and the sovereign clouds serve too.
    Container Instances has no hybrid version (Azure Stack Hub does not offer it): it keeps the
    SDK's 2023-05-01, whose shapes `spec.py` and `deploy.py` are written against.
    """

    # Registries: the newest first, because only it reports what decides data-plane access
    # (`roleAssignmentMode` for ABAC repository permissions since 2025-05-01-preview,
    # `policies.azureADAuthenticationAsArmPolicy`); ARM shapes an answer by the asked version, so
    # an older one leaves them out. A cloud that refuses it (NoRegisteredProviderFound) is asked
    # again with the hybrid profile's version: a cloud without the version that has the mode has
    # no ABAC registries either, so the legacy roles are then the right hints.
    registries: str = "2025-11-01"
    registries_fallback: str = "2019-05-01"
    key_vault: str = "2016-10-01"
    resource_groups: str = "2019-10-01"
    container_groups: str = "2023-05-01"
    # What `setup` and `doctor` call (Azure/azure-rest-api-specs, each the newest stable version
    # of its provider that every public cloud serves): Microsoft.Resources providers 2021-04-01,
    # Microsoft.ManagedIdentity 2023-01-31 (identities and their federated credentials),
    # Microsoft.Authorization roleAssignments 2022-04-01, Microsoft.KeyVault vaults 2023-07-01.
    providers: str = "2021-04-01"
    managed_identities: str = "2023-01-31"
    role_assignments: str = "2022-04-01"
    vaults: str = "2023-07-01"


@dataclass(frozen=True)
class Endpoints:
    """The URLs and DNS suffixes of one Azure cloud."""

    name: str
    authority_host: str  # Microsoft Entra ID, e.g. https://login.microsoftonline.com
    resource_manager: str  # ARM, without a trailing slash
    arm_audience: str  # the token audience ARM accepts
    key_vault_suffix: str  # host suffix of vaults (may carry a port); "" when the cloud has none
    custom: bool = False  # read from metadata: MSAL must not ask Microsoft's instance discovery
    api_versions: ApiVersions = ApiVersions()
    container_instances: bool = True  # Azure Stack Hub has no Azure Container Instances

    @property
    def arm_scope(self) -> str:
        """The OAuth scope of an ARM token."""
        return self.arm_audience.rstrip("/") + "/.default"

    def vault_url(self, vault: str) -> str:
        """A vault's URL from its name, or the URL itself when one is given."""
        if vault.startswith("https://"):
            return vault.rstrip("/")
        if not self.key_vault_suffix:
            raise CloudLacksService(
                self.name,
                "Key Vault names (its metadata has no `suffixes.keyVaultDns`)",
                "A vault name becomes a URL with the cloud's Key Vault DNS suffix, and this cloud "
                "publishes none (Azure Stack Hub's metadata has no `suffixes`). Give the vault's "
                f"URL instead of its name ({display_value(vault)}):",
                "key-vault: https://my-vault.vault.local.azurestack.external",
            )
        return f"https://{vault}.{self.key_vault_suffix}"


def _known_cloud(name: str, login: str, arm: str, key_vault_suffix: str) -> Endpoints:
    """A public cloud's endpoints: its login host, its ARM host (whose URL with a trailing `/` is
    the ARM audience) and its Key Vault DNS suffix, as azure-cli's azure/cli/core/cloud.py
    declares them."""
    return Endpoints(
        name=name,
        authority_host=f"https://{login}",
        resource_manager=f"https://{arm}",
        arm_audience=f"https://{arm}/",
        key_vault_suffix=key_vault_suffix,
    )


AZURE_PUBLIC = _known_cloud(
    "AzureCloud", "login.microsoftonline.com", "management.azure.com", "vault.azure.net"
)
AZURE_CHINA = _known_cloud(
    "AzureChinaCloud", "login.chinacloudapi.cn", "management.chinacloudapi.cn", "vault.azure.cn"
)
AZURE_US_GOVERNMENT = _known_cloud(
    "AzureUSGovernment",
    "login.microsoftonline.us",
    "management.usgovcloudapi.net",
    "vault.usgovcloudapi.net",
)
KNOWN_CLOUDS = {cloud.name: cloud for cloud in (AZURE_PUBLIC, AZURE_CHINA, AZURE_US_GOVERNMENT)}


def for_environment(name: str) -> Endpoints:
    """The endpoints of a named cloud (`AzureCloud`, `AzureChinaCloud`, `AzureUSGovernment`)."""
    return KNOWN_CLOUDS[name]


def _no_metadata(url: str, answer: requests.Response) -> AzureCallFailed:
    return AzureCallFailed(
        dependency="cloud metadata",
        status=answer.status_code,
        code="MetadataUnavailable",
        message=f"{url} answered HTTP {answer.status_code}; check `resource-manager-endpoint`",
    )


def from_metadata(
    resource_manager_endpoint: str, *, timeout: float = 10.0, retrier: Retrier | None = None
) -> Endpoints:
    """Read a custom cloud's endpoints from `{endpoint}/metadata/endpoints`."""
    import requests

    base = resource_manager_endpoint.rstrip("/")
    url = f"{base}/metadata/endpoints?api-version={METADATA_API_VERSION}"
    metadata = CLOUD_METADATA.at(
        check=f"that `resource-manager-endpoint` ({base}) is up and reachable from the runner"
    )
    try:
        response = (retrier or Retrier()).http(metadata.name, "GET", url, read=timeout)
    except requests.RequestException as exc:
        raise translate(metadata, exc) from exc
    if response.status_code != 200:
        raise translate(metadata, response, explain=lambda answer: _no_metadata(url, answer))
    document = response.json()
    # Azure returns either one cloud object (2022-09-01) or, for older versions, a list of them.
    cloud = document[0] if isinstance(document, list) else document
    authentication = cloud.get("authentication", {})
    audiences = authentication.get("audiences") or [base + "/"]
    suffixes = cloud.get("suffixes") or {}
    # Azure Stack Hub's document has the older shape: gallery, graph and portal endpoints plus
    # `authentication` (its audience an app ID URI of the operator's tenant), without `name`,
    # `resourceManager` or `suffixes`
    # (learn.microsoft.com/azure-stack/user/azure-stack-rest-api-use). azure-cli's
    # `_arm_to_cli_mapper` leaves a missing suffix unset; so does this: no vault suffix means
    # vault URLs, not names. Azure Stack Hub offers no Azure Container Instances.
    stack = "resourceManager" not in cloud
    return Endpoints(
        name=cloud.get("name") or urlsplit(base).hostname or base,
        authority_host=authentication.get("loginEndpoint", "").rstrip("/"),
        resource_manager=(cloud.get("resourceManager") or base).rstrip("/"),
        arm_audience=audiences[0],
        key_vault_suffix=str(suffixes.get("keyVaultDns") or "").lstrip("."),
        custom=True,
        container_instances=not stack,
    )
