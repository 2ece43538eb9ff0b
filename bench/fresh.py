"""`python -m bench fresh-runner`: what a job on a fresh GitHub-hosted runner pays, as one table.

A fresh runner has no images and no build cache; the registry (ACR) keeps what earlier jobs pushed.
So before each measured run the benchmark's own `dockerd` (engines.BenchDockerd, not the shared
engine) is stopped, its data root deleted and started again, while the local Azure's registry keeps
its storage. Docker Hub is a plain registry on 127.0.0.1 holding the local base stand-ins of
scripts/base-images.sh (pulled over loopback: a lower bound of a pull from Docker Hub). Rows:

  (a) set-up: the action's Dockerfile built cold vs the prebuilt action image pulled;
  (b) a first deploy of examples/iris-api through the action, and the imports before its first
      request (a no-op redeploy under -X importtime);
  (c) a one-line change to app.py through the action, without and with the registry cache; the
      cached one's build phase split by its log lines' arrival times (bench/buildlog.py), and a
      `docker pull` of the image its cache comes from on a new, empty engine;
  (d) the same kind of change through the tutorial: docker build, docker push, az container create.
"""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from acr_action.inputs_table import INPUTS

from . import azcli
from .buildlog import BuildTimeline, build_timeline, cache_use, imported_refs, slowest
from .engines import BenchDockerd, download_seconds, gunzip_seconds, plain_registry
from .harness import (
    CACHE,
    PULL_SP,
    PULL_SP_SECRET,
    REPO_ROOT,
    ActionRun,
    Bench,
    ContainerClock,
    bench_env,
    say,
)
from .importtime import by_package, outermost
from .table import Row, ratio, verdict

BASES = {  # build argument -> the local stand-in (scripts/base-images.sh) it names on the hub
    "BASE_IMAGE": "acr-action-local/python:3.11-slim-bookworm",
    "DOCKER_CLI_IMAGE": "acr-action-local/docker-cli:26-buildx",
}
PREBUILT_REPOSITORY, PREBUILT_TAG = "acr-action", "prebuilt"
CACHE_INPUTS = ("cache-from", "cache-to")
# No cache at all: a cache-from that `docker build` cannot import (left out, said in the log) and no
# cache-to, so nothing is read and nothing inlined (acr_action/buildcache.py's plan_cache).
NO_CACHE = {"cache-from": "type=gha"}
# The tutorial's commands of a one-line change. The Key Vault reads and `az container show` are
# shown but not counted: leaving them out can only make the tutorial look faster.
TUTORIAL_PATH = ("az acr login", "docker build", "docker tag", "docker push", "az container create")


@dataclass(frozen=True)
class Fresh:
    """The engines of the scenario: the benchmark's dockerd and the Docker Hub stand-in."""

    engine: BenchDockerd
    hub: str  # host:port

    def base(self, arg: str) -> str:
        """The hub's name of a base image (what `FROM` pulls on a fresh runner)."""
        return f"{self.hub}/{BASES[arg].removeprefix('acr-action-local/')}"

    def build_args(self, *names: str) -> list[str]:
        """`--build-arg NAME=<hub image>` for each name."""
        return [part for name in names for part in ("--build-arg", f"{name}={self.base(name)}")]


def timed(action: Callable[..., object], *args: str) -> float:
    """Wall time of one call."""
    started = time.monotonic()
    action(*args)
    return time.monotonic() - started


def seed_hub(fresh: Fresh, shared_docker: str) -> None:
    """Copy the base stand-ins from the shared engine to the hub (outside the measurements)."""
    for arg, image in BASES.items():
        saved = subprocess.run(  # noqa: S603 - fixed argv
            [shared_docker, "image", "save", image], capture_output=True, check=True
        ).stdout
        subprocess.run(  # noqa: S603 - fixed argv
            [shared_docker, "--host", fresh.engine.host, "image", "load"],
            input=saved, capture_output=True, check=True,
        )  # fmt: skip
        fresh.engine.docker("tag", image, fresh.base(arg))
        fresh.engine.docker("push", fresh.base(arg))


