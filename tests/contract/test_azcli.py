"""Contract tests with the real Azure CLI: a second client, written by Microsoft, not by us.

The action and the emulator were written by the same people, so a misunderstanding they share
passes every other test. `az` (azure-cli from `requirements/azcli.lock`, `tests/azcli.py`) is
pointed at the local Azure as a custom cloud, signs in the way azure/login does (federated token)
and runs the tutorial's commands: `az keyvault secret show`, `az acr login` (then `docker push`
with the Docker config it wrote), `az container create/show/logs/delete`. Each test asserts what
the CLI itself reports: exit code, JSON fields, the Docker config entry.

`az` starts in about a second, so each command runs once per module where the tests can share it.
No request may leave the machine: `OutsideTrap` catches any request for a host outside the local
Azure, and every test checks that it caught none.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from localazure.aci_runtime import LABEL_EMULATOR
from localazure.server import Emulator
from tests.azcli import AzureCli, OutsideTrap, installed_or_unavailable

pytestmark = pytest.mark.emulator

RG = "demo-rg"
LOCATION = "westeurope"
REGISTRY = "acractiondemo"
VAULT = "acr-action-demo-kv"
DEPLOYER = "2d0e7c4a-9b1f-4c3e-8a5d-6f7e8d9c0b1a"  # Contributor, AcrPush, Secrets User (seed.yaml)
PULL_USER_SECRET = "acractiondemo-pull-usr"
PULL_PASSWORD_SECRET = "acractiondemo-pull-pwd"
PULLER = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"  # the seed's value of the -usr secret
PULLER_PASSWORD = "Xq8~pullPrincipalSecret.Local-0001"  # the seed's -pwd secret
NULL_GUID = "00000000-0000-0000-0000-000000000000"
DOCKER = "/usr/bin/docker"  # Debian's CLI (scripts/lib.sh)
PREFIX = "ct-azcli-"  # every container group these tests create
GREETING = "hello from the az contract test"
SECURE_VALUE = "az-secure-value-never-shown-5521"


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def az() -> Path:
    """The locked azure-cli, installed into the cache on first use (fails in CI when it cannot be)."""
    return installed_or_unavailable()


@pytest.fixture(scope="module")
def trap() -> Iterator[OutsideTrap]:
    catcher = OutsideTrap()
    yield catcher
    catcher.close()


@pytest.fixture(autouse=True)
def _nothing_left_the_machine(trap: OutsideTrap) -> Iterator[None]:
    """Every test: the CLI asked for no host outside the local Azure (telemetry, versions, MSAL)."""
    yield
    assert trap.requests == [], "the Azure CLI tried to reach outside the local Azure"


def signed_in(az: Path, azure: Emulator, home: Path, trap: OutsideTrap) -> AzureCli:
    cli = AzureCli(az, azure, home, trap)
    cli.use_local_cloud()
    cli.login_federated(DEPLOYER, azure.services["oidc"].mint("octo-org/iris-api"))
    return cli


@pytest.fixture(scope="module")
def cli_http(
    az: Path, azure_http: Emulator, tmp_path_factory: pytest.TempPathFactory, trap: OutsideTrap
) -> Iterator[AzureCli]:
    """`az` signed in as the deployer to the local Azure without Docker."""
    home = tmp_path_factory.mktemp("az-home-http")
    yield signed_in(az, azure_http, home, trap)
    shutil.rmtree(home)


@pytest.fixture(scope="module")
def cli_http_puller(
    az: Path, azure_http: Emulator, tmp_path_factory: pytest.TempPathFactory, trap: OutsideTrap
) -> Iterator[AzureCli]:
    """`az` signed in with a client secret as the pull principal, which has no vault role."""
    home = tmp_path_factory.mktemp("az-home-puller")
    cli = AzureCli(az, azure_http, home, trap)
    cli.use_local_cloud()
    cli.login_secret(PULLER, PULLER_PASSWORD)
    yield cli
    shutil.rmtree(home)


@pytest.fixture(scope="module")
def cli(
    az: Path, azure: Emulator, tmp_path_factory: pytest.TempPathFactory, trap: OutsideTrap
) -> Iterator[AzureCli]:
    """`az` signed in as the deployer to the local Azure with Docker; its home goes at the end."""
    home = tmp_path_factory.mktemp("az-home")
    yield signed_in(az, azure, home, trap)
    # The Docker config holds an ACR refresh token: no credential file outlives the module.
    shutil.rmtree(home)
    assert not home.exists()


@pytest.fixture(scope="module")
def cli_puller(
    az: Path, azure: Emulator, tmp_path_factory: pytest.TempPathFactory, trap: OutsideTrap
) -> Iterator[AzureCli]:
    """`az` signed in (client secret) as the pull principal: AcrPull on the registry, no more."""
    home = tmp_path_factory.mktemp("az-home-puller-docker")
    cli = AzureCli(az, azure, home, trap)
    cli.use_local_cloud()
    cli.login_secret(PULLER, PULLER_PASSWORD)
    yield cli
    shutil.rmtree(home)


@pytest.fixture(scope="module")
def acr_login(cli: AzureCli) -> dict[str, Any]:
    """`az acr login`: its result and the Docker config it wrote."""
    done = cli.run("acr", "login", "--name", REGISTRY, "--resource-group", RG)
    config = json.loads((cli.docker_config / "config.json").read_text(encoding="utf-8"))
    return {"stdout": done.stdout, "stderr": done.stderr, "config": config}


push_output: dict[str, str] = {}  # `docker push` stdout by reference


@pytest.fixture(scope="module")
def pushed_image(
    azure: Emulator,
    cli: AzureCli,
    acr_login: dict[str, Any],
    docker_engine: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A busybox image pushed with the Docker config `az acr login` wrote; removed locally after."""
    context = tmp_path_factory.mktemp("azcli-image")
    (context / "bin").mkdir()
    shutil.copyfile("/bin/busybox", context / "bin" / "busybox")
    (context / "bin" / "busybox").chmod(0o755)
    (context / "bin" / "sh").symlink_to("busybox")
    (context / "www").mkdir()
    (context / "www" / "index.html").write_text(GREETING + "\n", encoding="utf-8")
    (context / "Dockerfile").write_text(
        "FROM scratch\nCOPY bin /bin\nCOPY www /www\n"
        f'CMD ["/bin/sh", "-c", "echo {GREETING}; exec /bin/busybox httpd -f -p 80 -h /www"]\n',
        encoding="utf-8",
    )
    reference = f"{azure.login_server(REGISTRY)}/azcli-contract/httpd:{uuid.uuid4().hex[:8]}"
    docker_engine.images.build(path=str(context), tag=reference, rm=True, forcerm=True)
    try:
        # Debian's docker CLI with the CLI's DOCKER_CONFIG: the push authenticates with the
        # identity token that `az acr login` stored, and nothing else.
        pushed = subprocess.run(
            [DOCKER, "push", reference], env=cli.env, capture_output=True, text=True, check=False
        )
        assert pushed.returncode == 0, pushed.stderr
        push_output[reference] = pushed.stdout
        # Only the registry has it now: the container group's pull really goes through ACR.
        docker_engine.images.remove(reference, force=True)
        yield reference
    finally:
        with contextlib.suppress(Exception):  # already removed on the success path
            docker_engine.images.remove(reference, force=True)


