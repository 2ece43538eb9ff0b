"""Values and helpers that several unit test modules share (test modules never import each other).

A push-to-main step of a fixed repository, the credentials the tests hand to the action (fake
but well-formed) and the environment the runner builds from them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from acr_action import workflows
from acr_action.inputs import env_key
from acr_action.inputs_table import INPUTS
from acr_action.roles import ROLE_IDS, Assignment
from acr_action.setup import DEPLOYER, PROVIDERS, Observed, SetupConfig

SHA = "0123456789abcdef0123456789abcdef01234567"
CLIENT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUBSCRIPTION_ID = "2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11"
SECRET = "Sup3r-S3cret-Value-9f2c"
CREDS = json.dumps(
    {
        "clientId": CLIENT_ID,
        "clientSecret": SECRET,
        "tenantId": TENANT_ID,
        "subscriptionId": SUBSCRIPTION_ID,
    }
)

GITHUB_PUSH = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_EVENT_NAME": "push",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_REF_NAME": "main",
    "GITHUB_SHA": SHA,
    "GITHUB_REPOSITORY": "octo-org/My-App",
    "GITHUB_REPOSITORY_OWNER": "octo-org",
    "GITHUB_RUN_ID": "123",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_API_URL": "https://api.github.com",
    "GITHUB_WORKSPACE": "/github/workspace",
    "GITHUB_ACTOR": "octocat",
}
REQUIRED = {"resource-group": "my-app-rg", "registry": "mycompanyacr", "key-vault": "mycompany-kv"}


def make_env(
    inputs: Mapping[str, str] | None = None, github: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment as the runner builds it for the action's container (without static defaults)."""
    env = dict(GITHUB_PUSH if github is None else github)
    for name, value in {**REQUIRED, **(inputs or {})}.items():
        env[env_key(name)] = value
    return env


def runner_env(inputs: Mapping[str, str] | None = None) -> dict[str, str]:
    """Like make_env, plus every static default the runner fills in from action.yml."""
    env = {spec.env_key: spec.default for spec in INPUTS if spec.default is not None}
    env.update(make_env(inputs))
    return env


# --------------------------------------------------------------------------- setup and doctor
# A finished `setup` as ARM shows it, and the configuration it was made for.

REPO = "octo-org/iris-api"
SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
DEPLOYER_OID = "11111111-2222-3333-4444-555555555555"
YOU_OID = "99999999-8888-7777-6666-555555555555"


def presented(*subjects: str) -> tuple[workflows.Presented, ...]:
    return tuple(workflows.Presented(s, "deploy.yml", "deploy", "test") for s in subjects)


def config(**changes: Any) -> SetupConfig:
    values: dict[str, Any] = {
        "repo": REPO,
        "subscription": SUB,
        "tenant": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "resource_group": "demo-rg",
        "location": "westeurope",
        "registry": "irisacr",
        "identity": "github-iris-api-deployer",
        "subjects": presented(f"repo:{REPO}:environment:production", f"repo:{REPO}:pull_request"),
        "key_vault": "irisacr-kv",
        "signed_in": YOU_OID,
    }
    values.update(changes)
    return SetupConfig(**values)


def complete(cfg: SetupConfig, **changes: Any) -> Observed:
    """What a finished setup looks like through ARM."""
    credentials = {
        f"c{i}": {
            "name": f"c{i}",
            "properties": {
                "issuer": workflows.ISSUER,
                "subject": p.subject,
                "audiences": [workflows.AUDIENCE],
            },
        }
        for i, p in enumerate(cfg.subjects)
    }
    grants = [
        (DEPLOYER_OID, "Contributor", cfg.group_id),
        (DEPLOYER_OID, "AcrPush", cfg.registry_id),
        (DEPLOYER_OID, "Key Vault Secrets User", cfg.vault_id),
        (YOU_OID, "Key Vault Secrets Officer", cfg.vault_id),
    ]
    values: dict[str, Any] = {
        "providers": {ns.lower(): "Registered" for ns in PROVIDERS},
        "group": {"location": "westeurope"},
        "registry": {"properties": {}},
        "identities": {DEPLOYER: {"properties": {"principalId": DEPLOYER_OID, "clientId": "c"}}},
        "credentials": credentials,
        "vault": {"properties": {"enableRbacAuthorization": True}},
        "assignments": tuple(Assignment(p, ROLE_IDS[r].lower(), s) for p, r, s in grants),
    }
    values.update(changes)
    return Observed(**values)
