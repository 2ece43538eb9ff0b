"""`volumes` and `volume-mounts` against the local Azure: mounted for real, and kept.

The app is examples/hello (busybox httpd serving /www): an Azure Files share mounted at
/www/files and a secret volume at /www/secret, so what it answers is what was mounted. The
`run_action` fixture reads every run as the runner shows it and fails on any secret the local
Azure holds (vault secrets, storage keys) appearing in the log, the summary or the outputs.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from localazure import aci_validate
from localazure.auth import issue_access_token
from localazure.server import Emulator
from localazure.state import SecretVersion
from tests.harness.workflow import DEPLOYER, REGISTRY, RESOURCE_GROUP, VAULT

from .steps import Run

pytestmark = pytest.mark.docker

VOLUMES = (
    "site: azure-file account={account} share=site read-only\n"
    "config: secret key-vault-secrets=app-config\n"
    "scratch: empty-dir"
)
PULLER = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"  # AcrPull on the registry (seed.yaml)
PULLER_SECRET = "Xq8~pullPrincipalSecret.Local-0001"  # the seed's; never printed
MOUNTS = "site:/www/files:ro\nconfig:/www/secret\nscratch:/tmp/scratch"


def http_get(ip: str, path: str) -> tuple[int, str]:
    """One HTTP GET to the deployed app."""
    connection = http.client.HTTPConnection(ip, 80, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": ip})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def set_secret(azure: Emulator, name: str, value: str) -> None:
    """A new latest version of a vault secret (what `az keyvault secret set` does)."""
    with azure.state.lock:
        azure.state.vaults[VAULT].secrets.setdefault(name, []).append(SecretVersion(value=value))


def stored(azure: Emulator, name: str) -> dict[str, Any]:
    """The group as the local Azure holds it (secrets included) and as a GET shows it."""
    with azure.state.lock:
        group = next(g for g in azure.state.container_groups.values() if g.name == name)
        return {"spec": json.loads(json.dumps(group.spec)), "id": group.id}


def new_account(azure: Emulator, share_text: str) -> str:
    """A storage account with the share `site` holding hello.txt; its name."""
    account = f"vol{uuid.uuid4().hex[:12]}"
    storage = azure.services["storage"]
    storage.add_account(RESOURCE_GROUP, account, shares=("site",))
    (storage.share_path(account, "site") / "hello.txt").write_text(share_text, encoding="utf-8")
    return account


def test_volumes_are_mounted_updated_in_place_and_kept(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Path,
    cleanup_groups: list[str],
) -> None:
    name = "hello-volumes"
    cleanup_groups.append(name)
    account = new_account(azure, "from the share\n")
    first_value = f"config-{uuid.uuid4().hex}"
    set_secret(azure, "app-config", first_value)
    inputs = {"name": name, "volumes": VOLUMES.format(account=account), "volume-mounts": MOUNTS}

    created = run_action(inputs=inputs, workspace=hello_app)

    assert created.exit_code == 0, created.stdout
    ip = created.outputs["ip-address"]
    assert http_get(ip, "/files/hello.txt") == (200, "from the share\n")
    assert http_get(ip, "/secret/app-config") == (200, first_value)
    key = azure.services["storage"].account(account).keys["key1"]
    # Masked on arrival: the storage key read through listKeys and the file's vault secret.
    assert {key, first_value} <= created.seen.masks
    # As the runner shows the step (tests/runner_log.py): neither appears, masked or not.
    assert key not in created.shown
    assert first_value not in created.shown
    assert azure.count("POST", f"/storageAccounts/{account}/listKeys") >= 1
    group = stored(azure, name)["spec"]["properties"]
    sent = {v["name"]: v for v in group["volumes"]}
    assert sent["site"]["azureFile"]["storageAccountKey"] == key
    assert sent["config"]["secret"] == {
        "app-config": base64.b64encode(first_value.encode()).decode()
    }
    shown = aci_validate.public_view(stored(azure, name)["spec"])["properties"]["volumes"]
    assert key not in json.dumps(shown)
    assert first_value not in json.dumps(shown)

    # A new version of the secret: the GET cannot show it, the fingerprint does; in place.
    second_value = f"config-{uuid.uuid4().hex}"
    set_secret(azure, "app-config", second_value)
    updated = run_action(inputs=inputs, workspace=hello_app)

    assert updated.exit_code == 0, updated.stdout
    assert "plan: update" in updated.stdout
    assert azure.count("DELETE", f"/containerGroups/{name}") == 0
    assert http_get(updated.outputs["ip-address"], "/secret/app-config") == (200, second_value)

    # A deploy that names only `config`: the share (its key read again) and the emptyDir stay,
    # and so do the app's mounts.
    only_config = run_action(
        inputs={"name": name, "volumes": "config: secret key-vault-secrets=app-config"},
        workspace=hello_app,
    )

    assert only_config.exit_code == 0, only_config.stdout
    after = stored(azure, name)["spec"]["properties"]
    assert sorted(v["name"] for v in after["volumes"]) == ["config", "scratch", "site"]
    mounts = after["containers"][0]["properties"]["volumeMounts"]
    assert [m["mountPath"] for m in mounts] == ["/www/files", "/www/secret", "/tmp/scratch"]
    ip = only_config.outputs["ip-address"]
    assert http_get(ip, "/files/hello.txt") == (200, "from the share\n")
    assert http_get(ip, "/secret/app-config") == (200, second_value)

    # A deploy that names no volume cannot send the secret volume's files: it stops, and the
    # group is left as it was.
    puts_before = azure.count("PUT", f"/containerGroups/{name}")
    unnamed = run_action(inputs={"name": name}, workspace=hello_app)

    assert unnamed.exit_code != 0
    assert "contents of secret volume `config`" in unnamed.stdout
    assert azure.count("PUT", f"/containerGroups/{name}") == puts_before
    assert http_get(ip, "/secret/app-config") == (200, second_value)


def test_a_mount_of_an_undeclared_volume_is_refused_before_any_change(
    run_action: Callable[..., Run], hello_app: Path
) -> None:
    run = run_action(
        inputs={"name": "hello-no-volume", "volume-mounts": "nowhere:/mnt/x"}, workspace=hello_app
    )

    assert run.exit_code != 0
    assert "mounts `nowhere`" in run.stdout


def _arm(azure: Emulator) -> dict[str, str]:
    app = azure.state.app(DEPLOYER)
    assert app is not None
    token, _ = issue_access_token(azure, app, azure.arm_url + "/")
    return {"Authorization": f"Bearer {token}"}


def test_a_wrong_storage_key_leaves_the_container_waiting_on_the_mount(
    azure: Emulator, run_action: Callable[..., Run], hello_app: Path
) -> None:
    name = "hello-bad-key"
    account = new_account(azure, "unreachable\n")
    built = run_action(inputs={"mode": "build"}, workspace=hello_app)
    assert built.exit_code == 0, built.stdout
    url = (
        f"{azure.arm_url}/subscriptions/{azure.state.subscription_id}/resourceGroups/"
        f"{RESOURCE_GROUP}/providers/Microsoft.ContainerInstance/containerGroups/{name}"
        "?api-version=2023-05-01"
    )
    share = {"shareName": "site", "storageAccountName": account, "storageAccountKey": "bm90LWl0"}
    body = {
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "imageRegistryCredentials": [
                {
                    "server": azure.login_server(REGISTRY),
                    "username": PULLER,
                    "password": PULLER_SECRET,
                }
            ],
            "volumes": [{"name": "site", "azureFile": share}],
            "containers": [
                {
                    "name": name,
                    "properties": {
                        "image": built.outputs["image-ref"],
                        "resources": {"requests": {"cpu": 0.25, "memoryInGB": 0.25}},
                        "volumeMounts": [{"name": "site", "mountPath": "/www/files"}],
                    },
                }
            ],
        },
    }
    created = requests.put(
        url, json=body, headers=_arm(azure), verify=str(azure.ca_path), timeout=30
    )
    try:
        # ACI accepts the group: the key is only tried when the share is mounted.
        assert created.status_code == 201, created.text
        deadline = time.monotonic() + 60
        while True:
            group = requests.get(url, headers=_arm(azure), verify=str(azure.ca_path), timeout=10)
            container = group.json()["properties"]["containers"][0]["properties"]
            view = container.get("instanceView") or {}
            events = [
                e for e in view.get("events", []) if e["name"] == "FailedMountAzureFileVolume"
            ]
            if events:
                break
            assert time.monotonic() < deadline, "no FailedMountAzureFileVolume event"
            time.sleep(1)
        assert view["currentState"]["state"] == "Waiting"
        assert events[0]["type"] == "Warning"
        assert "mount error(13): Permission denied" in events[0]["message"]
        assert group.json()["properties"]["provisioningState"] == "Creating"
    finally:
        requests.delete(url, headers=_arm(azure), verify=str(azure.ca_path), timeout=30)
