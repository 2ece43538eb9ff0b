"""Every error class renders a title, an explanation, a fix and context, and never a secret."""

from __future__ import annotations

import inspect
import json
import re
import shlex

import pytest

from acr_action import errors
from acr_action.errors import (
    EXISTING_GROUP_READ,
    MISSING,
    ActionError,
    AuthError,
    AzureCallFailed,
    AzureServiceError,
    BuildFailed,
    CannotKeep,
    CloudLacksService,
    ContainerFailed,
    DependencyUnavailable,
    DeployError,
    DnsLabelTaken,
    EntraRefused,
    FederatedCredentialMismatch,
    ForkPullRequest,
    GitHubCallFailed,
    ImagePullRefused,
    ImmutableChange,
    InputError,
    InputProblem,
    KeyVaultForbidden,
    KeyVaultSecretMissing,
    NotReady,
    OidcTokenRefused,
    OidcUnavailable,
    OptionError,
    PermissionDenied,
    PreviewError,
    PreviewLimitReached,
    PreviewNameTaken,
    PushFailed,
    RecreateFailed,
    RegistryError,
    RegistryNetworkDenied,
    RegistryTokenRefused,
    ResourceMissing,
    StepTimeout,
    SubnetNotDelegated,
    SweepFailed,
    TooManyTags,
    display_value,
    untrusted_text,
)
from tests.runner_log import read_step
from tests.unit.support import CLIENT_ID

CLAIMS = {
    "sub": "repo:octo-org/my-app:ref:refs/heads/main",
    "aud": "api://AzureADTokenExchange",
    "iss": "https://token.actions.githubusercontent.com",
    "repository": "octo-org/my-app",
    "ref": "refs/heads/main",
    "job_workflow_ref": "octo-org/my-app/.github/workflows/deploy.yml@refs/heads/main",
}