@pytest.fixture(scope="module")
def group_name(azure: Emulator, cli: AzureCli, docker_engine: Any) -> Iterator[str]:
    """A fresh group name; at the end no group or container of this module is left."""
    name = f"{PREFIX}{uuid.uuid4().hex[:6]}"
    yield name
    with azure.state.lock:
        left = [g.name for g in azure.state.container_groups.values() if g.name == name]
    for leftover in left:
        cli.run("container", "delete", "--resource-group", RG, "--name", leftover, "--yes",
                "--output", "none")  # fmt: skip
    service = azure.services["aci"]
    containers = docker_engine.containers.list(
        all=True, filters={"label": f"{LABEL_EMULATOR}={service.instance_id}"}
    )
    assert [c.name for c in containers if name in c.name] == []


@pytest.fixture(scope="module")
def created(cli: AzureCli, pushed_image: str, group_name: str, azure: Emulator) -> dict[str, Any]:
    """`az container create` of the pushed image with the vault's pull credentials."""
    user = cli.run("keyvault", "secret", "show", "--vault-name", VAULT, "--name",
                   PULL_USER_SECRET, "--query", "value", "--output", "tsv").stdout.strip()  # fmt: skip
    password = cli.run("keyvault", "secret", "show", "--vault-name", VAULT, "--name",
                       PULL_PASSWORD_SECRET, "--query", "value", "--output", "tsv").stdout.strip()  # fmt: skip
    return cli.json(  # type: ignore[no-any-return]
        "container", "create", "--resource-group", RG, "--name", group_name,
        "--image", pushed_image, "--os-type", "Linux", "--location", LOCATION,
        "--cpu", "0.5", "--memory", "0.5", "--ports", "80", "--dns-name-label", group_name,
        "--registry-login-server", azure.login_server(REGISTRY),
        "--registry-username", user, "--registry-password", password,
        "--environment-variables", "GREETING=hello",
        "--secure-environment-variables", f"API_KEY={SECURE_VALUE}",
    )  # fmt: skip