def set_up_rows(fresh: Fresh) -> list[Row]:
    """(a) the action's Dockerfile built cold vs the prebuilt image pulled, each on a fresh engine."""
    engine, tag = fresh.engine, f"{fresh.hub}/{PREBUILT_REPOSITORY}:{PREBUILT_TAG}"
    engine.reset()
    build = ["build", "--network", "host", "--quiet", "--tag", tag,
             *fresh.build_args("BASE_IMAGE", "DOCKER_CLI_IMAGE"), str(REPO_ROOT)]  # fmt: skip
    cold = timed(engine.docker, *build)
    size_mb = int(engine.docker("image", "inspect", "--format", "{{.Size}}", tag)) / 1e6
    engine.docker("push", tag)  # once, outside the measurement
    engine.reset()
    fetched, size = download_seconds(fresh.hub, PREBUILT_REPOSITORY, PREBUILT_TAG)
    pulled = timed(engine.docker, "pull", tag)
    return [
        Row("a", "set-up: build the action's Dockerfile, cold (base pulls from the hub stand-in)",
            f"{cold:.1f} s"),
        Row("a", "set-up: pull the prebuilt action image (local registry)", f"{pulled:.1f} s",
            verdict(pulled < 5, "< 5 s")),
        Row("a", "  of which transfer: the blobs fetched over HTTP, not unpacked",
            f"{fetched:.1f} s for {size / 1e6:.0f} MB compressed"),
        Row("a", "set-up ratio build / pull", f"{ratio(cold, pulled):.1f}x"),
        Row("a", "action image size (uncompressed)", f"{size_mb:.0f} MB",
            verdict(size_mb <= 200, "≤ 200 MB")),
    ]  # fmt: skip


def cache_supported() -> bool:
    """Has the action the registry-cache inputs (docker/build-push-action's names)?"""
    names = {spec.name for spec in INPUTS}
    return all(name in names for name in CACHE_INPUTS)


def change_app(workspace: Path, label: str) -> None:
    """A one-line change to the iris app (a different line per row: each pushes a new layer)."""
    app = workspace / "app.py"
    app.write_text(app.read_text(encoding="utf-8") + f"# one-line change: {label}\n", "utf-8")


def phases_text(run: ActionRun) -> str:
    """The job summary's phases, e.g. `sign in 0.2, build 3.1, push 0.4`."""
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in run.phases.items())


def build_push(run: ActionRun) -> float:
    """The build and push phases of a run."""
    return run.phases.get("build", 0.0) + run.phases.get("push", 0.0)


def checked(run: ActionRun, what: str) -> ActionRun:
    """The run, or SystemExit with its log tail when it failed; its log is kept in .cache/bench."""
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / f"fresh-{'-'.join(what.split())}.log").write_text(run.stdout, encoding="utf-8")
    if run.exit_code != 0:
        say(run.stdout[-3000:])
        raise SystemExit(f"bench: the {what} failed with exit code {run.exit_code}")
    return run


def action_row(label: str, run: ActionRun, target: str = "", what: str = "") -> list[Row]:
    """Wall, build + push, start-up and phases of one action run."""
    return [
        Row(label, f"action{' ' + what if what else ''}: wall / build + push",
            f"{run.seconds:.1f} s / {build_push(run):.1f} s", target),
        Row(label, "action: phases (s)", phases_text(run)),
        Row(label, "  of which the local Azure's container pull + start (Azure's time, not the runner's)",
            f"{run.container_seconds:.1f} s"),
        Row(label, "action: slowest build steps", slowest(run.stdout)),
        Row(label, "action: build cache (BuildKit's log)", cache_use(run.stdout)),
    ]  # fmt: skip


def iris_inputs(fresh: Fresh) -> dict[str, str]:
    """The action's inputs for the iris example (pip in the build uses the host network)."""
    return {"name": "iris-fresh", "image-name": "iris-api", "network": "host", "timeout": "15m",
            "build-args": f"BASE_IMAGE={fresh.base('BASE_IMAGE')}"}  # fmt: skip


def fresh_runner(fresh: Fresh, bench: Bench) -> None:
    """A new, empty engine (started after the local Azure's certs.d entry) for the next run."""
    fresh.engine.reset()
    bench.docker_host = fresh.engine.host


def deploy_rows(fresh: Fresh, bench: Bench, skip_cli: bool) -> list[Row]:
    """(b)-(d) on the local Azure, each run on a fresh engine."""
    workspace = bench.workspace("iris", example="iris-api")
    fresh_runner(fresh, bench)
    first = checked(bench.run_action(iris_inputs(fresh), workspace), "first deploy")
    start = first.first_request or float("nan")
    rows = [
        *action_row("b", first),
        Row(
            "b",
            "action: process start to first request",
            f"{start:.2f} s",
            verdict(start <= 0.25, "≤ 0.25 s"),
        ),
    ]
    rows += import_rows(bench, first, workspace)
    cached = None
    if cache_supported():  # before the run without cache, which pushes the tag with no cache in it
        source = imported_refs(first.stdout)
        pulled = cache_source_rows(fresh, bench, source[0]) if source else []
        change_app(workspace, "with cache")
        fresh_runner(fresh, bench)
        cached = checked(bench.run_action(iris_inputs(fresh), workspace), "change with cache")
        rows += action_row(
            "c",
            cached,
            verdict(build_push(cached) < 5, "build + push < 5 s"),
            "with the default cache (inline, read from the branch tag)",
        )
        rows += split_rows(cached) + pulled
    else:
        rows.append(Row("c", "action with cache-from/cache-to", "not measured: no such inputs yet"))
    change_app(workspace, "without cache")
    fresh_runner(fresh, bench)
    no_cache = NO_CACHE if cache_supported() else {}
    plain = checked(bench.run_action({**iris_inputs(fresh), **no_cache}, workspace), "no cache")
    rows += action_row("c", plain, what="without cache")
    if not skip_cli:
        rows += tutorial_rows(fresh, bench, workspace, cached or plain)
    return rows


