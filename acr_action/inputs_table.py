"""Every input of the action, once: the table that validation, masking, the CLI and action.yml follow.

One :class:`InputSpec` per input holds what is true of it whatever the run: its name as action.yml
spells it, the group of :class:`~acr_action.inputs.Inputs` it belongs to, its description, its static
default, whether it is required, secret or multi-line, the modes that use it, its choices and a
correct example for error messages, and the syntax rule of a single-line value (``inputs_rules``). The parser (``inputs.py``) reads its rules from here, the masking
(``inputs.secret_values``) masks every secret input listed here, ``python -m acr_action --help``
prints this table, and a unit test keeps ``action.yml`` identical to it.

Defaults that depend on the run (image name, tags, group name, DNS label, Key Vault secret names,
location) are computed by the parser; only static defaults are data here. The runner passes
action.yml's default as if the user had written it (actions/runner
``src/Runner.Worker/Handlers/Handler.cs``, ``AddInputsToEnvironment``), so the two must agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from acr_action.inputs_rules import (
    ACR_ID,
    ACR_NAME,
    CONTAINER_NAME,
    DNS_LABEL,
    DOMAIN_NAME,
    GROUP_NAME,
    GUID,
    IMAGE_NAME,
    IMAGE_REF,
    KEY_VAULT_SECRET,
    LOCATION,
    PLATFORM,
    RESOURCE_GROUP,
    STAGE,
    SUBSCRIPTION_ID,
    USER_IDENTITY,
    Rule,
    matches,
    parse_age,
    parse_duration,
    region_name,
    valid_https_url,
    valid_url_path,
    valid_vault,
)
from acr_action.loganalytics import EXAMPLE as WORKSPACE_EXAMPLE
from acr_action.loganalytics import WORKSPACE_ID
from acr_action.probes import EXAMPLES

__all__ = [
    "CLOUDS",
    "GITHUB_DEPLOYMENTS",
    "GROUPS",
    "IDLE_ACTIONS",
    "INPUTS",
    "MODES",
    "NETWORKS",
    "ON_FORK",
    "ON_IMMUTABLE_CHANGE",
    "ON_MAX_PREVIEWS",
    "OS_TYPES",
    "PRIORITIES",
    "PROTOCOLS",
    "RESTART_POLICIES",
    "SPECS",
    "Cloud",
    "GitHubDeployment",
    "Group",
    "InputSpec",
    "Mode",
    "OnFork",
    "OnImmutableChange",
    "OnMaxPreviews",
    "OsType",
    "Priority",
    "Protocol",
    "RestartPolicy",
    "env_key",
]

Mode = Literal["deploy", "build", "delete", "sweep"]
OnMaxPreviews = Literal["fail", "evict-oldest"]
IdleAction = Literal["delete", "stop"]
OnFork = Literal["fail", "notice"]
GitHubDeployment = Literal["auto", "true", "false"]
Cloud = Literal["AzureCloud", "AzureChinaCloud", "AzureUSGovernment"]
Protocol = Literal["TCP", "UDP"]
RestartPolicy = Literal["Always", "OnFailure", "Never"]
OsType = Literal["Linux", "Windows"]
OnImmutableChange = Literal["recreate", "fail"]
Priority = Literal["Regular", "Spot"]
Group = Literal[
    "auth", "target", "acr", "build", "secrets", "container", "waiting", "network", "tls", "preview"
]

# The first choice of each is the input's static default.
MODES: tuple[Mode, ...] = ("deploy", "build", "delete", "sweep")
ON_MAX_PREVIEWS: tuple[OnMaxPreviews, ...] = ("fail", "evict-oldest")
IDLE_ACTIONS: tuple[IdleAction, ...] = ("delete", "stop")
ON_FORK: tuple[OnFork, ...] = ("fail", "notice")
GITHUB_DEPLOYMENTS: tuple[GitHubDeployment, ...] = ("auto", "true", "false")
CLOUDS: tuple[Cloud, ...] = ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment")
PROTOCOLS: tuple[Protocol, ...] = ("TCP", "UDP")
RESTART_POLICIES: tuple[RestartPolicy, ...] = ("Always", "OnFailure", "Never")
OS_TYPES: tuple[OsType, ...] = ("Linux", "Windows")
ON_IMMUTABLE_CHANGE: tuple[OnImmutableChange, ...] = ("recreate", "fail")
PRIORITIES: tuple[Priority, ...] = ("Regular", "Spot")
NETWORKS: tuple[str, ...] = (
    "default",
    "none",
    "host",
)  # BuildKit's modes for RUN steps, no default

# The groups in the order action.yml and `--help` list them, with the heading `--help` prints;
# each but `target` (mode, resource group, location: needed by all) is a group of `Inputs`.
GROUPS: dict[Group, str] = {
    "auth": "Sign-in and cloud",
    "target": "Mode and target",
    "acr": "Registry",
    "build": "Image",
    "secrets": "Registry credentials and secrets",
    "container": "Container group",
    "waiting": "Waiting",
    "network": "Virtual network",
    "tls": "HTTPS",
    "preview": "Pull-request previews",
}


@dataclass(frozen=True)
class InputSpec:
    """What is true of one input in every run; ``inputs.py`` applies the rules that need the run."""

    name: str  # as action.yml spells it: lower case, words joined by `-`
    group: Group
    description: str  # action.yml's description, word for word
    example: str  # the YAML a user would put under `with:`, shown in every error about it
    default: str | None = None  # the static default; None: none, or one the parser computes
    # Not given: an existing group keeps its own value, and a new group gets this one. Not a
    # `default`, which the runner would pass as if the user had written it.
    new_group: str | None = None
    required: bool = False
    secret: bool = False  # masked before anything runs and never shown in a message
    multiline: bool = False  # may span lines; every other input must be one line
    modes: tuple[Mode, ...] = MODES  # the modes that use it; set in another, it is refused
    mode_note: str | None = (
        None  # why it is refused in the other modes, when "only applies" won't do
    )
    choices: tuple[str, ...] = ()  # the values it accepts, matched ignoring case
    rule: Rule | None = None  # what a single-line value must look like (checked by `valid`)

    @property
    def env_key(self) -> str:
        """The environment variable the runner sets for it (``INPUT_RESOURCE-GROUP``)."""
        return env_key(self.name)

    def refusal(self, mode: Mode) -> str:
        """Why the input is refused in ``mode``, which does not use it."""
        if self.mode_note is not None:
            return self.mode_note
        return f"only applies to mode: {' or '.join(self.modes)}, not {mode}"


def env_key(name: str) -> str:
    """The environment variable for an input: ``INPUT_`` + the name, spaces as ``_``, upper-cased.

    actions/runner ``src/Runner.Worker/Handlers/Handler.cs`` (``AddInputsToEnvironment``) keeps
    hyphens, so ``resource-group`` arrives as ``INPUT_RESOURCE-GROUP``.
    """
    return "INPUT_" + name.replace(" ", "_").upper()


# Every input, in action.yml's order.
INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "client-id",
        "auth",
        description=(
            "Application (client) ID of the Entra app or user-assigned identity with a federated "
            "credential for this repository (OIDC sign-in, needs `permissions: id-token: write`). Give"
            " all three of client-id, tenant-id and subscription-id, or `creds`, or none (outside "
            "GitHub Actions: the Azure CLI login or AZURE_* environment credentials)."
        ),
        example="client-id: 0f8fad5b-d9cb-469f-a165-70867728950e",
        rule=Rule(GUID.fullmatch, "must be the app's Application (client) ID, a GUID"),
    ),
    InputSpec(
        "tenant-id",
        "auth",
        description="Directory (tenant) ID for OIDC sign-in.",
        example="tenant-id: 72f988bf-86f1-41af-91ab-2d7cd011db47",
        rule=Rule(
            lambda value: bool(GUID.fullmatch(value) or DOMAIN_NAME.fullmatch(value)),
            "must be the Directory (tenant) ID, a GUID (or the tenant's domain name)",
        ),
    ),
    InputSpec(
        "subscription-id",
        "auth",
        description="Subscription ID that holds the resource group, registry and vault.",
        example="subscription-id: 2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11",
        rule=SUBSCRIPTION_ID,
    ),
    InputSpec(
        "creds",
        "auth",
        description=(
            'Service principal JSON `{"clientId", "clientSecret", "tenantId", "subscriptionId"}` '
            "(Azure/login's format) for runners without OIDC. Cannot be combined with "
            "client-id/tenant-id/subscription-id."
        ),
        example=(
            'creds: ${{ secrets.AZURE_CREDENTIALS }}  # {"clientId": "…", "clientSecret": "…", '
            '"tenantId": "…", "subscriptionId": "…"}'
        ),
        secret=True,
        multiline=True,
    ),
    InputSpec(
        "environment",
        "auth",
        description="Azure cloud, one of AzureCloud, AzureChinaCloud, AzureUSGovernment.",
        example="environment: AzureUSGovernment  # or AzureCloud, AzureChinaCloud",
        default="AzureCloud",
        choices=CLOUDS,
    ),
    InputSpec(
        "resource-manager-endpoint",
        "auth",
        description=(
            "https URL of a custom cloud's Resource Manager (Azure Stack Hub, the local emulator); the"
            " action reads `{endpoint}/metadata/endpoints` for the authority host, audiences and DNS "
            "suffixes. Overrides `environment`. Azure Stack Hub has no Container Instances: there, "
            "only `mode: build` (push to its registry) works."
        ),
        example="resource-manager-endpoint: https://management.local.azurestack.external",
        rule=Rule(valid_https_url, "must be an https:// URL"),
    ),
    InputSpec(
        "audience",
        "auth",
        description="Audience of the GitHub OIDC token; must match the federated credential.",
        example="audience: api://AzureADTokenExchange",
        default="api://AzureADTokenExchange",
    ),
    InputSpec(
        "mode",
        "target",
        description=(
            "deploy (build, push and deploy), build (build and push only), delete (remove the "
            "container group; succeeds if it is already gone) or sweep (delete previews of closed pull"
            " requests)."
        ),
        example="mode: deploy  # or build, delete, sweep",
        default="deploy",
        choices=MODES,
    ),
    InputSpec(
        "resource-group",
        "target",
        description="Resource group of the container group (and, by default, of the registry).",
        example="resource-group: my-app-rg",
        required=True,
        rule=Rule(
            RESOURCE_GROUP.fullmatch,
            "must be 1-90 letters, digits, `_`, `-`, `.`, `(` or `)`, not ending with `.`",
        ),
    ),
    InputSpec(
        "location",
        "target",
        description="Azure region of the container group. Default is the resource group's location.",
        example="location: westeurope",
        rule=Rule(
            LOCATION.fullmatch,
            "must be an Azure region name such as westeurope (`az account list-locations -o table`)",
            normalize=region_name,
        ),
    ),
    InputSpec(
        "registry",
        "acr",
        description=(
            "Name of the Azure Container Registry (not its login server, which is read from Azure), or"
            " its resource ID when it is in another resource group or subscription. Required unless "
            "`image` is given or mode is delete."
        ),
        example="registry: mycompanyacr  # the registry's name, not its login server",
        rule=Rule(
            lambda value: ACR_NAME.fullmatch(value) or ACR_ID.fullmatch(value),
            "must be the registry's name: 5-50 letters and digits (not its login server), or its "
            "resource ID (`az acr show --name <registry> --query id --output tsv`)",
        ),
    ),
    InputSpec(
        "registry-resource-group",
        "acr",
        description="Resource group of the registry, when it is not in `resource-group`.",
        example="registry-resource-group: shared-registry-rg",
        rule=Rule(
            RESOURCE_GROUP.fullmatch,
            "must be the registry's resource group: 1-90 letters, digits, `_`, `-`, `.`, `(` or `)`, "
            "not ending with `.`",
        ),
    ),
    InputSpec(
        "registry-subscription-id",
        "acr",
        description=(
            "Subscription ID of the registry, when it is not in `subscription-id` (the identity needs "
            "its roles there as well)."
        ),
        example="registry-subscription-id: 6d1f3b2a-4c5e-4f7a-9b8c-0d1e2f3a4b5c",
        rule=SUBSCRIPTION_ID,
    ),
    InputSpec(
        "image-name",
        "build",
        description=(
            "Repository of the image in the registry. Default is the GitHub repository's name, "
            "lower-cased."
        ),
        example="image-name: my-team/web-app",
        rule=Rule(
            matches(IMAGE_NAME, 200),
            "must be lower-case letters and digits separated by `.`, `_`, `__`, `-` or `/`",
        ),
    ),
    InputSpec(
        "tags",
        "build",
        description=(
            "Image tags, newline or comma separated. Default is `sha-<7 hex>` (of the PR's head "
            "commit on pull_request events), plus `pr-<N>` on pull_request events, the sanitized "
            "branch name on branch pushes, the tag on tag pushes."
        ),
        example=("tags: |\n  latest\n  v1.2.3"),
        multiline=True,
    ),
    InputSpec(
        "context",
        "build",
        description="Build context directory.",
        example="context: ./web",
        default=".",
    ),
    InputSpec(
        "dockerfile",
        "build",
        description="Path of the Dockerfile. Default is `Dockerfile` in the context.",
        example="dockerfile: ./web/Dockerfile",
    ),
    InputSpec(
        "build-args",
        "build",
        description=(
            "Build arguments, one `KEY=VALUE` per line (split at the first `=`, value kept as "
            "written)."
        ),
        example=("build-args: |\n  PYTHON_VERSION=3.11\n  GREETING=hello world"),
        multiline=True,
    ),
    InputSpec(
        "cache-from",
        "build",
        description=(
            "Build cache sources, one per line in docker/build-push-action's syntax: an image "
            "reference, or `type=registry,ref=<image>` (also `local`, `gha`, `s3`, `azblob`). "
            "Default: the image's own moving tags in the registry (the branch tag; on a pull "
            "request `pr-<N>` then the base branch's tag). `docker build` reads registry caches only."
        ),
        example="cache-from: |\n  type=registry,ref=myregistry.azurecr.io/app:main",
        multiline=True,
    ),
    InputSpec(
        "cache-to",
        "build",
        description=(
            "Build cache destinations, one per line in docker/build-push-action's syntax "
            "(`type=inline`, `type=registry,ref=<image>,mode=max`, ...). Default: `type=inline`, "
            "the cache inside the pushed image. `docker build` can export no other kind: those "
            "fall back to `type=inline`, said once in the log."
        ),
        example="cache-to: type=inline",
        multiline=True,
    ),
    InputSpec(
        "build-secrets",
        "build",
        description=(
            "Build secrets, one `id=value` per line (docker/build-push-action's `secrets`), for "
            "`RUN --mount=type=secret,id=<id>`. Masked; handed to BuildKit through the Docker "
            "CLI's environment, never a command line, a layer or a file."
        ),
        example="build-secrets: |\n  npm_token=${{ secrets.NPM_TOKEN }}",
        secret=True,
        multiline=True,
    ),
    InputSpec(
        "build-secrets-from-key-vault",
        "build",
        description=(
            "Build secrets read from key-vault, one `id=secret-name` per line, for "
            "`RUN --mount=type=secret,id=<id>`: masked as they arrive and handed over like "
            "build-secrets, so no workflow secret is needed. Needs key-vault."
        ),
        example="build-secrets-from-key-vault: |\n  npm_token=npm-read-token",
        multiline=True,
    ),
    InputSpec(
        "ssh",
        "build",
        description=(
            "SSH agent sockets or private keys for `RUN --mount=type=ssh,id=<id>`, one "
            "`<id>=<path>[,<path>]` per line (docker/build-push-action's `ssh`). Paths are "
            "relative to the workspace or under /github/runner_temp: the action's container sees "
            "nothing else of the runner, so `default` alone needs `SSH_AUTH_SOCK` under "
            "`${{ runner.temp }}`. Key files: unencrypted, outside the build context."
        ),
        example="ssh: |\n  github=/github/runner_temp/deploy_key",
        multiline=True,
    ),
    InputSpec(
        "ssh-keys-from-key-vault",
        "build",
        description=(
            "SSH private keys read from key-vault for `RUN --mount=type=ssh,id=<id>`, one "
            "`<id>=<secret-name>[,<secret-name>]` per line: masked as they arrive and written "
            "0600 to a private folder removed right after the build, on no command line and in "
            "no layer. Needs key-vault."
        ),
        example="ssh-keys-from-key-vault: |\n  github=github-deploy-key",
        multiline=True,
    ),
    InputSpec(
        "target",
        "build",
        description="Build stage to build (`FROM ... AS <target>`).",
        example="target: runtime",
        rule=Rule(STAGE.fullmatch, "must be a build stage name (`FROM … AS name`)"),
    ),
    InputSpec(
        "labels",
        "build",
        description=(
            "Extra image labels, one `KEY=VALUE` per line. The OCI labels source, revision and created"
            " are always added."
        ),
        example=("labels: |\n  org.opencontainers.image.title=Web app\n  com.example.team=web"),
        multiline=True,
    ),
    InputSpec(
        "platform",
        "build",
        description="Platform to build for; must match os-type.",
        example="platform: linux/amd64",
        default="linux/amd64",
        rule=Rule(PLATFORM.fullmatch, "must be one platform such as linux/amd64 or linux/arm64"),
    ),
    InputSpec(
        "network",
        "build",
        description="Network for RUN instructions during the build, one of default, none, host.",
        example="network: host  # or none, default",
        choices=NETWORKS,
    ),
    InputSpec(
        "image",
        "build",
        description=(
            "Deploy this existing image (e.g. `myacr.azurecr.io/app:1.2` or `...@sha256:...`) instead "
            "of building one. Cannot be combined with build inputs."
        ),
        example="image: mcr.microsoft.com/azuredocs/aci-helloworld:latest",
        modes=("deploy", "delete", "sweep"),
        mode_note="cannot be used with mode: build, which builds the image itself",
        rule=Rule(
            matches(IMAGE_REF, 255),
            "must be an image reference such as registry.example.com/team/app:tag or …@sha256:…",
        ),
    ),
    InputSpec(
        "registry-identity",
        "secrets",
        description=(
            "Resource ID of a user-assigned managed identity with AcrPull on the registry: "
            "Container Instances pulls the image with it (no password, nothing that expires). The "
            "action attaches it to the group; no pull credentials are read from Key Vault."
        ),
        example=(
            "registry-identity: /subscriptions/2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11/resourceGroups"
            "/my-app-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/my-app-pull"
        ),
        modes=("deploy",),
        rule=USER_IDENTITY,
    ),
    InputSpec(
        "key-vault",
        "secrets",
        description=(
            "Key Vault (name or https URL) that holds the registry pull credentials and the secrets "
            "named in secrets-from-key-vault."
        ),
        example="key-vault: my-app-kv  # or https://my-app-kv.vault.azure.net",
        rule=Rule(
            valid_vault,
            "must be a vault name (3-24 letters, digits and single `-`, starting with a letter) "
            "or its https:// URL",
        ),
    ),
    InputSpec(
        "registry-username-secret",
        "secrets",
        description=(
            "Key Vault secret with the pull username. Default is `<registry>-pull-usr` when key-vault "
            "is set."
        ),
        example="registry-username-secret: mycompanyacr-pull-usr",
        rule=KEY_VAULT_SECRET,
    ),
    InputSpec(
        "registry-password-secret",
        "secrets",
        description=(
            "Key Vault secret with the pull password. Default is `<registry>-pull-pwd` when key-vault "
            "is set."
        ),
        example="registry-password-secret: mycompanyacr-pull-pwd",
        rule=KEY_VAULT_SECRET,
    ),
    InputSpec(
        "secrets-from-key-vault",
        "secrets",
        description=(
            "Key Vault secrets to inject as secure environment variables, one `ENV_NAME=secret-name` "
            "per line. Needs key-vault."
        ),
        example=("secrets-from-key-vault: |\n  DATABASE_URL=database-url\n  API_KEY=api-key"),
        multiline=True,
    ),
    InputSpec(
        "registry-username",
        "secrets",
        description="Registry pull username when not using key-vault (Azure/aci-deploy compatible).",
        example="registry-username: ${{ vars.REGISTRY_USERNAME }}",
    ),
    InputSpec(
        "registry-password",
        "secrets",
        description="Registry pull password when not using key-vault (pass it from a secret).",
        example="registry-password: ${{ secrets.REGISTRY_PASSWORD }}",
        secret=True,
    ),
    InputSpec(
        "name",
        "container",
        description=(
            "Name of the container group. Default is the repository's name, or `<repo>-pr-<N>` on "
            "pull_request events."
        ),
        example="name: my-app-pr-42",
        rule=Rule(
            matches(GROUP_NAME, 63),
            "must be 1-63 lower-case letters, digits and single `-`, not starting or ending with `-`",
        ),
    ),
    InputSpec(
        "dns-name-label",
        "container",
        description=(
            "DNS name label of the group's public IP. Not given: the existing group's (none for a "
            "private one); for a new group, derived from the name plus a short stable hash, unique "
            "per region and not guessable."
        ),
        example="dns-name-label: my-app-7f3a9c21",
        rule=Rule(
            DNS_LABEL.fullmatch,
            "must be 5-63 lower-case letters, digits and `-`, starting with a letter and ending "
            "with a letter or digit",
        ),
    ),
    InputSpec(
        "dns-label-salt",
        "container",
        description="Optional secret mixed into the default dns-name-label's hash so nobody can predict it.",
        example="dns-label-salt: ${{ secrets.DNS_LABEL_SALT }}",
        secret=True,
    ),
    InputSpec(
        "cpu",
        "container",
        description="CPU cores of the container, 0.1 to 4. Not given: the existing group's, 1 for a new group.",
        example="cpu: 0.5  # 0.1 to 4",
        new_group="1",
    ),
    InputSpec(
        "memory",
        "container",
        description=(
            "Memory of the container in GB, 0.1 to 16 in steps of 0.1. Not given: the existing "
            "group's, 1.5 for a new group."
        ),
        example="memory: 1.5  # GB, 0.1 to 16 in steps of 0.1",
        new_group="1.5",
    ),
    InputSpec(
        "ports",
        "container",
        description=(
            "Ports to open, separated by spaces, commas or newlines; a suffix gives one port its "
            "own protocol (`80, 53/udp`). Not given: the existing group's, 80 for a new group."
        ),
        example="ports: 80, 443, 53/udp",
        new_group="80",
        multiline=True,
    ),
    InputSpec(
        "protocol",
        "container",
        description=(
            "Protocol of the ports without a `/tcp` or `/udp` suffix, TCP or UDP. Not given: the "
            "existing group's, TCP for a new group."
        ),
        example="protocol: TCP  # or UDP",
        new_group="TCP",
        choices=PROTOCOLS,
    ),
    InputSpec(
        "environment-variables",
        "container",
        description=(
            "Environment variables, one `KEY=VALUE` per line. The value is everything after the first "
            "`=`, kept exactly (spaces, quotes, `=` and `#` included); blank lines and lines starting "
            "with `#` are skipped."
        ),
        example=(
            "environment-variables: |\n"
            "  GREETING=hello world\n"
            "  DATABASE_URL=postgres://db:5432/app?sslmode=require"
        ),
        multiline=True,
    ),
    InputSpec(
        "secure-environment-variables",
        "container",
        description="Secure environment variables (hidden in Azure), one `KEY=VALUE` per line.",
        example=("secure-environment-variables: |\n  API_KEY=${{ secrets.API_KEY }}"),
        secret=True,
        multiline=True,
    ),
    InputSpec(
        "command-line",
        "container",
        description="Command to run instead of the image's, as shell words or a JSON array of strings.",
        example='command-line: python -m app --port 80  # or a JSON array: ["python", "-m", "app"]',
        multiline=True,
    ),
    InputSpec(
        "volumes",
        "container",
        description=(
            "Volumes of the group, one `NAME: KIND OPTIONS` per line: `azure-file account=<storage "
            "account> share=<share>` (the key read through ARM listKeys, or `key-secret=<Key Vault "
            "secret>`; `resource-group=`, `read-only`), `empty-dir`, or `secret "
            "key-vault-secrets=<secret>[,<file>=<secret>...]` (files from Key Vault). Linux only. "
            "Volumes not named here stay as they are."
        ),
        example=(
            "volumes: |\n"
            "  data: azure-file account=mystorage share=app-data\n"
            "  cache: empty-dir\n"
            "  config: secret key-vault-secrets=app-config,tls.crt=tls-cert"
        ),
        multiline=True,
    ),
    InputSpec(
        "volume-mounts",
        "container",
        description=(
            "Mounts of the app container, one `NAME:PATH` per line, `:ro` after it for read-only "
            "(NAME: a volume of `volumes` or of the existing group). Not given: the container "
            "keeps the mounts it has."
        ),
        example="volume-mounts: |\n  data:/mnt/data\n  config:/etc/app:ro",
        multiline=True,
    ),
    InputSpec(
        "restart-policy",
        "container",
        description=(
            "Restart policy of the group, one of Always, OnFailure, Never. Not given: the existing "
            "group's, Always for a new group."
        ),
        example="restart-policy: OnFailure  # Always, OnFailure or Never",
        new_group="Always",
        choices=RESTART_POLICIES,
    ),
    InputSpec(
        "os-type",
        "container",
        description="OS of the container group, Linux or Windows.",
        example="os-type: Linux  # or Windows",
        default="Linux",
        choices=OS_TYPES,
    ),
    InputSpec(
        "liveness-probe",
        "container",
        description=(
            "Liveness probe that ACI runs in the container (it restarts the container after "
            "failure-threshold failures): `http-get PATH [port=N] [scheme=https]` or `exec COMMAND`"
            ", then options initial-delay=, period=, failure-threshold=, timeout= (seconds or "
            "counts); `none` removes it. Not given: the existing group's."
        ),
        example=EXAMPLES["liveness"],
    ),
    InputSpec(
        "readiness-probe",
        "container",
        description=(
            "Readiness probe that ACI runs in the container (the container counts as ready only "
            "while it passes), in liveness-probe's syntax, also with success-threshold=; `none` "
            "removes it. Not given: the existing group's."
        ),
        example=EXAMPLES["readiness"],
    ),
    InputSpec(
        "priority",
        "container",
        description=(
            "Regular or Spot. Spot is up to 70% cheaper but can be evicted (the group restarts) "
            "and gets no IP address: nothing can reach it, so it cannot serve a preview; only for "
            "workers that need no inbound connection. Not given: the existing group's, Regular "
            "for a new group."
        ),
        example="priority: Regular  # or Spot: no IP address, for workers only",
        choices=PRIORITIES,
    ),
    InputSpec(
        "log-analytics-workspace",
        "container",
        description=(
            "Resource ID of a Log Analytics workspace to send the containers' logs to; its ID and "
            "primary key are read through ARM (masked). Not given: the existing group's (whose "
            "key a GET never returns, so such a group needs this input to be deployed)."
        ),
        example=WORKSPACE_EXAMPLE,
        rule=Rule(
            WORKSPACE_ID.fullmatch,
            "must be the resource ID of a Microsoft.OperationalInsights/workspaces workspace",
        ),
    ),
    InputSpec(
        "resource-tags",
        "container",
        description="Azure tags of the container group, one `KEY=VALUE` per line.",
        example=("resource-tags: |\n  team=web\n  cost-center=1234"),
        multiline=True,
    ),
    InputSpec(
        "identity",
        "container",
        description=(
            "Managed identities of the app, separated by commas or newlines: `system` (the group's"
            " system-assigned identity) and/or resource IDs of user-assigned ones. Only added: "
            "identities already on the group stay, and leaving this out changes none."
        ),
        example=(
            "identity: |\n  system\n  /subscriptions/2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11/"
            "resourceGroups/my-app-rg/providers/Microsoft.ManagedIdentity/"
            "userAssignedIdentities/my-app"
        ),
        modes=("deploy",),
        multiline=True,
    ),
    InputSpec(
        "spec-file",
        "container",
        description=(
            "Path of a container group file in the format of `az container create --file` (YAML, "
            "or ARM JSON: the resource or its properties) for sidecars, init containers, volumes, "
            "GPUs, zones and the rest. The action sets the app container's image, its injected "
            "environment and its tags; an input given wins over the file, and what the file does "
            "not state is kept from the existing group."
        ),
        example="spec-file: deploy/aci.yaml",
        modes=("deploy",),
    ),
    InputSpec(
        "container-name",
        "container",
        description=(
            "Name of the app container, the one whose image the action deploys. Default is the "
            "first container of spec-file, else the group's name."
        ),
        example="container-name: web",
        modes=("deploy",),
        rule=Rule(
            matches(CONTAINER_NAME, 63),
            "must be 1-63 lower-case letters, digits and `-`, starting and ending with a letter or"
            " digit",
        ),
    ),
    InputSpec(
        "on-immutable-change",
        "container",
        description=(
            "What to do when cpu, memory, OS type or restart policy change, which ACI cannot update in"
            " place: recreate (delete and create the group) or fail."
        ),
        example="on-immutable-change: recreate  # or fail",
        default="recreate",
        choices=ON_IMMUTABLE_CHANGE,
    ),
    InputSpec(
        "wait",
        "waiting",
        description="Wait until every container is Running and the HTTP readiness check passes.",
        example="wait: false",
        default="true",
    ),
    InputSpec(
        "timeout",
        "waiting",
        description="Time limit of the whole run, e.g. 600, 90s, 10m or 1h30m.",
        example="timeout: 15m  # or 900, 1h30m, 90s",
        default="10m",
        rule=Rule(
            lambda value: (parse_duration(value) or 0) > 0,
            "must be a positive duration such as 600, 90s, 10m or 1h30m",
        ),
    ),
    InputSpec(
        "health-check-path",
        "waiting",
        description=(
            "Path probed over HTTP (with the FQDN as Host) until it answers below 500. Set to '' to "
            "turn the check off."
        ),
        example="health-check-path: /healthz  # '' turns the check off",
        default="/",
        rule=Rule(valid_url_path, "must be a URL path starting with `/`, without spaces"),
    ),
    InputSpec(
        "subnet-ids",
        "network",
        description=(
            "Resource IDs of the subnets to deploy into (a virtual network; the group gets a private"
            " IP), separated by commas or lines. The subnet must be delegated to"
            " Microsoft.ContainerInstance/containerGroups and be in the group's subscription. Not"
            " given: the existing group's subnets (none for a new group)."
        ),
        example=(
            "subnet-ids: /subscriptions/2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11/resourceGroups/network"
            "/providers/Microsoft.Network/virtualNetworks/app-vnet/subnets/aci"
        ),
        multiline=True,
        modes=("deploy",),
    ),
    InputSpec(
        "ip-address",
        "network",
        description=(
            "IP address type: Public, or Private (needs subnet-ids or a group already in a subnet;"
            " no DNS label). Not given: the existing group's (Private with subnet-ids, else Public"
            " for a new group)."
        ),
        example="ip-address: Private",
        choices=("Public", "Private"),
        modes=("deploy",),
    ),
    InputSpec(
        "dns-config",
        "network",
        description=(
            "DNS settings of the group in resolv.conf lines: `nameserver <IP>` (one or more),"
            " `search <domain>...`, `options <option>...`. Groups in a virtual network do not take"
            " its DNS settings. Not given: the existing group's."
        ),
        example=(
            "dns-config: |\n  nameserver 10.0.0.10\n  search internal.contoso.com\n  options ndots:2"
        ),
        multiline=True,
        modes=("deploy",),
    ),
    InputSpec(
        "health-check-url",
        "network",
        description=(
            "http:// URL probed instead of the group's own address (with the URL's host as Host)."
            " A private group is not probed without it, since the runner cannot reach a private"
            " address: give one the runner can reach (a runner in the virtual network, a gateway)."
        ),
        example="health-check-url: http://10.0.2.4:8080/healthz",
        modes=("deploy",),
    ),
    InputSpec(
        "tls",
        "tls",
        description=(
            "off, or auto: a Caddy proxy container in the group gets a certificate for the FQDN"
            " over ACME and serves HTTPS on 443 (HTTP on 80 redirects), forwarding to the app's"
            " first port, which is no longer public; url becomes https://<fqdn>. Its 0.1 cpu and"
            " 0.1 GB are taken from cpu/memory. Not given: a proxy the group has stays."
        ),
        example="tls: auto",
        choices=("off", "auto"),
        modes=("deploy",),
    ),
    InputSpec(
        "acme-directory",
        "tls",
        description="ACME directory URL the proxy orders its certificate from. Default is Let's Encrypt production.",
        example="acme-directory: https://acme-staging-v02.api.letsencrypt.org/directory",
        modes=("deploy",),
        rule=Rule(valid_https_url, "must be an https:// URL"),
    ),
    InputSpec(
        "acme-email",
        "tls",
        description="E-mail address of the ACME account (expiry notices).",
        example="acme-email: ops@example.com",
        modes=("deploy",),
    ),
    InputSpec(
        "tls-proxy-image",
        "tls",
        description="Image of the TLS proxy (Caddy 2). Default is docker.io/library/caddy:2.6.2; pin it by digest.",
        example="tls-proxy-image: docker.io/library/caddy:2.6.2",
        modes=("deploy",),
    ),
    InputSpec(
        "acme-ca-root",
        "tls",
        description=(
            "PEM certificate the proxy trusts for the ACME directory's own HTTPS: only for a"
            " private ACME server whose certificate is not publicly trusted."
        ),
        example="acme-ca-root: ${{ vars.ACME_CA_ROOT }}",
        multiline=True,
        modes=("deploy",),
    ),
    InputSpec(
        "basic-auth",
        "tls",
        description="With tls: auto, a user name: the proxy asks for it and the password of basic-auth-password-secret.",
        example="basic-auth: reviewer\nbasic-auth-password-secret: preview-password",
        modes=("deploy",),
    ),
    InputSpec(
        "basic-auth-password-secret",
        "tls",
        description=(
            "Key Vault secret (in key-vault) with the basic-auth password; masked, and passed only"
            " as the proxy's secure environment variable."
        ),
        example="basic-auth-password-secret: preview-password",
        modes=("deploy",),
        rule=KEY_VAULT_SECRET,
    ),
    InputSpec(
        "tls-storage",
        "tls",
        description=(
            "With tls: auto, an Azure Files share as <storage account>/<share> (the account in"
            " resource-group; its key read through listKeys and masked) mounted at the proxy's"
            " storage, so its certificate survives redeploys and restarts. Without it each"
            " redeploy orders a new certificate. Not given: a share the proxy has stays."
        ),
        example="tls-storage: mystorage/preview-certs",
        modes=("deploy",),
    ),
    InputSpec(
        "comment-on-pr",
        "preview",
        description=(
            "Keep one comment on the pull request with the preview's URL, commit, digest and state, "
            "updated on every deploy and on delete. Needs github-token with `pull-requests: write`."
        ),
        example="comment-on-pr: true  # needs github-token and permissions: pull-requests: write",
        default="false",
        modes=("deploy", "delete", "sweep"),
        mode_note="has no effect with mode: build, which deploys nothing",
    ),
    InputSpec(
        "github-token",
        "preview",
        description=(
            "Token for the GitHub REST API at GITHUB_API_URL (pass `${{ github.token }}`): writes the "
            "preview comment and the GitHub deployment, and lets mode sweep read pull request "
            "states."
        ),
        example="github-token: ${{ github.token }}",
        secret=True,
    ),
    InputSpec(
        "require-label",
        "preview",
        description=(
            "Previews only for pull requests with this label: a deploy for a pull request without "
            "it is skipped with a notice, before any Azure call, and mode sweep deletes the "
            "previews whose pull request lost it (it needs github-token then). Add `labeled` to "
            "the workflow's pull_request types so that adding the label deploys."
        ),
        example="require-label: preview",
        modes=("deploy", "sweep"),
    ),
    InputSpec(
        "github-deployment",
        "preview",
        description=(
            "auto (a GitHub deployment for each pull-request preview when github-token is given: "
            "the pull request shows View deployment; marked inactive on delete and sweep), true "
            "(for every deploy, also pushes), or false. Needs `permissions: deployments: write`."
        ),
        example="github-deployment: true  # or auto, false; needs permissions: deployments: write",
        default="auto",
        modes=("deploy", "delete", "sweep"),
        mode_note="has no effect with mode: build, which deploys nothing",
        choices=GITHUB_DEPLOYMENTS,
    ),
    InputSpec(
        "deployment-environment",
        "preview",
        description=(
            "Name of the GitHub environment the deployment goes to. Default: `pr-<N>` for a "
            "pull request (a transient environment), else `production`. Do not name the job's own "
            "`environment:`: GitHub already records a deployment for that job."
        ),
        example="deployment-environment: staging",
        modes=("deploy", "delete"),
    ),
    InputSpec(
        "delete-image-tag",
        "preview",
        description=(
            "With mode delete or sweep, also delete the pull request's `pr-<N>` image from the "
            "registry (its manifest, so every tag of that build). Needs registry and delete rights on "
            "it."
        ),
        example="delete-image-tag: true  # mode: delete or sweep; needs registry",
        default="false",
        modes=("delete", "sweep"),
    ),
    InputSpec(
        "max-previews",
        "preview",
        description=(
            "Most preview container groups the resource group may hold (mode deploy, pull requests "
            "only). Default is no limit."
        ),
        example="max-previews: 10  # previews per resource group",
        modes=("deploy",),
    ),
    InputSpec(
        "on-max-previews",
        "preview",
        description=(
            "What a new preview does when max-previews is reached: fail, or evict-oldest (delete this "
            "repository's oldest preview first)."
        ),
        example="on-max-previews: evict-oldest  # or fail",
        default="fail",
        choices=ON_MAX_PREVIEWS,
        modes=("deploy",),
    ),
    InputSpec(
        "on-fork",
        "preview",
        description=(
            "What to do on a pull request from a fork, which gets no OIDC token: fail (exit 1 with the"
            " fix), or notice (exit 0 with a notice that the preview is skipped)."
        ),
        example="on-fork: notice  # or fail",
        default="fail",
        choices=ON_FORK,
        modes=("deploy", "build", "delete"),
        mode_note="has no effect with mode: sweep, which no pull request triggers",
    ),
    InputSpec(
        "max-age",
        "preview",
        description=(
            "Mode sweep: also delete previews older than this, e.g. 7d, 36h or 90m. Default is no age "
            "limit."
        ),
        example="max-age: 7d  # mode: sweep; or 36h, 90m",
        modes=("sweep",),
        rule=Rule(
            lambda value: (parse_age(value) or 0) > 0,
            "must be a positive age such as 7d, 36h, 1d12h or 90m",
        ),
    ),
    InputSpec(
        "max-idle",
        "preview",
        description=(
            "Mode sweep: also delete previews not deployed for this long (counted from the last "
            "deploy that changed the group, not from its creation), e.g. 2d, 36h or 90m. Default "
            "is no idle limit."
        ),
        example="max-idle: 2d  # mode: sweep; or 36h, 90m",
        modes=("sweep",),
        rule=Rule(
            lambda value: (parse_age(value) or 0) > 0,
            "must be a positive age such as 2d, 36h, 1d12h or 90m",
        ),
    ),
    InputSpec(
        "idle-action",
        "preview",
        description=(
            "Mode sweep, what to do with a preview idle longer than max-idle: delete, or stop "
            "(its containers are deallocated and billing stops; the next push starts it again)."
        ),
        example="idle-action: stop  # or delete; with max-idle",
        default="delete",
        choices=IDLE_ACTIONS,
        modes=("sweep",),
    ),
    InputSpec(
        "dry-run",
        "preview",
        description="Mode sweep, list what would be deleted and why, without deleting.",
        example="dry-run: true  # mode: sweep",
        default="false",
        modes=("sweep",),
    ),
    InputSpec(
        "sweep-concurrency",
        "preview",
        description="Mode sweep, how many deletes run at once, 1 to 32.",
        example="sweep-concurrency: 8  # mode: sweep, 1 to 32",
        default="8",
        modes=("sweep",),
    ),
)

SPECS: dict[str, InputSpec] = {spec.name: spec for spec in INPUTS}