# One instance of every concrete class, with the text its render must contain.
EXAMPLES = [
    pytest.param(
        PreviewLimitReached(3, "demo-rg", ["app-pr-1", "app-pr-2", "app-pr-3"]),
        ["max-previews", "evict-oldest", "`app-pr-2`"],
        id="preview-limit",
    ),
    pytest.param(
        PreviewNameTaken("app-pr-1", "alice/app", "bob/app"),
        ["alice/app", "name:"],
        id="preview-name-taken",
    ),
    pytest.param(
        GitHubCallFailed("GET pull request #7", 403, "Resource not accessible by integration"),
        ["pull-requests: write", "github-token"],
        id="github-call-failed",
    ),
    pytest.param(
        SweepFailed([("app-pr-9", "HTTP 500 InjectedFault")]),
        ["`app-pr-9`", "dry-run: true"],
        id="sweep-failed",
    ),
    pytest.param(
        InputError([InputProblem("cpu", "must be from 0.1 to 4", "cpu: 0.5", "9")]),
        ["`cpu`", "`9`", "cpu: 0.5"],
        id="input-error",
    ),
    pytest.param(
        OptionError([InputProblem("--repo", "is OWNER/NAME", "--repo octo-org/iris-api")]),
        ["Invalid options", "`--repo`", "options of the command"],
        id="option-error",
    ),
    pytest.param(OidcUnavailable(), ["id-token: write", "permissions:"], id="oidc-unavailable"),
    pytest.param(
        OidcTokenRefused(403, "api://AzureADTokenExchange", "forbidden"),
        ["HTTP 403", "id-token: write", "api://AzureADTokenExchange", "forbidden"],
        id="oidc-token-refused",
    ),
    pytest.param(
        ForkPullRequest("octo-org/my-app", "fork-owner/my-app"),
        [
            "if: github.event.pull_request.head.repo.full_name == github.repository",
            "fork-owner/my-app",
        ],
        id="fork-pull-request",
    ),
    pytest.param(
        FederatedCredentialMismatch(
            "AADSTS700213", "No matching federated identity", CLAIMS, CLIENT_ID
        ),
        [
            "az ad app federated-credential create",
            CLIENT_ID,
            CLAIMS["sub"],
            "`environment` | `MISSING`",
        ],
        id="federated-subject",
    ),
    pytest.param(
        EntraRefused("AADSTS7000215", "Invalid client secret provided.", CLIENT_ID),
        [f"az ad app credential reset --id '{CLIENT_ID}'", "Invalid client secret provided"],
        id="entra-bad-secret",
    ),
    pytest.param(
        PermissionDenied(
            "Microsoft.ContainerInstance/containerGroups/write",
            "/subscriptions/s/resourceGroups/rg",
            "11111111-2222-3333-4444-555555555555",
            "Contributor",
        ),
        [
            "az role assignment create",
            "--role 'Contributor'",
            "--scope '/subscriptions/s/resourceGroups/rg'",
        ],
        id="permission-denied",
    ),
    pytest.param(
        ResourceMissing("resource group", "my-app-rg", "ResourceGroupNotFound"),
        ["az group create --name my-app-rg", "ResourceGroupNotFound"],
        id="resource-missing",
    ),
    pytest.param(
        ResourceMissing("container registry", "myacr", "ResourceNotFound"),
        ["registry-resource-group", "az acr show --name myacr --query id", "az acr create"],
        id="registry-missing-maybe-elsewhere",
    ),
    pytest.param(
        KeyVaultSecretMissing("https://my-app-kv.vault.azure.net/", "mycompanyacr-pull-pwd"),
        ["az keyvault secret set --vault-name my-app-kv --name mycompanyacr-pull-pwd"],
        id="key-vault-secret-missing",
    ),
    pytest.param(
        KeyVaultForbidden("my-app-kv", CLIENT_ID),
        [
            "Key Vault Secrets User",
            "az keyvault show --name my-app-kv",
            f"--assignee '{CLIENT_ID}'",
            f"--spn '{CLIENT_ID}'",
        ],
        id="key-vault-forbidden",
    ),
    pytest.param(
        AzureCallFailed("Azure Resource Manager", 503, "ServiceUnavailable", "try later"),
        ["HTTP 503 ServiceUnavailable", "Re-running", "try later"],
        id="azure-call-failed",
    ),
    pytest.param(
        BuildFailed("[3/5] RUN pip install -r requirements.txt", "ERROR: no such file"),
        ["RUN pip install", "ERROR: no such file", "DOCKER_BUILDKIT=1 docker build"],
        id="build-failed",
    ),
    pytest.param(
        PushFailed(
            "myacr.azurecr.io/app:sha-0123456",
            "denied: requested access",
            "myacr",
            client_id=CLIENT_ID,
        ),
        ["AcrPush", "az acr show --name myacr", "denied: requested access", f"'{CLIENT_ID}'"],
        id="push-failed",
    ),
    pytest.param(
        PushFailed("myacr.azurecr.io/app:sha-0123456", "denied", "myacr", abac=True),
        [
            "--role 'Container Registry Repository Writer'",
            "AbacRepositoryPermissions",
            "ignores AcrPull, AcrPush and AcrDelete",
        ],
        id="push-failed-abac-registry",
    ),
    pytest.param(
        RegistryNetworkDenied(
            "myacr.azurecr.io",
            "client with IP '20.1.2.3' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.",
            registry="myacr",
            public_network_access="Enabled",
            default_action="Deny",
        ),
        [
            "HTTP 403 DENIED",
            "defaultAction: Deny",
            "not about roles",
            "self-hosted",
            "az acr network-rule add --name myacr --ip-address <runner-ip>",
            "client with IP '20.1.2.3' is not allowed access",
        ],
        id="registry-network-denied",
    ),
    pytest.param(
        RegistryNetworkDenied(
            "myacr.azurecr.io", "not allowed", registry="myacr", public_network_access="Disabled"
        ),
        ["Public network access is **disabled**", "--public-network-access Enabled"],
        id="registry-public-access-disabled",
    ),
    pytest.param(
        RegistryTokenRefused(
            "myacr.azurecr.io",
            [
                ("ACR audience", "Entra did not issue it: AADSTS500011"),
                (
                    "ARM audience",
                    "not tried: the registry's azureADAuthenticationAsArmPolicy is disabled",
                ),
            ],
            registry="myacr",
            arm_tokens_accepted=False,
        ),
        [
            "azureADAuthenticationAsArmPolicy",
            "https://containerregistry.azure.net",
            "az acr config authentication-as-arm update --registry myacr --status enabled",
            "- ACR audience: Entra did not issue it: AADSTS500011",
            "**AcrPush**",
        ],
        id="registry-token-refused-arm-disabled",
    ),
    pytest.param(
        RegistryTokenRefused(
            "myacr.azurecr.io",
            [("ACR audience", "refused (HTTP 401)"), ("ARM audience", "refused (HTTP 401)")],
            registry="myacr",
            abac=True,
        ),
        ["tenant-id", "**Container Registry Repository Writer**", "authentication-as-arm show"],
        id="registry-token-refused-abac",
    ),
    pytest.param(
        ImagePullRefused(
            "myacr.azurecr.io/app@sha256:abc", "unauthorized: authentication required"
        ),
        ["AcrPull", "az ad sp create-for-rbac", "unauthorized"],
        id="image-pull-refused",
    ),
    pytest.param(
        ImagePullRefused("myacr.azurecr.io/app@sha256:abc", "unauthorized", abac=True),
        ["--role 'Container Registry Repository Reader'", "ignores AcrPull"],
        id="image-pull-refused-abac-registry",
    ),
    pytest.param(
        DnsLabelTaken("my-app-1234abcd", "westeurope"),
        ["my-app-1234abcd.westeurope.azurecontainer.io", "dns-label-salt"],
        id="dns-label-taken",
    ),
    pytest.param(
        SubnetNotDelegated(
            "my-app",
            "Subnet missing required delegation 'Microsoft.ContainerInstance' for container"
            " group 'my-app'.",
        ),
        ["--delegations Microsoft.ContainerInstance/containerGroups", "Subnet missing"],
        id="subnet-not-delegated",
    ),
    pytest.param(
        TooManyTags("app", 50, user=48, ours=9, foreign=["policy-1"]),
        ["48 from `resource-tags`", "9 of the action's own", "`policy-1`", "resource-tags: |"],
        id="too-many-tags",
    ),
    pytest.param(
        ImmutableChange("my-app", ["cpu", "restart policy"]),
        ["cpu, restart policy", "on-immutable-change: recreate"],
        id="immutable-change",
    ),
    pytest.param(
        CannotKeep(
            "my-app",
            "my-rg",
            [
                "secure environment variable `TOKEN` of container `log`",
                "storage account key of Azure Files volume `share`",
            ],
        ),
        [
            "- the secure environment variable `TOKEN` of container `log`",
            "- the storage account key of Azure Files volume `share`",
            "az container show --resource-group my-rg --name my-app",
            "name: my-app-web",
        ],
        id="cannot-keep",
    ),
    pytest.param(
        RecreateFailed("my-app", ImagePullRefused("reg.azurecr.io/app:1", "InaccessibleImage")),
        [
            "`my-app` was deleted to be recreated",
            "Nothing runs",
            "run the workflow again",
            "AcrPull",
        ],
        id="recreate-failed",
    ),
    pytest.param(
        ContainerFailed("my-app", 137, "starting\nKilled", ["Pulled image", "Killing container"]),
        ["exit code 137", "memory", "Killed", "Killing container"],
        id="container-failed",
    ),
    pytest.param(
        NotReady("http://10.0.0.4:80/", 503),
        ["503", "health-check-path", "0.0.0.0"],
        id="not-ready",
    ),
    pytest.param(
        NotReady(
            "https://x.westeurope.azurecontainer.io:443/",
            "SSLCertVerificationError",
            untrusted="unable to get local issuer certificate",
        ),
        ["does not trust", "unable to get local issuer certificate", "SSL_CERT_FILE", "staging"],
        id="not-ready-untrusted-certificate",
    ),
    pytest.param(StepTimeout("deploy", 600), ["10m", "timeout: 20m"], id="step-timeout"),
    pytest.param(
        CloudLacksService(
            "management.local.azurestack.external",
            "Azure Container Instances",
            "This cloud has no Azure Container Instances.",
            "with:\n  mode: build",
        ),
        ["Azure Container Instances", "mode: build", "resource-manager-endpoint"],
        id="cloud-lacks-service",
    ),
    pytest.param(
        DependencyUnavailable("Key Vault", "HTTP 503", "https://status.azure.com"),
        ["Key Vault", "HTTP 503", "status.azure.com", "timeout:"],
        id="dependency-unavailable",
    ),
]


