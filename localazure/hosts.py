"""Make the emulator's host names resolve to 127.0.0.1 through `/etc/hosts`.

The Azure SDKs verify TLS host names and Key Vault checks that the vault's host is below the
challenge's resource host, so the emulator needs real names, not an IP. `*.localhost` is not
resolved by glibc's `files dns` (only by systemd's nss-myhostname), and the Docker daemon must
resolve registry names too, so the names go into `/etc/hosts`, inside a marked block that is
only ever appended to (other processes may be using the names already written).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from pathlib import Path

MARK = "# acr-action local Azure"
HOSTS = Path("/etc/hosts")


class HostsNotWritable(RuntimeError):
    """The emulator's names don't resolve and `/etc/hosts` cannot be changed."""


def resolves_to_loopback(name: str) -> bool:
    """Does `name` resolve to 127.0.0.1 already?"""
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET)
    except socket.gaierror:
        return False
    return any(info[4][0] == "127.0.0.1" for info in infos)


def ensure(names: Iterable[str], hosts_file: Path = HOSTS) -> list[str]:
    """Add the names that don't resolve to loopback yet; returns those added."""
    missing = sorted({n.lower() for n in names if not resolves_to_loopback(n)})
    if not missing:
        return []
    try:
        current = hosts_file.read_text(encoding="utf-8")
        with hosts_file.open("a", encoding="utf-8") as f:
            if current and not current.endswith("\n"):
                f.write("\n")  # some images ship a hosts file without a final newline
            f.write("".join(f"127.0.0.1 {name} {MARK}\n" for name in missing))
    except OSError as exc:
        raise HostsNotWritable(
            f"the local Azure needs these names to resolve to 127.0.0.1: {', '.join(missing)}; "
            f"add them to {hosts_file} (needs root) and retry"
        ) from exc
    return missing
