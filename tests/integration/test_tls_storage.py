"""`tls-storage`: the proxy's certificate outlives its container, so a preview orders it once.

Learn (container-instances-update): "When you update a container group, all running containers
in the group are restarted in-place". The local ACI does the same (each PUT removes the
group's containers and runs new ones from their images), so without a share Caddy starts with
an empty /data and orders again, and pebble's count of certificates for the FQDN goes up. With
the share at /data the certificate (its serial) is the same after a redeploy, after deploys
that do not name `tls-storage`, after a stop and the next deploy and after a delete +
recreate, and pebble issued one.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from acr_action import tls
from localazure.acme import Pebble
from localazure.server import Emulator
from tests.harness.workflow import RESOURCE_GROUP

from .steps import Run, deployer_aci
from .tls_fixtures import DOCKERFILE, dns, https_full, proxy_logs, trust_pebble

pytestmark = pytest.mark.docker

LOCATION = "westeurope"
SHARE = "preview-certs"
LOST_NOTICE = "orders a new certificate"  # tls.lost_certificate_notice


def _stored(azure: Emulator, name: str) -> dict[str, Any]:
    """The group's properties as the local Azure holds them."""
    with azure.state.lock:
        group = next(g for g in azure.state.container_groups.values() if g.name == name)
        return dict(json.loads(json.dumps(group.spec))["properties"])


def _proxy_mounts(azure: Emulator, name: str) -> list[dict[str, Any]]:
    props = _stored(azure, name)
    proxy = next(c for c in props["containers"] if c["name"] == tls.PROXY_NAME)
    return list(proxy["properties"].get("volumeMounts") or [])


def _volumes(azure: Emulator, name: str) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in _stored(azure, name).get("volumes") or []}