# --- sign-in ---------------------------------------------------------------------------------
def test_login_with_a_subject_no_credential_matches_is_refused_as_entra_does(
    az: Path, azure_http: Emulator, tmp_path: Path, trap: OutsideTrap
) -> None:
    # A job on another branch: the deployer trusts only main and pull requests (seed.yaml).
    subject = "repo:octo-org/iris-api:ref:refs/heads/feature"
    token = azure_http.services["oidc"].mint("octo-org/iris-api", ref="refs/heads/feature")
    cli = AzureCli(az, azure_http, tmp_path / "az-home", trap)
    cli.use_local_cloud()

    done = cli.run(
        "login", "--service-principal", "--username", DEPLOYER, "--tenant",
        azure_http.state.tenant_id, "--federated-token", token, check=False,
    )  # fmt: skip

    assert done.returncode == 1
    # Entra's current text (azure-reference aad_token_error_examples.md, AADSTS700213).
    assert (
        "AADSTS700213: No matching federated identity record found for presented assertion"
        f" subject '{subject}'. Check your federated identity credential Subject, Audience and"
        " Issuer against the presented assertion."
    ) in done.stderr, done.stderr
    assert token not in done.stderr + done.stdout


# --- Key Vault ---------------------------------------------------------------------------------
def test_keyvault_secret_show_returns_the_value(cli_http: AzureCli, azure_http: Emulator) -> None:
    secret = cli_http.json(
        "keyvault", "secret", "show", "--vault-name", VAULT, "--name", PULL_PASSWORD_SECRET
    )

    assert secret["value"] == PULLER_PASSWORD
    assert secret["name"] == PULL_PASSWORD_SECRET
    assert secret["id"].startswith(f"{azure_http.vault_url(VAULT)}/secrets/{PULL_PASSWORD_SECRET}/")
    assert secret["attributes"]["enabled"] is True
    # The versioned id it returned reads the same version (GET /secrets/{name}/{version}).
    by_id = cli_http.json("keyvault", "secret", "show", "--id", secret["id"])
    assert (by_id["id"], by_id["value"]) == (secret["id"], PULLER_PASSWORD)


def test_keyvault_secret_list_names_the_secrets_without_values(
    cli_http: AzureCli, azure_http: Emulator
) -> None:
    listed = cli_http.json("keyvault", "secret", "list", "--vault-name", VAULT)

    by_name = {s["name"]: s for s in listed}
    assert {PULL_USER_SECRET, PULL_PASSWORD_SECRET} <= set(by_name)
    assert by_name[PULL_PASSWORD_SECRET]["id"] == (
        f"{azure_http.vault_url(VAULT)}/secrets/{PULL_PASSWORD_SECRET}"
    )
    assert all("value" not in s for s in listed)


def test_keyvault_secret_show_of_a_missing_secret_fails(cli_http: AzureCli) -> None:
    done = cli_http.run(
        "keyvault", "secret", "show", "--vault-name", VAULT, "--name", "no-such-secret",
        check=False,
    )  # fmt: skip

    assert done.returncode == 3  # azure-cli: ResourceNotFoundError exits 3
    assert "SecretNotFound" in done.stderr
    assert "A secret with (name/id) no-such-secret was not found in this key vault" in done.stderr


