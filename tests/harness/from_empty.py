"""From an empty subscription: `setup` as a laptop runs it, then `doctor`, against the local Azure.

Shared by the demo (`scripts/demo.sh --from-empty`) and the e2e test of the same path. The laptop
signs in as the empty seed's one Owner (environment credentials, the way `az`-less laptops and
`setup` in a pipeline do); the pull principal's credentials reach `setup` only through its
environment, as the README shows.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from acr_action.__main__ import main
from localazure.server import Emulator
from localazure.state import App, Seed

PULL_ID = "b0b00000-0000-4000-8000-000000000003"
PULL_OID = "b0b00000-0000-4000-8000-0000000000ab"
PULL_SECRET = "Pu11~PrincipalSecret.Local-0003"
REPO = "octo-org/iris-api"
NAMES = ("--resource-group", "iris-rg", "--registry", "irisacr", "--location", "westeurope")


def empty_seed() -> Seed:
    """No resources, unregistered providers, one Owner, and the pull principal's app."""
    seed = Seed.empty()
    seed.apps.append(App(PULL_ID, "irisacr-pull", object_id=PULL_OID, secret=PULL_SECRET))
    return seed


def laptop_env(azure: Emulator) -> dict[str, str]:
    """The laptop's environment: the Owner's credentials and the local Azure's CA.

    The caller also puts these into `os.environ` (a test through monkeypatch): the Azure SDK's
    EnvironmentCredential and `requests` read the process environment, not the one passed on.
    """
    admin = azure.seed.apps[0]
    return {
        "PATH": "/usr/bin:/bin",
        "AZURE_CLIENT_ID": admin.client_id,
        "AZURE_CLIENT_SECRET": str(admin.secret),
        "AZURE_TENANT_ID": azure.seed.tenant_id,
        "REQUESTS_CA_BUNDLE": str(azure.ca_path),
    }


def laptop(azure: Emulator, command: str, *extra: str, env: dict[str, str] | None = None) -> str:
    """Run `python -m acr_action COMMAND` for the iris API; its output (raises if it failed)."""
    argv = [
        command,
        *("--repo", REPO, *NAMES, "--resource-manager-endpoint", azure.arm_url),
        *("--subscription-id", azure.state.subscription_id, "--oidc-issuer", azure.oidc_issuer),
        *extra,
    ]
    out = io.StringIO()
    code = main({**laptop_env(azure), **(env or {})}, argv=argv, out=out)
    if code != 0:
        raise RuntimeError(f"acr_action {command} exited {code}:\n{out.getvalue()}")
    return out.getvalue()


def set_up(azure: Emulator, workflows: Path) -> dict[str, str]:
    """`setup --write-workflows`; the repository variables it prints (`gh variable set`)."""
    pull = {"ACR_ACTION_PULL_USERNAME": PULL_ID, "ACR_ACTION_PULL_PASSWORD": PULL_SECRET}
    printed = laptop(
        azure,
        "setup",
        *("--write-workflows", str(workflows), "--pull-principal-id", PULL_OID),
        env=pull,
    )
    return dict(re.findall(r"gh variable set (\w+) --repo \S+ --body (\S+)", printed))


def inputs_from(variables: dict[str, str]) -> dict[str, str]:
    """The deploy step's inputs, from the repository variables, as the written workflow has them."""
    return {
        "client-id": variables["AZURE_CLIENT_ID"],
        "tenant-id": variables["AZURE_TENANT_ID"],
        "subscription-id": variables["AZURE_SUBSCRIPTION_ID"],
        "resource-group": variables["AZURE_RESOURCE_GROUP"],
        "registry": variables["AZURE_REGISTRY"],
        "key-vault": variables["AZURE_KEY_VAULT"],
    }
