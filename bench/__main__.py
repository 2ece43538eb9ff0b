"""`python -m bench`: the performance figures of issue 7, measured on the local Azure, as one table.

    .venv/bin/python -m bench [--skip-cli] [--skip-image] [--skip-sweep]
    .venv/bin/python -m bench fresh-runner [--skip-cli]    # issue 14: bench/fresh.py
    .venv/bin/python -m bench image-stores                 # issue 14: bench/stores.py

Sets up what it needs (the Docker engine, the local base images, the Azure CLI under .cache/bench/)
and runs: start-up and import time, the control-plane overhead of a deploy against the tutorial's
`az`/`docker` sequence, a no-op redeploy, a rebuild after a one-line change, the action image,
peak memory, and the 500-preview sweep (bench/sweep.py). Not a test: it prints numbers and the
targets beside them; every loop is bounded. Takes 3-5 minutes (first run: plus the CLI install).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from localazure.dockerd import ensure_dockerd

from . import azcli, fresh, image, stores, sweep
from .harness import (
    BUSYBOX_IMAGE,
    DOCKER,
    REPO_ROOT,
    ActionRun,
    ContainerClock,
    bench_env,
    median,
    say,
)
from .importtime import cumulative as _cumulative
from .importtime import top_level as _top_level
from .table import Row, markdown, verdict

ROWS: list[Row] = []


def row(item: str, measure: str, value: str, target: str = "") -> None:
    """Add a row to the final table (and echo it as progress)."""
    ROWS.append(Row(item, measure, value, target))
    say(f"  {item} {measure}: {value}" + (f"  [{target}]" if target else ""))


def import_times() -> None:
    """(1) `python -X importtime -c "import acr_action.__main__"`, and what a deploy imports."""
    totals = []
    lines: list[str] = []
    for _ in range(5):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import acr_action.__main__"],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO_ROOT,
        )
        lines = done.stderr.splitlines()
        totals.append(_cumulative(lines).get("acr_action.__main__", 0) / 1e6)
    row("1", "import acr_action.__main__ (median of 5)", f"{median(totals) * 1000:.0f} ms")
    # A run that stops at input validation: does it import any SDK?
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "acr_action", "--registry", "BAD NAME!"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
    )
    seconds = time.monotonic() - started
    heavy = sorted(
        {name.split(".")[0] for name in _cumulative(done.stderr.splitlines())}
        & {"azure", "requests", "docker", "msal", "cryptography", "urllib3"}
    )
    row(
        "1",
        "validation-only run (invalid input): wall, heavy imports",
        f"{seconds * 1000:.0f} ms, {', '.join(heavy) or 'none'} (exit {done.returncode})",
        verdict(not heavy, "no SDK"),
    )


def deploys(skip_cli: bool) -> None:
    """(1)-(4), (6): the action against the local Azure, and (2) the az/docker path."""
    clock = ContainerClock()
    clock.install()
    try:
        with tempfile.TemporaryDirectory(prefix="acr-action-bench-") as tmp:
            workdir = Path(tmp)
            cli = None
            if not skip_cli:
                azcli.ensure_installed(say)
                with bench_env(workdir / "cli", clock) as bench:
                    workspace = bench.workspace("cli")
                    subprocess.run(  # noqa: S603 - fixed argv
                        [DOCKER, "build", "--quiet", "--build-arg", f"BUSYBOX_IMAGE={BUSYBOX_IMAGE}",
                         "--tag", "acr-action-bench/hello:cli", str(workspace)],
                        check=True, capture_output=True, env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin"},
                    )  # fmt: skip
                    try:
                        cli = azcli.run_sequence(bench, "acr-action-bench/hello:cli", "hello-cli")
                    except RuntimeError as exc:
                        say(f"  az path failed: {exc}")
            with bench_env(workdir / "action", clock) as bench:
                _action_runs(bench, cli)
    finally:
        clock.uninstall()


def _action_runs(bench: object, cli: azcli.CliResult | None) -> None:
    from .harness import Bench

    assert isinstance(bench, Bench)
    workspace = bench.workspace("action")
    inputs = {"name": "hello-bench"}
    stored = bench.registry_bytes()
    first = bench.run_action(inputs, workspace, python_flags=("-X", "importtime"))
    _check(first, "first deploy")
    first_bytes = bench.registry_bytes() - stored
    imports = [line for line in first.stdout.splitlines() if line.startswith("import time:")]
    top = ", ".join(f"{name} {us / 1000:.0f}" for name, us in _top_level(imports)[:6])
    row("1", "imports of a deploy run, top offenders (ms, -X importtime)", top)
    # Runs without -X importtime for the timings.
    noop = bench.run_action(inputs, workspace)
    _check(noop, "no-op redeploy")
    stored = bench.registry_bytes()
    noop2 = bench.run_action(inputs, workspace)
    _check(noop2, "no-op redeploy")
    noop_bytes = bench.registry_bytes() - stored
    starts = [r.first_request for r in (noop, noop2) if r.first_request is not None]
    row(
        "1",
        "process start to first network request (median)",
        f"{median(starts):.2f} s",
        verdict(median(starts) <= 0.25, "≤ 0.25 s"),
    )
    # (2) control-plane overhead of a full deploy: a new group, the image pushed to a new repository.
    fresh = bench.run_action({"name": "hello-fresh", "image-name": "hello-fresh"}, workspace)
    _check(fresh, "deploy")
    overhead = fresh.seconds - fresh.phases.get("build", 0.0) - fresh.container_seconds
    row(
        "2",
        "action: full deploy wall / build / container start",
        f"{fresh.seconds:.2f} s / {fresh.phases.get('build', 0):.2f} s / {fresh.container_seconds:.2f} s",
    )
    row("2", "action: control-plane overhead", f"{overhead:.2f} s")
    row("2", "action: phases", ", ".join(f"{k} {v:.1f}" for k, v in fresh.phases.items()))
    if cli is not None:
        cli_overhead = cli.total - cli.container_seconds
        for failed in cli.failed:
            row("2", "az path: could not run here", failed)
        for name, seconds in cli.steps:
            row("2", f"az path: {name}", f"{seconds:.2f} s")
        row("2", "az path: az start-up alone (az version, best of 3)", f"{cli.start_up:.2f} s")
        row("2", "az path: az login (not counted)", f"{cli.login_seconds:.2f} s")
        row("2", "az path: container start (emulator)", f"{cli.container_seconds:.2f} s")
        row("2", "az path: control-plane overhead", f"{cli_overhead:.2f} s")
        ratio = cli_overhead / overhead if overhead > 0 else float("inf")
        row("2", "ratio az path / action", f"{ratio:.1f}x", verdict(ratio >= 5, "≥ 5x"))
    # (3) no-op redeploy
    uploads = noop2.count("PUT", "/blobs/uploads/")
    puts = noop2.count("PUT", "/containerGroups/")
    row(
        "3",
        "no-op redeploy: wall (2 runs)",
        f"{noop.seconds:.2f} s, {noop2.seconds:.2f} s",
        verdict(max(noop.seconds, noop2.seconds) <= 3, "≤ 3 s"),
    )
    row(
        "3",
        "no-op redeploy: blob uploads, registry growth, ACI PUTs",
        f"{uploads}, {noop_bytes} B, {puts}",
        verdict(uploads == 0 and puts == 0, "0 uploads, 0 PUT"),
    )
    # (4) rebuild after a one-line change
    page = workspace / "www" / "index.html"
    page.write_text(page.read_text(encoding="utf-8") + "<p>one more line</p>\n", encoding="utf-8")
    stored = bench.registry_bytes()
    changed = bench.run_action(inputs, workspace)
    _check(changed, "rebuild")
    grown = bench.registry_bytes() - stored
    layer = _top_layer_bytes(changed.outputs.get("image", ""))
    row(
        "4",
        "one-line change: blob uploads, registry growth (layer+config+manifest)",
        f"{changed.count('PUT', '/blobs/uploads/')}, {grown} B (first push: {first_bytes} B)",
        verdict(grown < first_bytes / 10, "≈ changed layer"),
    )
    row("4", "one-line change: the changed layer (uncompressed)", f"{layer} B")
    row(
        "4",
        "one-line change: wall, build phase",
        f"{changed.seconds:.2f} s, {changed.phases.get('build', 0):.2f} s",
    )
    # (6) peak memory
    peak = max(r.peak_rss_mb for r in (first, noop, noop2, fresh, changed))
    row(
        "6",
        "peak RSS of the action process (VmHWM)",
        f"{peak:.0f} MB",
        verdict(peak <= 150, "≤ 150 MB"),
    )


def _top_layer_bytes(image_ref: str) -> int:
    if not image_ref:
        return 0
    done = subprocess.run(  # noqa: S603 - fixed argv
        [DOCKER, "history", "--human=false", "--format", "{{.Size}}", image_ref],
        capture_output=True,
        text=True,
        check=False,
    )
    sizes = [int(s) for s in done.stdout.split() if s.isdigit()]
    return next((s for s in sizes if s > 0), 0)


def _check(run: ActionRun, what: str) -> None:
    if run.exit_code != 0:
        say(run.stdout[-3000:])
        raise SystemExit(f"bench: the {what} failed with exit code {run.exit_code}")


def image_figures() -> None:
    """(5) the action image."""
    with tempfile.TemporaryDirectory(prefix="acr-action-bench-image-") as tmp:
        result = image.measure(Path(tmp))
    row(
        "5",
        "action image size (uncompressed)",
        f"{result.size_mb:.0f} MB",
        verdict(result.size_mb <= 200, "≤ 200 MB"),
    )
    for size, instruction in result.layers:
        row("5", f"  layer: {instruction}", f"{size:.1f} MB")
    row(
        "5",
        "build from Dockerfile: cold (--no-cache) / warm",
        f"{result.cold_build:.1f} s / {result.warm_build:.1f} s",
    )
    pulled = "n/a" if result.pull is None else f"{result.pull:.1f} s"
    row("5", "prebuilt image: docker pull from a local registry", f"{pulled} ({result.pull_note})")


def sweep_figures() -> None:
    """(7) bench/sweep.py with its defaults."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = sweep.run(500, 8, 10)
    text = out.getvalue()
    took = re.search(r"sweep took ([\d.]+) s", text)
    left = re.search(r"(\d+) groups left", text)
    seconds = float(took.group(1)) if took else float("nan")
    row(
        "7",
        "sweep of 500 previews (450 deleted, ARM-paced)",
        f"{seconds:.1f} s, {left.group(1) if left else '?'} left, exit {code}",
        verdict(seconds < 30 and code == 0, "< 30 s"),
    )


