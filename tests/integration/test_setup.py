"""`setup` and `doctor` against the local Azure, starting from an empty subscription.

The person at the keyboard is an app with a secret and Owner on the subscription, signed in
through environment credentials (what `az login` gives a laptop, in the form azure-identity
reads without the CLI).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from acr_action.__main__ import main
from localazure.server import Emulator
from localazure.state import App, Seed, Settings

TENANT = Seed.empty().tenant_id
SUBSCRIPTION = Seed.empty().subscription_id
# The Owner of seed-empty.yaml, who runs setup.
ADMIN_ID = Seed.empty().apps[0].client_id
ADMIN_SECRET = str(Seed.empty().apps[0].secret)
REPO = "octo-org/iris-api"


def empty_seed(propagation: float = 0.0) -> Seed:
    """The local Azure's empty subscription (seed-empty.yaml): nothing in it but its Owner, and
    no provider registered; role assignments take `propagation` seconds to count."""
    seed = Seed.empty()
    seed.settings = Settings(role_assignment_propagation_seconds=propagation)
    return seed


@dataclass
class Result:
    code: int
    out: str


@pytest.fixture
def empty_azure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(empty_seed(propagation=2.0), workdir=tmp_path_factory.mktemp("empty")) as azure:
        yield azure


@pytest.fixture
def laptop(
    empty_azure: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., Result]:
    """Run `python -m acr_action <argv>` as a signed-in laptop would."""
    for name, value in {
        "AZURE_CLIENT_ID": ADMIN_ID,
        "AZURE_CLIENT_SECRET": ADMIN_SECRET,
        "AZURE_TENANT_ID": TENANT,
        "REQUESTS_CA_BUNDLE": str(empty_azure.ca_path),
    }.items():
        monkeypatch.setenv(name, value)

    def run(command: str, *extra: str, env: dict[str, str] | None = None) -> Result:
        argv = [
            command,
            "--repo",
            REPO,
            "--resource-group",
            "iris-rg",
            "--registry",
            "irisacr",
            "--location",
            "westeurope",
            "--resource-manager-endpoint",
            empty_azure.arm_url,
            "--subscription-id",
            SUBSCRIPTION,
            "--oidc-issuer",
            empty_azure.oidc_issuer,
            *extra,
        ]
        out = io.StringIO()
        code = main({"PATH": "/usr/bin", **(env or {})}, argv=argv, out=out)
        text = out.getvalue()
        assert ADMIN_SECRET not in text
        return Result(code, text)

    return run


def writes(azure: Emulator) -> int:
    """ARM writes so far (the token requests to Entra are POSTs too, and change nothing)."""
    return sum(
        1
        for r in azure.requests
        if r.method in ("PUT", "POST", "PATCH", "DELETE") and r.host.startswith("management.")
    )


def test_dry_run_changes_nothing(laptop, empty_azure: Emulator) -> None:  # type: ignore[no-untyped-def]
    result = laptop("setup", "--dry-run")

    assert result.code == 0, result.out
    assert "register" in result.out
    assert "create" in result.out
    assert "Dry run: nothing was changed." in result.out
    assert writes(empty_azure) == 0


def test_setup_twice_the_second_changes_nothing(laptop, empty_azure: Emulator) -> None:  # type: ignore[no-untyped-def]
    first = laptop("setup")
    assert first.code == 0, first.out
    assert "gh variable set AZURE_CLIENT_ID --repo octo-org/iris-api" in first.out
    before = writes(empty_azure)

    second = laptop("setup")

    assert second.code == 0, second.out
    assert "Nothing to change: everything exists as it should." in second.out
    assert writes(empty_azure) == before


# --------------------------------------------------------------------------- doctor

PULL_ID = "b0b00000-0000-4000-8000-000000000002"
PULL_OID = "b0b00000-0000-4000-8000-0000000000aa"
PULL_SECRET = "Pu11~PrincipalSecret.Local-0002"  # the local Azure's own
RG_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/iris-rg"
REGISTRY_ID = f"{RG_ID}/providers/Microsoft.ContainerRegistry/registries/irisacr"
VAULT_ID = f"{RG_ID}/providers/Microsoft.KeyVault/vaults/irisacr-kv"


@dataclass
class Ready:
    """A finished setup in its own local Azure, and how to run the laptop commands on it."""

    azure: Emulator
    workflows: Path

    def run(self, command: str, *extra: str, env: dict[str, str] | None = None) -> Result:
        argv = [
            command,
            "--repo",
            REPO,
            "--resource-group",
            "iris-rg",
            "--registry",
            "irisacr",
            "--location",
            "westeurope",
            "--resource-manager-endpoint",
            self.azure.arm_url,
            "--subscription-id",
            SUBSCRIPTION,
            "--oidc-issuer",
            self.azure.oidc_issuer,
            *extra,
        ]
        out = io.StringIO()
        code = main({"PATH": "/usr/bin", **(env or {})}, argv=argv, out=out)
        text = out.getvalue()
        for secret in (ADMIN_SECRET, PULL_SECRET):
            assert secret not in text, "a secret was printed"
        assert "eyJ" not in text, "a token was printed"
        return Result(code, text)

    def doctor(self, *extra: str) -> Result:
        if "--workflows" not in extra:
            extra = (*extra, "--workflows", str(self.workflows))
        return self.run("doctor", *extra)

    @property
    def deployer(self) -> App:
        return next(a for a in self.azure.state.apps.values() if a.managed_identity)


@pytest.fixture(scope="module")
def ready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ready]:
    """`setup` run once on an empty subscription, with the pull principal's credentials."""
    seed = empty_seed()
    seed.apps.append(App(PULL_ID, "irisacr-pull", object_id=PULL_OID, secret=PULL_SECRET))
    with (
        Emulator(seed, workdir=tmp_path_factory.mktemp("ready")) as azure,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("AZURE_CLIENT_ID", ADMIN_ID)
        patch.setenv("AZURE_CLIENT_SECRET", ADMIN_SECRET)
        patch.setenv("AZURE_TENANT_ID", TENANT)
        patch.setenv("REQUESTS_CA_BUNDLE", str(azure.ca_path))
        folder = tmp_path_factory.mktemp("repo") / ".github" / "workflows"
        done = Ready(azure, folder)
        pull = {"ACR_ACTION_PULL_USERNAME": PULL_ID, "ACR_ACTION_PULL_PASSWORD": PULL_SECRET}
        result = done.run(
            "setup", "--write-workflows", str(folder), "--pull-principal-id", PULL_OID, env=pull
        )
        assert result.code == 0, result.out
        assert "stored   pull secrets" in result.out
        yield done


def test_doctor_is_green_on_a_good_setup(ready: Ready) -> None:
    result = ready.doctor()
    assert result.code == 0, result.out
    by_client_id = ready.doctor("--client-id", ready.deployer.client_id)
    assert by_client_id.code == 0, by_client_id.out
    assert "identity github-iris-api-deployer exists" in by_client_id.out
    assert "FAIL" not in result.out
    assert "Ready to deploy" in result.out
    again = ready.run("setup", "--check", "--workflows", str(ready.workflows))
    assert again.code == 0, again.out


def _credential(ready: Ready, name: str, **properties: object) -> Iterator[None]:
    credential = next(c for c in ready.deployer.federated_credentials if c.name == name)
    saved = {key: getattr(credential, key) for key in properties}
    for key, value in properties.items():
        setattr(credential, key, value)
    yield
    for key, value in saved.items():
        setattr(credential, key, value)


def _without_credential(ready: Ready, name: str) -> Iterator[None]:
    credentials = ready.deployer.federated_credentials
    credential = next(c for c in credentials if c.name == name)
    credentials.remove(credential)
    yield
    credentials.append(credential)


def _without_roles(ready: Ready, *roles: str) -> Iterator[None]:
    state = ready.azure.state
    oid = ready.deployer.object_id.lower()
    removed = [
        ra
        for ra in state.role_assignments
        if ra.principal.lower() == oid and ra.role.lower() in {r.lower() for r in roles}
    ]
    for assignment in removed:
        state.role_assignments.remove(assignment)
    yield
    state.role_assignments.extend(removed)


def _vault_policies(ready: Ready) -> Iterator[None]:
    vault = ready.azure.state.vaults["irisacr-kv"]
    vault.enable_rbac_authorization = False
    yield
    vault.enable_rbac_authorization = True


def _unregistered(ready: Ready) -> Iterator[None]:
    providers = ready.azure.state.providers
    providers["microsoft.containerinstance"] = ("Microsoft.ContainerInstance", "NotRegistered", 0)
    yield
    providers.pop("microsoft.containerinstance")


def _without_secret(ready: Ready) -> Iterator[None]:
    secrets = ready.azure.state.vaults["irisacr-kv"].secrets
    saved = secrets.pop("irisacr-pull-pwd")
    yield
    secrets["irisacr-pull-pwd"] = saved


def _registry_closed(ready: Ready) -> Iterator[None]:
    with ready.azure.state.registry_settings("irisacr", public_network_access="Disabled"):
        yield


def _no_token_permission(ready: Ready) -> Iterator[None]:
    path = ready.workflows / "deploy-on-merge.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("      id-token: write #", "      # id-token: write #"))
    yield
    path.write_text(text)


ENV = f"repo:{REPO}:environment:production"
MISTAKES = [
    pytest.param(
        lambda r: _credential(
            r, "github-environment-production", subject=ENV.replace("octo-org", "Octo-Org")
        ),
        f"{ENV}: wrong case",
        "az identity federated-credential create",
        id="subject-case",
    ),
    pytest.param(
        lambda r: _without_credential(r, "github-environment-production"),
        f"no environment credential for {ENV}",
        f"--subject '{ENV}'",
        id="missing-environment-credential",
    ),
    pytest.param(
        lambda r: _credential(
            r, "github-pull-request", issuer="https://token.actions.githubusercontent.com/"
        ),
        f"repo:{REPO}:pull_request: wrong issuer",
        "--issuer",
        id="wrong-issuer",
    ),
    pytest.param(
        lambda r: _credential(r, "github-pull-request", audiences=["api://AzureADTokenExchange/"]),
        f"repo:{REPO}:pull_request: wrong audience",
        "--audiences api://AzureADTokenExchange",
        id="wrong-audience",
    ),
    pytest.param(
        lambda r: _without_roles(r, "AcrPush", "Contributor"),
        "lacks AcrPush on irisacr",
        f"--role 'AcrPush' --scope {REGISTRY_ID}",
        id="missing-acrpush",
    ),
    pytest.param(
        lambda r: _without_roles(r, "Contributor"),
        "lacks Contributor on iris-rg",
        f"--role 'Contributor' --scope {RG_ID}",
        id="missing-contributor",
    ),
    pytest.param(
        lambda r: _without_roles(r, "Key Vault Secrets User"),
        "lacks Key Vault Secrets User on irisacr-kv",
        f"--scope {VAULT_ID}",
        id="missing-secrets-user",
    ),
    pytest.param(
        _vault_policies,
        "uses access policies, not Azure RBAC",
        "az keyvault update --name irisacr-kv --enable-rbac-authorization true",
        id="vault-without-rbac",
    ),
    pytest.param(
        _unregistered,
        "resource provider Microsoft.ContainerInstance is NotRegistered",
        "az provider register --namespace Microsoft.ContainerInstance --wait",
        id="unregistered-provider",
    ),
    pytest.param(
        _without_secret,
        "secret irisacr-pull-pwd is not in irisacr-kv",
        "az keyvault secret set --vault-name irisacr-kv --name irisacr-pull-pwd",
        id="missing-pull-secret",
    ),
    pytest.param(
        _registry_closed,
        "public network access disabled",
        "az acr update --name irisacr --public-network-enabled true",
        id="registry-closed",
    ),
    pytest.param(
        _no_token_permission,
        "deploy-on-merge.yml: job deploy uses the action without `id-token: write`",
        "id-token: write",
        id="no-id-token-permission",
    ),
]


@pytest.mark.parametrize(("mistake", "finding", "fix"), MISTAKES)
def test_doctor_finds_each_mistake_with_its_fix(
    ready: Ready, mistake: object, finding: str, fix: str
) -> None:
    import contextlib

    with contextlib.contextmanager(mistake)(ready):  # type: ignore[arg-type]
        result = ready.doctor()
    assert result.code == 1, result.out
    failing = [line for line in result.out.splitlines() if line.lstrip().startswith("FAIL")]
    assert any(finding in line for line in failing), result.out
    assert fix in result.out
    assert ready.doctor().code == 0, "the mistake was not undone"


@pytest.mark.parametrize(
    ("option", "finding"),
    [
        pytest.param(
            ("--client-id", "00000000-0000-4000-8000-00000000c1d0"),
            "user-assigned identity (client id 00000000-0000-4000-8000-00000000c1d0) is not in",
            id="client-id-unknown",
        ),
        pytest.param(
            ("--identity", "someone-else"),
            "identity someone-else is not in iris-rg",
            id="identity-missing",
        ),
        pytest.param(
            ("--registry", "otherregistry"),
            "registry otherregistry is not in iris-rg",
            id="registry-missing",
        ),
        pytest.param(
            ("--resource-group", "other-rg"),
            "resource group other-rg does not exist",
            id="group-missing",
        ),
    ],
)
def test_doctor_finds_what_is_not_there(
    ready: Ready, option: tuple[str, str], finding: str
) -> None:
    result = ready.doctor(*option)
    assert result.code == 1
    assert finding in result.out


# --------------------------------------------------------------------------- the whole way


def test_from_an_empty_subscription_to_a_deployed_app(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_engine: object,
    hello_app: Path,
    busybox_image: str,
) -> None:
    """setup on an empty subscription, the deploy-on-merge job as the runner runs the action,
    then doctor green: the demo from nothing."""
    import re

    from tests.harness.workflow import Event, read_outputs, step_env
    from tests.leaks import as_the_runner_shows, assert_nothing_leaked

    seed = empty_seed(propagation=1.0)
    seed.apps.append(App(PULL_ID, "irisacr-pull", object_id=PULL_OID, secret=PULL_SECRET))
    monkeypatch.setenv("PATH", "/usr/bin:" + os.environ.get("PATH", ""))
    with Emulator(seed, workdir=tmp_path / "azure") as azure:
        for name, value in {
            "AZURE_CLIENT_ID": ADMIN_ID,
            "AZURE_CLIENT_SECRET": ADMIN_SECRET,
            "AZURE_TENANT_ID": TENANT,
            "REQUESTS_CA_BUNDLE": str(azure.ca_path),
        }.items():
            monkeypatch.setenv(name, value)
        ready = Ready(azure, tmp_path / "repo" / ".github" / "workflows")
        pull = {"ACR_ACTION_PULL_USERNAME": PULL_ID, "ACR_ACTION_PULL_PASSWORD": PULL_SECRET}
        setup = ready.run(
            "setup",
            "--write-workflows",
            str(ready.workflows),
            "--pull-principal-id",
            PULL_OID,
            env=pull,
        )
        assert setup.code == 0, setup.out
        variables = dict(re.findall(r"gh variable set (\w+) --repo \S+ --body (\S+)", setup.out))

        # The deploy-on-merge job: a push to main, in the environment `production`.
        inputs = {
            "client-id": variables["AZURE_CLIENT_ID"],
            "tenant-id": variables["AZURE_TENANT_ID"],
            "subscription-id": variables["AZURE_SUBSCRIPTION_ID"],
            "resource-group": variables["AZURE_RESOURCE_GROUP"],
            "registry": variables["AZURE_REGISTRY"],
            "key-vault": variables["AZURE_KEY_VAULT"],
            "build-args": f"BUSYBOX_IMAGE={busybox_image}",
            "timeout": "3m",
        }
        env = step_env(
            azure,
            tmp_path / "runner",
            event=Event(environment="production"),
            inputs=inputs,
            workspace=hello_app,
        )
        env["PATH"] = "/usr/bin:" + os.environ.get("PATH", "")
        env["REQUESTS_CA_BUNDLE"] = str(azure.ca_path)
        out = io.StringIO()
        deployed = main(env, out=out)
        try:
            assert deployed == 0, out.getvalue()[-3000:]
            outputs = read_outputs(Path(env["GITHUB_OUTPUT"]))
            assert outputs["url"].startswith("http://")
            seen = as_the_runner_shows(
                out.getvalue(), Path(env["GITHUB_OUTPUT"]), Path(env["GITHUB_STEP_SUMMARY"])
            )
            assert_nothing_leaked(seen.shown, {PULL_SECRET, ADMIN_SECRET}, "the deploy step")

            doctor = ready.doctor()
            assert doctor.code == 0, doctor.out
        finally:
            delete_env = {**env, "INPUT_MODE": "delete"}
            assert main(delete_env, out=io.StringIO()) == 0
