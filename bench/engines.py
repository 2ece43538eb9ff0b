"""Throw-away engines for the fresh-runner benchmark: a Docker daemon of its own, plain registries.

`BenchDockerd` is `localazure.dockerd.fresh_dockerd` (the daemon the build-cache test runs its
fresh runner on) held open across rows: `reset()` stops it, deletes it with its data root, and
starts a new one, so each measured run finds what a fresh GitHub-hosted runner has (no images, no
build cache) and the machine's shared engine is left alone. A new daemon also reads
/etc/docker/certs.d as it is then, after the local Azure wrote its registry's CA there: BuildKit
lists that folder only when the daemon starts (see localazure/dockerd.py), and without the entry
its cache import from the local ACR fails with x509. `plain_registry` serves a Distribution registry
on 127.0.0.1: the stand-in for Docker Hub and for the registry a prebuilt action image is pulled
from. Both are removed on exit, also when the benchmark fails.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from localazure.distribution import free_port
from localazure.dockerd import fresh_dockerd

from .harness import DOCKER

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"bench: {what} did not come up within {timeout:.0f} s")


class BenchDockerd:
    """A `fresh_dockerd` only the benchmark uses; `reset()` gives it the state of a fresh runner."""

    def __init__(self, home: Path) -> None:
        self.home = home  # the Docker CLI's config folder (HOME), kept across resets
        self.host = ""  # DOCKER_HOST of the daemon running now; a new one after each reset
        self._daemon: contextlib.ExitStack | None = None

    def docker(self, *argv: str, check: bool = True, stdin: str | None = None) -> str:
        """Run the Docker CLI against this engine; its stdout."""
        done = subprocess.run(  # noqa: S603 - fixed argv
            [DOCKER, "--host", self.host, *argv],
            capture_output=True,
            text=True,
            check=False,
            input=stdin,
            env={"PATH": "/usr/bin:/bin", "DOCKER_BUILDKIT": "1", "HOME": str(self.home)},
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"docker {' '.join(argv[:3])} failed: {done.stderr.strip()[-800:]}")
        return done.stdout

    def __enter__(self) -> BenchDockerd:
        self.home.mkdir(parents=True, exist_ok=True)
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def reset(self) -> None:
        """Replace the engine by a new, empty one (no images, containers or build cache)."""
        self._stop()
        self._start()

    def _start(self) -> None:
        daemon = contextlib.ExitStack()
        self.host = daemon.enter_context(fresh_dockerd(timeout=START_TIMEOUT))
        self._daemon = daemon

    def _stop(self) -> None:
        daemon, self._daemon = self._daemon, None
        if daemon is not None:
            daemon.close()


MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)


def download_seconds(
    registry: str,
    repository: str,
    tag: str,
    *,
    context: ssl.SSLContext | None = None,
    credentials: tuple[str, str] | None = None,
    keep: list[bytes] | None = None,
) -> tuple[float, int]:
    """Time to fetch an image's manifest, config and layers over HTTP without unpacking them.

    The part of a `docker pull` that is transfer; the rest is decompression and extraction.
    Distribution's API: GET /v2/<name>/manifests/<reference>, GET /v2/<name>/blobs/<digest>
    (https://distribution.github.io/distribution/spec/api/). With `context` over HTTPS, and with
    `credentials` (user, password) a pull token first (`bearer_token`, not timed). `keep`, if
    given, receives each gzip layer's compressed bytes (for `gunzip_seconds`).
    """
    base = f"{'https' if context else 'http'}://{registry}/v2/{repository}"
    headers = {"Accept": MANIFEST_TYPES}
    if credentials is not None:
        token = bearer_token(registry, repository, credentials, context)
        headers["Authorization"] = f"Bearer {token}"
    started = time.monotonic()
    request = urllib.request.Request(f"{base}/manifests/{tag}", headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30, context=context) as answer:  # noqa: S310 - our loopback registry
        manifest = json.load(answer)
    total = 0
    for blob in [manifest["config"], *manifest["layers"]]:
        fetch = urllib.request.Request(f"{base}/blobs/{blob['digest']}", headers=headers)  # noqa: S310
        gzipped = blob in manifest["layers"] and str(blob.get("mediaType", "")).endswith("gzip")
        chunks: list[bytes] | None = [] if keep is not None and gzipped else None
        with urllib.request.urlopen(fetch, timeout=120, context=context) as answer:  # noqa: S310
            while chunk := answer.read(1 << 20):
                total += len(chunk)
                if chunks is not None:
                    chunks.append(chunk)
        if keep is not None and chunks is not None:
            keep.append(b"".join(chunks))
    return time.monotonic() - started, total


def gunzip_seconds(layers: list[bytes]) -> tuple[float, int]:
    """Time to decompress gzip layers in memory (C zlib, one core) and the bytes they hold.

    Only the decompression of a pull's unpacking: no tar reading, no files written. The
    engine decompresses with `unpigz` where it finds one, else with Go's gzip (moby
    pkg/archive/archive.go, gzDecompress), so this is a stand-in, not the daemon's own time.
    """
    started = time.monotonic()
    total = 0
    for layer in layers:
        inflate = zlib.decompressobj(wbits=31)  # 16 + 15: a gzip header and trailer
        for offset in range(0, len(layer), 1 << 20):
            total += len(inflate.decompress(layer[offset : offset + (1 << 20)]))
        total += len(inflate.flush())
    return time.monotonic() - started, total


def bearer_token(
    registry: str, repository: str, credentials: tuple[str, str], context: ssl.SSLContext | None
) -> str:
    """A pull token for `repository`: the `/v2/` challenge's realm asked with Basic credentials.

    Docker's token flow (https://distribution.github.io/distribution/spec/auth/token/): the
    challenge `Bearer realm="...",service="..."` names where to ask, `scope` says for what.
    """
    scheme = "https" if context else "http"
    try:
        urllib.request.urlopen(f"{scheme}://{registry}/v2/", timeout=30, context=context)  # noqa: S310
        raise RuntimeError(f"bench: {registry} answered /v2/ without a challenge")
    except urllib.error.HTTPError as exc:
        challenge = exc.headers.get("WWW-Authenticate", "")
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    query = urllib.parse.urlencode(
        {"service": params.get("service", ""), "scope": f"repository:{repository}:pull"}
    )
    basic = base64.b64encode(":".join(credentials).encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the realm of our loopback registry
        f"{params['realm']}?{query}", headers={"Authorization": f"Basic {basic}"}
    )
    with urllib.request.urlopen(request, timeout=30, context=context) as answer:  # noqa: S310
        found = json.load(answer)
    return str(found.get("access_token") or found["token"])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - a loopback URL of our own
            return True
    except OSError:
        return False


@contextlib.contextmanager
def plain_registry(workdir: Path) -> Iterator[str]:
    """A Distribution registry on 127.0.0.1 (no TLS, no auth), yielding its `host:port`."""
    registry_bin = shutil.which("docker-registry") or shutil.which("registry")
    if registry_bin is None:
        raise RuntimeError("bench: no docker-registry binary (scripts/setup.sh installs it)")
    port = free_port()
    (workdir / "storage").mkdir(parents=True, exist_ok=True)
    config = workdir / "config.yml"
    config.write_text(
        json.dumps(
            {
                "version": 0.1,
                "storage": {"filesystem": {"rootdirectory": str(workdir / "storage")}},
                "http": {"addr": f"127.0.0.1:{port}"},
                "log": {"level": "error"},
            }
        ),
        encoding="utf-8",
    )
    with subprocess.Popen(  # noqa: S603 - fixed argv
        [registry_bin, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as registry:
        try:
            _wait_until(lambda: _answers(f"http://127.0.0.1:{port}/v2/"), 20, "docker-registry")
            yield f"127.0.0.1:{port}"
        finally:
            registry.terminate()
            registry.wait(STOP_TIMEOUT)
