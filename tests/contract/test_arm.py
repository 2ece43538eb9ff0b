"""Contract tests of the ARM reads with the real management clients (PROTOCOL.md §3, §7).

Errors are checked against arm_error_envelopes.md: codes, messages, `x-ms-failure-cause`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.containerregistry import ContainerRegistryManagementClient

from localazure.server import Emulator

pytestmark = pytest.mark.emulator

DEPLOYER = "2d0e7c4a-9b1f-4c3e-8a5d-6f7e8d9c0b1a"  # Contributor on demo-rg (seed.yaml)
PULLER = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"
PULLER_SECRET = "Xq8~pullPrincipalSecret.Local-0001"
RG = "demo-rg"
REGISTRY = "acractiondemo"


@pytest.fixture(autouse=True)
def _trust_emulator(azure_http: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azure_http.ca_path))


def deployer_token(azure: Emulator) -> str:
    token = azure.services["oidc"].mint("octo-org/iris-api")
    response = requests.post(
        f"{azure.authority_url}/{azure.state.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEPLOYER,
            "client_assertion": token,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "scope": azure.arm_url + "/.default",
        },
        timeout=30,
    )
    return str(response.json()["access_token"])


@contextmanager
def registry_client(
    azure_http: Emulator, **options: Any
) -> Iterator[ContainerRegistryManagementClient]:
    """The registry management client, signed in as the deployer; `options` go to the client."""
    from azure.identity import ClientAssertionCredential

    credential = ClientAssertionCredential(
        azure_http.state.tenant_id,
        DEPLOYER,
        lambda: azure_http.services["oidc"].mint("octo-org/iris-api"),
        authority=azure_http.authority_url,
    )
    client = ContainerRegistryManagementClient(
        credential,
        azure_http.state.subscription_id,
        base_url=azure_http.arm_url,
        credential_scopes=[azure_http.arm_url + "/.default"],
        **options,
    )
    with credential, client:
        yield client


@pytest.fixture
def acr_client(azure_http: Emulator) -> Iterator[ContainerRegistryManagementClient]:
    with registry_client(azure_http) as client:
        yield client


def arm_get(
    azure: Emulator, path: str, token: str | None, api: str = "2022-09-01"
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(
        f"{azure.arm_url}{path}", params={"api-version": api}, headers=headers, timeout=30
    )


def rg_path(azure: Emulator, rg: str = RG) -> str:
    return f"/subscriptions/{azure.state.subscription_id}/resourcegroups/{rg}"


# --- registries through the SDK ------------------------------------------------------------------
@pytest.mark.parametrize(
    "rg", [pytest.param(RG, id="as-created"), pytest.param("DEMO-RG", id="upper")]
)
def test_registry_login_server(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator, rg: str
) -> None:
    registry = acr_client.registries.get(rg, REGISTRY)

    assert registry.login_server == azure_http.login_server(REGISTRY)
    assert registry.name == REGISTRY
    assert registry.location == "westeurope"
    assert registry.provisioning_state == "Succeeded"


def test_missing_registry_is_resource_not_found(
    acr_client: ContainerRegistryManagementClient,
) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        acr_client.registries.get(RG, "nosuchregistry")

    assert caught.value.error is not None
    assert caught.value.error.code == "ResourceNotFound"
    assert caught.value.error.message == (
        "The Resource 'Microsoft.ContainerRegistry/registries/nosuchregistry' under resource group"
        " 'demo-rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    )
    assert caught.value.response is not None
    assert cast(Any, caught.value.response).headers["x-ms-failure-cause"] == "gateway"


def test_missing_resource_group(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    state = azure_http.state
    # ARM authorizes the requested scope first: a role on demo-rg says nothing about other groups.
    state.grant(DEPLOYER, "Reader", state.subscription_scope())
    try:
        with pytest.raises(ResourceNotFoundError) as caught:
            acr_client.registries.get("no-such-rg", REGISTRY)
    finally:
        state.revoke(DEPLOYER, "Reader")

    assert caught.value.error is not None
    assert caught.value.error.code == "ResourceGroupNotFound"
    assert caught.value.error.message == "Resource group 'no-such-rg' could not be found."


def test_authorization_failed_without_a_role(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    state = azure_http.state
    app = state.app(DEPLOYER)
    assert app is not None
    scope = state.rg_scope(RG)
    state.revoke(DEPLOYER, "Contributor")
    try:
        with pytest.raises(HttpResponseError) as caught:
            acr_client.registries.get(RG, REGISTRY)
    finally:
        state.grant(DEPLOYER, "Contributor", scope)

    assert caught.value.status_code == 403
    assert caught.value.error is not None
    assert caught.value.error.code == "AuthorizationFailed"
    registry_id = f"{scope}/providers/Microsoft.ContainerRegistry/registries/{REGISTRY}"
    assert caught.value.error.message == (
        f"The client '{DEPLOYER}' with object id '{app.object_id}' does not have authorization to"
        " perform action 'Microsoft.ContainerRegistry/registries/read' over scope"
        f" '{registry_id}' or the scope is invalid. If access was recently granted, please refresh"
        " your credentials."
    )


def test_client_secret_principal_without_read_role(azure_http: Emulator) -> None:
    credential = ClientSecretCredential(
        azure_http.state.tenant_id,
        PULLER,
        PULLER_SECRET,
        authority=azure_http.authority_url,
        disable_instance_discovery=True,
    )
    client = ContainerRegistryManagementClient(
        credential,
        azure_http.state.subscription_id,
        base_url=azure_http.arm_url,
        credential_scopes=[azure_http.arm_url + "/.default"],
    )
    with credential, client, pytest.raises(HttpResponseError) as caught:
        client.registries.get(RG, REGISTRY)  # AcrPull has no registries/read

    assert caught.value.status_code == 403


# --- resource groups, subscriptions, vaults (plain requests with a token) ------------------------
def test_resource_group(azure_http: Emulator) -> None:
    response = arm_get(azure_http, rg_path(azure_http, "Demo-RG"), deployer_token(azure_http))

    assert response.status_code == 200
    assert response.json() == {
        "id": f"/subscriptions/{azure_http.state.subscription_id}/resourceGroups/{RG}",
        "name": RG,
        "type": "Microsoft.Resources/resourceGroups",
        "location": "westeurope",
        "properties": {"provisioningState": "Succeeded"},
    }
    assert response.headers["x-ms-request-id"]
    assert response.headers["x-ms-correlation-request-id"]


def test_resource_list_by_type_holds_what_the_caller_may_read(azure_http: Emulator) -> None:
    # Resources_List, as `az acr login --name` calls it (azure-cli acr/_utils.py).
    state = azure_http.state
    path = f"/subscriptions/{state.subscription_id}/resources"
    kind = "Microsoft.ContainerRegistry/registries"
    headers = {"Authorization": f"Bearer {deployer_token(azure_http)}"}
    listed = requests.get(
        f"{azure_http.arm_url}{path}",
        params={"api-version": "2024-11-01", "$filter": f"resourceType eq '{kind}'"},
        headers=headers,
        timeout=30,
    )
    everything = arm_get(azure_http, path, headers["Authorization"].split()[1], "2024-11-01")

    assert listed.status_code == 200
    assert listed.json() == {
        "value": [
            {
                "id": state.registry_id(state.registries[REGISTRY]),
                "name": REGISTRY,
                "type": kind,
                "location": "westeurope",
                "tags": {},
            }
        ]
    }
    assert sorted(r["type"] for r in everything.json()["value"]) == [
        kind,
        "Microsoft.KeyVault/vaults",
    ]
    # A filter the local Azure cannot apply is refused, not ignored.
    unsupported = requests.get(
        f"{azure_http.arm_url}{path}",
        params={"api-version": "2024-11-01", "$filter": "substringof('demo', name)"},
        headers=headers,
        timeout=30,
    )
    assert unsupported.status_code == 400
    assert unsupported.json()["error"]["code"] == "InvalidFilterInQueryString"


def test_subscriptions_list_and_get(azure_http: Emulator) -> None:
    token = deployer_token(azure_http)
    listed = arm_get(azure_http, "/subscriptions", token, "2022-12-01").json()["value"]
    one = arm_get(azure_http, f"/subscriptions/{azure_http.state.subscription_id}", token).json()

    assert [s["subscriptionId"] for s in listed] == [azure_http.state.subscription_id]
    assert one["tenantId"] == azure_http.state.tenant_id
    assert one["state"] == "Enabled"


def test_unknown_subscription(azure_http: Emulator) -> None:
    sub = "11111111-2222-3333-4444-555555555555"
    response = arm_get(
        azure_http, f"/subscriptions/{sub}/resourcegroups/{RG}", deployer_token(azure_http)
    )

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "SubscriptionNotFound",
        "message": f"The subscription '{sub}' could not be found.",
    }


def test_vault_uri(azure_http: Emulator) -> None:
    path = rg_path(azure_http) + "/providers/Microsoft.KeyVault/vaults/acr-action-demo-kv"
    body = arm_get(azure_http, path, deployer_token(azure_http), "2023-07-01").json()

    assert body["properties"]["vaultUri"] == azure_http.vault_url("acr-action-demo-kv") + "/"
    assert body["properties"]["enableRbacAuthorization"] is True


@pytest.mark.parametrize(
    ("token", "code", "message"),
    [
        pytest.param(
            None,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            id="no-token",
        ),
        pytest.param(
            "garbage", "InvalidAuthenticationToken", "The access token is invalid.", id="bad-token"
        ),
    ],
)
def test_unauthenticated(azure_http: Emulator, token: str | None, code: str, message: str) -> None:
    response = arm_get(azure_http, rg_path(azure_http), token)

    assert response.status_code == 401
    assert response.json() == {"error": {"code": code, "message": message}}
    assert response.headers["x-ms-request-id"]


def test_api_version_is_required(azure_http: Emulator) -> None:
    response = requests.get(f"{azure_http.arm_url}{rg_path(azure_http)}", timeout=30)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"


def test_registry_get_reports_what_decides_data_plane_access(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    """The ARM-token policy, the role mode and the firewall, as the 2025-11-01 SDK reads them."""
    with azure_http.state.registry_settings(
        REGISTRY,
        authentication_as_arm="disabled",
        role_assignment_mode="AbacRepositoryPermissions",
        public_network_access="Enabled",
        network_default_action="Deny",
        ip_rules=["203.0.113.7"],
    ):
        registry = acr_client.registries.get(RG, REGISTRY)

    assert registry.policies is not None
    assert registry.policies.azure_ad_authentication_as_arm_policy is not None
    assert registry.policies.azure_ad_authentication_as_arm_policy.status == "disabled"
    assert registry.role_assignment_mode == "AbacRepositoryPermissions"
    assert registry.public_network_access == "Enabled"
    assert registry.network_rule_set is not None
    assert registry.network_rule_set.default_action == "Deny"
    assert [rule.ip_address_or_range for rule in registry.network_rule_set.ip_rules or []] == [
        "203.0.113.7"
    ]


def test_registry_get_defaults_are_the_recorded_example(
    acr_client: ContainerRegistryManagementClient,
) -> None:
    registry = acr_client.registries.get(RG, REGISTRY)

    assert registry.policies is not None
    assert registry.policies.azure_ad_authentication_as_arm_policy is not None
    assert registry.policies.azure_ad_authentication_as_arm_policy.status == "enabled"
    assert registry.role_assignment_mode == "LegacyRegistryPermissions"
    assert registry.network_rule_set is not None
    assert registry.network_rule_set.default_action == "Allow"


def test_registry_get_at_an_older_api_version_leaves_out_newer_properties(
    azure_http: Emulator,
) -> None:
    """ARM shapes the answer by the asked version: 2019-05-01 knows neither the role mode nor
    the ARM-token policy, so a client asking for it cannot learn them (and must not assume)."""
    with (
        registry_client(azure_http, api_version="2019-05-01") as client,
        azure_http.state.registry_settings(
            REGISTRY,
            authentication_as_arm="disabled",
            role_assignment_mode="AbacRepositoryPermissions",
        ),
    ):
        registry = client.registries.get(RG, REGISTRY)

    assert registry.login_server
    assert registry.role_assignment_mode is None
    assert registry.policies is not None
    assert registry.policies.azure_ad_authentication_as_arm_policy is None


SHARED_SUBSCRIPTION = "6d1f3b2a-4c5e-4f7a-9b8c-0d1e2f3a4b5c"


def test_registry_in_another_subscription_is_found_there_only(azure_http: Emulator) -> None:
    """A shared registry often lives in its own subscription; ARM finds it only under that one."""
    from azure.identity import ClientAssertionCredential

    state = azure_http.state
    credential = ClientAssertionCredential(
        state.tenant_id,
        DEPLOYER,
        lambda: azure_http.services["oidc"].mint("octo-org/iris-api"),
        authority=azure_http.authority_url,
    )
    clients = {
        sub: ContainerRegistryManagementClient(
            credential,
            sub,
            base_url=azure_http.arm_url,
            credential_scopes=[azure_http.arm_url + "/.default"],
        )
        for sub in (SHARED_SUBSCRIPTION, state.subscription_id)
    }
    state.other_subscriptions[SHARED_SUBSCRIPTION] = "shared"
    try:
        with state.registry_settings(REGISTRY, subscription_id=SHARED_SUBSCRIPTION):
            registry_id = state.registry_id(state.registries[REGISTRY])
            state.grant(DEPLOYER, "Reader", registry_id)
            try:
                found = clients[SHARED_SUBSCRIPTION].registries.get(RG, REGISTRY)
                with pytest.raises(ResourceNotFoundError):
                    clients[state.subscription_id].registries.get(RG, REGISTRY)
            finally:
                state.revoke(DEPLOYER, "Reader")
    finally:
        del state.other_subscriptions[SHARED_SUBSCRIPTION]
        for client in clients.values():
            client.close()
        credential.close()

    assert found.id == registry_id
    assert registry_id.startswith(f"/subscriptions/{SHARED_SUBSCRIPTION}/resourceGroups/{RG}/")
    assert found.login_server == azure_http.login_server(REGISTRY)
