"""Fixtures shared by every suite: the local Azure and the Docker engine.

Suites that need Docker or the emulator *fail* when those are missing and `CI=true` (CI must
not go green having skipped them); on a laptop they skip with the reason.

Nothing here imports the emulator or Docker's SDK at module level: the unit suite collects with
only the action's own dependencies installed (tests/unit/test_layers.py), so those imports live
inside the fixtures that need them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.shared import BUSYBOX_IMAGE, StepResult, unavailable

if TYPE_CHECKING:
    from localazure.server import Emulator

# The e2e checks (assert_deployed, ...) live in a plain module; pytest rewrites the asserts of
# test modules and conftest files only, so it is registered to report its values the same way.
# tests/leaks.py is left out on purpose: its failures must not print the secret they found.
pytest.register_assert_rewrite("tests.e2e.steps")


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
    from localazure.server import Emulator
    from localazure.state import Seed

    workdir = tmp_path_factory.mktemp("local-azure")
    with Emulator(Seed.default(), workdir=workdir) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def azure_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The local Azure without Docker: identity, ARM reads, Key Vault, GitHub (contract tests)."""
    from localazure.server import Emulator
    from localazure.state import Seed

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


# The fixtures the integration and end-to-end suites share (tests/shared.py says how): each
# suite's conftest.py defines `run_action`, and these use whichever the requesting test sees.


@pytest.fixture(scope="session")
def busybox_image(docker_engine) -> str:  # type: ignore[no-untyped-def]
    """The local stand-in for busybox (built by scripts/base-images.sh)."""
    try:
        docker_engine.images.get(BUSYBOX_IMAGE)
    except Exception:
        unavailable(f"image {BUSYBOX_IMAGE} is missing; run scripts/base-images.sh")
    return BUSYBOX_IMAGE


@pytest.fixture
def hello_app(tmp_path: Path, repo_root: Path, busybox_image: str) -> Path:
    """A copy of examples/hello (busybox httpd, about 2 MB) as the job's workspace."""
    workspace = tmp_path / "workspace"
    shutil.copytree(repo_root / "examples" / "hello", workspace)
    return workspace


@pytest.fixture
def cleanup_groups(run_action: Callable[..., StepResult]) -> Iterator[list[str]]:
    """Container groups to remove after the test, with the action's own `mode: delete`."""
    names: list[str] = []
    yield names
    for name in names:
        deleted = run_action(inputs={"mode": "delete", "name": name})
        assert deleted.exit_code == 0, deleted.seen.shown[-2000:]