def test_keyvault_show_by_name_finds_the_vault_and_its_uri(
    cli_http: AzureCli, azure_http: Emulator
) -> None:
    # Without --resource-group, azure-cli keyvault lists the subscription's resources with
    # $filter=resourceType eq 'Microsoft.KeyVault/vaults' and name eq '<vault>' first.
    vault = cli_http.json("keyvault", "show", "--name", VAULT)

    assert vault["resourceGroup"] == RG
    assert vault["location"] == LOCATION
    assert vault["properties"]["vaultUri"] == azure_http.vault_url(VAULT) + "/"
    assert vault["properties"]["enableRbacAuthorization"] is True


@pytest.fixture
def officer(azure_http: Emulator) -> Iterator[None]:
    """The deployer may write secrets for one test; the vault is left as seeded."""
    state = azure_http.state
    vault = state.vaults[VAULT]
    seeded = set(vault.secrets)
    state.grant(DEPLOYER, "Key Vault Secrets Officer", state.vault_id(vault))
    yield
    state.revoke(DEPLOYER, "Key Vault Secrets Officer")
    with state.lock:
        for name in set(vault.secrets) - seeded:
            del vault.secrets[name]


@pytest.mark.usefixtures("officer")
def test_readme_setup_stores_a_piped_password_exactly(cli_http: AzureCli) -> None:
    # README, one-time setup: `... --output tsv | tr -d '\n' | az keyvault secret set
    # --vault-name "$KV" --name "$ACR-pull-pwd" --file /dev/stdin`. azure-cli keyvault
    # _validators.py reads the file as it is, so without `tr` the newline would be stored too.
    def store_and_read(piped: str) -> str:
        name = f"{PREFIX}pwd"
        cli_http.run("keyvault", "secret", "set", "--vault-name", VAULT, "--name", name,
                     "--file", "/dev/stdin", "--output", "none", stdin=piped)  # fmt: skip
        shown = cli_http.json("keyvault", "secret", "show", "--vault-name", VAULT, "--name", name)
        return str(shown["value"])

    assert store_and_read(PULLER_PASSWORD) == PULLER_PASSWORD  # what `tr -d '\n'` leaves
    assert store_and_read(PULLER_PASSWORD + "\n") == PULLER_PASSWORD + "\n"  # `tsv` alone


def test_keyvault_secret_show_without_a_role_is_forbidden_by_rbac(
    cli_http_puller: AzureCli, azure_http: Emulator
) -> None:
    done = cli_http_puller.run(
        "keyvault", "secret", "show", "--vault-name", VAULT, "--name", PULL_PASSWORD_SECRET,
        check=False,
    )  # fmt: skip

    assert done.returncode == 1
    assert "(Forbidden) Caller is not authorized to perform action on resource." in done.stderr
    assert "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'" in done.stderr
    # The vault's location is the one ARM reports for it (its group's, when the seed names none).
    assert f"Vault: {VAULT};location=westeurope" in done.stderr
    assert PULLER_PASSWORD not in done.stderr + done.stdout


# --- ACR ---------------------------------------------------------------------------------------
@pytest.mark.docker
def test_acr_login_expose_token_prints_the_refresh_token(cli: AzureCli, azure: Emulator) -> None:
    # The challenge and exchange without `docker login` (azure-cli acr/custom.py acr_login,
    # --expose-token); the login server's /v2/ challenge needs the registry, hence Docker.
    token = cli.json("acr", "login", "--name", REGISTRY, "--expose-token")

    server = azure.login_server(REGISTRY)
    assert token["loginServer"] == server
    assert token["username"] == NULL_GUID
    assert token["accessToken"] == token["refreshToken"]  # both are the ACR refresh token
    claims = jwt.decode(token["refreshToken"], options={"verify_signature": False})
    assert (claims["aud"], claims["grant_type"]) == (server, "refresh_token")