def import_rows(bench: Bench, first: ActionRun, workspace: Path) -> list[Row]:
    """What the action imports before its first request: a no-op redeploy under -X importtime.

    The same image as the first deploy (`image:` given, so nothing is built); the import lines
    that arrived before the local Azure saw the first request are the start-up's imports.
    """
    inputs = {"name": "iris-fresh", **iris_inputs_for_image(first)}
    run = checked(
        bench.run_action(inputs, workspace, python_flags=("-X", "importtime")), "importtime run"
    )
    if run.first_request is None:
        return [Row("b", "  imports before the first request", "no request seen")]
    before = [line for at, line in run.lines if at < run.first_request]
    own = ", ".join(f"{name} {us / 1000:.0f}" for name, us in outermost(before)[:5])
    packages = by_package(before)
    total = sum(us for _, us in packages) / 1e6
    top = ", ".join(f"{name} {us / 1000:.0f}" for name, us in packages[:6])
    return [
        Row("b", "  imports before the first request (-X importtime, a no-op redeploy): total",
            f"{total:.2f} s of {run.first_request:.2f} s to the first request under importtime"),
        Row("b", "    the program's own imports, cumulative (ms)", own),
        Row("b", "    by package, self time (ms)", top),
    ]  # fmt: skip


def iris_inputs_for_image(first: ActionRun) -> dict[str, str]:
    """Inputs that deploy the image the first deploy pushed again, without building."""
    # A blank input counts as not given: the harness's default build-args cannot meet `image`.
    return {"image": first.outputs["image"], "timeout": "5m", "build-args": ""}


def cache_source_rows(fresh: Fresh, bench: Bench, ref: str) -> list[Row]:
    """(c) on a new, empty engine: `docker pull` of the image the cache is read from.

    The engine's builder (moby's builder-next worker) loads an imported cache result by
    downloading and registering every layer below it in the engine's layer store
    (`Worker.FromRemote`), so this pull is what the CACHED steps stand for; the transfer alone is
    `download_seconds` over HTTPS with the same pull principal.
    """
    login, _, rest = ref.partition("/")
    repository, _, tag = rest.rpartition(":")
    state = bench.azure.state
    scope = (
        f"/subscriptions/{state.subscription_id}/resourceGroups/{azcli.RESOURCE_GROUP}"
        f"/providers/Microsoft.ContainerRegistry/registries/{azcli.REGISTRY}"
    )
    state.grant(PULL_SP, "AcrPull", scope)
    fresh_runner(fresh, bench)
    fresh.engine.docker("login", "--username", PULL_SP, "--password-stdin", login,
                        stdin=PULL_SP_SECRET)  # fmt: skip
    pulled = timed(fresh.engine.docker, "pull", ref)
    size_mb = int(fresh.engine.docker("image", "inspect", "--format", "{{.Size}}", ref)) / 1e6
    fresh.engine.docker("logout", login)
    context = ssl.create_default_context(cafile=str(bench.azure.ca_path))
    layers: list[bytes] = []
    fetched, size = download_seconds(
        login, repository, tag, context=context, credentials=(PULL_SP, PULL_SP_SECRET), keep=layers
    )
    inflated, raw = gunzip_seconds(layers)
    return [
        Row("c", f"  a new, empty engine: docker pull {repository}:{tag} (the cache's image, local ACR)",
            f"{pulled:.1f} s ({size_mb:.0f} MB uncompressed)"),
        Row("c", "    of which transfer: the blobs fetched over HTTPS, not unpacked",
            f"{fetched:.1f} s for {size / 1e6:.0f} MB compressed"),
        Row("c", "    gzip decompression of those layers alone (C zlib in memory, one core)",
            f"{inflated:.1f} s for {raw / 1e6:.0f} MB"),
    ]  # fmt: skip


