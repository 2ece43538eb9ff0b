"""Entra refusals reach the error that explains them: every explained code is routed there."""

from __future__ import annotations

import pytest
import requests
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError

from acr_action import errors
from acr_action.auth import GitHubOidc, MaskingCredential, explain_refusal
from acr_action.errors import EntraRefused, FederatedCredentialMismatch, OidcTokenRefused
from acr_action.github_context import GitHubContext


def refusal(code: str) -> ClientAuthenticationError:
    """What azure-identity raises for a token-endpoint refusal (aad_client_base._raise_for_error)."""
    return ClientAuthenticationError(
        message=f"Microsoft Entra ID error '(invalid_client) {code}: something was refused. "
        "Trace ID: 4ef9c26a-e731-4572-b4d3-f8c0e6362200 Correlation ID: 731cf9a5'"
    )


def oidc() -> GitHubOidc:
    claims_source = GitHubOidc(
        {}, "api://AzureADTokenExchange", lambda _: None, github=GitHubContext()
    )
    claims_source.last_claims = {"sub": "repo:octo-org/my-app:pull_request", "aud": "api://x"}
    return claims_source


@pytest.mark.parametrize("code", sorted(errors._FIC_MEANINGS))
def test_every_explained_federation_code_is_routed_to_its_explanation(code: str) -> None:
    error = explain_refusal(refusal(code), oidc())

    assert isinstance(error, FederatedCredentialMismatch), type(error).__name__
    assert error.code == code
    assert errors._FIC_MEANINGS[code][0] in error.title
    assert "repo:octo-org/my-app:pull_request" in error.render()


@pytest.mark.parametrize("code", sorted(errors._ENTRA_HINTS))
def test_every_explained_entra_code_gets_its_hint(code: str) -> None:
    error = explain_refusal(refusal(code), oidc())

    assert type(error) is EntraRefused
    assert errors._ENTRA_HINTS[code][0] in error.title


def test_audience_mismatch_names_the_audience() -> None:
    error = explain_refusal(refusal("AADSTS700212"), oidc())

    assert isinstance(error, FederatedCredentialMismatch)
    assert "audience" in error.title
    assert "az ad app federated-credential create" in error.render()


def test_an_unexplained_code_stays_a_generic_refusal() -> None:
    error = explain_refusal(refusal("AADSTS50000"), oidc())

    assert type(error) is EntraRefused
    assert "login.microsoftonline.com/error?code=50000" in error.render()


CLIENT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.mark.parametrize("code", ["AADSTS70021", "AADSTS7000215"])
def test_the_fix_names_the_client_id_input(code: str) -> None:
    text = explain_refusal(refusal(code), oidc(), CLIENT_ID).render()

    assert f"--id '{CLIENT_ID}'" in text
    assert "<client-id>" not in text


class OneAnswer:
    """A retrier stand-in that answers every request with one `requests` answer."""

    def __init__(self, status: int, body: bytes) -> None:
        self.response = requests.Response()
        self.response.status_code = status
        self.response._content = body

    def http(self, *args: object, **kwargs: object) -> requests.Response:
        return self.response


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        pytest.param(403, b'{"message": "not allowed"}', "HTTP 403", id="refused"),
        pytest.param(200, b'{"count": 1}', "without `value`", id="no-value"),
        pytest.param(200, b"<html>", "without `value`", id="not-json"),
    ],
)
def test_a_token_service_refusal_says_what_to_fix(status: int, body: bytes, shown: str) -> None:
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://t/idtoken?x=1",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "b",
    }
    source = GitHubOidc(
        env,
        "api://AzureADTokenExchange",
        lambda _: None,
        github=GitHubContext(),
        retrier=OneAnswer(status, body),  # type: ignore[arg-type]  # only `http` is called
    )

    with pytest.raises(OidcTokenRefused) as caught:
        source.token()

    assert shown in caught.value.title
    assert "id-token: write" in caught.value.render()
    assert "api://AzureADTokenExchange" in caught.value.render()


class _Issuer:
    """A credential that issues a new token per call, or always the same one (`fresh=False`);
    `info` gives it azure-core's newer `get_token_info` too."""

    def __init__(self, *, info: bool, fresh: bool = True) -> None:
        self.calls = 0
        self.fresh = fresh
        if info:
            self.get_token_info = self._info

    def _next(self, kind: str) -> str:
        self.calls += 1
        return f"{kind}-{self.calls if self.fresh else 1}"

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken(self._next("token"), 4102444800)

    def _info(self, *scopes: str, options: object = None) -> AccessTokenInfo:
        return AccessTokenInfo(self._next("info"), 4102444800)


@pytest.mark.parametrize("info", [True, False], ids=["get_token_info", "get_token only"])
def test_every_access_token_is_masked_before_it_is_handed_out(info: bool) -> None:
    masked: list[str] = []
    credential = MaskingCredential(_Issuer(info=info), masked.append)

    arm = credential.get_token("https://management.azure.com/.default")
    vault = credential.get_token_info("https://vault.azure.net/.default")

    assert masked == [arm.token, vault.token]
    assert vault.token == ("info-2" if info else "token-2")


def test_a_cached_token_handed_out_again_is_masked_once() -> None:
    masked: list[str] = []
    credential = MaskingCredential(_Issuer(info=False, fresh=False), masked.append)

    for _ in range(3):
        credential.get_token("https://management.azure.com/.default")

    assert masked == ["token-1"]
