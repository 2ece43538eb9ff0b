"""One real Distribution registry (`docker-registry serve`, Debian's 2.8.2) as a child process.

The registry runs in token-auth mode: it trusts JWTs whose `x5c` chain ends in `rootcertbundle`
(the emulator's ACR signing certificate), whose `iss` is the configured issuer and whose `aud` is
the configured service (the login server). It listens on 127.0.0.1 only, over plain http; the
emulator's TLS login server is the only way in from clients. Without `auth` it is an open
registry (the release test pushes the action image to one, as to ghcr.io).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
START_TIMEOUT = 30.0


class RegistryStartError(RuntimeError):
    """The registry process exited or never answered."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the registry binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class TokenAuth:
    """The `auth.token` section: who the registry sends clients to and whose tokens it trusts."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path


@dataclass
class DistributionRegistry:
    """A `docker-registry` child process serving one emulated registry's storage."""

    name: str
    directory: Path
    auth: TokenAuth | None
    binary: Path = REGISTRY_BINARY
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The upstream base URL (http, loopback)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "registry.log"

    @property
    def config_path(self) -> Path:
        return self.directory / "config.yml"

    def config(self) -> dict[str, object]:
        """The registry configuration (YAML is a superset of JSON, so it is written as JSON)."""
        return {
            "version": 0.1,
            "log": {
                "level": "info",
                "formatter": "text",
                "fields": {"service": "registry", "registry": self.name},
            },
            "storage": {
                "filesystem": {"rootdirectory": str(self.directory / "storage")},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": "inmemory"},
                # Distribution's background upload purger would otherwise log at start-up only.
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": f"127.0.0.1:{self.port}",
                # Signs upload state between PATCH requests; random per run is fine (uploads don't outlive it).
                "secret": secrets.token_hex(32),
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
            **self._auth_config(),
            "health": {"storagedriver": {"enabled": False}},
        }

    def _auth_config(self) -> dict[str, object]:
        if self.auth is None:
            return {}
        return {
            "auth": {
                "token": {
                    "realm": self.auth.realm,
                    "service": self.auth.service,
                    "issuer": self.auth.issuer,
                    "rootcertbundle": str(self.auth.rootcertbundle),
                }
            }
        }

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Write the configuration, start the process and wait until `/v2/` answers (blocking)."""
        if not self.binary.exists():
            raise RegistryStartError(
                f"{self.binary} is missing; install Debian's docker-registry package"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "storage").mkdir(exist_ok=True)
        if not self.port:
            self.port = free_port()
        self.config_path.write_text(json.dumps(self.config(), indent=2), encoding="utf-8")
        # A clean environment: REGISTRY_* variables of the caller would override the file.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.directory)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "serve", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._wait_until_answering(timeout)

    def _wait_until_answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RegistryStartError(
                    f"docker-registry for {self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=2):
                    return  # an open registry
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # token auth is on: the challenge means it is up
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RegistryStartError(
            f"docker-registry for {self.name} did not answer in {timeout:.0f}s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        """The end of the registry's log (for error messages)."""
        try:
            return "\n".join(
                self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Terminate the process (kill it if it does not exit within 10 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
