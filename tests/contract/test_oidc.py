"""Contract tests of the GitHub Actions OIDC issuer (PROTOCOL.md §2).

Tokens are fetched the way actions-toolkit's `OidcClient` does (`URL&audience=...` with the job's
bearer token) and verified against the issuer's published JWKS.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import requests
from actions_toolkit.oidc_utils import OidcClient

from localazure.server import Emulator

pytestmark = pytest.mark.emulator

REPO = "octo-org/iris-api"
AZURE_AUDIENCE = "api://AzureADTokenExchange"


@pytest.fixture(autouse=True)
def _trust_emulator(azure_http: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azure_http.ca_path))


def verify(azure: Emulator, token: str, audience: str) -> dict[str, Any]:
    """Verify a token with the issuer's discovery document and JWKS, as a relying party does."""
    config = requests.get(
        f"{azure.oidc_issuer}/.well-known/openid-configuration", timeout=30
    ).json()
    keys = requests.get(config["jwks_uri"], timeout=30).json()["keys"]
    header = jwt.get_unverified_header(token)
    key = next(k for k in keys if k["kid"] == header["kid"])
    return jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=audience,
        issuer=config["issuer"],
    )


def toolkit_token(azure: Emulator, monkeypatch: pytest.MonkeyPatch, **job: Any) -> str:
    for name, value in azure.services["oidc"].start_job(REPO, **job).items():
        monkeypatch.setenv(name, value)
    return OidcClient.get_id_token(AZURE_AUDIENCE)


def test_request_url_already_has_a_query_string(azure_http: Emulator) -> None:
    env = azure_http.services["oidc"].start_job(REPO)

    assert set(env) == {"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}
    assert env["ACTIONS_ID_TOKEN_REQUEST_URL"].startswith(azure_http.oidc_issuer + "/")
    assert "?api-version=" in env["ACTIONS_ID_TOKEN_REQUEST_URL"]


def test_actions_toolkit_gets_a_verifiable_token(
    azure_http: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = toolkit_token(azure_http, monkeypatch, sha="a" * 40, actor="octocat")

    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"]
    assert header["x5t"]
    claims = verify(azure_http, token, AZURE_AUDIENCE)
    assert claims["iss"] == azure_http.oidc_issuer
    assert claims["sub"] == f"repo:{REPO}:ref:refs/heads/main"
    assert claims["repository"] == REPO
    assert claims["repository_owner"] == "octo-org"
    assert claims["sha"] == "a" * 40
    assert claims["ref_type"] == "branch"
    assert claims["event_name"] == "push"
    assert claims["runner_environment"] == "github-hosted"
    assert claims["exp"] - claims["iat"] == 300
    expected = {"jti", "nbf", "repository_id", "repository_owner_id", "actor_id", "run_id"}
    expected |= {"run_number", "run_attempt", "workflow", "workflow_ref", "job_workflow_ref"}
    expected |= {"head_ref", "base_ref", "repository_visibility"}
    assert expected <= set(claims)


@pytest.mark.parametrize(
    ("job", "subject"),
    [
        pytest.param({"ref": "refs/heads/main"}, f"repo:{REPO}:ref:refs/heads/main", id="branch"),
        pytest.param({"ref": "refs/tags/v1.2.0"}, f"repo:{REPO}:ref:refs/tags/v1.2.0", id="tag"),
        pytest.param(
            {"event_name": "pull_request", "pr_number": 7}, f"repo:{REPO}:pull_request", id="pr"
        ),
        pytest.param(
            {"environment": "production", "event_name": "pull_request"},
            f"repo:{REPO}:environment:production",
            id="environment-wins-over-pr",
        ),
        pytest.param(
            {"environment": "prod:eu"}, f"repo:{REPO}:environment:prod%3Aeu", id="colon-encoded"
        ),
        pytest.param({"sub": "custom:subject"}, "custom:subject", id="override"),
    ],
)
def test_subject_formats(
    azure_http: Emulator, monkeypatch: pytest.MonkeyPatch, job: dict[str, Any], subject: str
) -> None:
    claims = verify(azure_http, toolkit_token(azure_http, monkeypatch, **job), AZURE_AUDIENCE)

    assert claims["sub"] == subject


def test_pull_request_claims(azure_http: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    token = toolkit_token(
        azure_http, monkeypatch, event_name="pull_request", pr_number=7, head_ref="feature-x"
    )
    claims = verify(azure_http, token, AZURE_AUDIENCE)

    assert claims["ref"] == "refs/pull/7/merge"
    assert (claims["head_ref"], claims["base_ref"]) == ("feature-x", "main")
    assert "environment" not in claims


def test_default_audience_is_the_owner_url(azure_http: Emulator) -> None:
    env = azure_http.services["oidc"].start_job(REPO)
    response = requests.get(
        env["ACTIONS_ID_TOKEN_REQUEST_URL"],
        headers={"Authorization": f"Bearer {env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}"},
        timeout=30,
    )

    assert response.status_code == 200
    verify(azure_http, response.json()["value"], "https://github.com/octo-org")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-bearer"),
        pytest.param("Bearer not-the-job-token", id="wrong-bearer"),
    ],
)
def test_endpoint_checks_the_job_bearer(azure_http: Emulator, authorization: str | None) -> None:
    env = azure_http.services["oidc"].start_job(REPO)
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.get(
        env["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=" + AZURE_AUDIENCE,
        headers=headers,
        timeout=30,
    )

    assert response.status_code == 401
    assert "value" not in response.json()


def test_revoked_job_is_refused(azure_http: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    env = azure_http.services["oidc"].start_job(REPO)
    azure_http.services["oidc"].revoke_job(env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(Exception, match="Error Code: 401"):
        OidcClient.get_id_token(AZURE_AUDIENCE)


def test_lifetime_and_mint(azure_http: Emulator) -> None:
    token = azure_http.services["oidc"].mint(REPO, lifetime=60, environment="staging")
    claims = verify(azure_http, token, AZURE_AUDIENCE)

    assert claims["exp"] - claims["iat"] == 60
    assert claims["environment"] == "staging"


def test_openid_configuration(azure_http: Emulator) -> None:
    config = requests.get(
        f"{azure_http.oidc_issuer}/.well-known/openid-configuration", timeout=30
    ).json()

    assert config["issuer"] == azure_http.oidc_issuer
    assert config["jwks_uri"] == f"{azure_http.oidc_issuer}/.well-known/jwks"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"sub", "repository", "environment", "job_workflow_ref"} <= set(
        config["claims_supported"]
    )
