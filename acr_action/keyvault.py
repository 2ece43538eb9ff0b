"""Reading secrets from Azure Key Vault: registry pull credentials and app secrets.

Every value is masked the moment it arrives, before anything could print it. After the first
read (one challenge round-trip and one token), the others run in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .errors import KeyVaultForbidden, KeyVaultSecretMissing
from .failures import KEY_VAULT, translate

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential


def read_secrets(
    credential: TokenCredential,
    vault_url: str,
    names: Mapping[str, str],
    mask: Callable[[str], None],
    *,
    client_id: str | None = None,
    object_id: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Read `names` (key -> secret name) from the vault; returns key -> value, all masked.

    `client_id`, `object_id`: the signed-in identity, as far as the run knows it (for the fix).
    `options`: the client's retry and timeout settings (`retry.azure_options`).
    """
    if not names:
        return {}
    from azure.core.exceptions import AzureError, ResourceNotFoundError
    from azure.keyvault.secrets import SecretClient

    settings: dict[str, Any] = {"connection_timeout": 10, "read_timeout": 30, **(options or {})}
    client = SecretClient(vault_url, credential, **settings)

    def forbidden(exc: Any) -> KeyVaultForbidden | None:
        return (
            KeyVaultForbidden(vault_url, client_id, object_id=object_id)
            if exc.status_code == 403
            else None
        )

    def read(secret_name: str) -> str:
        try:
            value = client.get_secret(secret_name).value
        except ResourceNotFoundError as exc:
            raise KeyVaultSecretMissing(vault_url, secret_name) from exc
        except AzureError as exc:
            raise translate(KEY_VAULT, exc, where=vault_url, explain=forbidden) from exc
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