def _error_classes() -> list[type[ActionError]]:
    return [
        cls
        for cls in vars(errors).values()
        if inspect.isclass(cls) and issubclass(cls, ActionError)
    ]


@pytest.mark.parametrize(("error", "expected"), EXAMPLES)
def test_render_has_title_details_and_fix(error: ActionError, expected: list[str]) -> None:
    text = error.render()
    assert "\n" not in error.title
    assert str(error) == error.title
    assert text.startswith(error.title + "\n\n")
    assert len(text) > len(error.title) + 80, "details explain the cause and the fix"
    assert "```" in text, "every error shows a fix or context as a snippet"
    for fragment in expected:
        assert fragment in text


def test_every_concrete_class_has_an_example() -> None:
    concrete = {type(param.values[0]) for param in EXAMPLES}
    bases = {ActionError, AuthError, AzureServiceError, RegistryError, DeployError, PreviewError}
    assert concrete == set(_error_classes()) - bases


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda cls: cls.__name__)
def test_class_has_one_line_docstring_exit_code_and_place_in_tree(cls: type[ActionError]) -> None:
    assert cls.__doc__
    assert "\n" not in cls.__doc__.strip()
    assert cls.exit_code == 1
    assert cls.__name__ in (errors.__doc__ or "")


@pytest.mark.parametrize(
    ("cls", "base"),
    [
        pytest.param(OidcUnavailable, AuthError, id="oidc"),
        pytest.param(OidcTokenRefused, AuthError, id="oidc-refused"),
        pytest.param(ForkPullRequest, AuthError, id="fork"),
        pytest.param(FederatedCredentialMismatch, AuthError, id="federated"),
        pytest.param(EntraRefused, AuthError, id="entra"),
        pytest.param(PermissionDenied, AzureServiceError, id="permission"),
        pytest.param(ResourceMissing, AzureServiceError, id="missing"),
        pytest.param(KeyVaultSecretMissing, AzureServiceError, id="kv-secret"),
        pytest.param(KeyVaultForbidden, AzureServiceError, id="kv-forbidden"),
        pytest.param(AzureCallFailed, AzureServiceError, id="call-failed"),
        pytest.param(BuildFailed, RegistryError, id="build"),
        pytest.param(PushFailed, RegistryError, id="push"),
        pytest.param(ImagePullRefused, RegistryError, id="pull"),
        pytest.param(DnsLabelTaken, DeployError, id="dns"),
        pytest.param(ImmutableChange, DeployError, id="immutable"),
        pytest.param(RecreateFailed, DeployError, id="recreate"),
        pytest.param(ContainerFailed, DeployError, id="container"),
        pytest.param(NotReady, DeployError, id="not-ready"),
        pytest.param(StepTimeout, ActionError, id="timeout"),
        pytest.param(InputError, ActionError, id="input"),
    ],
)
def test_hierarchy(cls: type[ActionError], base: type[ActionError]) -> None:
    assert issubclass(cls, base)


