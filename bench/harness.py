"""What the benchmarks share: a local Azure with Docker, the action run as a process, measurements.

The action runs as `python -m acr_action` in a child process (as a runner would start it, minus the
container), so its wall time, its start-up and its peak memory are its own. The local Azure runs in
this process: its request records (`RequestRecord.at` is `time.monotonic()`, the same clock as the
child's start time) and a wrapper around its container runtime tell how long the containers
themselves took to pull, create and start, which the control-plane figures leave out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localazure import aci_runtime
from localazure.dockerd import fresh_runner_env
from localazure.server import Emulator
from localazure.state import Seed
from tests.harness.workflow import Event, read_outputs, step_env

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("ACR_ACTION_CACHE", REPO_ROOT / ".cache")) / "bench"
BUSYBOX_IMAGE = "acr-action-local/busybox"
PULL_SP = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"  # the seed's pull principal (has a secret)
PULL_SP_SECRET = "Xq8~pullPrincipalSecret.Local-0001"  # noqa: S105 - the local emulator's seed
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"


def say(line: str = "") -> None:
    """One line of progress or report, flushed (benchmarks run for minutes)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class ContainerClock:
    """Intervals the emulator's container runtime spent pulling, creating and starting containers."""

    METHODS = ("pull", "create", "start")

    def __init__(self) -> None:
        self.intervals: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._saved: dict[str, Any] = {}

    def install(self) -> None:
        """Wrap the runtime's methods (class level: every emulator in this process)."""
        for name in self.METHODS:
            original = getattr(aci_runtime.Runtime, name)
            self._saved[name] = original
            setattr(aci_runtime.Runtime, name, self._timed(original))

    def uninstall(self) -> None:
        """Put the original methods back."""
        for name, original in self._saved.items():
            setattr(aci_runtime.Runtime, name, original)

    def _timed(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.intervals.append((started, time.monotonic()))

        return timed

    def seconds_between(self, start: float, end: float) -> float:
        """Length of the union of the recorded intervals, clipped to [start, end]."""
        with self._lock:
            spans = sorted((max(a, start), min(b, end)) for a, b in self.intervals)
        total, reach = 0.0, start
        for a, b in spans:
            if b <= reach:
                continue
            total += b - max(a, reach)
            reach = b
        return total


@dataclass
class ActionRun:
    """One run of the action process."""

    exit_code: int
    seconds: float  # process start to exit
    first_request: float | None  # process start to the first request the local Azure answered
    peak_rss_mb: float  # VmHWM of the action's own process
    container_seconds: float  # the emulator's container pull/create/start inside the run
    phases: dict[str, float]  # the job summary's "time: <phase>" rows
    outputs: dict[str, str]
    stdout: str
    requests: list[Any] = field(default_factory=list)  # RequestRecords during the run
    # Each line of stdout with the time it arrived (seconds since the process started): the
    # action flushes every line, so a streamed build log's lines carry the time BuildKit printed
    # them (its plain printer writes at most every 100-150 ms).
    lines: list[tuple[float, str]] = field(default_factory=list)

    def count(self, method: str, path_contains: str) -> int:
        """Requests of the run with this method whose path contains the text."""
        return sum(
            1
            for r in self.requests
            if r.method == method and path_contains.lower() in r.path.lower()
        )


def _peak_rss_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def _phases(summary: str) -> dict[str, float]:
    found = {}
    for line in summary.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("time: ") and cells[1].endswith(" s"):
            found[cells[0][6:]] = float(cells[1][:-2])
    return found


class Bench:
    """A local Azure (with Docker) and helpers to run the action against it."""

    def __init__(self, workdir: Path, clock: ContainerClock) -> None:
        self.workdir = workdir
        self.clock = clock
        self._stack = contextlib.ExitStack()
        self.azure: Emulator
        self.docker_host: str | None = None  # another engine than the shared one (fresh runner)
        self._runs = 0

    def __enter__(self) -> Bench:
        self.azure = self._stack.enter_context(
            Emulator(Seed.default(), workdir=self.workdir / "azure")
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def workspace(self, name: str = "hello", example: str = "hello") -> Path:
        """A fresh copy of examples/<example> to build."""
        target = self.workdir / f"workspace-{name}"
        shutil.copytree(REPO_ROOT / "examples" / example, target)
        return target

    def registry_bytes(self) -> int:
        """Bytes of blobs stored by the local registries (layers, configs, manifests)."""
        total = 0
        for root, _dirs, files in os.walk(self.workdir / "azure"):
            if "/blobs/" in root + "/":
                total += sum((Path(root) / f).stat().st_size for f in files)
        return total

    def run_action(
        self,
        inputs: dict[str, str],
        workspace: Path,
        *,
        event: Event | None = None,
        python_flags: tuple[str, ...] = (),
    ) -> ActionRun:
        """Run `python -m acr_action` as a step would; wait for it; measure it."""
        self._runs += 1
        runner_dir = self.workdir / f"runner-{self._runs}"
        merged = {"build-args": f"BUSYBOX_IMAGE={BUSYBOX_IMAGE}", "timeout": "3m", **inputs}
        env = step_env(self.azure, runner_dir, event=event, inputs=merged, workspace=workspace)
        env.update(
            PATH="/usr/bin:/bin:/usr/local/bin",
            REQUESTS_CA_BUNDLE=str(self.azure.ca_path),
            PYTHONPATH=str(REPO_ROOT),
            LANG="C.UTF-8",
        )
        if self.docker_host:
            env.update(fresh_runner_env(self.docker_host, self.azure.ca_path))
        before = len(self.azure.requests)
        peak = 0
        started = time.monotonic()
        with subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, *python_flags, "-m", "acr_action"],
            env=env,
            cwd=workspace,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process:
            output: list[tuple[float, str]] = []

            def read() -> None:
                for line in process.stdout or []:
                    output.append((time.monotonic() - started, line))

            reader = threading.Thread(target=read)
            reader.start()
            while process.poll() is None:
                peak = max(peak, _peak_rss_kb(process.pid) or 0)
                time.sleep(0.02)
            reader.join()
        ended = time.monotonic()
        records = list(self.azure.requests[before:])
        first = min((r.at for r in records if r.at >= started), default=None)
        summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
        return ActionRun(
            exit_code=process.returncode,
            seconds=ended - started,
            first_request=None if first is None else first - started,
            peak_rss_mb=peak / 1024,
            container_seconds=self.clock.seconds_between(started, ended),
            phases=_phases(summary),
            outputs=read_outputs(Path(env["GITHUB_OUTPUT"])),
            stdout="".join(line for _, line in output),
            requests=records,
            lines=[(at, line.rstrip("\n")) for at, line in output],
        )


@contextlib.contextmanager
def bench_env(workdir: Path, clock: ContainerClock) -> Iterator[Bench]:
    """A `Bench` whose CA bundle this process trusts too (the Azure SDKs read the variable)."""
    with Bench(workdir, clock) as bench:
        saved = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = str(bench.azure.ca_path)
        try:
            yield bench
        finally:
            if saved is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = saved


def median(values: list[float]) -> float:
    """The median (of a short list)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
