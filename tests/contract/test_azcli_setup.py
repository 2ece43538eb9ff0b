"""The writes of a subscription's first setup, through the real Azure CLI (tests/azcli.py).

What `setup` creates in an empty subscription, created here by `az` the way a person would:
`az group create`, `az provider register`, `az acr create`, `az keyvault create`,
`az identity create`, `az identity federated-credential create` and `az role assignment create`.
The CLI is a client nobody here wrote, so its success proves the wire shapes; the refusals are
checked against what the CLI prints for Azure's real error bodies.

The world: the demo seed plus an administrator (Owner of the subscription, client secret) and
a namespace that is not registered yet.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localazure.server import Emulator
from localazure.state import App, RoleAssignment, Seed
from tests.azcli import AzureCli, OutsideTrap, installed_or_unavailable

pytestmark = pytest.mark.emulator

ADMIN = "9a7c1f0e-3b2d-4c5e-8f60-1a2b3c4d5e6f"
ADMIN_SECRET = "Adm~localSetupAdministrator.0001"  # a local test value, not a credential
DEPLOYER = "2d0e7c4a-9b1f-4c3e-8a5d-6f7e8d9c0b1a"  # Contributor on demo-rg (seed.yaml)
UNREGISTERED = "Microsoft.ManagedIdentity"
LOCATION = "westeurope"


def setup_seed() -> Seed:
    """The demo seed with an Owner of the subscription and one unregistered namespace."""
    seed = Seed.default()
    seed.apps.append(App(ADMIN, "setup-admin", secret=ADMIN_SECRET))
    scope = f"/subscriptions/{seed.subscription_id}"
    seed.role_assignments.append(RoleAssignment(ADMIN, "Owner", scope))
    seed.unregistered_providers.append(UNREGISTERED)
    return seed


@pytest.fixture(scope="module")
def azure_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """A local Azure (no Docker) of `setup_seed()`."""
    with Emulator(
        setup_seed(), workdir=tmp_path_factory.mktemp("setup-azure"), docker=False
    ) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def az() -> Path:
    return installed_or_unavailable()


@pytest.fixture(scope="module")
def trap() -> Iterator[OutsideTrap]:
    catcher = OutsideTrap()
    yield catcher
    catcher.close()


@pytest.fixture(autouse=True)
def _nothing_left_the_machine(trap: OutsideTrap) -> Iterator[None]:
    yield
    assert trap.requests == [], "the Azure CLI tried to reach outside the local Azure"


@pytest.fixture(scope="module")
def admin(
    az: Path, azure_setup: Emulator, tmp_path_factory: pytest.TempPathFactory, trap: OutsideTrap
) -> Iterator[AzureCli]:
    """`az` signed in (client secret) as the subscription's Owner."""
    home = tmp_path_factory.mktemp("az-home-admin")
    cli = AzureCli(az, azure_setup, home, trap)
    cli.use_local_cloud()
    cli.login_secret(ADMIN, ADMIN_SECRET)
    yield cli
    shutil.rmtree(home)


def arm_token(azure: Emulator, client: str) -> str:
    """An ARM access token for `client` (client secret)."""
    app = azure.state.app(client)
    assert app is not None
    assert app.secret is not None
    return str(
        requests.post(
            f"{azure.authority_url}/{azure.state.tenant_id}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": client,
                  "client_secret": app.secret, "scope": azure.arm_url + "/.default"},
            verify=str(azure.ca_path), timeout=30,
        ).json()["access_token"]
    )  # fmt: skip


def arm(
    azure: Emulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    client: str = ADMIN,
    api_version: str = "2022-04-01",
) -> requests.Response:
    """One raw ARM request as `client` (the administrator by default; secret sign-in)."""
    token = arm_token(azure, client)
    return requests.request(
        method, f"{azure.arm_url}{path}", params={"api-version": api_version}, json=body,
        headers={"Authorization": f"Bearer {token}"}, verify=str(azure.ca_path), timeout=30,
    )  # fmt: skip


