"""Contract tests of the Entra ID token endpoint with azure-identity's real credentials.

Success, then each refusal with the exact AADSTS code, OAuth error and HTTP status
(aad_token_error_examples.md, PROTOCOL.md §1.4), as the raw body and as azure-identity reports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientAssertionCredential, ClientSecretCredential

from localazure.server import Emulator
from localazure.tokens import SigningKey

pytestmark = pytest.mark.emulator

REPO = "octo-org/iris-api"
DEPLOYER = "2d0e7c4a-9b1f-4c3e-8a5d-6f7e8d9c0b1a"  # federated credentials for main and PRs
PULLER = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"
PULLER_SECRET = "Xq8~pullPrincipalSecret.Local-0001"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ"
ERROR_KEYS = {"error", "error_description", "error_codes", "timestamp", "trace_id"}
ERROR_KEYS |= {"correlation_id", "error_uri"}


@pytest.fixture(autouse=True)
def _trust_emulator(azure_http: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azure_http.ca_path))


def assertion(azure: Emulator, **job: Any) -> str:
    return azure.services["oidc"].mint(REPO, **job)


def token_post(azure: Emulator, tenant: str | None = None, **form: str) -> requests.Response:
    tenant = tenant or azure.state.tenant_id
    body = {"grant_type": "client_credentials", "scope": azure.arm_url + "/.default", **form}
    return requests.post(f"{azure.authority_url}/{tenant}/oauth2/v2.0/token", data=body, timeout=30)


def federated(azure: Emulator, token: str, client_id: str = DEPLOYER) -> dict[str, str]:
    return {"client_id": client_id, "client_assertion": token, "client_assertion_type": JWT_BEARER}


def assertion_credential(azure: Emulator, get_assertion: Callable[[], str], **kw: Any) -> Any:
    return ClientAssertionCredential(
        kw.pop("tenant_id", azure.state.tenant_id),
        kw.pop("client_id", DEPLOYER),
        get_assertion,
        authority=azure.authority_url,
    )


# --- success -------------------------------------------------------------------------------------
def test_client_assertion_credential_gets_an_arm_token(azure_http: Emulator) -> None:
    def from_oidc_endpoint() -> str:
        env = azure_http.services["oidc"].start_job(REPO)
        response = requests.get(
            env["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=api://AzureADTokenExchange",
            headers={"Authorization": "Bearer " + env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]},
            timeout=30,
        )
        return str(response.json()["value"])

    with assertion_credential(azure_http, from_oidc_endpoint) as credential:
        access = credential.get_token(azure_http.arm_url + "/.default")

    claims = azure_http.keys.entra.decode(access.token, audience=azure_http.arm_url)
    app = azure_http.state.app(DEPLOYER)
    assert app is not None
    assert claims["tid"] == azure_http.state.tenant_id
    assert (claims["appid"], claims["oid"]) == (DEPLOYER, app.object_id)


def test_pull_request_subject_matches_its_credential(azure_http: Emulator) -> None:
    token = assertion(azure_http, event_name="pull_request", pr_number=3)
    with assertion_credential(azure_http, lambda: token) as credential:
        assert credential.get_token(azure_http.vault_resource + "/.default").token


def test_client_secret_credential_gets_a_token(azure_http: Emulator) -> None:
    credential = ClientSecretCredential(
        azure_http.state.tenant_id,
        PULLER,
        PULLER_SECRET,
        authority=azure_http.authority_url,
        disable_instance_discovery=True,
    )

    with credential:
        access = credential.get_token(azure_http.arm_url + "/.default")

    assert (
        azure_http.keys.entra.decode(access.token, audience=azure_http.arm_url)["appid"] == PULLER
    )


def test_success_body_and_ignored_parameters(azure_http: Emulator) -> None:
    response = token_post(
        azure_http,
        **federated(azure_http, assertion(azure_http)),
        claims='{"access_token": {"xms_cc": {"values": ["CP1"]}}}',
        client_info="1",
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] > 0


# --- refusals ------------------------------------------------------------------------------------
OTHER_KEY = SigningKey("not-github")

REFUSALS = [
    pytest.param(
        {"assertion": {"ref": "refs/heads/dev"}},
        (401, "invalid_client", 700213),
        "No matching federated identity record found for presented assertion subject"
        f" 'repo:{REPO}:ref:refs/heads/dev'. Check your federated identity credential Subject,"
        " Audience and Issuer against the presented assertion."
        " https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
        id="subject-mismatch",
    ),
    pytest.param(
        {"assertion": {"sub": "repo:Octo-Org/iris-api:ref:refs/heads/main"}},
        (401, "invalid_client", 7002138),
        "The subject matches with case-insensitive comparison, but not with case-sensitive",
        id="subject-case-only",
    ),
    pytest.param(
        {"assertion": {"extra_claims": {"iss": "https://token.actions.example"}}},
        (401, "invalid_client", 700211),
        "No matching federated identity record found for presented assertion issuer"
        " 'https://token.actions.example'. Please check your federated identity credential",
        id="issuer-mismatch",
    ),
    pytest.param(
        {"assertion": {"audience": "api://SomethingElse"}},
        (401, "invalid_client", 700212),
        "presented assertion audience 'api://SomethingElse'",
        id="audience-mismatch",
    ),
    pytest.param(
        {"assertion": {"lifetime": -60}},
        (401, "invalid_client", 700024),
        "Client assertion is not within its valid time range. Current time: ",
        id="expired-assertion",
    ),
    pytest.param(
        {"assertion": {"signing_key": OTHER_KEY}},
        (401, "invalid_client", 700027),
        "Client assertion failed signature validation.",
        id="bad-signature",
    ),
    pytest.param(
        {"client_id": "99999999-9999-9999-9999-999999999999"},
        (400, "unauthorized_client", 700016),
        "Application with identifier '99999999-9999-9999-9999-999999999999' was not found in the"
        " directory",
        id="unknown-app",
    ),
    pytest.param(
        {"tenant": "00000000-1111-2222-3333-444444444444"},
        (400, "invalid_request", 90002),
        "Tenant '00000000-1111-2222-3333-444444444444' not found.",
        id="unknown-tenant",
    ),
    pytest.param(
        {"scope": "https://graph.example/.default"},
        (400, "invalid_resource", 500011),
        "The resource principal named https://graph.example was not found in the tenant named",
        id="unknown-resource",
    ),
]


@pytest.mark.parametrize(("case", "expected", "text"), REFUSALS)
def test_assertion_refusals(
    azure_http: Emulator, case: dict[str, Any], expected: tuple[int, str, int], text: str
) -> None:
    status, error, code = expected
    token = assertion(azure_http, **case.get("assertion", {}))
    form = federated(azure_http, token, case.get("client_id", DEPLOYER))
    if "scope" in case:
        form["scope"] = case["scope"]

    response = token_post(azure_http, case.get("tenant"), **form)

    assert response.status_code == status
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert (body["error"], body["error_codes"]) == (error, [code])
    assert body["error_uri"] == f"https://login.microsoftonline.com/error?code={code}"
    assert text in body["error_description"]
    tail = f" Trace ID: ({GUID}) Correlation ID: ({GUID}) Timestamp: ({STAMP})$"
    match = re.search(tail, body["error_description"])
    assert match is not None
    assert match.groups() == (body["trace_id"], body["correlation_id"], body["timestamp"])
    assert body["error_description"].startswith(f"AADSTS{code}: ")


@pytest.mark.parametrize(("case", "expected", "text"), REFUSALS[:6])
def test_azure_identity_reports_the_refusal(
    azure_http: Emulator, case: dict[str, Any], expected: tuple[int, str, int], text: str
) -> None:
    _, error, code = expected
    token = assertion(azure_http, **case["assertion"])
    credential = assertion_credential(azure_http, lambda: token)

    with credential, pytest.raises(ClientAuthenticationError) as caught:
        credential.get_token(azure_http.arm_url + "/.default")

    assert f"Microsoft Entra ID error '({error}) AADSTS{code}: " in str(caught.value)
    assert text in str(caught.value)


def test_wrong_secret(azure_http: Emulator) -> None:
    presented = "not-the-secret-value"
    credential = ClientSecretCredential(
        azure_http.state.tenant_id,
        PULLER,
        presented,
        authority=azure_http.authority_url,
        disable_instance_discovery=True,
    )

    # The MSAL-based credential words it "Authentication failed: AADSTS7000215: ...".
    with credential, pytest.raises(ClientAuthenticationError, match=r"failed: AADSTS7000215: "):
        credential.get_token(azure_http.arm_url + "/.default")
    raw = token_post(azure_http, client_id=PULLER, client_secret=presented)
    assert raw.status_code == 401
    assert raw.json()["error_codes"] == [7000215]
    assert (
        "Invalid client secret provided. Ensure the secret being sent in the request is the client"
        f" secret value, not the client secret ID, for a secret added to app '{PULLER}'."
    ) in raw.json()["error_description"]
    assert presented not in raw.text


def test_client_request_id_becomes_the_correlation_id(azure_http: Emulator) -> None:
    correlation = "5f0c2b1e-0000-4000-8000-000000000001"
    response = requests.post(
        f"{azure_http.authority_url}/{azure_http.state.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": "nobody", "scope": "x/.default"},
        headers={"client-request-id": correlation},
        timeout=30,
    )

    assert response.json()["correlation_id"] == correlation


# --- discovery -----------------------------------------------------------------------------------
def test_openid_configuration(azure_http: Emulator) -> None:
    tenant = azure_http.state.tenant_id
    base = f"{azure_http.authority_url}/{tenant}"
    config = requests.get(f"{base}/v2.0/.well-known/openid-configuration", timeout=30).json()

    assert config["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    assert config["issuer"] == f"{base}/v2.0"
    keys = requests.get(config["jwks_uri"], timeout=30).json()["keys"]
    token = token_post(azure_http, client_id=PULLER, client_secret=PULLER_SECRET).json()
    kid = jwt.get_unverified_header(token["access_token"])["kid"]
    assert kid in {k["kid"] for k in keys}


def test_openid_configuration_of_an_unknown_tenant(azure_http: Emulator) -> None:
    response = requests.get(
        f"{azure_http.authority_url}/nope/v2.0/.well-known/openid-configuration", timeout=30
    )

    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]
