"""bench/stores.py: the `--link` variant of the iris Dockerfile and each engine's cache options."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# bench/stores.py imports the bench's harness, hence the local Azure (aiohttp): each test imports
# it inside and is marked dev_only.
ROOT = Path(__file__).resolve().parents[2]


def _instructions(dockerfile: Path) -> list[str]:
    """The Dockerfile's instruction lines (continuations and comments left out)."""
    lines = dockerfile.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and line[0].isupper()]


@pytest.mark.dev_only  # bench.stores imports the local Azure
def test_the_link_variant_runs_nothing_after_the_apps_line(tmp_path: Path) -> None:
    from bench.stores import link_variant

    shutil.copytree(ROOT / "examples" / "iris-api", tmp_path / "iris")
    link_variant(tmp_path / "iris")

    steps = _instructions(tmp_path / "iris" / "Dockerfile")
    app = steps.index("COPY --link app.py .")
    assert not [s for s in steps[app:] if s.startswith(("RUN", "COPY", "ADD"))][1:]
    assert steps.index("RUN useradd --system --no-create-home --shell /usr/sbin/nologin iris") < (
        steps.index("COPY requirements.txt .")
    )
    original = _instructions(ROOT / "examples" / "iris-api" / "Dockerfile")
    assert sorted(s.replace("--link ", "") for s in steps) == sorted(original)


@pytest.mark.dev_only  # bench.stores imports the local Azure
def test_the_classic_store_inlines_and_the_containerd_store_exports_to_the_registry() -> None:
    from bench.stores import Engine

    classic = Engine("classic", None, (), None)
    containerd = Engine("containerd", "/t/dockerd", (), "/t")

    first, measured = classic.cache_options("hub/iris")
    assert first == ["--build-arg", "BUILDKIT_INLINE_CACHE=1"]
    assert measured[-2:] == ["--cache-from", "hub/iris:main"]
    first, measured = containerd.cache_options("hub/iris")
    assert first == ["--cache-to", "type=registry,ref=hub/iris:buildcache,mode=max"]
    assert measured[-2:] == ["--cache-from", "type=registry,ref=hub/iris:buildcache"]