# --- resource groups ---------------------------------------------------------------------------
def test_group_create_makes_a_group_and_again_updates_it(
    admin: AzureCli, azure_setup: Emulator
) -> None:
    created = admin.json("group", "create", "--name", "ct-setup-rg", "--location", LOCATION,
                         "--tags", "purpose=setup")  # fmt: skip
    again = admin.json("group", "create", "--name", "ct-setup-rg", "--location", LOCATION)

    scope = f"/subscriptions/{azure_setup.state.subscription_id}/resourceGroups/ct-setup-rg"
    assert (created["id"], created["location"], created["tags"]) == (
        scope, LOCATION, {"purpose": "setup"}
    )  # fmt: skip
    assert created["properties"]["provisioningState"] == "Succeeded"
    assert again["id"] == scope
    assert admin.run("group", "exists", "--name", "ct-setup-rg").stdout.strip() == "true"
    assert admin.run("group", "exists", "--name", "ct-no-such-rg").stdout.strip() == "false"
    puts = [
        r.status
        for r in azure_setup.requests
        if r.method == "PUT" and r.path.lower().endswith("/resourcegroups/ct-setup-rg")
    ]
    assert puts == [201, 200]


def test_group_create_in_another_region_is_refused_as_arm_does(admin: AzureCli) -> None:
    admin.run("group", "create", "--name", "ct-setup-rg2", "--location", LOCATION)

    done = admin.run("group", "create", "--name", "ct-setup-rg2", "--location", "eastus",
                     check=False)  # fmt: skip

    assert done.returncode != 0
    assert "(InvalidResourceGroupLocation) Invalid resource group location 'eastus'." in done.stderr


# --- providers -----------------------------------------------------------------------------------
def test_provider_register_moves_a_namespace_to_registered(
    admin: AzureCli, azure_setup: Emulator
) -> None:
    before = admin.json("provider", "show", "--namespace", "Microsoft.KeyVault")
    admin.run("provider", "register", "--namespace", "Microsoft.ContainerRegistry")

    assert before["registrationState"] == "Registered"
    assert admin.json("provider", "show", "--namespace", UNREGISTERED)["registrationState"] == (
        "NotRegistered"
    )
    admin.run("provider", "register", "--namespace", UNREGISTERED)
    shown = admin.json("provider", "show", "--namespace", UNREGISTERED)
    assert (shown["namespace"], shown["registrationState"]) == (UNREGISTERED, "Registered")
    azure_setup.state.providers[UNREGISTERED.lower()] = (UNREGISTERED, "NotRegistered", 0.0)


# --- role assignments ----------------------------------------------------------------------------
def registry_scope(azure: Emulator, name: str = "acractiondemo") -> str:
    return (
        f"/subscriptions/{azure.state.subscription_id}/resourceGroups/demo-rg"
        f"/providers/Microsoft.ContainerRegistry/registries/{name}"
    )


def test_role_assignment_create_by_role_name_then_a_duplicate_is_refused(
    admin: AzureCli, azure_setup: Emulator
) -> None:
    puller = azure_setup.state.app("5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b")
    assert puller is not None
    scope = registry_scope(azure_setup)
    argv = ("role", "assignment", "create", "--assignee-object-id", puller.object_id,
            "--assignee-principal-type", "ServicePrincipal", "--role", "AcrPush", "--scope", scope)  # fmt: skip

    created = admin.json(*argv)
    # The CLI answers a 409 RoleAssignmentExists by listing the assignments with principal names
    # from Microsoft Graph, which the local Azure does not serve; the 409 itself, on the wire:
    duplicate = arm(azure_setup, "PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                    {"properties": {"roleDefinitionId": created["roleDefinitionId"],
                                    "principalId": puller.object_id}})  # fmt: skip

    assert created["principalId"] == puller.object_id
    assert created["scope"] == scope
    assert created["roleDefinitionId"] == (
        f"/subscriptions/{azure_setup.state.subscription_id}/providers/Microsoft.Authorization"
        "/roleDefinitions/8311e382-0749-4cb8-b61a-304f252e45ec"  # AcrPush's built-in GUID
    )
    assert (duplicate.status_code, duplicate.json()["error"]) == (
        409, {"code": "RoleAssignmentExists", "message": "The role assignment already exists."}
    )  # fmt: skip
    assert azure_setup.state.authorized(
        puller, "Microsoft.ContainerRegistry/registries/push/write", scope
    )
    admin.run("role", "assignment", "delete", "--ids", created["id"])
    assert not azure_setup.state.authorized(
        puller, "Microsoft.ContainerRegistry/registries/push/write", scope
    )


