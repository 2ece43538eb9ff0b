"""Cloud endpoints: vault URLs where the cloud has a vault suffix, and a clear error where not."""

from __future__ import annotations

import pytest

from acr_action.cloud import AZURE_CHINA, KNOWN_CLOUDS, ApiVersions, Endpoints
from acr_action.errors import CloudLacksService

STACK = Endpoints(
    name="management.local.azurestack.external",
    authority_host="https://login.microsoftonline.com",
    resource_manager="https://management.local.azurestack.external",
    arm_audience="https://management.contoso.onmicrosoft.com/4de154de-f8a8-4017-af41-df619da68155",
    key_vault_suffix="",
    custom=True,
    container_instances=False,
)


def test_a_vault_name_becomes_a_url_with_the_cloud_suffix() -> None:
    assert AZURE_CHINA.vault_url("my-vault") == "https://my-vault.vault.azure.cn"
    assert STACK.vault_url("https://my-vault.vault.local.azurestack.external/") == (
        "https://my-vault.vault.local.azurestack.external"
    )


def test_a_vault_name_on_a_cloud_without_a_vault_suffix_is_refused() -> None:
    with pytest.raises(CloudLacksService) as raised:
        STACK.vault_url("my-vault")

    text = raised.value.render()
    assert "keyVaultDns" in text
    assert "my-vault" in text
    assert "key-vault: https://" in text


@pytest.mark.parametrize("name", sorted(KNOWN_CLOUDS))
def test_named_clouds_ask_for_the_hybrid_profile_versions(name: str) -> None:
    # azure-cli profiles/_shared.py, 2020-09-01-hybrid: the versions Azure Stack Hub serves.
    versions = KNOWN_CLOUDS[name].api_versions
    assert versions == ApiVersions()
    assert (versions.registries_fallback, versions.key_vault, versions.resource_groups) == (
        "2019-05-01",
        "2016-10-01",
        "2019-10-01",
    )
    # The registry is asked for at the newest version first: only it reports the role mode.
    assert versions.registries == "2025-11-01"
