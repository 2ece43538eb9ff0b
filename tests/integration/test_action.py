"""The action end to end in-process: the real SDKs, Docker engine and registry, the local Azure."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable

import pytest

from localazure.server import Emulator
from localazure.state import SecretVersion
from tests.harness.workflow import DEPLOYER, REGISTRY, VAULT, Event

from .steps import Run

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
    assert PULL_PASSWORD not in run.shown


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
    assert f"federated-credential create --id '{DEPLOYER}'" in run.stdout, "the client-id input"
    assert "<client-id>" not in run.stdout


def test_wrong_audience_is_explained_as_a_federation_mismatch(
    run_action: Callable[..., Run], hello_app
) -> None:
    run = run_action(
        inputs={"name": "hello-aud", "audience": "api://AzureADMyOrg"}, workspace=hello_app
    )

    assert run.exit_code == 1
    assert "AADSTS700212" in run.stdout
    assert "no federated credential matches the token's audience" in run.stdout
    assert "api://AzureADMyOrg" in run.stdout
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
    # The fix names the principal that signed in (its token's `oid`), never a placeholder.
    object_id = azure.state.apps[DEPLOYER.lower()].object_id
    assert f"--assignee '{object_id}'" in run.stdout
    assert f"--object-id '{object_id}'" in run.stdout
    assert "the workflow" not in run.stdout
    assert "<client-id>" not in run.stdout


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


def test_pull_request_preview_gets_its_own_group_and_tag(
    run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("iris-api-pr-12")
    event = Event(name="pull_request", pr_number=12)

    run = run_action(event=event, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    assert run.outputs["name"] == "iris-api-pr-12"
    assert run.outputs["image"].endswith(":sha-" + event.sha[:7])
    assert "/iris-api:pr-12 (sha256:" in run.stdout  # pushed under the PR's tag too


def test_crashing_app_fails_with_its_exit_code_and_logs(
    run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-crash")
    command = (
        '["/bin/busybox", "sh", "-c", "echo starting up; echo fatal: no model file >&2; exit 3"]'
    )

    run = run_action(
        inputs={"name": "hello-crash", "command-line": command, "restart-policy": "Never"},
        workspace=hello_app,
    )

    assert run.exit_code == 1
    assert "exit code 3" in run.stdout
    assert "fatal: no model file" in run.stdout


def test_app_that_never_answers_fails_within_the_timeout(
    run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-deaf")
    started = time.monotonic()

    # The app listens on 80; the group publishes 8080, so the readiness probe never gets an answer.
    run = run_action(
        inputs={"name": "hello-deaf", "ports": "8080", "timeout": "12s"}, workspace=hello_app
    )

    assert run.exit_code == 1
    assert ":8080/" in run.stdout
    assert time.monotonic() - started < 30


def test_key_vault_secret_reaches_the_container_as_a_secure_variable(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-secret")
    secret = "s3cr3t value=with 'quotes' #and-hash"
    plain = "a=b c #d 'e'"
    azure.state.vaults[VAULT].secrets["app-api-key"] = [SecretVersion(secret)]
    serve_env = (
        '["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /srv'
        ' && echo \\"$API_KEY|$PLAIN\\" > /srv/env.txt'
        ' && exec /bin/busybox httpd -f -p 80 -h /srv"]'
    )
    try:
        run = run_action(
            inputs={
                "name": "hello-secret",
                "secrets-from-key-vault": "API_KEY=app-api-key",
                "environment-variables": f"PLAIN={plain}",
                "command-line": serve_env,
            },
            workspace=hello_app,
        )
    finally:
        del azure.state.vaults[VAULT].secrets["app-api-key"]

    assert run.exit_code == 0, run.stdout
    status, body = http_get(run.outputs["ip-address"], 80, "/env.txt")
    assert status == 200
    assert body.strip() == f"{secret}|{plain}"
    assert f"::add-mask::{secret}" in run.stdout


def test_creds_secret_signs_in_without_oidc(
    azure: Emulator, run_action: Callable[..., Run]
) -> None:
    scope = azure.state.rg_scope("demo-rg")
    creds = {
        "clientId": PULL_SP,
        "clientSecret": PULL_PASSWORD,
        "tenantId": azure.state.tenant_id,
        "subscriptionId": azure.state.subscription_id,
    }
    no_oidc_ids = {"client-id": "", "tenant-id": "", "subscription-id": ""}
    azure.state.grant(PULL_SP, "Contributor", scope)
    try:
        ok = run_action(
            inputs={
                **no_oidc_ids,
                "creds": json.dumps(creds),
                "mode": "delete",
                "name": "hello-creds",
            }
        )
        bad = run_action(
            inputs={
                **no_oidc_ids,
                "creds": json.dumps({**creds, "clientSecret": "wrong-secret-value"}),
                "mode": "delete",
            }
        )
    finally:
        azure.state.revoke(PULL_SP, "Contributor")

    assert ok.exit_code == 0, ok.stdout
    assert ok.outputs["state"] == "NotFound"
    assert bad.exit_code == 1
    assert "AADSTS7000215" in bad.stdout


def test_fork_pull_request_gets_a_clear_message(run_action: Callable[..., Run], hello_app) -> None:
    event = Event(name="pull_request", pr_number=31, fork=True)

    run = run_action(event=event, workspace=hello_app, oidc=False)

    assert run.exit_code == 1
    assert "pull requests from forks do not get one" in run.stdout
    assert "contributor/iris-api" in run.stdout
    assert "if: github.event.pull_request.head.repo.full_name == github.repository" in run.stdout


def write_dockerfile(workspace, text: str) -> None:
    (workspace / "Dockerfile").write_text(text, encoding="utf-8")


def test_failed_build_shows_the_failing_step(run_action: Callable[..., Run], hello_app) -> None:
    write_dockerfile(
        hello_app,
        "ARG BUSYBOX_IMAGE=busybox:1.36\nFROM ${BUSYBOX_IMAGE}\n"
        'RUN ["/bin/busybox", "sh", "-c", "echo compiling the model; exit 7"]\n',
    )

    run = run_action(inputs={"name": "hello-broken", "mode": "build"}, workspace=hello_app)

    assert run.exit_code == 1
    assert "compiling the model" in run.stdout
    assert "RUN" in run.stdout.split("::error", 1)[1]


def test_buildkit_only_syntax_builds(run_action: Callable[..., Run], hello_app) -> None:
    write_dockerfile(
        hello_app,
        "ARG BUSYBOX_IMAGE=busybox:1.36\nFROM ${BUSYBOX_IMAGE}\n"
        'RUN --mount=type=cache,target=/cache ["/bin/busybox", "sh", "-c", "echo cached > /cache/x"]\n'
        'CMD ["/bin/busybox", "httpd", "-f", "-p", "80"]\n',
    )

    run = run_action(
        inputs={"name": "hello-buildkit", "mode": "build", "tags": "buildkit"}, workspace=hello_app
    )

    assert run.exit_code == 0, run.stdout
    assert run.outputs["digest"].startswith("sha256:")


def test_existing_image_is_deployed_by_digest(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-image")
    built = run_action(
        inputs={"name": "hello-image", "mode": "build", "tags": "release-1"}, workspace=hello_app
    )
    assert built.exit_code == 0, built.stdout
    tagged = f"{azure.login_server(REGISTRY)}/iris-api:release-1"

    # No build inputs at all: deploy what the registry already holds, pinned to its digest.
    run = run_action(inputs={"name": "hello-image", "image": tagged, "build-args": ""})

    assert run.exit_code == 0, run.stdout
    assert (
        run.outputs["image-ref"]
        == f"{azure.login_server(REGISTRY)}/iris-api@{built.outputs['digest']}"
    )
    assert run.outputs["digest"] == built.outputs["digest"]
    status, _ = http_get(run.outputs["ip-address"], 80)
    assert status == 200


def test_pull_credentials_without_key_vault(
    run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-userpass")

    run = run_action(
        inputs={
            "name": "hello-userpass",
            "key-vault": "",
            "registry-username": PULL_SP,
            "registry-password": PULL_PASSWORD,
        },
        workspace=hello_app,
    )

    assert run.exit_code == 0, run.stdout
    assert run.outputs["state"] == "Running"


def test_no_wait_returns_after_the_operation(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-nowait")

    run = run_action(inputs={"name": "hello-nowait", "wait": "false"}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    assert run.outputs["fqdn"]
    assert "time: readiness" not in run.summary


def test_each_entra_token_gets_a_fresh_github_id_token(
    azure: Emulator, run_action: Callable[..., Run], hello_app
) -> None:
    before = azure.count("GET", "/idtoken")

    run = run_action(inputs={"name": "hello-tokens"}, workspace=hello_app)
    run_action(inputs={"name": "hello-tokens", "mode": "delete"})

    assert run.exit_code == 0, run.stdout
    # One Entra token for ARM, one for Key Vault, one for ACR's own audience (the registry
    # exchange): each from its own, fresh ID token, so a long build can never present an expired
    # assertion (AADSTS700024).
    assert azure.count("GET", "/idtoken") - before == 3 + 1  # + the delete run's ARM token