def split_rows(run: ActionRun) -> list[Row]:
    """(c) the cached run's build phase split by the arrival times of its log lines."""
    line = build_timeline(run.lines)
    if line is None:
        return [Row("c", "  build phase split", "no build log group in the output")]
    phase = run.phases.get("build", 0.0)
    before, after = line.first_vertex - line.cli_start, line.cli_exit - line.last_vertex
    solve = line.last_vertex - line.first_vertex
    covered = line.covered()
    parts = before + solve + after
    return [
        Row("c", "  build phase: Docker CLI start to BuildKit's first vertex", f"{before:.1f} s"),
        Row("c", "  build phase: first vertex to the last vertex's end", f"{solve:.1f} s"),
        Row("c", "    of which CACHED vertices open (loading the imported cache)", cached_text(line)),
        Row("c", "    of which vertices that ran: sum of BuildKit's DONE times", f"{line.timed():.1f} s"),
        Row("c", "    of which no vertex open", f"{solve - covered:.1f} s"),
        Row("c", "  build phase: last vertex's end to the CLI's exit", f"{after:.1f} s"),
        Row("c", "  the three above vs the build phase (the rest: config set-up, line times)",
            f"{parts:.1f} s of {phase:.1f} s", verdict(abs(phase - parts) <= 0.3, "within 0.3 s")),
    ]  # fmt: skip


def cached_text(line: BuildTimeline) -> str:
    """Each CACHED vertex that took time: open for how long, until its last layer was fetched, after."""
    shown = []
    for v in line.cached()[:3]:
        text = f"{v.name[:40]} open {v.end - v.start:.1f} s"
        if v.fetched is not None:
            text += (
                f": {v.fetched - v.start:.1f} s until its last `pulling` (layer fetch) line"
                f" (their own times add to {v.pulled:.1f} s), then {v.end - v.fetched:.1f} s"
                " with no progress shown until CACHED"
            )
        shown.append(text)
    return "; ".join(shown) or "none measurable"


def tutorial_rows(fresh: Fresh, bench: Bench, workspace: Path, action: ActionRun) -> list[Row]:
    """(d) the tutorial's docker build + docker push + az container create, on a fresh engine."""
    change_app(workspace, "tutorial")
    fresh_runner(fresh, bench)
    image = "iris-tutorial:v2"
    build = ["docker", "build", "--network", "host", "--quiet", "--tag", image,
             *fresh.build_args("BASE_IMAGE"), str(workspace)]  # fmt: skip
    cli = azcli.run_sequence(
        bench, image, "iris-tutorial", build=build, docker_host=fresh.engine.host
    )
    rows = [Row("d", f"tutorial: {name}", f"{seconds:.1f} s") for name, seconds in cli.steps]
    rows += [Row("d", "tutorial: could not run here", failed) for failed in cli.failed]
    path = sum(s for name, s in cli.steps if name.startswith(TUTORIAL_PATH))
    pushed = sum(s for name, s in cli.steps if name in ("docker build", "docker push"))
    which = "with cache" if cache_supported() else "without cache (no cache inputs yet)"
    whole, built = ratio(path, action.seconds), ratio(pushed, build_push(action))
    rows += [
        Row("d", "tutorial: acr login + build + tag + push + container create", f"{path:.1f} s"),
        Row("d", f"ratio tutorial / action {which}: whole path (action wall)", f"{whole:.1f}x",
            verdict(whole >= 5, "≥ 5x")),
        Row("d", f"ratio tutorial / action {which}: build + push", f"{built:.1f}x",
            verdict(built >= 5, "≥ 5x")),
    ]  # fmt: skip
    return rows


def run(skip_cli: bool, shared_docker: str) -> list[Row]:
    """The whole scenario; every engine, registry and container it made is gone on return."""
    if not skip_cli:
        azcli.ensure_installed(say)
    clock = ContainerClock()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="acr-action-fresh-")))
        hub = stack.enter_context(plain_registry(tmp / "hub"))
        engine = stack.enter_context(BenchDockerd(tmp / "dockerd"))
        fresh = Fresh(engine, hub)
        say("fresh runner: seeding the Docker Hub stand-in with the local base images ...")
        seed_hub(fresh, shared_docker)
        say("(a) set-up: cold build vs prebuilt pull ...")
        rows = echoed(set_up_rows(fresh))
        clock.install()
        stack.callback(clock.uninstall)
        bench = stack.enter_context(bench_env(tmp / "azure", clock))
        # The action and the tutorial build on the fresh engine (fresh_runner); the local Azure's
        # containers run on the shared one, as Azure's run elsewhere than on the runner.
        say("(b)-(d) iris deploys on the local Azure ...")
        rows += echoed(deploy_rows(fresh, bench, skip_cli))
    return rows


def echoed(rows: list[Row]) -> list[Row]:
    """The rows, said as progress too."""
    for row in rows:
        say(
            f"  {row.item} {row.measure}: {row.value}" + (f"  [{row.target}]" if row.target else "")
        )
    return rows
