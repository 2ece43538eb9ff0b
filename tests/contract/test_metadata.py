"""Contract tests of the cloud metadata document (`GET /metadata/endpoints`).

The shape is ARM's 2022-09-01 one; the fields the Azure CLI indexes without a default
(azure-cli `cloud.py::_arm_to_cli_mapper`) must all be there.
"""

from __future__ import annotations

import pytest
import requests

from localazure.server import Emulator

pytestmark = pytest.mark.emulator

# What `az cloud register --endpoint-resource-manager` reads with `dict[...]` (no default).
CLI_REQUIRED = ("name", "resourceManager", "sqlManagement", "batch", "gallery", "graphAudience")
CLI_REQUIRED_MORE = ("vmImageAliasDoc", "media")
CLI_REQUIRED_SUFFIXES = ("storage", "keyVaultDns", "sqlServerHostname")


def metadata(azure: Emulator, api_version: str) -> requests.Response:
    return requests.get(
        f"{azure.arm_url}/metadata/endpoints",
        params={"api-version": api_version},
        verify=str(azure.ca_path),
        timeout=30,
    )


@pytest.mark.parametrize(
    "api_version",
    [
        pytest.param("2022-09-01", id="action-version"),
        pytest.param("2019-05-01", id="older-cli-version"),
        pytest.param("2026-09-01-preview", id="unknown-future-version"),
    ],
)
def test_metadata_describes_this_cloud(azure_http: Emulator, api_version: str) -> None:
    response = metadata(azure_http, api_version)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    cloud = response.json()
    assert isinstance(cloud, dict)  # one object since 2022-09-01, not the older list
    assert cloud["resourceManager"] == azure_http.arm_url + "/"
    assert cloud["authentication"] == {
        "loginEndpoint": azure_http.authority_url + "/",
        "audiences": [azure_http.arm_url + "/"],
        "tenant": "common",
        "identityProvider": "AAD",
    }


def test_suffixes_form_the_urls_the_services_answer_on(azure_http: Emulator) -> None:
    suffixes = metadata(azure_http, "2022-09-01").json()["suffixes"]

    assert f"https://acr-action-demo-kv.{suffixes['keyVaultDns']}" == azure_http.vault_url(
        "acr-action-demo-kv"
    )
    assert f"acractiondemo.{suffixes['acrLoginServer']}" == azure_http.login_server("acractiondemo")
    vault_resource_host = azure_http.vault_resource.removeprefix("https://")
    assert suffixes["keyVaultDns"] == vault_resource_host


def test_fields_the_azure_cli_requires_are_present(azure_http: Emulator) -> None:
    cloud = metadata(azure_http, "2022-09-01").json()

    missing = [k for k in (*CLI_REQUIRED, *CLI_REQUIRED_MORE) if k not in cloud]
    missing += [f"suffixes.{k}" for k in CLI_REQUIRED_SUFFIXES if k not in cloud["suffixes"]]
    assert missing == []
    assert cloud["authentication"]["audiences"][0] == azure_http.arm_url + "/"