def test_a_contributor_may_not_assign_roles(
    az: Path, azure_setup: Emulator, tmp_path: Path, trap: OutsideTrap
) -> None:
    cli = AzureCli(az, azure_setup, tmp_path / "az-home", trap)
    cli.use_local_cloud()
    cli.login_federated(DEPLOYER, azure_setup.services["oidc"].mint("octo-org/iris-api"))
    deployer = azure_setup.state.app(DEPLOYER)
    assert deployer is not None

    done = cli.run("role", "assignment", "create", "--assignee-object-id", deployer.object_id,
                   "--assignee-principal-type", "ServicePrincipal", "--role", "Owner",
                   "--scope", registry_scope(azure_setup), check=False)  # fmt: skip

    assert done.returncode != 0
    assert (
        f"(AuthorizationFailed) The client '{DEPLOYER}' with object id '{deployer.object_id}' does"
        " not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write'"
    ) in done.stderr, done.stderr


def put_assignment(
    azure: Emulator, scope: str, role_guid: str, principal: str, **extra: Any
) -> requests.Response:
    role_id = f"/subscriptions/{azure.state.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"
    return arm(azure, "PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
               {"properties": {"roleDefinitionId": role_id, "principalId": principal, **extra}})  # fmt: skip


READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def test_a_new_role_assignment_takes_effect_after_the_propagation_delay(
    azure_setup: Emulator,
) -> None:
    puller = azure_setup.state.app("5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b")
    assert puller is not None
    scope = f"/subscriptions/{azure_setup.state.subscription_id}/resourceGroups/demo-rg"
    read = lambda: arm(azure_setup, "GET", scope, client=puller.client_id, api_version="2024-11-01")  # noqa: E731 - one-line probe
    azure_setup.state.settings.role_assignment_propagation_seconds = 1.5
    try:
        assert read().status_code == 403
        created = put_assignment(azure_setup, scope, READER, puller.object_id)
        assert created.status_code == 201
        started = time.monotonic()
        assert read().status_code == 403  # created, not yet propagated
        while read().status_code != 200:
            assert time.monotonic() - started < 5
            time.sleep(0.2)
        assert time.monotonic() - started >= 1.0
    finally:
        azure_setup.state.settings.role_assignment_propagation_seconds = 0
        azure_setup.state.revoke(puller.object_id, "Reader")


def test_an_unknown_principal_without_a_type_is_principal_not_found(azure_setup: Emulator) -> None:
    stranger = str(uuid.uuid4())
    scope = f"/subscriptions/{azure_setup.state.subscription_id}/resourceGroups/demo-rg"

    refused = put_assignment(azure_setup, scope, READER, stranger)
    typed = put_assignment(azure_setup, scope, READER, stranger, principalType="ServicePrincipal")

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "PrincipalNotFound"
    assert refused.json()["error"]["message"].startswith(
        f"Principal {stranger} does not exist in the directory {azure_setup.state.tenant_id}."
    )
    assert typed.status_code == 201  # principalType set: ARM skips the directory lookup
    azure_setup.state.revoke(stranger)
    puller = azure_setup.state.app("5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b")
    assert puller is not None
    wrong = put_assignment(azure_setup, scope, READER, puller.object_id, principalType="User")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "UnmatchedPrincipalType")


def test_role_assignment_lists_filter_at_scope_and_by_principal(azure_setup: Emulator) -> None:
    deployer = azure_setup.state.app(DEPLOYER)
    assert deployer is not None
    sub = f"/subscriptions/{azure_setup.state.subscription_id}"
    base = "/providers/Microsoft.Authorization/roleAssignments"

    at_rg = arm(azure_setup, "GET", f"{sub}/resourceGroups/demo-rg{base}?$filter=atScope()")
    mine = arm(azure_setup, "GET", f"{sub}{base}?$filter=principalId eq '{deployer.object_id}'")

    scopes = {ra["properties"]["scope"] for ra in at_rg.json()["value"]}
    assert scopes == {sub, f"{sub}/resourceGroups/demo-rg"}  # at and above, not below
    roles = {ra["properties"]["roleDefinitionId"].rsplit("/", 1)[1] for ra in mine.json()["value"]}
    assert roles == {
        "b24988ac-6180-42a0-ab88-20f7382dd24c",  # Contributor
        "8311e382-0749-4cb8-b61a-304f252e45ec",  # AcrPush
        "4633458b-17de-408a-b874-0445c86b69e6",  # Key Vault Secrets User
    }


# --- user-assigned identities and federated credentials ------------------------------------------
@pytest.fixture(scope="module")
def identity(admin: AzureCli, azure_setup: Emulator) -> dict[str, Any]:
    """`az identity create` in a namespace not registered yet: the CLI registers it, then creates."""
    assert azure_setup.state.provider(UNREGISTERED)[1] == "NotRegistered"
    return admin.json("identity", "create", "--name", "ct-deployer", "--resource-group", "demo-rg",  # type: ignore[no-any-return]
                      "--location", LOCATION)  # fmt: skip


def test_identity_create_registers_the_namespace_and_generates_ids(
    identity: dict[str, Any], azure_setup: Emulator, admin: AzureCli
) -> None:
    assert azure_setup.state.provider(UNREGISTERED)[1] == "Registered"
    trail = [
        (r.method, r.status, r.path.rsplit("/", 1)[-1])
        for r in azure_setup.requests
        if "userAssignedIdentities/ct-deployer" in r.path
        or r.path.endswith(f"{UNREGISTERED}/register")
    ]
    # MissingSubscriptionRegistration, the SDK policy's register, then the same PUT again.
    assert trail[-3:] == [
        ("PUT", 409, "ct-deployer"),
        ("POST", 200, "register"),
        ("PUT", 201, "ct-deployer"),
    ]
    assert identity["tenantId"] == azure_setup.state.tenant_id
    assert uuid.UUID(identity["principalId"])
    assert uuid.UUID(identity["clientId"])
    shown = admin.json("identity", "show", "--name", "ct-deployer", "--resource-group", "demo-rg")
    assert shown["clientId"] == identity["clientId"]


def test_a_write_to_an_unregistered_namespace_is_missing_subscription_registration(
    azure_setup: Emulator,
) -> None:
    azure_setup.state.providers["microsoft.containerinstance"] = (
        "Microsoft.ContainerInstance",
        "NotRegistered",
        0.0,
    )
    try:
        path = f"/subscriptions/{azure_setup.state.subscription_id}/resourceGroups/demo-rg/providers/Microsoft.ContainerInstance/containerGroups/x"
        refused = arm(azure_setup, "PUT", path, {"location": LOCATION})
    finally:
        azure_setup.state.providers.pop("microsoft.containerinstance")

    message = (
        "The subscription is not registered to use namespace 'Microsoft.ContainerInstance'."
        " See https://aka.ms/rps-not-found for how to register subscriptions."
    )
    assert refused.status_code == 409
    assert refused.json() == {"error": {"code": "MissingSubscriptionRegistration", "message": message,
        "details": [{"code": "MissingSubscriptionRegistration", "target": "Microsoft.ContainerInstance", "message": message}]}}  # fmt: skip


def entra_token(azure: Emulator, client_id: str, assertion: str) -> requests.Response:
    return requests.post(
        f"{azure.authority_url}/{azure.state.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_assertion": assertion,
              "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
              "scope": azure.arm_url + "/.default"},
        verify=str(azure.ca_path), timeout=30,
    )  # fmt: skip


