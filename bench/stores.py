"""`python -m bench image-stores`: the iris one-line change on each of the engine's image stores.

The fresh-runner table misses < 5 s for the cached one-line change because the runner's engine
(buildx's `docker` driver over the classic image store) unpacks every cached layer. Docker Engine
29 uses the containerd image store on fresh installations (docs.docker.com/engine/storage/
containerd), where the same driver also exports `type=registry` caches
(docs.docker.com/build/cache/backends). This benchmark asks whether that store, or a Dockerfile
that keeps the cached layers lazy (`COPY --link`, nothing run after the change), gets under 5 s.

It runs the builder alone, as the action image does (`docker build`, then `docker push`) with the
action image's CLI and buildx: no action and no local Azure. Two engines, each replaced by an
empty one before every build (`localazure.dockerd.fresh_dockerd`):
- classic: this machine's dockerd (Debian bookworm's 20.10), the inline cache read from the pushed
  tag, as the action's default;
- containerd: Debian trixie's dockerd 26.1 with `features.containerd-snapshotter` and its
  containerd 1.7, a `type=registry,mode=max` cache next to the image.
The trixie binaries (docker.io, containerd, docker-cli, docker-buildx) are fetched once with
`apt-get download` into `.cache/bench/trixie-docker/` and run from there; nothing is installed.
A plain registry on 127.0.0.1 holds the base image and the pushes (a lower bound of a real
registry). Each build's row says what the `CACHED` steps and the slowest steps were. Last, on each
engine, one context built and pushed twice, with buildx's default attestations and with
`BUILDX_NO_DEFAULT_ATTESTATIONS=1` (what the action's builds get): does an unchanged rebuild keep
its digest, which the action's no-op redeploy depends on?
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from localazure.dockerd import fresh_dockerd

from .buildlog import cache_use, slowest
from .engines import plain_registry
from .harness import CACHE, DOCKER, REPO_ROOT, say
from .table import Row, verdict

TRIXIE = CACHE / "trixie-docker"
TRIXIE_PACKAGES = ("docker.io", "containerd", "docker-cli", "docker-buildx")
BASE = "acr-action-local/python:3.11-slim-bookworm"
CONTAINERD_STORE = '{"features": {"containerd-snapshotter": true}}\n'


def trixie_docker() -> Path:
    """The trixie packages' files, unpacked under TRIXIE (fetched once)."""
    root = TRIXIE / "root"
    if (root / "usr" / "sbin" / "dockerd").exists():
        return root
    with tempfile.TemporaryDirectory(prefix="acr-action-trixie-") as tmp:
        apt = Path(tmp)
        (apt / "lists" / "partial").mkdir(parents=True)
        (apt / "archives" / "partial").mkdir(parents=True)
        mirror = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
        (apt / "sources.list").write_text(
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
            f"{mirror} trixie main\n",
            encoding="utf-8",
        )
        options = [
            f"-oDir::Etc::sourcelist={apt / 'sources.list'}",
            "-oDir::Etc::sourceparts=/dev/null",
            f"-oDir::State::Lists={apt / 'lists'}",
            f"-oDir::Cache={apt}",
            "-oAPT::Sandbox::User=root",
        ]
        subprocess.run(["apt-get", *options, "update"], check=True, capture_output=True)  # noqa: S603,S607
        subprocess.run(  # noqa: S603 - fixed argv
            ["apt-get", *options, "download", *TRIXIE_PACKAGES],  # noqa: S607 - apt's own PATH
            check=True, capture_output=True, cwd=apt,
        )  # fmt: skip
        staging = TRIXIE / "staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for deb in sorted(apt.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)  # noqa: S603,S607
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
    return root


