"""Reading secrets from Azure Key Vault: registry pull credentials and app secrets.

Every value is masked the moment it arrives, before anything could print it. After the first
read (one challenge round-trip and one token), the others run in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .errors import (
    AzureCallFailed,
    DependencyUnavailable,
    KeyVaultForbidden,
    KeyVaultSecretMissing,
)
from .retry import RETRY_STATUSES

CHECK = "https://status.azure.com (Key Vault), and the vault's firewall and private endpoints"

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential


def read_secrets(
    credential: TokenCredential,
    vault_url: str,
    names: Mapping[str, str],
    mask: Callable[[str], None],
    *,
    principal: str = "the workflow's identity",
    options: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Read `names` (key -> secret name) from the vault; returns key -> value, all masked.

    `options`: the client's retry and timeout settings (`retry.azure_options`).
    """
    if not names:
        return {}
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
    from azure.keyvault.secrets import SecretClient

    settings: dict[str, Any] = {"connection_timeout": 10, "read_timeout": 30, **(options or {})}
    client = SecretClient(vault_url, credential, **settings)

    def read(secret_name: str) -> str:
        try:
            value = client.get_secret(secret_name).value
        except ResourceNotFoundError as exc:
            raise KeyVaultSecretMissing(vault_url, secret_name) from exc
        except HttpResponseError as exc:
            if exc.status_code == 403:
                raise KeyVaultForbidden(vault_url, principal) from exc
            if exc.status_code in RETRY_STATUSES:
                raise DependencyUnavailable("Key Vault", f"HTTP {exc.status_code}", CHECK) from exc
            code = exc.error.code if exc.error is not None else None
            raise AzureCallFailed("Key Vault", exc.status_code, code, exc.message) from exc
        except AzureError as exc:  # no answer: unreachable, dropped or timed out, retries spent
            raise DependencyUnavailable(
                "Key Vault", f"{type(exc).__name__} reaching {vault_url}", CHECK
            ) from exc
        if value is None:
            raise KeyVaultSecretMissing(vault_url, secret_name)
        mask(value)
        return value

    items = list(names.items())
    with client:
        # The first read goes alone: it answers the vault's 401 challenge and gets the token.
        # Reads started together would each meet the challenge and each fetch a token.
        first_key, first_secret = items[0]
        values = {first_key: read(first_secret)}
        if len(items) > 1:
            with ThreadPoolExecutor(max_workers=min(8, len(items) - 1)) as pool:
                futures = {key: pool.submit(read, secret) for key, secret in items[1:]}
                values.update({key: future.result() for key, future in futures.items()})
    return values
