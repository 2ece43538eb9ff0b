"""The action image: size per layer, build time on a cold and a warm cache, and a prebuilt pull.

The runner builds `image: Dockerfile` at the start of every job; a prebuilt image is pulled instead.
The builds here use the local stand-ins for the base images (no Docker Hub), which are already on
this machine, as a runner's would not be; the pull goes through a plain Distribution registry on
127.0.0.1 (`docker-registry`), so both paths start with the base image present.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.container_action import LOCAL_BUILD_ARGS

from .engines import plain_registry
from .harness import DOCKER, REPO_ROOT, say

TAG = "acr-action:bench"


@dataclass
class ImageResult:
    """What the image benchmark measured."""

    size_mb: float = 0.0
    layers: list[tuple[float, str]] = field(default_factory=list)  # (MB, instruction)
    cold_build: float = 0.0
    warm_build: float = 0.0
    pull: float | None = None
    pull_note: str = ""


def _docker(*argv: str, capture: bool = True) -> str:
    done = subprocess.run(  # noqa: S603 - fixed argv
        [DOCKER, *argv],
        capture_output=capture,
        text=True,
        check=True,
        env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin"},
    )
    return done.stdout if capture else ""


def _build(*extra: str) -> float:
    command = ["build", "--network", "host", "--quiet", "--tag", TAG, *extra]
    for key, value in LOCAL_BUILD_ARGS.items():
        command += ["--build-arg", f"{key}={value}"]
    started = time.monotonic()
    _docker(*command, str(REPO_ROOT))
    return time.monotonic() - started


def _size_mb(text: str) -> float:
    units = {"B": 1e-6, "kB": 1e-3, "KB": 1e-3, "MB": 1.0, "GB": 1e3}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return 0.0


def measure(workdir: Path) -> ImageResult:
    """Build twice (cold, warm), read the layers, push to a local registry and time a pull."""
    result = ImageResult()
    say("action image: cold build (--no-cache) ...")
    result.cold_build = _build("--no-cache")
    say("action image: warm build ...")
    result.warm_build = _build()
    result.size_mb = int(_docker("image", "inspect", "--format", "{{.Size}}", TAG)) / 1e6
    for line in _docker("history", "--no-trunc", "--format", "{{json .}}", TAG).splitlines():
        row = json.loads(line)
        size = _size_mb(row["Size"])
        if size >= 0.01:
            instruction = " ".join(row["CreatedBy"].replace("/bin/sh -c ", "").split())
            result.layers.append((size, instruction.removesuffix(" # buildkit")[:90] or "(base)"))
    result.pull, result.pull_note = _pull(workdir)
    return result


def _pull(workdir: Path) -> tuple[float | None, str]:
    if shutil.which("docker-registry") is None and shutil.which("registry") is None:
        return None, "no docker-registry binary"
    with plain_registry(workdir / "plain-registry") as registry:
        remote = f"{registry}/acr-action:bench"
        _docker("tag", TAG, remote)
        _docker("push", remote)
        _docker("rmi", remote, TAG)
        started = time.monotonic()
        pulled = _docker("pull", remote)
        seconds = time.monotonic() - started
        fetched = pulled.count("Pull complete")
        present = pulled.count("Already exists")
        note = f"{fetched} layer(s) downloaded, {present} already on this machine"
        if fetched == 0:
            note += " (shared with another image, e.g. acr-action:local: a lower bound)"
        _docker("tag", remote, TAG)
        _docker("rmi", remote)
        return seconds, note