def test_federated_credential_create_lets_entra_accept_the_workflow_token(
    identity: dict[str, Any], admin: AzureCli, azure_setup: Emulator
) -> None:
    subject = "repo:octo-org/iris-api:environment:production"
    created = admin.json("identity", "federated-credential", "create", "--name", "gh-production",
                         "--identity-name", "ct-deployer", "--resource-group", "demo-rg",
                         "--issuer", azure_setup.oidc_issuer, "--subject", subject,
                         "--audiences", "api://AzureADTokenExchange")  # fmt: skip
    listed = admin.json("identity", "federated-credential", "list", "--identity-name", "ct-deployer",
                        "--resource-group", "demo-rg")  # fmt: skip
    oidc = azure_setup.services["oidc"]

    assert (created["issuer"], created["subject"], created["audiences"]) == (
        azure_setup.oidc_issuer, subject, ["api://AzureADTokenExchange"]
    )  # fmt: skip
    assert [c["name"] for c in listed] == ["gh-production"]
    good = entra_token(
        azure_setup, identity["clientId"], oidc.mint("octo-org/iris-api", environment="production")
    )
    assert good.status_code == 200, good.text
    # The subject is compared exactly: another case is AADSTS7002138, another subject 700213.
    folded = entra_token(
        azure_setup, identity["clientId"], oidc.mint("Octo-Org/iris-api", environment="production")
    )
    other = entra_token(azure_setup, identity["clientId"], oidc.mint("octo-org/iris-api"))
    assert folded.json()["error_codes"] == [7002138]
    assert other.json()["error_codes"] == [700213]
    admin.run("identity", "federated-credential", "delete", "--name", "gh-production", "--identity-name",
              "ct-deployer", "--resource-group", "demo-rg", "--yes")  # fmt: skip
    assert entra_token(
        azure_setup, identity["clientId"], oidc.mint("octo-org/iris-api", environment="production")
    ).json()["error_codes"] == [700211]


def test_federated_credentials_are_validated(
    identity: dict[str, Any], azure_setup: Emulator
) -> None:
    base = f"/subscriptions/{azure_setup.state.subscription_id}/resourceGroups/demo-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ct-deployer/federatedIdentityCredentials"

    def put(name: str, **properties: Any) -> requests.Response:
        fields = {
            "issuer": "https://token.example",
            "subject": "s",
            "audiences": ["api://AzureADTokenExchange"],
            **properties,
        }
        return arm(
            azure_setup, "PUT", f"{base}/{name}", {"properties": fields}, api_version="2023-01-31"
        )

    assert put("x").status_code == 400  # name: 3-120 characters
    assert put("no-issuer", issuer="").status_code == 400
    assert put("plain-http", issuer="http://token.example").status_code == 400
    assert put("first", subject="one").status_code == 201
    assert put("first", subject="one").status_code == 200  # the same name: replaced
    assert put("second", subject="one").status_code == 409  # issuer + subject again
    for n in range(2, 21):
        assert put(f"fic-{n:02}", subject=f"s{n}").status_code == 201
    assert put("one-too-many", subject="s21").status_code == 400  # the 21st
    for fic in ["first"] + [f"fic-{n:02}" for n in range(2, 21)]:
        assert (
            arm(azure_setup, "DELETE", f"{base}/{fic}", api_version="2023-01-31").status_code == 200
        )


# --- Key Vault -------------------------------------------------------------------------------------
SECRETS_OFFICER = "Key Vault Secrets Officer"


def vault_scope(azure: Emulator, name: str) -> str:
    return (
        f"/subscriptions/{azure.state.subscription_id}/resourceGroups/demo-rg"
        f"/providers/Microsoft.KeyVault/vaults/{name}"
    )


