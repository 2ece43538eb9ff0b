"""The default build cache survives an empty runner: a rebuild on a Docker engine that has never
seen the first build still reuses its layers, read back from the local Azure's registry.

The shared engine is used by other test runs, so the tests remove only what they made there: their
images by tag and the build-cache records whose description holds their nonce (`docker builder
prune --filter id=...`), never the whole cache. The empty engine is a throwaway daemon of the test's
own (`localazure.dockerd.fresh_dockerd`), removed with everything in it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from localazure.dockerd import fresh_runner_env
from localazure.state import SecretVersion
from tests.harness.workflow import VAULT
from tests.shared import unavailable

from .steps import Run, forget_the_build, mount_app

if TYPE_CHECKING:
    from localazure.server import Emulator

pytestmark = pytest.mark.docker

SLEEP_SECONDS = 4


def run_step_log(run: Run, nonce: str) -> list[str]:
    """The lines of the build's RUN step (`#N ...` in the plain progress log)."""
    step = re.search(rf"^(#\d+) \[(?:\S+ )?\d+/\d+\] RUN .*{nonce}", run.stdout, re.MULTILINE)
    assert step, run.stdout[-3000:]
    return [line for line in run.stdout.splitlines() if line.startswith(step.group(1) + " ")]


def app(tmp_path: Path, nonce: str) -> Path:
    """A one-step app whose RUN step is slow and unique to the test."""
    workspace = tmp_path / "app"
    workspace.mkdir()
    (workspace / "Dockerfile").write_text(
        "ARG BUSYBOX_IMAGE\n"
        "FROM ${BUSYBOX_IMAGE}\n"
        f"RUN echo {nonce} > /nonce && sleep {SLEEP_SECONDS}\n",
        encoding="utf-8",
    )
    return workspace