def test_title_is_always_one_line() -> None:
    error = PushFailed("app:\nv1", "denied\n::error::x")
    assert "\n" not in error.title
    assert ActionError("a\n  b\r\nc").title == "a b c"


def test_plain_action_error_renders_title_only() -> None:
    assert ActionError("something failed").render() == "something failed"
    assert AuthError("the OIDC request failed").render() == "the OIDC request failed"


# --------------------------------------------------------------------------- auth specifics


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        pytest.param("AADSTS700211", "issuer", id="issuer-700211"),
        pytest.param("AADSTS700212", "audience", id="audience-700212"),
        pytest.param("AADSTS700213", "subject", id="subject-700213"),
        pytest.param("AADSTS7002138", "case", id="case-only-7002138"),
        pytest.param("AADSTS70021", "issuer, subject and audience", id="legacy-70021"),
        pytest.param(700213, "subject", id="numeric-code"),
    ],
)
def test_federated_mismatch_explains_the_code(code: str | int, fragment: str) -> None:
    error = FederatedCredentialMismatch(code, "AADSTS: no match", CLAIMS, CLIENT_ID)
    assert fragment in error.title
    assert error.code.startswith("AADSTS")


def test_federated_mismatch_fix_is_runnable_json() -> None:
    error = FederatedCredentialMismatch("AADSTS700213", "no match", CLAIMS, CLIENT_ID)
    command = re.search(r"az ad app federated-credential create.*?'\n", error.render() + "\n", re.S)
    assert command
    words = shlex.split(command.group(0).replace("\\\n", " "))
    parameters = json.loads(words[words.index("--parameters") + 1])
    assert parameters["subject"] == CLAIMS["sub"]
    assert parameters["issuer"] == CLAIMS["iss"]
    assert parameters["audiences"] == [CLAIMS["aud"]]
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,119}", parameters["name"])


