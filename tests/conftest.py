"""Fixtures shared by every suite: the local Azure and the Docker engine.

Suites that need Docker or the emulator *fail* when those are missing and `CI=true` (CI must
not go green having skipped them); on a laptop they skip with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from localazure.server import Emulator
from localazure.state import Seed


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere, with `reason`."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: this suite must run, not skip)", pytrace=False)
    pytest.skip(reason)


def docker_client():  # type: ignore[no-untyped-def]
    """A Docker Engine API client, or fail/skip when no engine answers."""
    import docker

    from localazure.dockerd import DockerdUnavailable, ensure_dockerd

    try:
        ensure_dockerd()  # starts dockerd when none answers and we may (root, installed)
    except DockerdUnavailable as exc:
        unavailable(str(exc))
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:
        unavailable(
            f"no Docker engine answers ({exc}); run scripts/setup.sh to install and start one"
        )
    return client


@pytest.fixture(scope="session")
def docker_engine():  # type: ignore[no-untyped-def]
    """The local Docker engine (fails in CI when absent)."""
    return docker_client()


@pytest.fixture(scope="session")
def azure(tmp_path_factory: pytest.TempPathFactory, docker_engine: object) -> Iterator[Emulator]:
    """The local Azure with the demo seed, its registry and its container runtime."""
    workdir = tmp_path_factory.mktemp("local-azure")
    with Emulator(Seed.default(), workdir=workdir) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def azure_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The local Azure without Docker: identity, ARM reads, Key Vault, GitHub (contract tests)."""
    workdir = tmp_path_factory.mktemp("local-azure-http")
    with Emulator(Seed.default(), workdir=workdir, docker=False) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _no_fault_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults scheduled by one test never reach the next."""
    yield
    for name in ("azure", "azure_http"):
        if name in request.fixturenames:
            request.getfixturevalue(name).faults.clear()


@pytest.fixture
def repo_root() -> Path:
    """The repository's top folder."""
    return Path(__file__).resolve().parent.parent
