"""Logging in to Azure: GitHub OIDC federation first, a `creds` secret second, a laptop's login last.

The OIDC path asks the runner for a fresh GitHub ID token every time Entra needs an assertion:
ID tokens live for minutes, a long build can outlive one, and Entra refuses an expired
assertion with AADSTS700024. azure-identity calls the assertion function per token request, so
handing it a function (not a token) is the whole fix.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import (
    FEDERATION_CODES,
    AuthError,
    EntraRefused,
    FederatedCredentialMismatch,
    ForkPullRequest,
    OidcTokenRefused,
    OidcUnavailable,
)
from .failures import GITHUB_OIDC, translate

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenCredential

    from .cloud import Endpoints
    from .github_context import GitHubContext
    from .inputs import Inputs
    from .retry import Retrier

# Claims shown next to an Entra refusal: what the federated credential has to match.
SHOWN_CLAIMS = (
    "sub",
    "aud",
    "iss",
    "repository",
    "ref",
    "environment",
    "job_workflow_ref",
    "event_name",
)


def unverified_claims(jwt_text: str) -> dict[str, Any]:
    """The payload of a JWT, without checking it (only to explain a refusal; never trusted)."""
    try:
        payload = jwt_text.split(".")[1]
        padded = payload + "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


class GitHubOidc:
    """Fetches GitHub Actions ID tokens from the runner's token service."""

    def __init__(
        self,
        env: Mapping[str, str],
        audience: str,
        mask: Callable[[str], None],
        *,
        github: GitHubContext,
        retrier: Retrier | None = None,
    ) -> None:
        from .retry import Retrier

        self._retrier = retrier or Retrier()
        self._url = env.get("ACTIONS_ID_TOKEN_REQUEST_URL", "")
        self._bearer = env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
        self._audience = audience
        self._mask = mask
        self._github = github
        self.last_claims: dict[str, Any] = {}

    @property
    def available(self) -> bool:
        """Did the runner give this job an ID token endpoint (`permissions: id-token: write`)?"""
        return bool(self._url and self._bearer)

    def check_available(self) -> None:
        """Raise the error that explains why there is no ID token, if there is none."""
        if self.available:
            return
        if self._github.pr_head_repo_fork:
            raise ForkPullRequest(
                self._github.repository or None, self._github.pr_head_repository or None
            )
        raise OidcUnavailable()

    def token(self) -> str:
        """A fresh ID token for the configured audience."""
        import requests

        self.check_available()
        separator = "&" if "?" in self._url else "?"
        url = f"{self._url}{separator}audience={quote(self._audience, safe='')}"
        try:
            response = self._retrier.http(
                GITHUB_OIDC.name,
                "GET",
                url,
                headers={"Authorization": f"bearer {self._bearer}"},
                read=20,
            )
        except requests.RequestException as exc:
            raise translate(GITHUB_OIDC, exc) from exc
        if response.status_code != 200:
            raise translate(GITHUB_OIDC, response, explain=self._refused)
        value = self._value(response)
        self._mask(value)
        self.last_claims = unverified_claims(value)
        return value

    def _value(self, response: Any) -> str:
        """The token in the answer's JSON `value` (as `@actions/core` `getIDToken` reads it)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise OidcTokenRefused(200, self._audience, "the answer had no `value`")
        return value

    def _refused(self, response: Any) -> AuthError:
        # The body names the reason; it never holds a token, since no token was issued.
        return OidcTokenRefused(response.status_code, self._audience, response.text[:300])


def make_credential(
    inputs: Inputs,
    endpoints: Endpoints,
    oidc: GitHubOidc,
    *,
    on_actions: bool,
    options: Mapping[str, Any] | None = None,
) -> TokenCredential:
    """The one credential of this run (it caches its tokens per scope).

    `options` are the retry and timeout settings of `retry.azure_options(..., identity=True)`.
    """
    sdk = dict(options or {})
    if inputs.auth.creds is not None:
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(
            inputs.auth.creds.tenant_id,
            inputs.auth.creds.client_id,
            inputs.auth.creds.client_secret,
            authority=endpoints.authority_host,
            # MSAL would ask Microsoft's public host to validate a custom authority.
            disable_instance_discovery=endpoints.custom,
            **sdk,
        )
    if inputs.auth.client_id and inputs.auth.tenant_id and (oidc.available or on_actions):
        from azure.identity import ClientAssertionCredential

        oidc.check_available()  # on a runner without a token: fork PR or missing id-token permission
        return ClientAssertionCredential(
            inputs.auth.tenant_id,
            inputs.auth.client_id,
            oidc.token,
            authority=endpoints.authority_host,
            **sdk,
        )
    return laptop_credential(inputs.auth.tenant_id)


def laptop_credential(tenant_id: str | None, endpoints: Endpoints | None = None) -> TokenCredential:
    """Outside Actions: a person on a laptop, logged in with `az login` or AZURE_* variables.

    With `endpoints` (`setup`, `doctor`), environment credentials sign in at that cloud's
    authority; the Azure CLI uses the cloud it is registered for.
    """
    from azure.identity import AzureCliCredential, ChainedTokenCredential, EnvironmentCredential

    cloud: dict[str, Any] = {}
    if endpoints is not None:
        cloud = {
            "authority": endpoints.authority_host,
            "disable_instance_discovery": endpoints.custom,
        }
    return ChainedTokenCredential(
        EnvironmentCredential(**cloud), AzureCliCredential(tenant_id=tenant_id or "")
    )


class MaskingCredential:
    """The run's credential, masking every Entra access token the moment it is issued.

    The Azure SDK clients, our own ARM and registry calls and the ACR exchange all take their
    tokens from here, so no access token (ARM, ACR, Key Vault audience) can reach the log
    unmasked, wherever an error or a debug line might quote it. Each value is masked once.
    """

    def __init__(self, inner: TokenCredential, mask: Callable[[str], None]) -> None:
        self._inner = inner
        self._mask = mask
        self._masked: set[str] = set()
        self._lock = threading.Lock()

    def _masked_once(self, token: str) -> None:
        with self._lock:
            if token not in self._masked:
                self._mask(token)
                self._masked.add(token)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """The inner credential's token, masked."""
        token = self._inner.get_token(*scopes, **kwargs)
        self._masked_once(token.token)
        return token

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        """The inner credential's token (azure-core's newer protocol), masked.

        Clients of azure-core >= 1.31 prefer this method when the credential has it
        (`BearerTokenCredentialPolicy`); credentials without it are served through `get_token`.
        """
        from azure.core.credentials import AccessTokenInfo

        get_info = getattr(self._inner, "get_token_info", None)
        if get_info is None:
            token = self._inner.get_token(*scopes)
            info = AccessTokenInfo(token.token, token.expires_on)
        else:
            info = get_info(*scopes, options=options)
        self._masked_once(info.token)
        return info

    def close(self) -> None:
        """Close the inner credential's transport, where it has one."""
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


_CODE = re.compile(r"\b(AADSTS\d+)\b")


def explain_refusal(exc: Exception, oidc: GitHubOidc, client_id: str | None = None) -> AuthError:
    """Turn azure-identity's `ClientAuthenticationError` into the error a user can act on.

    `client_id`: the app the run signs in as (the `client-id` input or `creds`), for the fix.
    """
    text = str(exc)
    match = _CODE.search(text)
    code = match.group(1) if match else "unknown"
    # Entra's description runs up to "Trace ID"; what follows is noise for the reader.
    described = text.split("Trace ID")[0].strip()
    if code in FEDERATION_CODES:
        claims = {name: oidc.last_claims.get(name) for name in SHOWN_CLAIMS}
        return FederatedCredentialMismatch(code, described, claims, client_id)
    return EntraRefused(code, described, client_id)