class _Preview:
    """One group behind the proxy: deploy it (a new app image each time) and read its cert."""

    def __init__(
        self,
        name: str,
        azure: Emulator,
        docker_engine: Any,
        pebble: Pebble,
        proxy_image: str,
        run_action: Callable[..., Run],
        hello_app: Path,
    ) -> None:
        self.name, self.label = name, f"{name}-{uuid.uuid4().hex[:6]}"
        self.fqdn = tls.fqdn(self.label, LOCATION)
        self.azure, self.docker, self.pebble = azure, docker_engine, pebble
        self.run_action, self.app = run_action, hello_app
        self.inputs = {
            "name": name,
            "location": LOCATION,
            "dns-name-label": self.label,
            "ports": "8080",
            "tls": "auto",
            "tls-proxy-image": proxy_image,
            "acme-directory": pebble.directory,
            "acme-ca-root": pebble.ca_pem(),
        }
        (hello_app / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
        self.version = 0
        self.last: Run | None = None

    def deploy(self, inputs: dict[str, str], *, plan: str) -> str:
        """Deploy a new app image with `inputs`; the serial (hex) of the certificate served."""
        self.version += 1
        page = f"version {self.version}\n"
        (self.app / "www" / "index.html").write_text(page, encoding="utf-8")
        with dns(self.docker, self.pebble, self.name, self.fqdn):
            run = self.run_action(inputs=inputs, workspace=self.app)
        assert run.exit_code == 0, run.seen.shown[-3000:]
        self.last = run
        assert f"plan: {plan}" in run.seen.shown, run.seen.shown[-3000:]
        assert run.outputs["url"] == f"https://{self.fqdn}"
        try:
            status, body, _, der = https_full(
                run.outputs["ip-address"], self.pebble, self.fqdn, timeout=90
            )
        except OSError as exc:
            raise AssertionError(f"{exc!r}\n{proxy_logs(self.docker, self.name)}") from exc
        assert (status, body.decode()) == (200, page)  # the new app answers behind the proxy
        cert = x509.load_der_x509_certificate(der)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        assert names.value.get_values_for_type(x509.DNSName) == [self.fqdn]
        return f"{cert.serial_number:x}"

    def delete(self) -> None:
        run = self.run_action(inputs={"mode": "delete", "name": self.name})
        assert run.exit_code == 0, run.seen.shown[-3000:]


@pytest.fixture
def preview(
    request: pytest.FixtureRequest,
    azure: Emulator,
    docker_engine: Any,
    pebble: Pebble,
    proxy_image: str,
    run_action: Callable[..., Run],
    hello_app: Path,
    cleanup_groups: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> _Preview:
    name = str(request.param)
    cleanup_groups.append(name)
    trust_pebble(pebble, tmp_path, monkeypatch)
    return _Preview(name, azure, docker_engine, pebble, proxy_image, run_action, hello_app)


def _serials(pebble: Pebble, fqdn: str) -> list[str]:
    return [serial.lstrip("0") for serial in pebble.issued(fqdn)]


@pytest.mark.parametrize("preview", ["tls-nostore"], indirect=True)
def test_without_tls_storage_a_redeploy_orders_a_new_certificate(
    preview: _Preview, pebble: Pebble
) -> None:
    first = preview.deploy(preview.inputs, plan="create")
    assert _serials(pebble, preview.fqdn) == [first]
    assert preview.last is not None
    assert LOST_NOTICE not in preview.last.seen.shown  # a new group's first order is expected

    # A new app image: an update in place, which restarts every container of the group.
    second = preview.deploy(preview.inputs, plan="update")

    assert second != first
    assert _serials(pebble, preview.fqdn) == [first, second]
    # The step says so, with the fix.
    assert LOST_NOTICE in preview.last.seen.shown
    assert "tls-storage" in preview.last.seen.shown


@pytest.mark.parametrize("preview", ["tls-store"], indirect=True)
def test_with_tls_storage_the_certificate_survives_redeploys_and_a_recreate(
    preview: _Preview, pebble: Pebble, azure: Emulator
) -> None:
    account = f"tls{uuid.uuid4().hex[:12]}"
    azure.services["storage"].add_account(RESOURCE_GROUP, account, shares=(SHARE,))
    stored = {**preview.inputs, "tls-storage": f"{account}/{SHARE}"}
    mount = [{"name": tls.STORAGE_VOLUME, "mountPath": tls.STORAGE_PATH}]

    first = preview.deploy(stored, plan="create")
    assert _proxy_mounts(azure, preview.name) == mount
    share = _volumes(azure, preview.name)[tls.STORAGE_VOLUME]["azureFile"]
    assert (share["storageAccountName"], share["shareName"]) == (account, SHARE)
    keys = azure.services["storage"].account(account).keys.values()
    assert share["storageAccountKey"] in keys  # read through listKeys
    # Masked (run_action's leak detector fails on any storage key in the log, the summary or
    # the outputs).
    assert preview.last is not None
    assert share["storageAccountKey"] in preview.last.seen.masks
    # Caddy's files are on the share, not in the container.
    assert any(azure.services["storage"].share_path(account, SHARE).rglob("*.crt"))

    # A new app image restarts the proxy: it finds its certificate on the share.
    assert preview.deploy(stored, plan="update") == first
    assert preview.last is not None
    assert LOST_NOTICE not in preview.last.seen.shown
    # A deploy that does not name `tls-storage` (still `tls: auto`) keeps the share mounted.
    assert preview.deploy(preview.inputs, plan="update") == first
    assert _proxy_mounts(azure, preview.name) == mount
    # Neither does one that does not mention `tls` at all (the kept proxy keeps its mount).
    unmentioned = {k: v for k, v in preview.inputs.items() if k in ("name", "location", "ports")}
    assert preview.deploy(unmentioned, plan="update") == first
    assert _proxy_mounts(azure, preview.name) == mount
    assert tls.STORAGE_VOLUME in _volumes(azure, preview.name)

    # Stopped (what the sweep's `idle-action: stop` does: the containers go) and deployed
    # again by the next push, which recreates a stopped group.
    aci = deployer_aci(azure)
    with contextlib.closing(aci):
        aci.container_groups.stop(RESOURCE_GROUP, preview.name)
    assert preview.deploy(stored, plan="recreate") == first

    # Deleted and created again: a new group, new containers, the same certificate.
    preview.delete()
    assert preview.deploy(stored, plan="create") == first

    assert _serials(pebble, preview.fqdn) == [first]

    # `tls: off` takes the proxy and its volume away; the share keeps its files.
    off = preview.run_action(inputs={**unmentioned, "tls": "off"}, workspace=preview.app)
    assert off.exit_code == 0, off.seen.shown[-3000:]
    assert tls.STORAGE_VOLUME not in _volumes(azure, preview.name)
    assert any(azure.services["storage"].share_path(account, SHARE).rglob("*.crt"))


FORMAT = "`<storage account>/<file share>`"
STORAGE_EXAMPLE = "tls-storage: mystorage/preview-certs"
ONLY_AUTO = "only applies with `tls: auto`"


@pytest.mark.parametrize(
    ("inputs", "text", "example"),
    [
        pytest.param({"tls-storage": "mystorage"}, FORMAT, STORAGE_EXAMPLE, id="no-share"),
        pytest.param(
            {"tls-storage": "My_Storage/certs"}, FORMAT, STORAGE_EXAMPLE, id="bad-account-name"
        ),
        pytest.param(
            {"tls-storage": "mystorage/a--b"}, FORMAT, STORAGE_EXAMPLE, id="bad-share-name"
        ),
        pytest.param(
            {"tls": None, "tls-storage": "mystorage/certs"}, ONLY_AUTO, "tls: auto", id="no-tls"
        ),
        pytest.param(
            {"tls": "off", "tls-storage": "mystorage/certs"}, ONLY_AUTO, "tls: auto", id="tls-off"
        ),
    ],
)
def test_bad_tls_storage_is_refused_before_any_request(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Path,
    inputs: dict[str, str | None],
    text: str,
    example: str,
) -> None:
    given = {"name": "tls-refused", "ports": "8080", "tls": "auto", "dns-name-label": "x-7f3a"}
    given = {k: v for k, v in {**given, **inputs}.items() if v is not None}
    before = len(azure.requests)

    run = run_action(inputs=given, workspace=hello_app)

    assert run.exit_code != 0
    shown = run.seen.shown
    assert "tls-storage" in shown
    assert text in shown, shown[-2000:]
    if text == FORMAT:
        assert given["tls-storage"] in shown  # the value given is shown
    assert example in shown  # and what a correct one looks like
    assert len(azure.requests) == before