def test_keyvault_create_with_rbac_then_a_role_opens_its_data_plane(
    admin: AzureCli, azure_setup: Emulator
) -> None:
    admin_app = azure_setup.state.app(ADMIN)
    assert admin_app is not None
    created = admin.json("keyvault", "create", "--name", "ct-setup-kv", "--resource-group", "demo-rg",
                         "--enable-rbac-authorization", "true")  # fmt: skip
    assert created["properties"]["enableRbacAuthorization"] is True
    assert created["properties"]["vaultUri"] == azure_setup.vault_url("ct-setup-kv") + "/"
    assert created["location"] == LOCATION  # the group's

    # Owner manages the vault but has no data actions: Key Vault refuses by RBAC.
    before = admin.run("keyvault", "secret", "set", "--vault-name", "ct-setup-kv", "--name", "s",
                       "--value", "v", check=False)  # fmt: skip
    assert before.returncode != 0
    assert "(Forbidden) Caller is not authorized to perform action on resource." in before.stderr
    admin.json("role", "assignment", "create", "--assignee-object-id", admin_app.object_id,
               "--assignee-principal-type", "ServicePrincipal", "--role", SECRETS_OFFICER,
               "--scope", vault_scope(azure_setup, "ct-setup-kv"))  # fmt: skip
    done = admin.json("keyvault", "secret", "set", "--vault-name", "ct-setup-kv", "--name", "s",
                      "--value", "v")  # fmt: skip
    assert done["value"] == "v"
    admin.run("group", "create", "--name", "ct-kv-rg", "--location", LOCATION)
    taken = admin.run("keyvault", "create", "--name", "acr-action-demo-kv", "--resource-group",
                      "ct-kv-rg", "--enable-rbac-authorization", "true", check=False)  # fmt: skip
    assert (
        "(VaultAlreadyExists) The vault name 'acr-action-demo-kv' is already in use."
        in taken.stderr
    )


def test_a_vault_without_rbac_ignores_role_assignments(
    admin: AzureCli, azure_setup: Emulator
) -> None:
    admin_app = azure_setup.state.app(ADMIN)
    assert admin_app is not None
    created = admin.json("keyvault", "create", "--name", "ct-policy-kv", "--resource-group", "demo-rg",
                         "--enable-rbac-authorization", "false", "--no-self-perms")  # fmt: skip
    admin.json("role", "assignment", "create", "--assignee-object-id", admin_app.object_id,
               "--assignee-principal-type", "ServicePrincipal", "--role", SECRETS_OFFICER,
               "--scope", vault_scope(azure_setup, "ct-policy-kv"))  # fmt: skip

    refused = admin.run("keyvault", "secret", "set", "--vault-name", "ct-policy-kv", "--name", "s",
                        "--value", "v", check=False)  # fmt: skip

    assert created["properties"]["enableRbacAuthorization"] is False
    assert refused.returncode != 0
    assert (
        f"(Forbidden) The user, group or application 'appid={ADMIN};oid={admin_app.object_id};"
        f"iss=https://sts.windows.net/{azure_setup.state.tenant_id}/' does not have secrets set"
        " permission on key vault 'ct-policy-kv;location=westeurope'."
    ) in refused.stderr, refused.stderr
    # An access policy is what lets a principal in (PUT with accessPolicies, as set-policy ends).
    policy = {"tenantId": azure_setup.state.tenant_id, "objectId": admin_app.object_id,
              "permissions": {"secrets": ["get", "set", "list"]}}  # fmt: skip
    body = {
        "location": LOCATION,
        "properties": {**created["properties"], "accessPolicies": [policy]},
    }
    assert (
        arm(
            azure_setup,
            "PUT",
            vault_scope(azure_setup, "ct-policy-kv"),
            body,
            api_version="2026-02-01",
        ).status_code
        == 200
    )
    assert admin.json("keyvault", "secret", "set", "--vault-name", "ct-policy-kv", "--name", "s",
                      "--value", "v")["value"] == "v"  # fmt: skip


