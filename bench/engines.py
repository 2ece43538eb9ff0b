"""Throw-away engines for the fresh-runner benchmark: a Docker daemon of its own, plain registries.

`BenchDockerd` is a second `dockerd` with its own data root, socket and bridge, so that wiping its
images and build cache (what a fresh GitHub-hosted runner starts without) leaves the machine's
shared engine alone. `plain_registry` serves a Distribution registry on 127.0.0.1: the stand-in
for Docker Hub and for the registry a prebuilt action image is pulled from. Both are removed on
exit, also when the benchmark fails.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from localazure.distribution import free_port

from .harness import DOCKER

BRIDGE = "acrbench0"
BRIDGE_ADDRESS = "172.30.99.1/24"  # a private range the shared engine's docker0 does not use
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
    """A `dockerd` only the benchmark uses; `reset()` gives it the state of a fresh runner."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.host = f"unix://{workdir / 'docker.sock'}"
        self._process: subprocess.Popen[bytes] | None = None
        self._bridge = False

    def docker(self, *argv: str, check: bool = True, stdin: str | None = None) -> str:
        """Run the Docker CLI against this engine; its stdout."""
        done = subprocess.run(  # noqa: S603 - fixed argv
            [DOCKER, "--host", self.host, *argv],
            capture_output=True,
            text=True,
            check=False,
            input=stdin,
            env={"PATH": "/usr/bin:/bin", "DOCKER_BUILDKIT": "1", "HOME": str(self.workdir)},
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"docker {' '.join(argv[:3])} failed: {done.stderr.strip()[-800:]}")
        return done.stdout

    def answers(self) -> bool:
        """Does the daemon answer? (`docker version` prints the client's part without one.)"""
        try:
            return self.docker("version", "--format", "{{.Server.Version}}").strip() != ""
        except RuntimeError:
            return False

    def __enter__(self) -> BenchDockerd:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._add_bridge()
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        if self._bridge:
            _ip("link", "delete", BRIDGE, check=False)
            self._bridge = False
        self._wipe()

    def reset(self) -> None:
        """Stop the engine, delete its images, containers and build cache, start it again."""
        self._stop()
        self._wipe()
        self._start()

    def _wipe(self) -> None:
        """Delete the data root, first unmounting what a stopped build may have left mounted."""
        root = str(self.workdir / "root")
        with open("/proc/mounts", encoding="utf-8") as mounts:
            points = [line.split()[1] for line in mounts]
        for point in sorted((p for p in points if p.startswith(root + "/")), reverse=True):
            subprocess.run(["umount", "--lazy", point], check=False, capture_output=True)  # noqa: S603, S607 - fixed argv
        shutil.rmtree(root, ignore_errors=True)

    def _add_bridge(self) -> None:
        _ip("link", "delete", BRIDGE, check=False)  # a leftover of a killed run
        _ip("link", "add", "name", BRIDGE, "type", "bridge")
        self._bridge = True
        _ip("addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")

    def _start(self) -> None:
        root = self.workdir
        argv = [
            "dockerd", "--data-root", str(root / "root"), "--exec-root", str(root / "exec"),
            "--pidfile", str(root / "dockerd.pid"), "--host", self.host, "--bridge", BRIDGE,
            "--iptables=false", "--ip-masq=false",
        ]  # fmt: skip
        log = (root / "dockerd.log").open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        _wait_until(self.answers, START_TIMEOUT, "dockerd")

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)


def _ip(*argv: str, check: bool = True) -> None:
    """`ip ARGS` (iproute2): the engine's own bridge, since the shared engine owns docker0."""
    subprocess.run(["ip", *argv], check=check, capture_output=True)  # noqa: S603, S607 - fixed argv


MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)


def download_seconds(registry: str, repository: str, tag: str) -> tuple[float, int]:
    """Time to fetch an image's manifest, config and layers over HTTP without unpacking them.

    The part of a `docker pull` that is transfer; the rest is decompression and extraction.
    Distribution's API: GET /v2/<name>/manifests/<reference>, GET /v2/<name>/blobs/<digest>
    (https://distribution.github.io/distribution/spec/api/).
    """
    base = f"http://{registry}/v2/{repository}"
    started = time.monotonic()
    accept = {"Accept": MANIFEST_TYPES}
    request = urllib.request.Request(f"{base}/manifests/{tag}", headers=accept)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - our loopback registry
        manifest = json.load(answer)
    total = 0
    for blob in [manifest["config"], *manifest["layers"]]:
        with urllib.request.urlopen(f"{base}/blobs/{blob['digest']}", timeout=120) as answer:  # noqa: S310
            while chunk := answer.read(1 << 20):
                total += len(chunk)
    return time.monotonic() - started, total


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
