"""From an empty subscription: `setup` on the laptop, then the deploy-on-merge step as the runner
runs the action container, then `doctor` green."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from acr_action.__main__ import main
from localazure.server import Emulator
from localazure.state import App, Seed
from tests.harness.container_action import RunnerFolders, run_container_action, with_action_defaults
from tests.harness.workflow import Event, step_env
from tests.leaks import as_the_runner_shows, assert_nothing_leaked

from .conftest import complete_runner_env
from .steps import ROOT

PULL_ID = "b0b00000-0000-4000-8000-000000000003"
PULL_OID = "b0b00000-0000-4000-8000-0000000000ab"
PULL_SECRET = "Pu11~PrincipalSecret.Local-0003"
REPO = "octo-org/iris-api"


def laptop(azure: Emulator, command: str, *extra: str, env: dict[str, str] | None = None) -> str:
    argv = [
        command,
        *("--repo", REPO, "--resource-group", "iris-rg", "--registry", "irisacr"),
        *("--location", "westeurope", "--resource-manager-endpoint", azure.arm_url),
        *("--subscription-id", azure.state.subscription_id, "--oidc-issuer", azure.oidc_issuer),
        *extra,
    ]
    out = io.StringIO()
    code = main({"PATH": "/usr/bin", **(env or {})}, argv=argv, out=out)
    assert code == 0, out.getvalue()
    return out.getvalue()


def test_setup_then_the_container_action_deploys_then_doctor_is_green(
    action_image: str,
    hello_app: Path,
    busybox_image: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed = Seed.empty()
    admin = seed.apps[0]
    seed.apps.append(App(PULL_ID, "irisacr-pull", object_id=PULL_OID, secret=PULL_SECRET))
    with Emulator(seed, workdir=tmp_path / "azure") as azure:
        monkeypatch.setenv("AZURE_CLIENT_ID", admin.client_id)
        monkeypatch.setenv("AZURE_CLIENT_SECRET", str(admin.secret))
        monkeypatch.setenv("AZURE_TENANT_ID", seed.tenant_id)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azure.ca_path))
        workflows = tmp_path / "repo" / ".github" / "workflows"
        pull = {"ACR_ACTION_PULL_USERNAME": PULL_ID, "ACR_ACTION_PULL_PASSWORD": PULL_SECRET}
        printed = laptop(
            azure,
            "setup",
            "--write-workflows",
            str(workflows),
            "--pull-principal-id",
            PULL_OID,
            env=pull,
        )
        variables = dict(re.findall(r"gh variable set (\w+) --repo \S+ --body (\S+)", printed))

        event = Event(environment="production")
        folders = RunnerFolders(tmp_path / "runner" / "_temp", hello_app)
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
        env = step_env(azure, folders.temp, event=event, inputs=inputs, workspace=hello_app)
        env = with_action_defaults(complete_runner_env(env, event, folders), ROOT / "action.yml")
        result = run_container_action(action_image, env, folders, azure.ca_path)
        files = folders.file_commands
        seen = as_the_runner_shows(result.log, files / "output", files / "step_summary")
        try:
            assert result.exit_code == 0, result.log[-3000:]
            assert seen.outputs["url"].startswith("http://")
            secrets = {PULL_SECRET, str(admin.secret), env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]}
            assert_nothing_leaked(seen.shown, secrets, "the deploy step")
            assert "Ready to deploy" in laptop(azure, "doctor", "--workflows", str(workflows))
        finally:
            deleted = main(
                {**env, "INPUT_MODE": "delete", "PATH": os.environ["PATH"]}, out=io.StringIO()
            )
            assert deleted == 0
