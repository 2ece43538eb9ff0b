"""The emulator's certificate authority and its TLS server certificate.

Clients trust the emulator the way they would trust a corporate proxy: through a CA bundle
(`REQUESTS_CA_BUNDLE` for the Azure SDKs, `/etc/docker/certs.d` for the Docker daemon), never by
switching verification off.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

# Every name the emulator answers to is below one of these; the wildcards cover one label each,
# so vaults (`<name>.vault.azure.localhost`) and registries (`<name>.azurecr.localhost`) work.
SERVER_IDENTITIES = (
    "localhost",
    "127.0.0.1",
    "*.azure.localhost",
    "*.vault.azure.localhost",
    "*.azurecr.localhost",
    "*.github.localhost",
    "token.actions.githubusercontent.localhost",
)


@dataclass(frozen=True)
class Pki:
    """A CA on disk plus the server's TLS context."""

    ca_path: Path
    server_context: ssl.SSLContext
    ca: trustme.CA


def make_pki(directory: Path) -> Pki:
    """Create a fresh CA and server certificate; write the CA bundle to `directory/ca.pem`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="acr-action local Azure")
    server = ca.issue_cert(*SERVER_IDENTITIES)
    ca_path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.configure_cert(context)
    return Pki(ca_path=ca_path, server_context=context, ca=ca)