def test_federated_mismatch_shows_missing_claims_and_quotes_odd_subjects() -> None:
    claims = {"sub": "repo:o/r:ref:refs/heads/it's`odd", "aud": None}
    text = FederatedCredentialMismatch("AADSTS700213", "no", claims).render()
    for key in ("iss", "repository", "ref", "environment", "job_workflow_ref"):
        assert f"| `{key}` | `{MISSING}` |" in text
    assert "<client-id>" in text
    assert "'\\''" in text, "a quote in the subject is escaped for the shell"


def test_federated_mismatch_never_shows_other_claims() -> None:
    claims = {**CLAIMS, "runner_environment": "github-hosted", "secret_looking": "do-not-show"}
    assert "do-not-show" not in FederatedCredentialMismatch(700213, "x", claims).render()


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        pytest.param("7000215", "client secret is wrong", id="bad-secret"),
        pytest.param("AADSTS7000222", "expired", id="expired-secret"),
        pytest.param("AADSTS700016", "not in the tenant", id="unknown-app"),
        pytest.param("AADSTS700024", "expired", id="expired-assertion"),
        pytest.param("AADSTS90002", "tenant does not exist", id="unknown-tenant"),
        pytest.param("AADSTS50000", "AADSTS50000", id="unknown-code"),
    ],
)
def test_entra_refused_names_the_cause(code: str, fragment: str) -> None:
    error = EntraRefused(code, "Entra said no.")
    assert fragment in error.title
    assert "https://login.microsoftonline.com/error?code=" in error.render()


def test_fork_pull_request_warns_against_pull_request_target() -> None:
    text = ForkPullRequest().render()
    assert "pull_request_target" in text
    assert "Do **not**" in text
    assert f"`{MISSING}`" in text


# --------------------------------------------------------------------------- safety of text

COMMAND_LINES = (
    "step 1\n::set-output name=fqdn::evil.example\n  ::add-mask::x\n##[error]fake\rdone\n"
    "#7 0.4 ##[warning]legacy form in the middle of a line"
)


