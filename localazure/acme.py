"""Let's Encrypt for the local Azure: pebble, its test ACME server, as a container on our dockerd.

Why a container: the proxy (Caddy, in a container group's container on the default bridge) must
reach the ACME directory, and pebble must reach the group's ports 80/443 to validate HTTP-01 or
TLS-ALPN-01 challenges. Containers reach each other over the bridge; none of them reaches the
host's loopback. So pebble runs on the bridge too, and its directory is
`https://<pebble's bridge address>:14000/dir`, served with a certificate for that address from
the emulator's own CA (`certs.Pki`), which the proxy trusts through `acme_ca_root`.

Names: pebble resolves with Go's resolver, which reads its container's `/etc/hosts` (and rereads
it within 5 s, golang/go src/net/hosts.go `cacheMaxAge`). `publish(fqdn, address)` appends the
group's FQDN there, pointing at the group's bridge address, as Azure DNS points it at the group's
public IP. Known gap: the bridge address exposes every port the containers listen on, not only
the group's public ports, so validation here does not prove port 80 is in the group's ports (the
tests check that separately on the group's published 127.77.X.Y address).

pebble's settings: validation on ports 80 and 443 (`httpPort`, `tlsPort`; its sample config says
5002 and 5001), `PEBBLE_VA_NOSLEEP=1` (no random 0-15 s wait before validating) and
`PEBBLE_WFE_NONCEREJECT=0` (no 5 % of nonces refused on purpose) (letsencrypt/pebble README).
Its issuing root is new on every start and is read from the management port (`/roots/0`).

Counting what it issued (`issued`): pebble logs "Issued certificate serial %s for order %s" for
every certificate (its ca package; the format string is in Debian's 2.4.0 binary), and its
management port answers `/cert-status-by-serial/<hex serial>` with JSON whose `Certificate` is
the PEM (letsencrypt/pebble README, "Certificate Status"). The names come from that PEM, so a
test counts the certificates pebble issued for one FQDN, as Let's Encrypt's duplicate limit does.
"""

from __future__ import annotations

import io
import json
import re
import ssl
import tarfile
import time
import urllib.request
from typing import Any

import trustme

IMAGE = "acr-action-local/pebble:latest"
ACME_PORT = 14000
MANAGEMENT_PORT = 15000
LABEL = "io.acr-action.acme"
_CONFIG_DIR = "/run/pebble"
_ISSUED = re.compile(r"Issued certificate serial ([0-9a-fA-F]+) for order (\S+)")


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Pebble:
    """One pebble container: start, directory URL, trust, FQDN publishing, stop."""

    def __init__(self, docker_client: Any, ca: trustme.CA, *, image: str = IMAGE) -> None:
        self.docker = docker_client
        self.ca = ca
        self.image = image
        self.container: Any = None
        self.address = ""

    def start(self, timeout: float = 30) -> Pebble:
        """Run pebble; it starts once its certificate (for its bridge address) is in place."""
        wait_then_run = (
            f"while [ ! -f {_CONFIG_DIR}/ready ]; do sleep 0.1; done; "
            f"exec pebble -config {_CONFIG_DIR}/config.json"
        )
        self.container = self.docker.containers.run(
            self.image,
            ["/bin/sh", "-c", f"mkdir -p {_CONFIG_DIR}; {wait_then_run}"],
            detach=True,
            labels={LABEL: "pebble"},
            environment={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"},
        )
        self.container.reload()
        self.address = self.container.attrs["NetworkSettings"]["IPAddress"]
        leaf = self.ca.issue_cert(self.address, "localhost")
        config = {
            "pebble": {
                "listenAddress": f"0.0.0.0:{ACME_PORT}",
                "managementListenAddress": f"0.0.0.0:{MANAGEMENT_PORT}",
                "certificate": f"{_CONFIG_DIR}/cert.pem",
                "privateKey": f"{_CONFIG_DIR}/key.pem",
                "httpPort": 80,
                "tlsPort": 443,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        files = {
            "cert.pem": b"".join(blob.bytes() for blob in leaf.cert_chain_pems),
            "key.pem": leaf.private_key_pem.bytes(),
            "config.json": json.dumps(config).encode(),
        }
        deadline = time.monotonic() + timeout
        while True:  # the mkdir may not have run yet
            try:
                self.container.put_archive(_CONFIG_DIR, _tar(files))
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.container.put_archive(_CONFIG_DIR, _tar({"ready": b""}))
        while True:
            try:
                self.roots()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        "pebble did not start: " + self.container.logs().decode(errors="replace")
                    ) from None
                time.sleep(0.2)

    @property
    def directory(self) -> str:
        """The ACME directory URL, as the proxy reaches it."""
        return f"https://{self.address}:{ACME_PORT}/dir"

    def ca_pem(self) -> str:
        """The CA that signed pebble's own HTTPS certificate (what `acme_ca_root` trusts)."""
        return self.ca.cert_pem.bytes().decode()

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def roots(self) -> str:
        """The PEM of the root pebble issues certificates under (new on every start)."""
        url = f"https://{self.address}:{MANAGEMENT_PORT}/roots/0"
        with urllib.request.urlopen(
            url, timeout=5, context=self._context()
        ) as answer:  # our container's https URL
            return str(answer.read().decode())

    def issued(self, name: str | None = None) -> list[str]:
        """The serials (hex) of the certificates pebble issued, in order; with `name`, those
        whose subject alternative names include it."""
        from cryptography import x509

        logs = self.container.logs().decode(errors="replace")
        serials = [match.group(1).lower() for match in _ISSUED.finditer(logs)]
        if name is None:
            return serials
        found = []
        for serial in serials:
            url = f"https://{self.address}:{MANAGEMENT_PORT}/cert-status-by-serial/{serial}"
            with urllib.request.urlopen(
                url, timeout=5, context=self._context()
            ) as answer:  # our container's https URL
                pem = json.loads(answer.read())["Certificate"]
            cert = x509.load_pem_x509_certificate(pem.encode())
            names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            if name.lower() in (n.lower() for n in names.value.get_values_for_type(x509.DNSName)):
                found.append(serial)
        return found

    def publish(self, fqdn: str, address: str) -> None:
        """Make `fqdn` resolve to `address` for pebble's validation (an earlier address of it
        replaced: a redeployed group's containers have new ones)."""
        script = (
            "awk -v name=\"$1\" '$2 != name' /etc/hosts > /tmp/hosts; "
            'printf "%s %s\\n" "$0" "$1" >> /tmp/hosts; cat /tmp/hosts > /etc/hosts'
        )
        result = self.container.exec_run(["/bin/sh", "-c", script, address, fqdn])
        if result.exit_code != 0:
            raise RuntimeError(f"publishing {fqdn} to pebble failed: {result.output!r}")

    def stop(self) -> None:
        """Remove the container."""
        if self.container is not None:
            self.container.remove(force=True)
            self.container = None
