"""Contract tests of the Key Vault secrets data plane with azure-keyvault-secrets (PROTOCOL.md §5).

The SecretClient runs with its default challenge-resource check on: the vault host is below the
challenge resource, as in Azure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientAssertionCredential
from azure.keyvault.secrets import SecretClient

from localazure.server import Emulator

pytestmark = pytest.mark.emulator

DEPLOYER = "2d0e7c4a-9b1f-4c3e-8a5d-6f7e8d9c0b1a"  # Key Vault Secrets User on the vault (seed.yaml)
VAULT = "acr-action-demo-kv"
SECRET = "acractiondemo-pull-usr"
SECRET_VALUE = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"
SECRET_OFFICER = "Key Vault Secrets Officer"
SECRETS_USER = "Key Vault Secrets User"


@pytest.fixture(autouse=True)
def _trust_emulator(azure_http: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azure_http.ca_path))


@pytest.fixture
def client(azure_http: Emulator) -> Iterator[SecretClient]:
    credential = ClientAssertionCredential(
        azure_http.state.tenant_id,
        DEPLOYER,
        lambda: azure_http.services["oidc"].mint("octo-org/iris-api"),
        authority=azure_http.authority_url,
    )
    secrets = SecretClient(azure_http.vault_url(VAULT), credential)  # default challenge check
    with credential, secrets:
        yield secrets


@pytest.fixture
def officer(azure_http: Emulator) -> Iterator[None]:
    state = azure_http.state
    vault = state.vaults[VAULT]
    seeded = set(vault.secrets)
    state.grant(DEPLOYER, SECRET_OFFICER, state.vault_id(vault))
    yield
    state.revoke(DEPLOYER, SECRET_OFFICER)
    with state.lock:  # leave the session's vault as seeded
        for name in set(vault.secrets) - seeded:
            del vault.secrets[name]


def vault_scope(azure: Emulator) -> str:
    return azure.state.vault_id(azure.state.vaults[VAULT])


def test_get_secret_through_the_challenge(client: SecretClient, azure_http: Emulator) -> None:
    before = len(azure_http.requests)

    secret = client.get_secret(SECRET)

    assert secret.value == SECRET_VALUE
    assert secret.properties.version is not None
    assert len(secret.properties.version) == 32
    assert (
        secret.id == f"{azure_http.vault_url(VAULT)}/secrets/{SECRET}/{secret.properties.version}"
    )
    assert secret.properties.recovery_level == "Recoverable+Purgeable"
    vault_calls = [
        r for r in azure_http.requests[before:] if r.host.endswith(".vault.azure.localhost")
    ]
    assert [(r.method, r.path, r.status) for r in vault_calls] == [
        ("GET", f"/secrets/{SECRET}/", 401),
        ("GET", f"/secrets/{SECRET}/", 200),
    ]


def test_challenge_shape(azure_http: Emulator) -> None:
    response = requests.get(
        f"{azure_http.vault_url(VAULT)}/secrets/{SECRET}/",
        params={"api-version": "2026-04-01"},
        timeout=30,
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{azure_http.authority_url}/{azure_http.state.tenant_id}",'
        f' resource="{azure_http.vault_resource}"'
    )
    assert response.json() == {
        "error": {
            "code": "Unauthorized",
            "message": "AKV10000: Request is missing a Bearer or PoP token.",
        }
    }


def test_missing_secret(client: SecretClient) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        client.get_secret("no-such-secret")

    assert caught.value.error is not None
    assert caught.value.error.code == "SecretNotFound"
    assert caught.value.error.message == (
        "A secret with (name/id) no-such-secret was not found in this key vault. If you recently"
        " deleted this secret you may be able to recover it using the correct recovery command."
        " For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
    )


def test_reader_cannot_set(client: SecretClient, azure_http: Emulator) -> None:
    app = azure_http.state.app(DEPLOYER)
    assert app is not None

    with pytest.raises(HttpResponseError) as caught:
        client.set_secret("new-secret", "v")

    assert caught.value.status_code == 403
    assert caught.value.response is not None
    body = cast(Any, caught.value.response).json()["error"]
    assert body["code"] == "Forbidden"
    assert body["innererror"] == {"code": "ForbiddenByRbac"}
    assert body["message"].startswith("Caller is not authorized to perform action on resource.\r\n")
    assert f"Caller: appid={DEPLOYER};oid={app.object_id};" in body["message"]
    assert "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'" in body["message"]
    assert f"Resource: '{vault_scope(azure_http).lower()}/secrets/new-secret'" in body["message"]


def test_get_refused_without_the_role(client: SecretClient, azure_http: Emulator) -> None:
    azure_http.state.revoke(DEPLOYER, SECRETS_USER)
    try:
        with pytest.raises(HttpResponseError) as caught:
            client.get_secret(SECRET)
    finally:
        azure_http.state.grant(DEPLOYER, SECRETS_USER, vault_scope(azure_http))

    assert caught.value.status_code == 403
    assert "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'" in str(caught.value)


@pytest.mark.usefixtures("officer")
def test_set_versions_and_list(client: SecretClient) -> None:
    first = client.set_secret("versioned-secret", "one")
    second = client.set_secret("versioned-secret", "two", content_type="text/plain")

    assert client.get_secret("versioned-secret").value == "two"
    assert client.get_secret("versioned-secret", first.properties.version).value == "one"
    assert second.properties.content_type == "text/plain"
    names = {p.name for p in client.list_properties_of_secrets()}
    assert {SECRET, "versioned-secret"} <= names


@pytest.mark.usefixtures("officer")
def test_list_is_paged(client: SecretClient, azure_http: Emulator) -> None:
    for n in range(30):
        client.set_secret(f"paged-{n:02d}", "x")

    names = [p.name for p in client.list_properties_of_secrets()]

    assert len([n for n in names if n and n.startswith("paged-")]) == 30
    pages = [r for r in azure_http.requests if r.path == "/secrets" and "skiptoken" in r.query]
    assert pages, "the SDK followed nextLink"


def test_arm_token_is_refused(azure_http: Emulator) -> None:
    token = azure_http.services["oidc"].mint("octo-org/iris-api")
    form = {
        "grant_type": "client_credentials",
        "client_id": DEPLOYER,
        "client_assertion": token,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "scope": azure_http.arm_url + "/.default",
    }
    url = f"{azure_http.authority_url}/{azure_http.state.tenant_id}/oauth2/v2.0/token"
    arm_token = requests.post(url, data=form, timeout=30).json()["access_token"]

    response = requests.get(
        f"{azure_http.vault_url(VAULT)}/secrets/{SECRET}",
        params={"api-version": "7.6"},
        headers={"Authorization": f"Bearer {arm_token}"},
        timeout=30,
    )

    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("AKV10022: Invalid audience.")