def _command_lines(text: str) -> list[str]:
    """Lines the runner would act on as workflow commands (tests/runner_log.py: `::` at the
    start of a line, the legacy `##[` anywhere in it)."""
    return read_step(text + "\n").commands


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(BuildFailed("RUN x", COMMAND_LINES), id="build-output"),
        pytest.param(
            ContainerFailed("app", 1, COMMAND_LINES, [COMMAND_LINES]), id="container-logs"
        ),
        pytest.param(PushFailed("img", COMMAND_LINES), id="push-detail"),
        pytest.param(EntraRefused(1, COMMAND_LINES), id="entra-message"),
        pytest.param(AzureCallFailed("ARM", 400, "Bad", COMMAND_LINES), id="azure-message"),
        pytest.param(
            InputError([InputProblem("name", "bad", "name: x", COMMAND_LINES)]), id="shown-value"
        ),
    ],
)
def test_outside_text_cannot_become_a_workflow_command(error: ActionError) -> None:
    assert _command_lines(error.render()) == []


def test_untrusted_text_defuses_the_legacy_form_anywhere_in_a_line() -> None:
    text = untrusted_text("#5 0.2 ##[error]fake\n#6 ##[add-mask]x ##[group]y")

    assert text == "| #5 0.2 # #[error]fake\n| #6 # #[add-mask]x # #[group]y"


def test_untrusted_text_strips_ansi_and_keeps_content() -> None:
    text = untrusted_text("\x1b[31mred\x1b[0m\n::warning::x")
    assert text == "red\n| ::warning::x"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("plain", "plain", id="plain"),
        pytest.param("a\nb", "a\\nb", id="newline-escaped"),
        pytest.param("::stop", ": :stop", id="double-colon-broken"),
        pytest.param("a ##[error]b", "a # #[error]b", id="legacy-prefix-broken"),
        pytest.param("x" * 300, "x" * 119 + "…", id="long-shortened"),
    ],
)
def test_display_value(value: str, shown: str) -> None:
    assert display_value(value) == shown


def test_input_error_lists_every_problem_and_hides_secret_values() -> None:
    error = InputError(
        [
            InputProblem("cpu", "must be a number", "cpu: 0.5", "lots"),
            InputProblem(
                "registry-password", "must be a single line", "registry-password: x", None
            ),
            InputProblem("cpu", "must be from 0.1 to 4", "cpu: 0.5", "9"),
        ]
    )
    assert error.title == "Invalid inputs: 3 problems in cpu, registry-password"
    text = error.render()
    assert text.count("\n- `") == 3
    assert "- `registry-password`: must be a single line.\n" in text
    assert "got `lots`" in text


OBJECT_ID = "6c1e7a3b-2f4d-4e8a-9b0c-1d2e3f4a5b6c"


def test_key_vault_fix_grants_the_signed_in_object_id() -> None:
    text = KeyVaultForbidden("my-app-kv", CLIENT_ID, object_id=OBJECT_ID).render()
    assert f"--assignee '{OBJECT_ID}'" in text
    assert f"--object-id '{OBJECT_ID}'" in text, "set-policy takes an object id as --object-id"
    assert "the workflow" not in text


def test_key_vault_fix_has_a_placeholder_only_when_no_id_is_known() -> None:
    text = KeyVaultForbidden("my-app-kv").render()
    assert "--assignee <client-id>" in text
    assert f"object id `{MISSING}`" in text


@pytest.mark.parametrize("code", ["AADSTS7000215", "AADSTS7000222", "AADSTS700016", "AADSTS70025"])
def test_entra_refused_fix_uses_the_client_id_input(code: str) -> None:
    assert f"--id '{CLIENT_ID}'" in EntraRefused(code, "no", CLIENT_ID).render()
    assert "--id <client-id>" in EntraRefused(code, "no").render()


def test_an_input_problem_found_after_a_read_does_not_claim_nothing_was_sent() -> None:
    """Most input problems stop the run before any call; a few need the existing group first."""
    problem = InputProblem("volume-mounts", "mounts `data`, which nothing declares", "x", "data")

    before = InputError([problem]).details
    after = InputError([problem], shown_by=EXISTING_GROUP_READ).details

    assert "Nothing was sent to Azure" in before
    assert "Nothing was sent to Azure" not in after
    assert "only after reading the existing container group" in after