@dataclass(frozen=True)
class Engine:
    """How to start one kind of fresh engine and which cache options its builds get."""

    name: str
    dockerd: str | None  # None: this machine's dockerd
    extra: tuple[str, ...]
    path: str | None

    def fresh(self) -> contextlib.AbstractContextManager[str]:
        """A new, empty daemon of this kind; yields its DOCKER_HOST."""
        return fresh_dockerd(timeout=60, dockerd=self.dockerd, extra=self.extra, path=self.path)

    def cache_options(self, repo: str) -> tuple[list[str], list[str]]:
        """(options of the first build, options of the measured one) for the image `repo`."""
        if self.name == "classic":
            inline = ["--build-arg", "BUILDKIT_INLINE_CACHE=1"]
            return inline, [*inline, "--cache-from", f"{repo}:main"]
        export = ["--cache-to", f"type=registry,ref={repo}:buildcache,mode=max"]
        return export, [*export, "--cache-from", f"type=registry,ref={repo}:buildcache"]


class Builder:
    """The action image's Docker CLI and buildx (trixie's), pointed at one engine at a time."""

    def __init__(self, tools: Path, config: Path) -> None:
        self.docker = str(tools / "usr" / "bin" / "docker")
        plugins = config / "cli-plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        plugin = plugins / "docker-buildx"
        if not plugin.exists():
            plugin.symlink_to(
                tools / "usr" / "libexec" / "docker" / "cli-plugins" / "docker-buildx"
            )
        self.config = config
        self.host = ""

    def run(
        self, *argv: str, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> tuple[float, str]:
        """Seconds and output of `docker argv` against the current engine; fails loudly."""
        env = {
            "PATH": "/usr/bin:/bin",
            "DOCKER_HOST": self.host,
            "DOCKER_CONFIG": str(self.config),
            **(env or {}),
        }
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 - fixed argv
            [self.docker, *argv], capture_output=True, text=True, env=env, cwd=cwd, check=False
        )
        seconds = time.monotonic() - started
        if done.returncode != 0:
            raise RuntimeError(
                f"docker {' '.join(argv[:2])} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
        return seconds, done.stdout + done.stderr


def link_variant(workspace: Path) -> None:
    """The iris Dockerfile with nothing run after the app's line: `useradd` moved before the
    dependencies and `COPY --link app.py .`, so the cached layers below need not be on disk."""
    dockerfile = workspace / "Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    useradd = "RUN useradd --system --no-create-home --shell /usr/sbin/nologin iris\n"
    if useradd not in text or "COPY app.py .\n" not in text:
        raise RuntimeError("bench: examples/iris-api/Dockerfile changed; update link_variant")
    text = text.replace(useradd, "").replace("WORKDIR /app\n", "WORKDIR /app\n" + useradd)
    dockerfile.write_text(text.replace("COPY app.py .\n", "COPY --link app.py .\n"), "utf-8")


def one_line_change(
    engine: Engine, builder: Builder, hub: str, workspace: Path, label: str
) -> list[Row]:
    """First build + push on an empty engine, then the one-line change on another empty one."""
    repo = f"{hub}/{workspace.name}"  # one repository per row: no row reads another's cache
    first, measured = engine.cache_options(repo)
    build = ["build", "--progress", "plain", "--network", "host", "--tag", f"{repo}:main",
             "--build-arg", f"BASE_IMAGE={hub}/python:3.11-slim-bookworm"]  # fmt: skip
    with engine.fresh() as host:
        builder.host = host
        builder.run(*build, *first, ".", cwd=workspace)
        builder.run("push", f"{repo}:main")
    app = workspace / "app.py"
    app.write_text(app.read_text(encoding="utf-8") + f"# one-line change: {label}\n", "utf-8")
    with engine.fresh() as host:
        builder.host = host
        built, log = builder.run(*build, *measured, ".", cwd=workspace)
        pushed, _ = builder.run("push", f"{repo}:main")
    total = built + pushed
    return [
        Row(label, "one-line change on an empty engine: build + push",
            f"{total:.1f} s (build {built:.1f}, push {pushed:.1f})", verdict(total < 5, "< 5 s")),
        Row(label, "  build cache (BuildKit's log)", cache_use(log)),
        Row(label, "  slowest steps", slowest(log)),
    ]  # fmt: skip


def pushed_digest(output: str) -> str:
    """The digest `docker push` reports (`<tag>: digest: sha256:... size: N`)."""
    line = next(line for line in output.splitlines() if "digest: " in line)
    return line.split("digest: ", 1)[1].split()[0]


def identical_rebuilds(engine: Engine, builder: Builder, hub: str, workspace: Path) -> list[Row]:
    """The same context built and pushed twice, with buildx's default attestations and without
    (`BUILDX_NO_DEFAULT_ATTESTATIONS=1`, what the action sets): same digest or not?"""
    rows = []
    (workspace / "Dockerfile").write_text(
        f"FROM {hub}/python:3.11-slim-bookworm\nRUN echo unchanged > /x\n", encoding="utf-8"
    )
    variants: list[tuple[str, dict[str, str]]] = [
        ("buildx's default", {}),
        ("BUILDX_NO_DEFAULT_ATTESTATIONS=1", {"BUILDX_NO_DEFAULT_ATTESTATIONS": "1"}),
    ]
    for label, env in variants:
        digests = []
        with engine.fresh() as host:
            builder.host = host
            for _ in range(2):
                builder.run("build", "--tag", f"{hub}/same:t", ".", cwd=workspace, env=env)
                digests.append(pushed_digest(builder.run("push", f"{hub}/same:t")[1]))
        same = "the same digest" if digests[0] == digests[1] else "two digests"
        rows.append(
            Row(f"{engine.name}, attestations", f"identical rebuild pushed twice: {label}",
                f"{same} ({digests[0][7:19]}, {digests[1][7:19]})",
                verdict(digests[0] == digests[1], "same digest"))
        )  # fmt: skip
    return rows


def run() -> list[Row]:
    """The iris Dockerfile as it is on both engines and its `--link` variant on the containerd
    one (three rows each), then each engine's identical rebuilds (two rows each)."""
    say("image stores: fetching Debian trixie's Docker packages (once) ...")
    tools = trixie_docker()
    path = f"{tools / 'usr' / 'bin'}:{tools / 'usr' / 'sbin'}:/usr/sbin:/usr/bin:/sbin:/bin"
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="acr-action-stores-")))
        config = tmp / "daemon.json"
        config.write_text(CONTAINERD_STORE, encoding="utf-8")
        engines = [
            Engine("classic", None, (), None),
            Engine("containerd", str(tools / "usr" / "sbin" / "dockerd"),
                   (f"--config-file={config}",), path),
        ]  # fmt: skip
        hub = stack.enter_context(plain_registry(tmp / "hub"))
        builder = Builder(tools, tmp / "docker-config")
        saved = subprocess.run([DOCKER, "image", "save", BASE], capture_output=True, check=True)  # noqa: S603
        with engines[0].fresh() as host:  # the base image into the hub, once
            builder.host = host
            subprocess.run(  # noqa: S603 - fixed argv
                [DOCKER, "--host", host, "image", "load"], input=saved.stdout, capture_output=True,
                check=True,
            )  # fmt: skip
            builder.run("tag", BASE, f"{hub}/python:3.11-slim-bookworm")
            builder.run("push", f"{hub}/python:3.11-slim-bookworm")
        for engine in engines:
            # The 20.10 engine's own Dockerfile frontend predates `COPY --link` (Dockerfile 1.4),
            # and a `# syntax=` line would pull docker/dockerfile from Docker Hub.
            for variant in ("as is",) if engine.name == "classic" else ("as is", "--link"):
                label = f"{engine.name}, {variant}"
                say(f"  {label} ...")
                workspace = tmp / f"iris-{engine.name}-{variant.strip('-')}".replace(" ", "")
                shutil.copytree(REPO_ROOT / "examples" / "iris-api", workspace)
                if variant == "--link":
                    link_variant(workspace)
                rows += one_line_change(engine, builder, hub, workspace, label)
            workspace = tmp / f"same-{engine.name}"
            workspace.mkdir()
            rows += identical_rebuilds(engine, builder, hub, workspace)
    return rows
