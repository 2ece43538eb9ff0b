"""A throwaway dockerd beside the shared one: it answers, leaves docker0 alone, and leaves nothing.

A daemon started with `--bridge=none` deletes docker0 (moby daemon/daemon_unix.go,
`removeDefaultBridgeInterface`), which breaks every container of the shared engine; this test
would see the interface go (or change index).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.shared import unavailable

pytestmark = pytest.mark.docker


def link_index(name: str) -> str | None:
    """The interface index of `name` (None when there is no such interface)."""
    try:
        return Path(f"/sys/class/net/{name}/ifindex").read_text(encoding="ascii").strip()
    except OSError:
        return None


def test_fresh_dockerd_answers_and_leaves_the_shared_engine_alone(docker_engine: Any) -> None:
    import docker

    from localazure.dockerd import DockerdUnavailable, fresh_dockerd

    docker0 = link_index("docker0")
    try:
        with fresh_dockerd(timeout=60) as docker_host:
            root = Path(docker_host.removeprefix("unix://")).parent
            fresh = docker.DockerClient(base_url=docker_host, timeout=30)
            try:
                assert fresh.images.list() == []
                assert fresh.info()["DockerRootDir"] == str(root / "data")
            finally:
                fresh.close()
            pid = (root / "docker.pid").read_text(encoding="ascii").strip()
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            [bridge] = [a.split("=", 1)[1] for a in argv if a.startswith("--bridge=")]
            assert link_index(bridge)
    except DockerdUnavailable as exc:
        unavailable(f"a fresh dockerd could not start: {exc}")
    assert link_index("docker0") == docker0
    assert docker_engine.ping()
    assert not root.exists()
    assert link_index(bridge) is None
    assert not processes_naming(str(root))


def processes_naming(text: str) -> list[str]:
    """The command lines that contain `text`, read from /proc (a minimal Debian has no pgrep)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").replace("\0", " ")
        except OSError:
            continue  # the process ended while we looked
        if text in argv:
            found.append(argv)
    return found
