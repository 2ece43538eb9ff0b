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
from collections.abc import Iterator
from pathlib import Path

import pytest

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