def print_table() -> None:
    """The report, as a Markdown table."""
    say()
    say(markdown(ROWS))


def main(argv: list[str]) -> int:
    """Set up, run every benchmark, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--skip-cli", action="store_true", help="leave out the az/docker path")
    parser.add_argument("--skip-image", action="store_true", help="leave out the action image")
    parser.add_argument("--skip-sweep", action="store_true", help="leave out the 500-preview sweep")
    parser.add_argument(
        "scenario",
        nargs="?",
        choices=("all", "fresh-runner", "image-stores"),
        default="all",
        help="fresh-runner: what a job on a fresh runner pays (bench/fresh.py); image-stores: the"
        " one-line change on the classic and the containerd image store (bench/stores.py); all:"
        " issue 7's rows",
    )
    args = parser.parse_args(argv)
    ensure_dockerd()
    missing = subprocess.run(  # noqa: S603 - fixed argv
        [DOCKER, "image", "inspect", BUSYBOX_IMAGE], capture_output=True, check=False
    ).returncode
    if missing:  # the local base images (no Docker Hub here)
        subprocess.run([str(REPO_ROOT / "scripts" / "base-images.sh")], check=True)  # noqa: S603
    started = time.monotonic()
    if args.scenario in ("fresh-runner", "image-stores"):
        ROWS.extend(
            fresh.run(args.skip_cli, DOCKER) if args.scenario == "fresh-runner" else stores.run()
        )
        print_table()
        say(f"\nbenchmark took {time.monotonic() - started:.0f} s")
        return 0
    say("(1) start-up and import time")
    import_times()
    say("(2)-(4), (6) deploys on the local Azure")
    deploys(args.skip_cli)
    if not args.skip_image:
        say("(5) the action image")
        image_figures()
    if not args.skip_sweep:
        say("(7) sweep")
        sweep_figures()
    print_table()
    say(f"\nbenchmark took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