@pytest.mark.docker
def test_acr_login_stores_a_refresh_token_for_the_null_guid(
    acr_login: dict[str, Any], azure: Emulator
) -> None:
    server = azure.login_server(REGISTRY)

    assert "Login Succeeded" in acr_login["stdout"]
    entry = acr_login["config"]["auths"][server]
    assert base64.b64decode(entry["auth"]).decode() == f"{NULL_GUID}:"
    claims = jwt.decode(entry["identitytoken"], options={"verify_signature": False})
    assert claims["grant_type"] == "refresh_token"
    assert claims["aud"] == server
    deployer = azure.state.app(DEPLOYER)
    assert deployer is not None
    assert claims["sub"] == deployer.object_id
    assert "credsStore" not in acr_login["config"]  # the token is in this temporary file only


@pytest.mark.docker
def test_docker_pushes_with_the_config_az_acr_login_wrote(pushed_image: str) -> None:
    # The push itself is the pushed_image fixture: the daemon authenticated with nothing but the
    # identity token in the CLI's Docker config.
    tag = pushed_image.rsplit(":", 1)[1]

    assert f"{tag}: digest: sha256:" in push_output[pushed_image]


@pytest.mark.docker
def test_acr_login_by_name_alone_finds_the_registry(cli: AzureCli, azure: Emulator) -> None:
    # Without --resource-group, azure-cli acr/_utils.py lists the subscription's resources with
    # $filter=resourceType eq 'Microsoft.ContainerRegistry/registries' and takes the group from
    # the id of the one whose name matches.
    done = cli.run("acr", "login", "--name", REGISTRY)

    assert "Login Succeeded" in done.stdout
    found = cli.json(
        "resource", "list", "--resource-type", "Microsoft.ContainerRegistry/registries"
    )
    assert [(r["name"], r["resourceGroup"], r["type"]) for r in found] == [
        (REGISTRY, RG, "Microsoft.ContainerRegistry/registries")
    ]
    assert found[0]["id"] == azure.state.registry_id(azure.state.registries[REGISTRY])
    shown = cli.json("acr", "show", "--name", REGISTRY)  # the same lookup, then ARM's GET
    assert shown["loginServer"] == azure.login_server(REGISTRY)