# --- registries ------------------------------------------------------------------------------------
def test_acr_create_makes_a_registry_whose_login_server_issues_tokens(
    admin: AzureCli, azure_setup: Emulator
) -> None:
    free = admin.json("acr", "check-name", "--name", "ctsetupacr")
    created = admin.json("acr", "create", "--name", "ctsetupacr", "--resource-group", "demo-rg",
                         "--sku", "Standard")  # fmt: skip
    taken = admin.json("acr", "check-name", "--name", "ctsetupacr")
    shown = admin.json("acr", "show", "--name", "ctsetupacr", "--resource-group", "demo-rg")
    # Without Docker no Distribution answers /v2/ (which `az acr login` pings), so the token
    # endpoint is called as the CLI would after the ping: an ARM token exchanged for ACR's.
    login_server = azure_setup.login_server("ctsetupacr")
    exchanged = requests.post(
        f"https://{login_server}/oauth2/exchange",
        data={"grant_type": "access_token", "service": login_server,
              "access_token": arm_token(azure_setup, ADMIN)},
        verify=str(azure_setup.ca_path), timeout=30,
    )  # fmt: skip

    assert free["nameAvailable"] is True
    assert (taken["nameAvailable"], taken["reason"], taken["message"]) == (
        False, "AlreadyExists", "The registry ctsetupacr is already in use."
    )  # fmt: skip
    assert (created["sku"]["name"], created["location"]) == ("Standard", LOCATION)
    assert created["loginServer"] == azure_setup.login_server("ctsetupacr")
    assert shown["id"] == created["id"]
    assert exchanged.status_code == 200, exchanged.text
    assert exchanged.json()["refresh_token"].count(".") == 2


def test_acr_create_of_a_name_taken_elsewhere_is_refused(admin: AzureCli) -> None:
    done = admin.run("acr", "create", "--name", "acractiondemo", "--resource-group", "ct-kv-rg2",
                     "--sku", "Basic", "--location", LOCATION, check=False)  # fmt: skip
    admin.run("group", "create", "--name", "ct-acr-rg", "--location", LOCATION)
    again = admin.run("acr", "create", "--name", "acractiondemo", "--resource-group", "ct-acr-rg",
                      "--sku", "Basic", check=False)  # fmt: skip

    assert "(ResourceGroupNotFound)" in done.stderr
    assert again.returncode != 0
    assert (
        "The registry DNS name acractiondemo.azurecr.io is already in use. You can check if the"
        " name is already claimed using following API:"
    ) in again.stderr, again.stderr


def test_a_new_identity_is_principal_not_found_until_it_replicates(
    admin: AzureCli, azure_setup: Emulator
) -> None:
    azure_setup.state.settings.principal_replication_seconds = 1.5
    try:
        made = admin.json("identity", "create", "--name", "ct-fresh", "--resource-group", "demo-rg",
                          "--location", LOCATION)  # fmt: skip
        scope = f"/subscriptions/{azure_setup.state.subscription_id}/resourceGroups/demo-rg"
        early = put_assignment(azure_setup, scope, READER, made["principalId"])
        typed = put_assignment(azure_setup, scope, READER, made["principalId"],
                               principalType="ServicePrincipal")  # fmt: skip
        time.sleep(1.6)
        late = put_assignment(azure_setup, f"{scope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ct-fresh",
                              READER, made["principalId"])  # fmt: skip
    finally:
        azure_setup.state.settings.principal_replication_seconds = 0

    assert (early.status_code, early.json()["error"]["code"]) == (400, "PrincipalNotFound")
    assert typed.status_code == 201
    assert late.status_code == 201, late.text


def test_the_empty_seed_is_a_subscription_setup_can_start_from(tmp_path: Path) -> None:
    with Emulator(Seed.empty(), workdir=tmp_path, docker=False) as empty:
        sub = f"/subscriptions/{empty.state.subscription_id}"
        registry = f"{sub}/resourceGroups/ct-rg/providers/Microsoft.ContainerRegistry/registries/ctemptyacr"
        body = {"location": LOCATION, "sku": {"name": "Basic"}}

        group = arm(
            empty,
            "PUT",
            f"{sub}/resourceGroups/ct-rg",
            {"location": LOCATION},
            api_version="2024-11-01",
        )
        refused = arm(empty, "PUT", registry, body, api_version="2025-11-01")
        registered = arm(
            empty,
            "POST",
            f"{sub}/providers/Microsoft.ContainerRegistry/register",
            api_version="2024-11-01",
        )
        created = arm(empty, "PUT", registry, body, api_version="2025-11-01")

    assert empty.state.registries.keys() == {"ctemptyacr"}
    assert group.status_code == 201
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        409,
        "MissingSubscriptionRegistration",
    )
    assert registered.json()["registrationState"] == "Registered"
    assert created.status_code == 201
