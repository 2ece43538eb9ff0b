"""`volumes` and `volume-mounts`: the syntax, the rules checked before any call, and the ACI form.

The group the action PUTs keeps every volume the inputs do not name, sends the secrets of those
it names (base64 in `secret`, the storage key in `storageAccountKey`), and a changed secret is
seen only through the fingerprint, since a GET never shows it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest
from azure.mgmt.containerinstance.models import ContainerGroup

from acr_action import cloud
from acr_action import volumes as vol
from acr_action.errors import ActionError, InputError
from acr_action.inputs import parse_inputs
from acr_action.keep import lost_secrets
from acr_action.retry import Retrier
from acr_action.spec import GroupSpec, diff, fingerprint, to_model
from tests.unit.support import make_env

DIGEST = "sha256:" + "b" * 64
STORAGE_KEY = "c3RvcmFnZS1rZXktZm9yLXRlc3Rz-0001"
FILE_VALUE = "db-password-from-the-vault-77"

BASE = GroupSpec(
    name="app",
    location="westeurope",
    image_ref=f"myreg.azurecr.io/app@{DIGEST}",
    cpu=1.0,
    memory=1.5,
    ports=(80,),
)
OURS = (
    vol.Volume("data", "azure-file", "mystorage", "app-data", key=STORAGE_KEY),
    vol.Volume("cache", "empty-dir"),
    vol.Volume("config", "secret", files=(("db-password", FILE_VALUE),)),
)
MOUNTS = (vol.Mount("data", "/mnt/data"), vol.Mount("config", "/etc/app", read_only=True))
WITH = replace(BASE, volumes=OURS, volume_mounts=MOUNTS)


def test_each_kind_parses_from_its_line() -> None:
    found, problems = vol.parse_volumes(
        "data: azure-file account=mystorage share=app-data\n"
        "# a comment\n"
        "logs: azure-file account=mystorage share=logs key-secret=storage-key read-only "
        "resource-group=storage-rg\n"
        "\n"
        "cache: empty-dir\n"
        "config: secret key-vault-secrets=app-config,tls.crt=tls-cert\n"
    )
    assert problems == []
    assert found == (
        vol.VolumeInput("data", "azure-file", account="mystorage", share="app-data"),
        vol.VolumeInput(
            "logs",
            "azure-file",
            account="mystorage",
            share="logs",
            account_resource_group="storage-rg",
            key_secret="storage-key",
            read_only=True,
        ),
        vol.VolumeInput("cache", "empty-dir"),
        vol.VolumeInput(
            "config", "secret", files=(("app-config", "app-config"), ("tls.crt", "tls-cert"))
        ),
    )


@pytest.mark.parametrize(
    ("line", "says"),
    [
        pytest.param("data azure-file", "is not `NAME: KIND OPTIONS`", id="no-colon"),
        pytest.param("Data: empty-dir", "the volume name must be", id="upper-case-name"),
        pytest.param("data: nfs server=x", "the kind must be one of", id="unknown-kind"),
        pytest.param("data: empty-dir size=1", "empty-dir takes no options", id="option-on-empty"),
        pytest.param("data: azure-file share=app", "account= must be", id="no-account"),
        pytest.param("data: azure-file account=my_st share=app", "account= must", id="bad-acct"),
        pytest.param("data: azure-file account=mystorage", "share= must be", id="no-share"),
        pytest.param(
            "data: azure-file account=mystorage share=app key=abc",
            "azure-file takes",
            id="key-in-clear-is-refused",
        ),
        pytest.param("cfg: secret", "secret needs key-vault-secrets=", id="secret-without-files"),
        pytest.param("cfg: secret key-vault-secrets=a_b", "not a Key Vault secret", id="bad-kv"),
        pytest.param("cfg: secret key-vault-secrets=../x=a", "not a file name", id="bad-file"),
        pytest.param("cfg: secret key-vault-secrets=a,a", "listed twice", id="file-twice"),
    ],
)
def test_a_bad_volume_line_says_what_is_wrong(line: str, says: str) -> None:
    found, problems = vol.parse_volumes(line)
    assert found == ()
    assert len(problems) == 1, problems
    assert says in problems[0][0]
    assert problems[0][1] == line


def test_a_volume_declared_twice_is_refused() -> None:
    _, problems = vol.parse_volumes("cache: empty-dir\ncache: empty-dir")
    assert [message for message, _ in problems] == ["line 2: volume `cache` is declared twice"]


def test_mounts_parse_with_their_mode() -> None:
    mounts, problems = vol.parse_mounts("data:/mnt/data\nconfig:/etc/app:ro\ncache:/tmp/c:rw")
    assert problems == []
    assert mounts == (
        vol.Mount("data", "/mnt/data"),
        vol.Mount("config", "/etc/app", read_only=True),
        vol.Mount("cache", "/tmp/c"),
    )
    assert vol.parse_mounts(None) == (None, [])


@pytest.mark.parametrize(
    ("line", "says"),
    [
        pytest.param("data", "is not `NAME:PATH`", id="no-path"),
        # azure-cli's own rule: "The volume mount path cannot contain ':'".
        pytest.param("data:C:/data", "is not `NAME:PATH`", id="colon-in-path"),
        pytest.param("data:/mnt:readonly", "is not `NAME:PATH`", id="bad-mode"),
        pytest.param("data:mnt/data", "must be absolute", id="relative"),
        pytest.param("data:/", "cannot be `/`", id="root"),
        pytest.param("data:/mnt/../etc", "must not contain", id="dot-dot"),
    ],
)
def test_a_bad_mount_line_says_what_is_wrong(line: str, says: str) -> None:
    _, problems = vol.parse_mounts(line)
    assert len(problems) == 1, problems
    assert says in problems[0][0]


def test_two_mounts_on_one_path_are_refused() -> None:
    _, problems = vol.parse_mounts("data:/mnt/x\ncache:/mnt/x/")
    assert [m for m, _ in problems] == ["line 2 (cache): /mnt/x/ is already a mount path"]


def _problems(inputs: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as caught:
        parse_inputs(make_env(inputs))
    return [(p.input, p.message) for p in caught.value.problems]


def test_inputs_report_each_bad_line_and_what_needs_key_vault() -> None:
    env = {"volumes": "cfg: secret key-vault-secrets=app-config\nbad line", "key-vault": ""}
    problems = _problems(env)
    assert (
        "volumes",
        "line 2 is not `NAME: KIND OPTIONS` (KIND: azure-file, empty-dir, secret)",
    ) in problems
    assert any(
        name == "volumes" and "reads its files from Key Vault" in message
        for name, message in problems
    )


def test_windows_groups_get_no_volumes() -> None:
    problems = _problems({"volumes": "cache: empty-dir", "os-type": "Windows"})
    assert any("Linux only" in m or "os-type: Linux" in m for _, m in problems)


def test_parsed_inputs_carry_volumes_and_mounts() -> None:
    inputs = parse_inputs(
        make_env({"volumes": "cache: empty-dir", "volume-mounts": "cache:/cache"})
    )
    assert inputs.container.volumes == (vol.VolumeInput("cache", "empty-dir"),)
    assert inputs.container.volume_mounts == (vol.Mount("cache", "/cache"),)
    assert parse_inputs(make_env()).container.volume_mounts is None


def test_the_put_carries_the_secrets_as_aci_takes_them() -> None:
    body = to_model(WITH).serialize()
    volumes = {v["name"]: v for v in body["properties"]["volumes"]}
    assert volumes["data"]["azureFile"] == {
        "shareName": "app-data",
        "storageAccountName": "mystorage",
        "storageAccountKey": STORAGE_KEY,
    }
    assert volumes["cache"]["emptyDir"] == {}
    assert volumes["config"]["secret"] == {
        "db-password": base64.b64encode(FILE_VALUE.encode()).decode()
    }
    mounts = body["properties"]["containers"][0]["properties"]["volumeMounts"]
    assert mounts == [
        {"name": "data", "mountPath": "/mnt/data"},
        {"name": "config", "mountPath": "/etc/app", "readOnly": True},
    ]
    assert FILE_VALUE not in repr(WITH)
    assert STORAGE_KEY not in repr(WITH)


def _as_get(spec: GroupSpec, existing: ContainerGroup | None = None) -> ContainerGroup:
    """What a GET answers after `spec` was deployed: secrets gone, as ACI drops them."""
    body = to_model(spec, existing).serialize()
    for volume in body["properties"].get("volumes") or []:
        if "azureFile" in volume:
            volume["azureFile"].pop("storageAccountKey", None)
        if "secret" in volume:
            volume["secret"] = {}
    return ContainerGroup.deserialize(body)


def test_the_same_volumes_again_are_a_noop_and_a_new_secret_an_update() -> None:
    deployed = _as_get(WITH)
    assert diff(deployed, WITH).action == "noop"
    changed = replace(WITH, volumes=(*OURS[:2], replace(OURS[2], files=(("db-password", "new"),))))
    assert fingerprint(changed) != fingerprint(WITH)
    assert diff(deployed, changed).action == "update"


def test_a_changed_share_or_mount_is_an_update_in_place() -> None:
    deployed = _as_get(WITH)
    share = replace(WITH, volumes=(replace(OURS[0], share="other"), *OURS[1:]))
    assert diff(deployed, share).action == "update"
    assert "volumes" in diff(deployed, share).changed
    mounts = replace(WITH, volume_mounts=(vol.Mount("data", "/srv"),))
    assert diff(deployed, mounts).changed == ("volume mounts",)


def test_a_deploy_without_volume_inputs_keeps_them_and_the_mounts() -> None:
    deployed = _as_get(replace(BASE, volumes=(OURS[1],), volume_mounts=(MOUNTS[0],)))
    again = to_model(BASE, deployed).serialize()
    assert [v["name"] for v in again["properties"]["volumes"]] == ["cache"]
    assert again["properties"]["containers"][0]["properties"]["volumeMounts"] == [
        {"name": "data", "mountPath": "/mnt/data"}
    ]
    assert diff(deployed, BASE).action in ("noop", "update")
    assert "volumes" not in diff(deployed, BASE).changed


def test_volumes_set_up_elsewhere_stay_beside_ours() -> None:
    elsewhere = ContainerGroup.deserialize(
        {
            "location": "westeurope",
            "properties": {
                "osType": "Linux",
                "containers": [],
                "volumes": [{"name": "shared", "emptyDir": {}}, {"name": "cache", "secret": {}}],
            },
        }
    )
    group = to_model(replace(BASE, volumes=(OURS[1],)), elsewhere).serialize()
    assert group["properties"]["volumes"] == [
        {"name": "shared", "emptyDir": {}},
        {"name": "cache", "emptyDir": {}},
    ]


def test_the_volumes_the_action_names_are_not_lost_secrets() -> None:
    deployed = _as_get(WITH)
    assert lost_secrets(deployed, "app", frozenset(), frozenset({"data", "config"})) == []
    lost = lost_secrets(deployed, "app", frozenset())
    assert lost == [
        "storage account key of Azure Files volume `data`",
        "contents of secret volume `config`",
    ]


def test_a_mount_of_an_undeclared_volume_is_found() -> None:
    deployed = _as_get(replace(BASE, volumes=(OURS[1],)))
    mounts = (vol.Mount("cache", "/c"), vol.Mount("nowhere", "/n"))
    assert vol.undeclared(mounts, (), deployed) == ["nowhere"]
    assert vol.undeclared(mounts, (), None) == ["cache", "nowhere"]


def test_vault_reads_and_resolution() -> None:
    inputs = (
        vol.VolumeInput("data", "azure-file", account="a1b2c", share="s1", key_secret="sk"),
        vol.VolumeInput("files", "azure-file", account="a1b2c", share="s2"),
        vol.VolumeInput("config", "secret", files=(("f", "kv-f"),)),
    )
    names = vol.vault_names(inputs)
    assert names == {"volume/data/key": "sk", "volume/config/file/f": "kv-f"}
    values = {"volume/data/key": "from-vault", "volume/config/file/f": "file-value"}
    resolved = vol.resolve(inputs, values, {"files": "from-list-keys"})
    assert [v.key for v in resolved] == ["from-vault", "from-list-keys", ""]
    assert resolved[2].files == (("f", "file-value"),)


class _Answer:
    def __init__(self, status: int, body: dict[str, object]) -> None:
        self.status_code = status
        self._body = body
        self.text = json.dumps(body)
        self.headers: dict[str, str] = {}

    def json(self) -> dict[str, object]:
        return self._body


class _Scripted(Retrier):
    """A retrier whose one HTTP answer is scripted; it records what was asked."""

    def __init__(self, answer: _Answer) -> None:
        super().__init__()
        self.answer = answer
        self.calls: list[tuple[str, str]] = []

    def http(self, dependency: str, method: str, url: str, **kwargs: object) -> Any:
        self.calls.append((method, url))
        return self.answer


AZURE_FILE = (vol.VolumeInput("data", "azure-file", account="mystorage", share="app-data"),)


def test_the_storage_key_is_read_through_list_keys_and_masked() -> None:
    keys_body: dict[str, object] = {
        "keys": [
            {"keyName": "key1", "value": STORAGE_KEY, "permissions": "FULL"},
            {"keyName": "key2", "value": "other", "permissions": "FULL"},
        ]
    }
    retrier = _Scripted(_Answer(200, keys_body))
    masked: list[str] = []

    keys = vol.storage_keys(
        "arm-token", cloud.for_environment("AzureCloud"), "sub-1", "app-rg", AZURE_FILE,
        masked.append, retrier,
    )  # fmt: skip

    assert keys == {"data": STORAGE_KEY}
    assert masked == [STORAGE_KEY]
    assert retrier.calls == [
        (
            "POST",
            "https://management.azure.com/subscriptions/sub-1/resourceGroups/app-rg/providers"
            "/Microsoft.Storage/storageAccounts/mystorage/listKeys?api-version=2023-05-01",
        )
    ]


def test_list_keys_refused_names_the_missing_action() -> None:
    action = "Microsoft.Storage/storageAccounts/listkeys/action"
    scope = "/subscriptions/sub-1/resourceGroups/app-rg/providers/Microsoft.Storage/storageAccounts/mystorage"
    message = (
        "The client 'x' with object id '0f8fad5b-d9cb-469f-a165-70867728950e' does not have "
        f"authorization to perform action '{action}' over scope '{scope}' or the scope is invalid."
    )
    retrier = _Scripted(
        _Answer(403, {"error": {"code": "AuthorizationFailed", "message": message}})
    )

    with pytest.raises(ActionError) as caught:
        vol.storage_keys(
            "arm-token", cloud.for_environment("AzureCloud"), "sub-1", "app-rg", AZURE_FILE,
            lambda _: None, retrier,
        )  # fmt: skip

    assert action in str(caught.value)
