"""The pull credentials in the vault: which names the action reads, and putting them there.

`setup` never makes a password. The pull principal (an app registration with AcrPull, made with
`az ad sp create-for-rbac`, which needs Microsoft Graph, not ARM) is yours; `setup` grants you
Key Vault Secrets Officer on the vault, waits until the vault lets you in (a new role assignment
takes a while to count: learn.microsoft.com/azure/role-based-access-control/troubleshooting,
"Symptom - Role assignment changes are not being detected"), and stores the credentials when
they are in `ACR_ACTION_PULL_USERNAME` / `ACR_ACTION_PULL_PASSWORD` (environment only, masked;
never an option, never printed). Without them it prints the `az` lines that pipe a new password
straight into the vault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from .cloud import Endpoints
    from .runner import Runner
    from .setup import Observed, SetupConfig

USERNAME_VARIABLE = "ACR_ACTION_PULL_USERNAME"
PASSWORD_VARIABLE = "ACR_ACTION_PULL_PASSWORD"  # noqa: S105 - a variable's name, not a secret
SETTLE_SECONDS = 600.0


def secret_names(registry: str) -> tuple[str, str]:
    """The defaults of `registry-username-secret` and `registry-password-secret`."""
    return f"{registry}-pull-usr", f"{registry}-pull-pwd"


def _client(credential: TokenCredential, endpoints: Endpoints, vault: Mapping[str, Any]) -> Any:
    from azure.keyvault.secrets import SecretClient

    from .retry import azure_options

    url = str((vault.get("properties") or {}).get("vaultUri") or "").rstrip("/")
    name = str(vault.get("name") or "")
    return SecretClient(
        url or endpoints.vault_url(name),
        credential,
        api_version=endpoints.api_versions.key_vault,
        **azure_options("Key Vault", None),
    )


def vault_secret_names(
    credential: TokenCredential, endpoints: Endpoints, vault: Mapping[str, Any]
) -> frozenset[str] | None:
    """The names of the vault's secrets, or None when you may not list them."""
    from azure.core.exceptions import HttpResponseError

    try:
        with _client(credential, endpoints, vault) as client:
            return frozenset(str(p.name) for p in client.list_properties_of_secrets())
    except HttpResponseError:
        return None


def ensure_pull_secrets(
    credential: TokenCredential,
    endpoints: Endpoints,
    config: SetupConfig,
    observed: Observed,
    runner: Runner,
    env: Mapping[str, str],
) -> None:
    """Store the pull credentials from the environment, or say how to; waits for your role."""
    names = secret_names(config.registry)
    vault = observed.vault or {"name": config.key_vault}
    existing = _wait_for_access(credential, endpoints, vault, runner)
    if existing is not None and set(names) <= existing:
        runner.info(f"  exists   pull secrets  {', '.join(names)}")
        return
    username = env.get(USERNAME_VARIABLE, "")
    password = env.get(PASSWORD_VARIABLE, "")
    if existing is not None and username and password:
        runner.hide(password)
        with _client(credential, endpoints, vault) as client:
            client.set_secret(names[0], username)
            client.set_secret(names[1], password)
        runner.info(f"  stored   pull secrets  {', '.join(names)} (from {USERNAME_VARIABLE})")
        return
    runner.info(_instructions(config, names))


def _wait_for_access(
    credential: TokenCredential, endpoints: Endpoints, vault: Mapping[str, Any], runner: Runner
) -> Any:
    """Your secret names once the vault lets you list them (None when it never did)."""
    import time

    started, wait = time.monotonic(), 1.0
    while True:
        found = vault_secret_names(credential, endpoints, vault)
        if found is not None:
            return found
        if time.monotonic() - started > SETTLE_SECONDS:
            runner.info("  the vault still refuses you: your role has not taken effect yet")
            return None
        runner.info(f"  waiting {wait:.0f} s for Key Vault Secrets Officer to take effect")
        time.sleep(wait)
        wait = min(10.0, wait * 2)


def _instructions(config: SetupConfig, names: tuple[str, str]) -> str:
    vault, registry = config.key_vault, config.registry
    scope = config.registry_id
    return f"""\
The vault {vault} has no pull credentials yet. Make a pull-only principal and put its password
straight into the vault (it never reaches a command line or a file):

  az ad sp create-for-rbac --name "{registry}-pull" --role AcrPull --scopes "{scope}" \\
    --query password --output tsv | tr -d '\\n' |
    az keyvault secret set --vault-name "{vault}" --name "{names[1]}" --file /dev/stdin --output none
  az keyvault secret set --vault-name "{vault}" --name "{names[0]}" --output none \\
    --value "$(az ad sp list --display-name "{registry}-pull" --query '[0].appId' --output tsv)"

or rerun setup with {USERNAME_VARIABLE} and {PASSWORD_VARIABLE} in the environment (and
--pull-principal-id OBJECT_ID to grant that principal AcrPull)."""
