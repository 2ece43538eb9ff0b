"""The action end to end in-process: the real SDKs, Docker engine and registry, the local Azure."""

from __future__ import annotations

import http.client
from collections.abc import Callable

import pytest

from tests.emulator.server import Emulator
from tests.emulator.workflow import DEPLOYER, REGISTRY, VAULT, Event

from .conftest import Run

PULL_SP = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"
PULL_PASSWORD = "Xq8~pullPrincipalSecret.Local-0001"  # seed.yaml; must never be printed
pytestmark = pytest.mark.docker


def http_get(ip: str, port: int, path: str = "/", host: str | None = None) -> tuple[int, str]:
    """One HTTP GET to a deployed container."""
    connection = http.client.HTTPConnection(ip, port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host or ip})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def assert_no_leak(run: Run) -> None:
    """No known secret appears anywhere the run wrote."""
    assert PULL_PASSWORD not in run.everything


def test_deploy_on_push_serves_the_app(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-push")
    run = run_action(inputs={"name": "hello-push"}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    outputs = run.outputs
    assert outputs["fqdn"].endswith(".westeurope.azurecontainer.io")
    assert outputs["url"] == f"http://{outputs['fqdn']}"
    assert outputs["digest"].startswith("sha256:")
    login = azure.login_server(REGISTRY)
    assert outputs["image-ref"] == f"{login}/iris-api@{outputs['digest']}"
    assert outputs["image"].endswith(":sha-" + Event().sha[:7])
    assert outputs["state"] == "Running"
    assert outputs["name"] == "hello-push"
    assert outputs["container-group-id"].endswith("/containerGroups/hello-push")
    status, body = http_get(outputs["ip-address"], 80, "/", outputs["fqdn"])
    assert status == 200
    assert "hello" in body.lower()
    assert "| digest |" in run.summary.replace("`", "")
    assert_no_leak(run)


def test_unchanged_rerun_is_a_noop(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-noop")
    first = run_action(inputs={"name": "hello-noop"}, workspace=hello_app)
    assert first.exit_code == 0, first.stdout
    puts_before = azure.count("PUT", "/containerGroups/hello-noop")

    second = run_action(inputs={"name": "hello-noop"}, workspace=hello_app)

    assert second.exit_code == 0, second.stdout
    assert azure.count("PUT", "/containerGroups/hello-noop") == puts_before, second.stdout[-1500:]
    assert second.outputs["digest"] == first.outputs["digest"]
    assert "0 layer(s) uploaded" in second.stdout
    assert "plan: noop" in second.stdout


def test_cpu_change_recreates_with_a_warning(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-cpu")
    assert run_action(inputs={"name": "hello-cpu"}, workspace=hello_app).exit_code == 0

    run = run_action(inputs={"name": "hello-cpu", "cpu": "2"}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    assert "::warning" in run.stdout
    assert "cpu" in run.stdout
    assert azure.count("DELETE", "/containerGroups/hello-cpu") == 1
    status, _ = http_get(run.outputs["ip-address"], 80)
    assert status == 200


def test_immutable_change_can_be_refused(
    run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-strict")
    assert run_action(inputs={"name": "hello-strict"}, workspace=hello_app).exit_code == 0

    run = run_action(
        inputs={"name": "hello-strict", "memory": "2", "on-immutable-change": "fail"},
        workspace=hello_app,
    )

    assert run.exit_code == 1
    assert "on-immutable-change" in run.stdout
    assert "memory" in run.stdout


def test_delete_removes_the_group_and_is_idempotent(
    azure: Emulator, run_action: Callable[..., Run], hello_app
) -> None:
    assert run_action(inputs={"name": "hello-delete"}, workspace=hello_app).exit_code == 0

    first = run_action(inputs={"name": "hello-delete", "mode": "delete"})
    again = run_action(inputs={"name": "hello-delete", "mode": "delete"})

    assert first.exit_code == 0, first.stdout
    assert first.outputs["state"] == "Deleted"
    assert again.exit_code == 0, again.stdout
    assert again.outputs["state"] == "NotFound"


def test_build_only_pushes_without_deploying(
    azure: Emulator, run_action: Callable[..., Run], hello_app
) -> None:
    run = run_action(
        inputs={"name": "hello-build", "mode": "build", "tags": "build-only"}, workspace=hello_app
    )

    assert run.exit_code == 0, run.stdout
    assert run.outputs["image"].endswith("/iris-api:build-only")
    assert run.outputs["digest"].startswith("sha256:")
    assert azure.count("PUT", "/containerGroups/hello-build") == 0


def test_wrong_federated_subject_shows_the_claims(
    run_action: Callable[..., Run], hello_app
) -> None:
    run = run_action(
        event=Event(ref="refs/heads/feature-x"), inputs={"name": "hello-sub"}, workspace=hello_app
    )

    assert run.exit_code == 1
    assert "AADSTS700213" in run.stdout
    assert "repo:octo-org/iris-api:ref:refs/heads/feature-x" in run.stdout
    assert "az ad app federated-credential create" in run.stdout


def test_missing_id_token_permission_is_explained(
    run_action: Callable[..., Run], hello_app
) -> None:
    run = run_action(inputs={"name": "hello-noperm"}, workspace=hello_app, oidc=False)

    assert run.exit_code == 1
    assert "id-token: write" in run.stdout


def test_pull_principal_without_acrpull_fails_the_deploy(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-nopull")
    scope = azure.state.registry_id(azure.state.registries[REGISTRY])
    azure.state.revoke(PULL_SP, "AcrPull")
    try:
        run = run_action(inputs={"name": "hello-nopull"}, workspace=hello_app)
    finally:
        azure.state.grant(PULL_SP, "AcrPull", scope)

    assert run.exit_code == 1
    assert "AcrPull" in run.stdout
    assert_no_leak(run)


def test_vault_without_role_is_explained(
    azure: Emulator, run_action: Callable[..., Run], hello_app
) -> None:
    scope = azure.state.vault_id(azure.state.vaults[VAULT])
    azure.state.revoke(DEPLOYER, "Key Vault Secrets User")
    try:
        run = run_action(inputs={"name": "hello-novault"}, workspace=hello_app)
    finally:
        azure.state.grant(DEPLOYER, "Key Vault Secrets User", scope)

    assert run.exit_code == 1
    assert "Key Vault Secrets User" in run.stdout


def test_dns_label_taken_is_explained(
    run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-label-a")
    first = run_action(
        inputs={"name": "hello-label-a", "dns-name-label": "taken-label-1"}, workspace=hello_app
    )
    assert first.exit_code == 0, first.stdout

    run = run_action(
        inputs={"name": "hello-label-b", "dns-name-label": "taken-label-1"}, workspace=hello_app
    )

    assert run.exit_code == 1
    assert "taken-label-1" in run.stdout
