"""Entra refusals reach the error that explains them: every explained code is routed there."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError

from acr_action import errors
from acr_action.auth import GitHubOidc, explain_refusal
from acr_action.errors import EntraRefused, FederatedCredentialMismatch
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