@pytest.mark.docker
def test_acr_login_with_acr_pull_only_forms_the_login_server_from_the_cloud_suffix(
    cli_puller: AzureCli, azure: Emulator, pushed_image: str
) -> None:
    # AcrPull grants no registries/read, so the CLI cannot read the registry from ARM; azure-cli
    # acr/_docker_utils.py then forms "<name><acr login server suffix>" from the cloud (the
    # metadata's acrLoginServer, which the CLI prefixes with a dot) and exchanges as usual.
    done = cli_puller.run("acr", "login", "--name", REGISTRY)
    pulled = subprocess.run(
        [DOCKER, "pull", pushed_image], env=cli_puller.env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip

    assert "Login Succeeded" in done.stdout
    config = json.loads((cli_puller.docker_config / "config.json").read_text(encoding="utf-8"))
    assert list(config["auths"]) == [azure.login_server(REGISTRY)]
    assert pulled.returncode == 0, pulled.stderr


# --- ACI ---------------------------------------------------------------------------------------
@pytest.mark.docker
def test_container_create_runs_the_group(created: dict[str, Any], group_name: str) -> None:
    assert created["name"] == group_name
    assert created["provisioningState"] == "Succeeded"
    assert created["osType"] == "Linux"
    assert created["ipAddress"]["type"] == "Public"
    assert created["ipAddress"]["fqdn"] == f"{group_name}.{LOCATION}.azurecontainer.io"
    assert created["ipAddress"]["ports"] == [{"port": 80, "protocol": "TCP"}]
    (container,) = created["containers"]
    assert container["instanceView"]["currentState"]["state"] == "Running"
    (credential,) = created["imageRegistryCredentials"]
    assert credential["username"] == PULLER
    assert credential.get("password") is None  # ARM never returns it


@pytest.mark.docker
def test_container_show_reports_the_group_without_secrets(
    cli: AzureCli, created: dict[str, Any], group_name: str
) -> None:
    shown = cli.json("container", "show", "--resource-group", RG, "--name", group_name)

    assert shown["id"] == created["id"]
    assert shown["instanceView"]["state"] == "Running"
    variables = {v["name"]: v for v in shown["containers"][0]["environmentVariables"]}
    assert variables["GREETING"]["value"] == "hello"
    assert variables["API_KEY"].get("secureValue") is None
    assert SECURE_VALUE not in json.dumps(shown)


@pytest.mark.docker
def test_container_logs_show_what_the_container_printed(
    cli: AzureCli, created: dict[str, Any], group_name: str
) -> None:
    done = cli.run("container", "logs", "--resource-group", RG, "--name", group_name)

    assert GREETING in done.stdout


@pytest.mark.docker
@pytest.mark.parametrize(
    ("refusal", "expected"),
    [
        # Both texts are az CLI output quoted in public sources (azure-reference
        # aci_error_examples.md): "ERROR: (Code) message", exit 1.
        pytest.param(
            "dns-label-taken",
            # The group named is the one being created: labels are unique across customers,
            # and Azure does not name another customer's group.
            "(DnsNameLabelAlreadyTaken) The DNS name label '{label}' in container group"
            " '{name}' is not available. Try using a different label.",
            id="dns-label-taken",
        ),
        pytest.param(
            "cpu-change",
            # azure-reference aci_error_examples.md (deployment output quoted in public).
            "(InvalidContainerGroupUpdate) The updates on container group '{name}' are invalid."
            " If you are going to update the os type, restart policy, network profile, CPU,"
            " memory or GPU resources for a container group, you must delete it first and then"
            " create a new one.",
            id="cpu-change-of-a-running-group",
        ),
        pytest.param(
            "pull-refused",
            "(InaccessibleImage) The image '{image}' in container group '{name}' is not"
            " accessible. Please check the image and registry credential.",
            id="pull-refused",
        ),
    ],
)
def test_container_create_refusals_read_as_in_azure(
    cli: AzureCli,
    azure: Emulator,
    created: dict[str, Any],
    pushed_image: str,
    group_name: str,
    refusal: str,
    expected: str,
) -> None:
    name = group_name if refusal == "cpu-change" else f"{PREFIX}{uuid.uuid4().hex[:6]}"
    label = name if refusal == "pull-refused" else group_name
    password = "not-the-password" if refusal == "pull-refused" else PULLER_PASSWORD
    cpu = "1" if refusal == "cpu-change" else "0.5"
    try:
        done = cli.run(
            "container", "create", "--resource-group", RG, "--name", name,
            "--image", pushed_image, "--os-type", "Linux", "--location", LOCATION,
            "--cpu", cpu, "--memory", "0.5", "--ports", "80", "--dns-name-label", label,
            "--registry-login-server", azure.login_server(REGISTRY),
            "--registry-username", PULLER, "--registry-password", password,
            check=False,
        )  # fmt: skip
    finally:
        with azure.state.lock:
            left = any(g.name == name for g in azure.state.container_groups.values())
        if left and name != group_name:
            cli.run("container", "delete", "--resource-group", RG, "--name", name, "--yes",
                    "--output", "none")  # fmt: skip

    assert done.returncode == 1
    message = expected.format(label=label, image=pushed_image, name=name)
    assert f"ERROR: {message}" in done.stderr, done.stderr


@pytest.mark.docker
@pytest.mark.parametrize(
    ("omitted", "expected"),
    [
        # azure-cli >= 2.67 no longer defaults --os-type, --cpu or --memory and sends none of
        # them; Azure's answers, as users quoted them: Azure/azure-cli#30439,
        # MicrosoftDocs/azure-docs-cli#4812 (2024), MicrosoftLearning/mslearn-azure-developer#67
        # (2025). ('<null>' is the osType value, whatever the group is called.)
        pytest.param(
            ("--os-type",),
            "(InvalidOsType) The 'osType' for container group '<null>' is invalid. The value must"
            " be one of 'Windows,Linux'.",
            id="no-os-type",
        ),
        pytest.param(
            ("--cpu", "--memory"),
            "(ResourceRequestsNotSpecified) The resource requests are not specified in container"
            " '{name}' of contain group '{name}'. Both memory and CPU requests are required since"
            " API version '2017-07-01-preview'.",
            id="no-cpu-no-memory",
        ),
        pytest.param(
            ("--cpu",),
            "(ResourceSomeRequestsNotSpecified) The 'Cpu' request is not specified in"
            " 'MemoryInGB '6' Cpu ''' in container '{name}' of contain group '{name}'. It is"
            " required since API version '2017-07-01-preview'.",
            id="memory-without-cpu",
        ),
    ],
)
def test_container_create_without_os_type_or_requests_is_refused_as_in_azure(
    cli: AzureCli, pushed_image: str, azure: Emulator, omitted: tuple[str, ...], expected: str
) -> None:
    name = f"{PREFIX}{uuid.uuid4().hex[:6]}"
    given = {"--os-type": "Linux", "--cpu": "1", "--memory": "6"}
    options = [item for key, value in given.items() if key not in omitted for item in (key, value)]

    done = cli.run(
        "container", "create", "--resource-group", RG, "--name", name, "--image", pushed_image,
        "--location", LOCATION, "--ip-address", "Public", "--ports", "80", *options,
        check=False,
    )  # fmt: skip

    with azure.state.lock:
        assert all(g.name != name for g in azure.state.container_groups.values())
    assert done.returncode == 1
    assert f"ERROR: {expected.format(name=name)}" in done.stderr, done.stderr


@pytest.mark.docker
def test_container_delete_removes_the_group(
    cli: AzureCli, created: dict[str, Any], group_name: str, azure: Emulator, docker_engine: Any
) -> None:
    deleted = cli.json("container", "delete", "--resource-group", RG, "--name", group_name, "--yes")
    gone = cli.run("container", "show", "--resource-group", RG, "--name", group_name, check=False)
    # ARM deletes are idempotent: a group that is not there is 204 No Content, and the CLI prints
    # nothing (Azure/azure-rest-api-specs ContainerGroups_Delete: 200, 202 or 204).
    again = cli.run("container", "delete", "--resource-group", RG, "--name", group_name, "--yes")

    assert deleted["name"] == group_name
    assert (again.returncode, again.stdout.strip()) == (0, "")
    assert gone.returncode == 3
    assert "ResourceNotFound" in gone.stderr  # exit 3: azure-cli core util.py, for a 404
    assert (
        f"The Resource 'Microsoft.ContainerInstance/containerGroups/{group_name}' under resource"
        f" group '{RG}' was not found" in gone.stderr
    )
    service = azure.services["aci"]
    containers = docker_engine.containers.list(
        all=True, filters={"label": f"{LABEL_EMULATOR}={service.instance_id}"}
    )
    assert [c.name for c in containers if group_name in c.name] == []


def test_storage_account_keys_and_share_as_the_cli_makes_them(
    cli_http: AzureCli, azure_http: Emulator
) -> None:
    # The steps of Learn's container-instances-volume-azure-files: an account, a share, the key
    # (`az storage account keys list ... --query "[0].value"`), which ACI's volume then takes.
    name = f"cli{uuid.uuid4().hex[:12]}"
    created = cli_http.json(
        "storage", "account", "create", "--resource-group", RG, "--name", name,
        "--location", LOCATION, "--sku", "Standard_LRS",
    )  # fmt: skip
    share = cli_http.json(
        "storage", "share-rm", "create", "--resource-group", RG, "--storage-account", name,
        "--name", "acishare",
    )  # fmt: skip
    keys = cli_http.json("storage", "account", "keys", "list", "--resource-group", RG,
                         "--account-name", name)  # fmt: skip

    assert created["name"] == name
    assert created["provisioningState"] == "Succeeded"
    assert share["name"] == "acishare"
    account = azure_http.services["storage"].account(name)
    assert [k["keyName"] for k in keys] == ["key1", "key2"]
    assert keys[0]["value"] == account.keys["key1"]
    assert keys[0]["permissions"] == "FULL"
    assert azure_http.services["storage"].share_path(name, "acishare").is_dir()


def test_storage_account_keys_are_refused_to_a_reader(
    cli_http_puller: AzureCli, azure_http: Emulator
) -> None:
    name = f"cli{uuid.uuid4().hex[:12]}"
    azure_http.services["storage"].add_account(RG, name)
    done = cli_http_puller.run(
        "storage", "account", "keys", "list", "--resource-group", RG, "--account-name", name,
        check=False,
    )  # fmt: skip

    assert done.returncode != 0
    assert "AuthorizationFailed" in done.stderr
    assert "Microsoft.Storage/storageAccounts/listkeys/action" in done.stderr
