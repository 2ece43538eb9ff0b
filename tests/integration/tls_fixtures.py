"""What the TLS suites share: pebble on our dockerd, the proxy image in the run's registry,
publishing a group's FQDN to pebble, and an HTTPS GET that trusts only pebble's root.

conftest.py makes `pebble` and `proxy_image` fixtures of every integration module; the helpers
are imported by name. Every connection goes to 127.77.X.Y (a group's published address) or to
containers our dockerd started (pebble, the groups).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from acr_action import tls
from localazure.acme import Pebble
from localazure.server import Emulator
from tests.harness.workflow import DEPLOYER, REGISTRY
from tests.shared import BUSYBOX_IMAGE, unavailable

CADDY_IMAGE = "acr-action-local/caddy:latest"
PEBBLE_IMAGE = "acr-action-local/pebble:latest"
NULL_GUID = "00000000-0000-0000-0000-000000000000"  # ACR token login user

# examples/hello's app on 8080 (the proxy takes 80 and 443).
DOCKERFILE = """\
ARG BUSYBOX_IMAGE=busybox:1.36
FROM ${BUSYBOX_IMAGE} AS busybox
FROM scratch
COPY --from=busybox /bin/busybox /bin/busybox
COPY www/ /www/
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
"""


@pytest.fixture(scope="module")
def pebble(docker_engine: Any) -> Iterator[Pebble]:
    """pebble on our dockerd, trusted through a CA of the test's own (one per module)."""
    for image in (CADDY_IMAGE, PEBBLE_IMAGE, BUSYBOX_IMAGE):
        try:
            docker_engine.images.get(image)
        except Exception:
            unavailable(f"image {image} is missing; run scripts/base-images.sh")
    server = Pebble(docker_engine, trustme.CA()).start()
    yield server
    server.stop()


@pytest.fixture
def proxy_image(azure: Emulator, docker_engine: Any) -> Iterator[str]:
    """The Caddy image in the run's registry, pulled by the group with its own login."""
    server = azure.login_server(REGISTRY)
    repository = f"{server}/tls/caddy"
    deployer = azure.state.app(DEPLOYER)
    assert deployer is not None
    token = azure.services["acr"].mint_refresh_token(deployer, REGISTRY)
    api = docker_engine
    api.login(username=NULL_GUID, password=token, registry=server, reauth=True)
    api.images.get(CADDY_IMAGE).tag(repository, "2.6.2")
    events = list(api.images.push(repository, "2.6.2", stream=True, decode=True))
    assert not [e for e in events if "error" in e], events
    yield f"{repository}:2.6.2"
    with contextlib.suppress(Exception):  # already gone is fine at teardown
        api.images.remove(f"{repository}:2.6.2", force=True)


def trust_pebble(pebble: Pebble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The readiness probe checks the proxy's certificate with the system's trust store, which
    OpenSSL takes from SSL_CERT_FILE: here pebble's root only."""
    trust = tmp_path / "pebble-roots.pem"
    trust.write_text(pebble.roots(), encoding="utf-8")
    monkeypatch.setenv("SSL_CERT_FILE", str(trust))


@contextlib.contextmanager
def dns(docker_engine: Any, pebble: Pebble, name: str, fqdn: str) -> Iterator[None]:
    """Point the FQDN at the group's bridge address as soon as a new app container runs, as
    Azure DNS points it at the group's IP once it has one (before the proxy's first order).

    Only containers that were not there on entry count: after a redeploy the group's new
    containers have a new address."""
    done = threading.Event()
    before = {c.id for c in docker_engine.containers.list(all=True)}

    def watch() -> None:
        while not done.is_set():
            for container in docker_engine.containers.list():
                address = container.attrs["NetworkSettings"]["IPAddress"]
                fresh = container.id not in before
                if fresh and container.name.startswith(f"aci-{name}-{name}-") and address:
                    pebble.publish(fqdn, address)
                    return
            time.sleep(0.2)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=10)


def proxy_logs(docker_engine: Any, name: str) -> str:
    """The last lines of the group's proxy container's log (for a failure's message)."""
    for container in docker_engine.containers.list(all=True):
        if container.name.startswith(f"aci-{name}-{tls.PROXY_NAME}-"):
            return str(container.logs().decode(errors="replace"))[-4000:]
    return "(no proxy container)"


def https(
    address: str,
    pebble: Pebble,
    fqdn: str,
    path: str = "/",
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, bytes, dict[str, Any]]:
    """GET over TLS with SNI = the FQDN, trusting only pebble's root; retried until a cert is in."""
    status, body, cert, _ = https_full(address, pebble, fqdn, path, headers, timeout)
    return status, body, cert


def https_full(
    address: str,
    pebble: Pebble,
    fqdn: str,
    path: str = "/",
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, bytes, dict[str, Any], bytes]:
    """`https`, with the served leaf certificate (DER) too."""
    context = ssl.create_default_context(cadata=pebble.roots())
    deadline = time.monotonic() + timeout
    while True:
        try:
            raw = socket.create_connection((address, tls.HTTPS_PORT), timeout=5)
            with context.wrap_socket(raw, server_hostname=fqdn) as sock:
                cert = sock.getpeercert() or {}
                der = sock.getpeercert(binary_form=True) or b""
                sock.sendall(
                    (
                        f"GET {path} HTTP/1.1\r\nHost: {fqdn}\r\nConnection: close\r\n"
                        + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
                        + "\r\n"
                    ).encode()
                )
                response = http.client.HTTPResponse(sock)  # type: ignore[arg-type]  # a socket is what it reads
                response.begin()
                return response.status, response.read(), cert, der
        except (OSError, ssl.SSLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
