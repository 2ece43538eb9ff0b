"""`tls: auto` end to end: the action deploys app + proxy to the local ACI, pebble issues the
certificate, and the group answers over HTTPS on its public address.

The proxy image (Debian's Caddy, `acr-action-local/caddy`) is pushed to the run's registry, so
the local ACI pulls it with the group's own login, as ACI would pull a proxy image from ACR.
Every connection goes to 127.77.X.Y (the group's published address) or to containers our
dockerd started (pebble, the group).
"""

from __future__ import annotations

import base64
import http.client
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from acr_action import tls
from localazure.acme import Pebble
from localazure.server import Emulator
from localazure.state import SecretVersion
from tests.harness.workflow import REGISTRY, RESOURCE_GROUP, VAULT

from .steps import Run
from .tls_fixtures import DOCKERFILE, dns, https, proxy_logs, trust_pebble

pytestmark = pytest.mark.docker

NAME = "tls-deploy"
LABEL = "tls-deploy-7f3a9c21"
LOCATION = "westeurope"
FQDN = tls.fqdn(LABEL, LOCATION)
PASSWORD = "pw-deploy-Zr82-never-logged"  # a test value the leak detector seeks
PASSWORD_SECRET = "tls-deploy-password"  # a secret's name


def _dns(docker_engine: Any, pebble: Pebble, name: str = NAME, fqdn: str = FQDN) -> Any:
    return dns(docker_engine, pebble, name, fqdn)


def _https(
    address: str,
    pebble: Pebble,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
    fqdn: str = FQDN,
) -> tuple[int, bytes, dict[str, Any]]:
    return https(address, pebble, fqdn, headers=headers, timeout=timeout)


def _containers(azure: Emulator) -> list[str]:
    """The group's containers as ARM holds them."""
    groups = azure.state.table("Microsoft.ContainerInstance/containerGroups").values()
    group = next(g for g in groups if g.name == NAME)
    return [c["name"] for c in group.spec["properties"]["containers"]]