def inline_cache_of(docker_engine: Any, ref: str) -> bool:
    """Whether the image's config carries BuildKit's inline cache (`moby.buildkit.cache.v0`)."""
    with tarfile.open(fileobj=io.BytesIO(b"".join(docker_engine.images.get(ref).save()))) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(tar.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
    return "moby.buildkit.cache.v0" in config


def test_first_build_inlines_its_cache_and_survives_finding_none(
    run_action: Callable[..., Run], tmp_path: Path, docker_engine: Any
) -> None:
    nonce = uuid.uuid4().hex[:12]
    tag = f"cache-{nonce}"
    inputs = {"name": f"cache-{nonce[:6]}", "mode": "build", "tags": tag}
    try:
        run = run_action(inputs=inputs, workspace=app(tmp_path, nonce))
        assert run.exit_code == 0, run.stdout[-3000:]
        assert run.stdout.count("Build cache: inlined in the image") == 1
        assert re.search(rf"importing cache manifest from \S+:{tag}$", run.stdout, re.MULTILINE)
        assert not any(line.endswith(" CACHED") for line in run_step_log(run, nonce))
        assert inline_cache_of(docker_engine, run.outputs["image"])
    finally:
        forget_the_build(docker_engine, tag, nonce)


@pytest.fixture
def fresh_runner_engine(
    azure: Emulator, docker_engine: Any, busybox_image: str
) -> Iterator[tuple[str, Any]]:
    """A second Docker engine, as on a fresh runner: nothing built, no build cache.

    Started after the local Azure wrote its registries' /etc/docker/certs.d entries, which the
    daemon's BuildKit reads only at start-up (see localazure/dockerd.py), so that it trusts the
    registry as BuildKit on a runner trusts ACR's public CA. It holds only the base image (from
    the shared engine, loaded before anything is measured: a runner pulls it from Docker Hub).
    """
    import docker

    from localazure.dockerd import DockerdUnavailable, fresh_dockerd

    try:
        with fresh_dockerd(timeout=60) as docker_host:
            engine = docker.DockerClient(base_url=docker_host, timeout=120)
            try:
                engine.images.load(
                    b"".join(docker_engine.images.get(busybox_image).save(named=True))
                )
                yield docker_host, engine
            finally:
                engine.close()
    except DockerdUnavailable as exc:
        unavailable(f"a fresh dockerd could not start: {exc}")


def test_second_build_on_a_fresh_engine_reuses_the_pushed_inline_cache(
    run_action: Callable[..., Run],
    azure: Emulator,
    tmp_path: Path,
    docker_engine: Any,
    fresh_runner_engine: tuple[str, Any],
) -> None:
    nonce = uuid.uuid4().hex[:12]
    tag = f"cache-{nonce}"
    workspace = app(tmp_path, nonce)
    inputs = {"name": f"cache-{nonce[:6]}", "mode": "build", "tags": tag}
    docker_host, fresh_engine = fresh_runner_engine
    try:
        started = time.monotonic()
        first = run_action(inputs=inputs, workspace=workspace)
        first_seconds = time.monotonic() - started
        assert first.exit_code == 0, first.stdout[-3000:]
        assert not any(line.endswith(" CACHED") for line in run_step_log(first, nonce))

        # The next workflow run, on another runner: the same step, with an empty engine.
        started = time.monotonic()
        cli_env = fresh_runner_env(docker_host, azure.ca_path)
        second = run_action(inputs=inputs, workspace=workspace, env_overrides=cli_env)
        second_seconds = time.monotonic() - started
        assert second.exit_code == 0, second.stdout[-3000:]
        assert "x509" not in second.stdout, second.stdout[-3000:]
        assert any(line.endswith(" CACHED") for line in run_step_log(second, nonce)), second.stdout[
            -3000:
        ]
        # The image was built (and pushed) by the fresh engine, and is the first one, layer for layer.
        assert fresh_engine.images.get(second.outputs["image"]).id == (
            docker_engine.images.get(first.outputs["image"]).id
        )
        assert first.outputs["digest"] == second.outputs["digest"]
        print(f"first build+push {first_seconds:.1f} s, second (cache hit) {second_seconds:.1f} s")
        assert second_seconds < first_seconds - SLEEP_SECONDS / 2
    finally:
        forget_the_build(docker_engine, tag, nonce)


def test_build_secret_reaches_run_mount_and_nothing_else(
    run_action: Callable[..., Run],
    tmp_path: Path,
    docker_engine: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`build-secrets` reaches `RUN --mount=type=secret` and no command line, layer or log."""
    secret = "bs-" + uuid.uuid4().hex
    digest = hashlib.sha256(secret.encode()).hexdigest()
    nonce = uuid.uuid4().hex[:12]
    tag = f"secret-{nonce}"
    # The step proves it read the secret by its hash, and writes only a marker to the layer.
    workspace = mount_app(
        tmp_path / "app",
        "--mount=type=secret,id=token,required=true "
        f'test "$(sha256sum < /run/secrets/token | cut -d" " -f1)" = {digest} '
        f"&& echo {nonce} > /ok",
    )
    commands: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(args: list[str], **kwargs: Any) -> Any:
        commands.append(list(args))
        return real_popen(args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    inputs = {"name": f"sec-{nonce[:6]}", "mode": "build", "tags": tag}
    try:
        # run_action's leak detector looks for the secret in everything the runner shows.
        run = run_action(inputs={**inputs, "build-secrets": f"token={secret}"}, workspace=workspace)
        assert run.exit_code == 0, run.stdout[-3000:]
        build = next(c for c in commands if "build" in c)
        assert "id=token,env=ACR_ACTION_BUILD_SECRET_0" in build
        assert not any(secret in arg for command in commands for arg in command)
        saved = b"".join(docker_engine.images.get(run.outputs["image"]).save())
        assert nonce.encode() in saved  # the layers are there to search, uncompressed
        assert secret.encode() not in saved
        assert secret not in json.dumps(docker_engine.images.get(run.outputs["image"]).history())
    finally:
        forget_the_build(docker_engine, tag, nonce)


def test_build_secret_from_key_vault_reaches_run_mount_masked(
    azure: Emulator,
    run_action: Callable[..., Run],
    tmp_path: Path,
    docker_engine: Any,
) -> None:
    """`build-secrets-from-key-vault`: read from the vault, masked, in the mount, in no layer."""
    secret = "kv-bs-" + uuid.uuid4().hex
    digest = hashlib.sha256(secret.encode()).hexdigest()
    nonce = uuid.uuid4().hex[:12]
    tag = f"kvsecret-{nonce}"
    workspace = mount_app(
        tmp_path / "app",
        "--mount=type=secret,id=npm,required=true "
        f'test "$(sha256sum < /run/secrets/npm | cut -d" " -f1)" = {digest} '
        f"&& echo {nonce} > /ok",
    )
    azure.state.vaults[VAULT].secrets["npm-read-token"] = [SecretVersion(secret)]
    inputs = {
        "name": f"kvs-{nonce[:6]}",
        "mode": "build",
        "tags": tag,
        "key-vault": VAULT,
        "build-secrets-from-key-vault": "npm=npm-read-token",
    }
    try:
        run = run_action(inputs=inputs, workspace=workspace)
        assert run.exit_code == 0, run.stdout[-3000:]
        # Masked the moment it was read, before the build could print it.
        assert f"::add-mask::{secret}" in run.stdout
        saved = b"".join(docker_engine.images.get(run.outputs["image"]).save())
        assert nonce.encode() in saved
        assert secret.encode() not in saved
    finally:
        del azure.state.vaults[VAULT].secrets["npm-read-token"]
        forget_the_build(docker_engine, tag, nonce)
