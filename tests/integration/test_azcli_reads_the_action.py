"""What the action deployed, as the real Azure CLI sees it: a client nobody here wrote.

The action deploys and deletes through the Azure SDKs; a user checks the result with `az`. These
tests read the action's group with `az container show/logs` and compare it with the step's
outputs, then delete it with the action and ask `az` again. `tests/azcli.py` keeps the CLI on
the local Azure (custom cloud, its own outbound calls off, a loopback trap for any others).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localazure.server import Emulator
from tests.azcli import AzureCli, OutsideTrap, installed_or_unavailable
from tests.harness.workflow import DEPLOYER, REGISTRY

from .steps import Run

pytestmark = pytest.mark.docker

RG = "demo-rg"
PULL_SP = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"
SECURE = "API_TOKEN=azcli-reads-action-secure-4417"  # never to be shown by ARM's GET


@pytest.fixture
def cli(azure: Emulator, tmp_path: Path) -> Iterator[AzureCli]:
    """`az`, signed in as the deployer with a federated token, its home removed afterwards."""
    az = installed_or_unavailable()
    trap = OutsideTrap()
    home = tmp_path / "az-home"
    try:
        cli = AzureCli(az, azure, home, trap)
        cli.use_local_cloud()
        cli.login_federated(DEPLOYER, azure.services["oidc"].mint("octo-org/iris-api"))
        yield cli
        assert trap.requests == [], "the Azure CLI tried to reach outside the local Azure"
    finally:
        trap.close()
        shutil.rmtree(home, ignore_errors=True)


def test_az_sees_the_group_the_action_reported_and_its_deletion(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Path,
    cleanup_groups: list[str],
    cli: AzureCli,
) -> None:
    name = "hello-azcli"
    cleanup_groups.append(name)
    run = run_action(
        inputs={"name": name, "secure-environment-variables": SECURE}, workspace=hello_app
    )
    assert run.exit_code == 0, run.stdout
    outputs = run.outputs

    shown = cli.json("container", "show", "--resource-group", RG, "--name", name)
    logs = cli.run("container", "logs", "--resource-group", RG, "--name", name)

    assert shown["id"] == outputs["container-group-id"]
    assert shown["ipAddress"]["fqdn"] == outputs["fqdn"]
    assert shown["ipAddress"]["ip"] == outputs["ip-address"]
    assert shown["instanceView"]["state"] == outputs["state"] == "Running"
    (container,) = shown["containers"]
    assert container["image"] == outputs["image-ref"]  # deployed by digest
    (credential,) = shown["imageRegistryCredentials"]
    assert credential["server"] == azure.login_server(REGISTRY)
    assert credential["username"] == PULL_SP
    assert credential.get("password") is None
    secure_name, _, secure_value = SECURE.partition("=")
    variables = {v["name"]: v for v in container["environmentVariables"]}
    assert variables[secure_name].get("secureValue") is None
    assert secure_value not in json.dumps(shown) + logs.stdout

    deleted = run_action(inputs={"mode": "delete", "name": name})
    gone = cli.run("container", "show", "--resource-group", RG, "--name", name, check=False)

    assert deleted.exit_code == 0, deleted.stdout
    assert gone.returncode == 3  # ResourceNotFound
    assert f"Microsoft.ContainerInstance/containerGroups/{name}' under resource group" in (
        gone.stderr
    )
