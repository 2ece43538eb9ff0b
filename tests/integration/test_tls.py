"""The `tls: auto` proxy for real: Caddy gets a certificate from pebble and serves the app over it.

The group is modelled the way ACI runs one (and the local ACI does): the app's container owns the
network namespace, the proxy joins it (`network_mode: container:`), so the proxy reaches the app
on 127.0.0.1. The proxy container is exactly what `acr_action.tls` configures: its image, command
and environment. pebble (`localazure.acme`) validates the challenge against the group's bridge
address, under the group's FQDN. Every connection goes to containers our dockerd started.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

from acr_action import tls
from localazure.acme import Pebble
from tests.shared import BUSYBOX_IMAGE

from .tls_fixtures import CADDY_IMAGE, https

FQDN = "tls-preview.westeurope.azurecontainer.io"
APP_PORT = 8080
PASSWORD = "pw-Wk3s9-never-logged"  # a test value whose leak the test looks for


def _group(docker_engine: Any, pebble: Pebble, config: tls.TlsConfig) -> Iterator[str]:
    """Run the app and its proxy as one group; yield the group's address."""
    app = docker_engine.containers.run(
        BUSYBOX_IMAGE,
        [
            "sh",
            "-c",
            f"mkdir -p /www && echo hello-tls > /www/index.html && exec httpd -f -p {APP_PORT} -h /www",
        ],
        detach=True,
    )
    proxy = None
    try:
        app.reload()
        address = app.attrs["NetworkSettings"]["IPAddress"]
        pebble.publish(FQDN, address)
        plain, secure = tls.environment(config, FQDN, APP_PORT)
        proxy = docker_engine.containers.run(
            CADDY_IMAGE,
            list(tls.command()),
            detach=True,
            network_mode=f"container:{app.id}",
            environment=dict(plain + secure),
            nano_cpus=int(tls.PROXY_CPU * 1e9),
            mem_limit=int(tls.PROXY_MEMORY_GB * 1024**3),
        )
        yield address
    finally:
        if proxy is not None:
            logs = proxy.logs().decode(errors="replace")
            proxy.remove(force=True)
            assert PASSWORD not in logs
        app.remove(force=True)


def _https(
    address: str,
    pebble: Pebble,
    path: str = "/",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, Any]]:
    return https(address, pebble, FQDN, path, headers)


def test_proxy_gets_a_pebble_certificate_for_the_fqdn_and_redirects_http(
    docker_engine: Any, pebble: Pebble
) -> None:
    config = tls.TlsConfig(
        image=CADDY_IMAGE, acme_directory=pebble.directory, acme_ca_root=pebble.ca_pem()
    )
    for address in _group(docker_engine, pebble, config):
        status, body, cert = _https(address, pebble)
        assert status == 200
        assert body == b"hello-tls\n"
        assert ("DNS", FQDN) in cert["subjectAltName"]
        plain = http.client.HTTPConnection(address, tls.HTTP_PORT, timeout=5)
        plain.request("GET", "/some/path", headers={"Host": FQDN})
        answer = plain.getresponse()
        assert answer.status in (301, 308)
        assert answer.getheader("Location") == f"https://{FQDN}/some/path"
        plain.close()


def test_basic_auth_refuses_without_credentials_and_accepts_with(
    docker_engine: Any, pebble: Pebble
) -> None:
    import base64

    config = tls.TlsConfig(
        image=CADDY_IMAGE,
        acme_directory=pebble.directory,
        acme_ca_root=pebble.ca_pem(),
        basic_auth_user="reviewer",
        basic_auth_password=PASSWORD,
    )
    plain, _secure = tls.environment(config, FQDN, APP_PORT)
    assert PASSWORD not in repr(plain) + repr(tls.command()) + repr(config)
    for address in _group(docker_engine, pebble, config):
        status, _, _ = _https(address, pebble)
        assert status == 401
        token = base64.b64encode(f"reviewer:{PASSWORD}".encode()).decode()
        status, body, _ = _https(address, pebble, headers={"Authorization": f"Basic {token}"})
        assert (status, body) == (200, b"hello-tls\n")
        wrong = base64.b64encode(b"reviewer:nope").decode()
        status, _, _ = _https(address, pebble, headers={"Authorization": f"Basic {wrong}"})
        assert status == 401
