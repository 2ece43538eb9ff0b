"""A release names an image that exists: the action image, pushed to a real Distribution registry.

The release workflow pushes the image to ghcr.io and runs scripts/release_action_yml.py on the
release commit's action.yml. Here the same script runs against `docker-registry serve` on
127.0.0.1 (an open registry, as a public ghcr.io package is to pulls) holding the image this
session built from the Dockerfile.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from localazure.distribution import DistributionRegistry
from tests.harness.container_action import DOCKER
from tests.shared import unavailable

from .steps import ROOT

pytestmark = pytest.mark.docker

SCRIPT = ROOT / "scripts" / "release_action_yml.py"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistributionRegistry]:
    served = DistributionRegistry("release", tmp_path_factory.mktemp("registry"), auth=None)
    if not served.binary.exists():
        unavailable(f"{served.binary} is missing; run scripts/setup.sh (package docker-registry)")
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def pushed(registry: DistributionRegistry, action_image: str) -> Iterator[str]:
    """The action image in the registry, named by the digest the registry gave it."""
    repository = f"127.0.0.1:{registry.port}/acr-action"
    subprocess.run([DOCKER, "tag", action_image, f"{repository}:v0.0.0-test"], check=True)
    subprocess.run([DOCKER, "push", f"{repository}:v0.0.0-test"], check=True, capture_output=True)
    digests = subprocess.run(
        [DOCKER, "image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}",
         f"{repository}:v0.0.0-test"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    yield next(d for d in digests if d.startswith(repository + "@"))
    subprocess.run([DOCKER, "image", "rm", f"{repository}:v0.0.0-test"], capture_output=True)


def release(tmp_path: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the script as the workflow does, on a copy of the repository's action.yml."""
    action_yml = tmp_path / "action.yml"
    action_yml.write_text((ROOT / "action.yml").read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *argv, "--action-yml", str(action_yml)],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return done, action_yml


def test_the_release_names_the_pushed_image_by_digest(tmp_path: Path, pushed: str) -> None:
    done, action_yml = release(tmp_path, "write", pushed, "--platform", "linux/amd64")

    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(action_yml.read_text("utf-8"))["runs"]["image"] == f"docker://{pushed}"
    checked = subprocess.run(
        [sys.executable, str(SCRIPT), "check", "--action-yml", str(action_yml)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    # What the runner then does with `docker://...`: pull it (ActionManager's "Pull" step).
    pulled = subprocess.run([DOCKER, "pull", pushed], capture_output=True, text=True)
    assert pulled.returncode == 0, pulled.stderr


def test_a_digest_the_registry_does_not_hold_is_refused(tmp_path: Path, pushed: str) -> None:
    never_pushed = pushed.split("@")[0] + "@sha256:" + hashlib.sha256(b"not pushed").hexdigest()

    done, action_yml = release(tmp_path, "write", never_pushed)

    assert done.returncode == 1
    assert "is not in the registry (HTTP 404" in done.stderr
    assert action_yml.read_text("utf-8") == (ROOT / "action.yml").read_text("utf-8")


def test_a_platform_the_image_lacks_is_refused(tmp_path: Path, pushed: str) -> None:
    done, _ = release(tmp_path, "write", pushed, "--platform", "linux/arm64")

    assert done.returncode == 1
    assert "has no image for linux/arm64" in done.stderr


def test_a_tag_whose_action_yml_builds_the_image_is_refused(tmp_path: Path) -> None:
    done, _ = release(tmp_path, "check")

    assert done.returncode == 1
    assert "a release tag must name the published image" in done.stderr
