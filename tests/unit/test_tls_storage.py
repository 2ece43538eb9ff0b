"""`tls-storage`: the share at the proxy's storage, parsed, mounted, diffed and kept."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from azure.mgmt.containerinstance.models import ContainerGroup

from acr_action import tls
from acr_action import volumes as vol
from acr_action.inputs import parse_inputs
from acr_action.keep import lost_secrets
from acr_action.spec import GroupSpec, diff, to_model
from tests.unit.support import make_env

KEY = "c3RvcmFnZS1rZXktbmV2ZXItc2hvd24="  # a test value
SPEC = GroupSpec(
    name="app",
    location="westeurope",
    image_ref="myreg.azurecr.io/app@sha256:" + "a" * 64,
    cpu=1.0,
    memory=1.5,
    ports=(8080,),
    dns_name_label="app-1a2b3c4d",
)
SHARE = vol.VolumeInput(tls.STORAGE_VOLUME, "azure-file", account="mystorage", share="certs")
STORED = tls.TlsInputs(tls="auto", tls_storage=SHARE)
MOUNT = (tls.STORAGE_VOLUME, tls.STORAGE_PATH)


def _echo(spec: GroupSpec, existing: ContainerGroup | None = None) -> ContainerGroup:
    """What a GET returns after PUTting to_model(spec): the storage key dropped."""
    body: Any = to_model(spec, existing).serialize()
    for volume in body["properties"].get("volumes", []):
        volume.get("azureFile", {}).pop("storageAccountKey", None)
    body["properties"].update(provisioningState="Succeeded")
    return ContainerGroup.deserialize(body)


def _settle(inputs: tls.TlsInputs, existing: ContainerGroup | None = None) -> GroupSpec:
    keys = {tls.STORAGE_VOLUME: KEY}
    return tls.settle(SPEC, inputs, existing, {}, cpu_given=True, keys=keys)  # type: ignore[no-any-return]  # GroupSpec


def _kept_share(spec: GroupSpec, existing: ContainerGroup) -> GroupSpec:
    """What orchestrate._kept_shares adds: the hidden-key shares, their key read again."""
    found = vol.hidden_keys(existing, spec.volumes)
    return replace(spec, volumes=spec.volumes + vol.resolve(found, {}, {tls.STORAGE_VOLUME: KEY}))


def _proxy_mounts(group: Any) -> list[tuple[str, str]]:
    proxy = next(c for c in group.containers if c.name == tls.PROXY_NAME)
    return [(m.name, m.mount_path) for m in proxy.volume_mounts or []]


def test_the_share_is_parsed_and_its_key_read_with_the_volumes() -> None:
    parsed = parse_inputs(
        make_env({"tls": "auto", "ports": "8080", "tls-storage": "mystorage/certs"})
    ).tls
    assert parsed.tls_storage == SHARE
    assert tls.storage_inputs(parsed) == (SHARE,)


def test_the_proxy_mounts_the_share_at_caddys_storage_and_the_app_does_not() -> None:
    spec = _settle(STORED)
    group: Any = to_model(spec)
    assert _proxy_mounts(group) == [MOUNT]
    app = next(c for c in group.containers if c.name == "app")
    assert not app.volume_mounts
    (volume,) = group.volumes
    share = volume.azure_file
    assert (volume.name, share.storage_account_name, share.share_name) == (
        tls.STORAGE_VOLUME,
        "mystorage",
        "certs",
    )
    assert share.storage_account_key == KEY
    assert KEY not in repr(spec)


def test_a_second_deploy_is_a_noop_and_the_key_is_not_lost() -> None:
    spec = _settle(STORED)
    existing = _echo(spec)
    assert diff(existing, spec).action == "noop"
    ours = frozenset(v.name for v in spec.volumes)
    assert lost_secrets(existing, "app", frozenset(), ours, replaced=tls.managed(spec)) == []


def test_adding_the_share_to_a_proxy_is_an_update_in_place() -> None:
    existing = _echo(_settle(tls.TlsInputs(tls="auto")))
    plan = diff(existing, _settle(STORED, existing))
    assert plan.action == "update"
    assert "tls proxy" in plan.changed


def test_a_deploy_that_does_not_name_the_share_keeps_it() -> None:
    existing = _echo(_settle(STORED))
    for inputs in (tls.TlsInputs(), tls.TlsInputs(tls="auto")):
        kept = tls.settle(SPEC, inputs, existing, {}, cpu_given=False)
        assert kept.tls is not None
        assert kept.tls.storage == "mystorage/certs"
        spec = _kept_share(replace(kept, unset=frozenset({"cpu", "memory"})), existing)
        assert _proxy_mounts(to_model(spec, existing)) == [MOUNT]
        assert diff(existing, spec).action == "noop"


def test_tls_off_takes_the_share_away_without_losing_a_secret() -> None:
    existing = _echo(_settle(STORED))
    spec = tls.settle(SPEC, tls.TlsInputs(tls="off"), existing, {}, cpu_given=True)
    spec = tls.without_dropped_storage(_kept_share(spec, existing))
    assert tls.STORAGE_VOLUME not in {v.name for v in spec.volumes}
    group: Any = to_model(spec, existing)
    assert not group.volumes
    ours = frozenset(v.name for v in spec.volumes) | frozenset(tls.managed_volumes(spec))
    assert lost_secrets(existing, "app", frozenset(), ours, replaced=tls.managed(spec)) == []


def test_a_group_without_the_share_keeps_its_fingerprint_document() -> None:
    # The share enters the fingerprint only when there is one: groups deployed before keep it.
    document: Any = tls.public_document(_settle(tls.TlsInputs(tls="auto")))
    assert len(document) == 2
    assert tls.public_document(_settle(STORED))[-1] == "mystorage/certs"  # type: ignore[index]  # a list


def test_volumes_may_not_take_the_proxys_volume_name() -> None:
    _, problems = vol.parse_volumes(f"{tls.STORAGE_VOLUME}: empty-dir")
    assert [message for message, _ in problems] == [
        "line 1: the name `tls-proxy-storage` is the proxy's (tls-storage)"
    ]
