"""Issue 12's e2e scenario: a sidecar from a spec file, an identity pull, a mounted secret volume.

One deploy, run as the GitHub runner runs the action (the image built from the Dockerfile, one
`docker run` per step), combines the three: `spec-file` in the workspace gives the app container
and a busybox sidecar sharing an emptyDir, `registry-identity` pulls both images by a
user-assigned identity with AcrPull (no Key Vault pull credentials), and `volumes` /
`volume-mounts` mount a secret volume whose file comes from a Key Vault secret. The app (the
busybox httpd of examples/hello) serves both the secret file and the file the sidecar wrote, so
its answer proves the mounts and the sidecar. The secret's value is a test value the local Azure
treats as a secret: the `run_action` fixture fails if it appears in the step as the runner shows
it; here it must also be among the step's masks and in the HTTP answer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localazure.auth import issue_access_token
from localazure.server import Emulator
from localazure.state import SecretVersion
from tests.harness.workflow import DEPLOYER, REGISTRY, RESOURCE_GROUP, VAULT, Event

from .steps import Run, assert_deployed, hello_inputs, serves

pytestmark = [pytest.mark.docker, pytest.mark.emulator]

NAME = "features-app"
PULL_SECRET = "/secrets/acractiondemo-pull"  # the seed's Key Vault pull credentials


def _arm(azure: Emulator) -> dict[str, str]:
    """An ARM bearer token of the seed's deployer, as headers."""
    app = azure.state.app(DEPLOYER)
    assert app is not None
    token, _ = issue_access_token(azure, app, azure.arm_url + "/")
    return {"Authorization": f"Bearer {token}"}


def _group_url(azure: Emulator) -> str:
    return (
        f"{azure.arm_url}/subscriptions/{azure.state.subscription_id}/resourceGroups/"
        f"{RESOURCE_GROUP}/providers/Microsoft.ContainerInstance/containerGroups/{NAME}"
        "?api-version=2023-05-01"
    )


@pytest.fixture
def puller(azure: Emulator) -> Iterator[str]:
    """A user-assigned identity made through ARM, with AcrPull on the registry; its ID."""
    scope = f"/subscriptions/{azure.state.subscription_id}/resourceGroups/{RESOURCE_GROUP}"
    resource_id = f"{scope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/e2e-pull"
    url = f"{azure.arm_url}{resource_id}?api-version=2023-01-31"
    verify = str(azure.ca_path)
    made = requests.put(
        url, json={"location": "westeurope"}, headers=_arm(azure), verify=verify, timeout=30
    )
    assert made.status_code in (200, 201), made.text
    principal = made.json()["properties"]["principalId"]
    registry = f"{scope}/providers/Microsoft.ContainerRegistry/registries/{REGISTRY}"
    azure.state.grant(principal, "AcrPull", registry)
    yield resource_id
    azure.state.revoke(principal)
    requests.delete(url, headers=_arm(azure), verify=verify, timeout=30)


def _spec_file(sidecar_image: str) -> str:
    """The group file: the app container `web` and a sidecar writing into a shared emptyDir."""
    return f"""\
apiVersion: '2023-05-01'
type: Microsoft.ContainerInstance/containerGroups
properties:
  containers:
  - name: web
    properties:
      environmentVariables:
      - name: FROM_FILE
        value: yes-it-is
  - name: side
    properties:
      image: {sidecar_image}
      command: [/bin/busybox, sh, -c, 'echo written-by-the-sidecar > /shared/side.txt;
        exec /bin/busybox sleep 86400']
      resources:
        requests: {{cpu: 0.25, memoryInGb: 0.25}}
      volumeMounts:
      - name: shared
        mountPath: /shared
  volumes:
  - name: shared
    emptyDir: {{}}
"""


@pytest.fixture
def app_config(azure: Emulator) -> Iterator[str]:
    """A test value the local Azure keeps as the Key Vault secret `app-config` for this test only
    (the vault is the session's: other tests count on what it holds). Treated as a secret."""
    value = f"cfg-{uuid.uuid4().hex}"
    secrets = azure.state.vaults[VAULT].secrets
    with azure.state.lock:
        secrets["app-config"] = [SecretVersion(value=value)]
    yield value
    with azure.state.lock:
        del secrets["app-config"]