def test_tls_auto_serves_https_with_a_certificate_for_the_fqdn(
    azure: Emulator,
    docker_engine: Any,
    pebble: Pebble,
    proxy_image: str,
    run_action: Callable[..., Run],
    hello_app: Path,
    cleanup_groups: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cleanup_groups.append(NAME)
    trust_pebble(pebble, tmp_path, monkeypatch)
    (hello_app / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    with azure.state.lock:
        azure.state.vaults[VAULT].secrets.setdefault(PASSWORD_SECRET, []).append(
            SecretVersion(value=PASSWORD)
        )
    inputs = {
        "name": NAME,
        "location": LOCATION,
        "dns-name-label": LABEL,
        "ports": "8080",
        "tls": "auto",
        "tls-proxy-image": proxy_image,
        "acme-directory": pebble.directory,
        "acme-ca-root": pebble.ca_pem(),
        "basic-auth": "reviewer",
        "basic-auth-password-secret": PASSWORD_SECRET,
    }
    with _dns(docker_engine, pebble):
        run = run_action(inputs=inputs, workspace=hello_app)
    assert run.exit_code == 0, run.seen.shown[-3000:]
    assert run.outputs["url"] == f"https://{FQDN}"
    # The readiness probe ran, over HTTPS through the proxy (it retries until the certificate
    # verifies against the trust store, SSL_CERT_FILE here).
    assert "| time: readiness |" in run.seen.shown
    address = run.outputs["ip-address"]

    try:
        status, _, cert = _https(address, pebble, timeout=90, fqdn=FQDN)
    except OSError as exc:
        raise AssertionError(
            f"{exc!r} at {time.time()}\n" + proxy_logs(docker_engine, NAME)[-1500:]
        ) from exc
    assert ("DNS", FQDN) in cert["subjectAltName"]
    assert status == 401
    token = base64.b64encode(f"reviewer:{PASSWORD}".encode()).decode()
    status, body, _ = _https(
        address, pebble, headers={"Authorization": f"Basic {token}"}, fqdn=FQDN
    )
    assert status == 200
    assert body
    plain = http.client.HTTPConnection(address, tls.HTTP_PORT, timeout=5)
    plain.request("GET", "/x", headers={"Host": FQDN})
    answer = plain.getresponse()
    assert answer.status in (301, 308)
    assert answer.getheader("Location") == f"https://{FQDN}/x"
    plain.close()
    # The app's own port is not public any more.
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection(address, 8080, timeout=2).request("GET", "/")

    again = run_action(inputs=inputs, workspace=hello_app)
    assert again.exit_code == 0, again.seen.shown[-3000:]
    assert "plan: noop" in again.seen.shown, again.seen.shown[-3000:]
    assert PASSWORD not in run.seen.shown + again.seen.shown
    assert PASSWORD in run.seen.masks

    # Not mentioning tls keeps the proxy, which needs its password again: refused clearly.
    unmentioned = {k: v for k, v in inputs.items() if k in ("name", "location", "ports")}
    refused = run_action(inputs=unmentioned, workspace=hello_app)
    assert refused.exit_code != 0
    assert "basic-auth-password-secret" in refused.seen.shown
    assert _containers(azure) == [NAME, tls.PROXY_NAME]
    # With the password again (and still no `tls`), the proxy stays as it is: a no-op.
    auth = {k: v for k, v in inputs.items() if k.startswith("basic-auth")}
    kept = run_action(inputs={**unmentioned, **auth}, workspace=hello_app)
    assert kept.exit_code == 0, kept.seen.shown[-3000:]
    assert "plan: noop" in kept.seen.shown
    assert kept.outputs["url"] == f"https://{FQDN}"

    # `tls: off` removes the proxy and publishes the app's port again.
    off = run_action(inputs={**unmentioned, "tls": "off"}, workspace=hello_app)
    assert off.exit_code == 0, off.seen.shown[-3000:]
    assert off.outputs["url"].startswith("http://")
    assert _containers(azure) == [NAME]


def test_a_hashed_label_of_a_group_made_elsewhere_gets_its_certificate(
    azure: Emulator,
    aci: ContainerInstanceManagementClient,
    docker_engine: Any,
    pebble: Pebble,
    proxy_image: str,
    run_action: Callable[..., Run],
    hello_app: Path,
    cleanup_groups: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A group made with a label reuse scope other than Unsecure has a hash in its FQDN
    # (localazure/dnslabel.py): the certificate must name that FQDN, not <label>.<region>.
    from .test_keep import PULLER, PULLER_SECRET, made_elsewhere

    name, label = "tls-hashed", "tls-hashed-5e1d"
    cleanup_groups.append(name)
    trust_pebble(pebble, tmp_path, monkeypatch)
    (hello_app / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    built = run_action(inputs={"mode": "build"}, workspace=hello_app)
    assert built.exit_code == 0, built.seen.shown[-3000:]
    credential = {
        "server": azure.login_server(REGISTRY),
        "username": PULLER,
        "password": PULLER_SECRET,
    }
    app = {
        "image": built.outputs["image-ref"],
        "ports": [{"port": 8080}],
        "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}},
    }
    body = {
        "location": LOCATION,
        "properties": {
            "osType": "Linux",
            "imageRegistryCredentials": [credential],
            "containers": [{"name": name, "properties": app}],
            "ipAddress": {
                "type": "Public",
                "dnsNameLabel": label,
                "autoGeneratedDomainNameLabelScope": "TenantReuse",
                "ports": [{"port": 8080, "protocol": "TCP"}],
            },
        },
    }
    made_elsewhere(azure, aci, name, body)
    ip = aci.container_groups.get(RESOURCE_GROUP, name).ip_address
    assert ip is not None
    assert ip.fqdn is not None
    fqdn = ip.fqdn
    assert fqdn != tls.fqdn(label, LOCATION)
    assert fqdn.startswith(label + ".")
    inputs = {
        "name": name,
        "location": LOCATION,
        "ports": "8080",
        "tls": "auto",
        "tls-proxy-image": proxy_image,
        "acme-directory": pebble.directory,
        "acme-ca-root": pebble.ca_pem(),
    }

    with _dns(docker_engine, pebble, name=name, fqdn=fqdn):
        run = run_action(inputs=inputs, workspace=hello_app)

    assert run.exit_code == 0, run.seen.shown[-3000:]
    assert run.outputs["url"] == f"https://{fqdn}"
    status, _, cert = _https(run.outputs["ip-address"], pebble, timeout=90, fqdn=fqdn)
    assert status == 200
    assert ("DNS", fqdn) in cert["subjectAltName"]

    # A new label under that scope would get a hash nobody knows before the PUT: refused.
    puts = azure.count("PUT", f"/containerGroups/{name}")
    moved = run_action(inputs={**inputs, "dns-name-label": "tls-hashed-other"}, workspace=hello_app)
    assert moved.exit_code != 0
    assert "dns-name-label" in moved.seen.shown
    assert "TenantReuse" in moved.seen.shown
    assert azure.count("PUT", f"/containerGroups/{name}") == puts