def test_sidecar_identity_pull_and_secret_volume_in_one_deploy(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Path,
    puller: str,
    app_config: str,
    cleanup_groups: list[str],
) -> None:
    cleanup_groups.append(NAME)
    event = Event()
    login_server = azure.login_server(REGISTRY)
    # The sidecar runs the image this same step pushes (busybox inside): the tag is the commit's.
    sidecar_image = f"{login_server}/iris-api:sha-{event.sha[:7]}"
    (hello_app / "aci.yaml").write_text(_spec_file(sidecar_image), encoding="utf-8")
    value = app_config
    inputs = hello_inputs(
        name=NAME,
        **{
            "spec-file": "aci.yaml",
            "registry-identity": puller,
            "volumes": "config: secret key-vault-secrets=app-config",
            "volume-mounts": "config:/www/secret:ro\nshared:/www/shared:ro",
        },
    )
    pull_reads = azure.count("GET", PULL_SECRET)

    run = run_action(event=event, inputs=inputs, workspace=hello_app)

    assert_deployed(run, azure, NAME)
    assert run.outputs["url"] == f"http://{run.outputs['fqdn']}"
    # The app answers with the secret file's content and with the file the sidecar wrote.
    assert serves(run, "/secret/app-config") == value
    assert serves(run, "/shared/side.txt") == "written-by-the-sidecar\n"
    assert "hello" in serves(run).lower()
    # The value was masked as it arrived, and (the fixture checked) never shown.
    assert value in run.seen.masks
    assert value not in run.shown
    # Pulled by the identity only: no Key Vault pull credentials read, no password sent.
    assert azure.count("GET", PULL_SECRET) == pull_reads
    group = requests.get(
        _group_url(azure), headers=_arm(azure), verify=str(azure.ca_path), timeout=30
    ).json()
    properties = group["properties"]
    assert properties["imageRegistryCredentials"] == [{"server": login_server, "identity": puller}]
    assert "password" not in json.dumps(properties["imageRegistryCredentials"])
    assert {k.lower() for k in group["identity"]["userAssignedIdentities"]} == {puller.lower()}
    # Both containers run; the app's image is the pushed digest, the sidecar's the file's.
    containers: dict[str, Any] = {c["name"]: c["properties"] for c in properties["containers"]}
    assert list(containers) == ["web", "side"]
    for container in containers.values():
        assert container["instanceView"]["currentState"]["state"] == "Running"
    assert containers["web"]["image"] == run.outputs["image-ref"]
    assert containers["side"]["image"] == sidecar_image
    assert {"name": "FROM_FILE", "value": "yes-it-is"} in containers["web"]["environmentVariables"]
    assert sorted(v["name"] for v in properties["volumes"]) == ["config", "shared"]
    assert value not in json.dumps(group)  # a GET never shows a secret volume's files

    # The same step again: nothing changed, nothing sent.
    puts = azure.count("PUT", f"/containerGroups/{NAME}")
    again = run_action(event=event, inputs=inputs, workspace=hello_app)

    assert_deployed(again, azure, NAME)
    assert "plan: noop" in again.log
    assert azure.count("PUT", f"/containerGroups/{NAME}") == puts
    assert azure.count("DELETE", f"/containerGroups/{NAME}") == 0
    assert azure.count("GET", PULL_SECRET) == pull_reads
    assert again.outputs["digest"] == run.outputs["digest"]
    assert serves(again, "/secret/app-config") == value

    # Without `volume-mounts` (the file's `web` states none either): the app keeps its mounts.
    unmounted = run_action(
        event=event,
        inputs={k: v for k, v in inputs.items() if k != "volume-mounts"},
        workspace=hello_app,
    )

    assert_deployed(unmounted, azure, NAME)
    assert azure.count("DELETE", f"/containerGroups/{NAME}") == 0
    assert serves(unmounted, "/secret/app-config") == value
    assert serves(unmounted, "/shared/side.txt") == "written-by-the-sidecar\n"
