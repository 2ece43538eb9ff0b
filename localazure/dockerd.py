"""Make sure a Docker engine answers, starting `dockerd` when we may (the Python twin of lib.sh's).

    ensure_dockerd()   # returns once `docker.from_env().ping()` answers, or raises DockerdUnavailable

The decision, in order:
1. an engine answers: nothing to do (whoever started it owns it; it is never stopped or restarted);
2. `DOCKER_HOST` names another engine than the local socket: starting a local daemon would not
   help, so say which engine does not answer;
3. `dockerd` is not installed, or we are not root: say to run `scripts/setup.sh`;
4. a `dockerd` is already running (its pid file names a live process) but does not answer yet:
   it is starting, so wait for it instead of starting a second one;
5. otherwise start `dockerd --iptables=false --ip-masq=false` in its own session (it outlives the
   test run, like `setsid nohup` in lib.sh), log to `.cache/dockerd.log`, and wait for the socket.

Concurrent callers (two test processes) serialise on a lock file next to the log, and the second
finds the engine answering. A daemon that does not answer within `timeout` is left running (it may
still come up) and the error names its log.

    with fresh_dockerd() as docker_host:   # "unix:///tmp/acr-dockerd-.../docker.sock"
        ...

starts a second, throwaway daemon beside the shared one: what a fresh GitHub-hosted runner has (an
empty image store and build cache), and one that reads /etc/docker/certs.d as it is now. The
daemon's BuildKit lists that folder once, when the daemon starts (moby v20.10 `cmd/dockerd/daemon.go`
passes `RegistryHosts: d.RegistryHosts()` to `buildkit.New`, and `daemon.RegistryHosts()` reads
`os.ReadDir(certsDir)` into a map; BuildKit's `resolver.NewRegistryConfig` returns no TLS settings
for a host not in it), so a registry whose CA entry the local Azure wrote later is unknown to the
shared daemon's BuildKit. The fresh daemon has its own data root, exec root, pid file and socket in
a temporary folder, no iptables rules, and a bridge of its own that we create (`--bridge=acrdk...`,
no route out): not `--bridge=none`, with which dockerd deletes the shared daemon's docker0 (moby
v20.10 daemon/daemon_unix.go: `if !config.DisableBridge { ... } else {
removeDefaultBridgeInterface() }`, which calls `netlink.LinkDel` on `docker0`). It is stopped, its
bridge deleted and its folder removed on exit.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

log = logging.getLogger("emulator.dockerd")

# The checkout this package sits in: one level up per package name part (localazure: two).
REPO_ROOT = Path(__file__).resolve().parents[len(__name__.split(".")) - 1]
DOCKERD_ARGS = ("--iptables=false", "--ip-masq=false")
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
PID_FILE = Path("/var/run/docker.pid")
SETUP_HINT = "run scripts/setup.sh (as root) to install and start the Docker engine"

# Daemons this process started: holding the Popen objects keeps them from being collected while the
# daemon runs (a collected Popen of a live child raises ResourceWarning "subprocess N is still running").
_STARTED: list[subprocess.Popen[bytes]] = []


class DockerdUnavailable(RuntimeError):
    """No Docker engine answers and none could be started."""


class Process(Protocol):
    """The part of `subprocess.Popen` the start-up wait uses."""

    pid: int

    def poll(self) -> int | None: ...


def engine_answers() -> bool:
    """Does the engine of the environment (`DOCKER_HOST` or the local socket) answer a ping?"""
    import docker

    try:
        client = docker.from_env(timeout=5)
    except Exception:
        return False  # docker-py asks the engine's API version on creation: no engine, no client
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def running_dockerd_pid(pid_file: Path = PID_FILE) -> int | None:
    """The pid of a live `dockerd` named by its pid file, if any."""
    try:
        pid = int(pid_file.read_text(encoding="ascii").strip())
        comm = Path(f"/proc/{pid}/comm").read_text(encoding="ascii").strip()
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return pid if comm == "dockerd" and state != "Z" else None


def spawn_dockerd(argv: list[str], log_file: Path) -> Process:
    """Start the daemon detached: its own session, stdin closed, output appended to `log_file`."""
    with log_file.open("ab") as out:
        process = subprocess.Popen(  # the daemon keeps its own copy of the log descriptor
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _STARTED.append(process)
    return process


def default_log_dir() -> Path:
    """`$ACR_ACTION_CACHE` or the repository's `.cache/` (as lib.sh), else a temporary folder."""
    cache = Path(os.environ.get("ACR_ACTION_CACHE") or REPO_ROOT / ".cache")
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return Path(tempfile.gettempdir())
    return cache if os.access(cache, os.W_OK) else Path(tempfile.gettempdir())


@dataclass
class Host:
    """What `ensure_dockerd` looks at and does; unit tests replace parts with fakes."""

    answers: Callable[[], bool] = engine_answers
    which: Callable[[str], str | None] = shutil.which
    is_root: Callable[[], bool] = field(default=lambda: os.geteuid() == 0)
    running_pid: Callable[[], int | None] = running_dockerd_pid
    spawn: Callable[[list[str], Path], Process] = spawn_dockerd
    log_dir: Callable[[], Path] = default_log_dir
    environ: dict[str, str] | os._Environ[str] = field(default_factory=lambda: os.environ)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    poll_interval: float = 0.5


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def _lock(path: Path, host: Host, deadline: float) -> Iterator[None]:
    """An exclusive lock on `path` (so that concurrent callers start one daemon, not two)."""
    handle: IO[bytes] = path.open("ab")
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if host.clock() >= deadline:
                    raise DockerdUnavailable(
                        f"another process holds {path} (starting dockerd?) and no Docker engine"
                        " answered in time"
                    ) from None
                host.sleep(host.poll_interval)
        yield
    finally:
        handle.close()  # closing releases the lock


def _wait(host: Host, deadline: float, process: Process | None) -> bool:
    """Poll until the engine answers (True), the deadline passes or our daemon exits (False)."""
    while True:
        if host.answers():
            return True
        if process is not None and process.poll() is not None:
            return False
        if host.clock() >= deadline:
            return False
        host.sleep(host.poll_interval)


def ensure_dockerd(timeout: float = 60, *, host: Host | None = None) -> None:
    """Return once a Docker engine answers; start `dockerd` when none does and we may.

    Raises `DockerdUnavailable` with what to do when no engine answers and none can be started.
    """
    host = host or Host()
    if host.answers():
        return
    docker_host = host.environ.get("DOCKER_HOST", "")
    if docker_host and docker_host.rstrip("/") != DEFAULT_SOCKET:
        raise DockerdUnavailable(
            f"the Docker engine at DOCKER_HOST={docker_host} does not answer; start it, or unset"
            f" DOCKER_HOST to use the local engine ({SETUP_HINT})"
        )
    dockerd = host.which("dockerd")
    if dockerd is None:
        raise DockerdUnavailable(
            f"no Docker engine answers and dockerd is not installed; {SETUP_HINT}"
        )
    if not host.is_root():
        raise DockerdUnavailable(
            f"no Docker engine answers, and starting dockerd needs root; {SETUP_HINT}"
        )
    deadline = host.clock() + timeout
    log_dir = host.log_dir()
    log_file = log_dir / "dockerd.log"
    with _lock(log_dir / "dockerd.lock", host, deadline):
        if host.answers():  # another caller started it while we waited for the lock
            return
        pid = host.running_pid()
        if pid is not None:
            log.info("dockerd (pid %d) is running but not answering yet; waiting for it", pid)
            if _wait(host, deadline, None):
                return
            raise DockerdUnavailable(
                f"a dockerd (pid {pid}, not started by us) runs but did not answer within"
                f" {timeout:g} s; it is left alone: check it, or stop it and retry"
            )
        log.info("starting dockerd (log: %s)", log_file)
        process = host.spawn([dockerd, *DOCKERD_ARGS], log_file)
        if _wait(host, deadline, process):
            log.info("dockerd is up (pid %d)", process.pid)
            return
    code = process.poll()
    tail = _tail(log_file)
    detail = f"\n--- last lines of {log_file} ---\n{tail}" if tail else ""
    if code is not None:
        raise DockerdUnavailable(
            f"dockerd exited with status {code} during start-up; its log is {log_file}{detail}"
        )
    raise DockerdUnavailable(
        f"dockerd (pid {process.pid}) did not answer within {timeout:g} s; it is left running"
        f" and its log is {log_file}{detail}"
    )


FRESH_DOCKERD_ARGS = ("--iptables=false", "--ip-masq=false")


def fresh_dockerd_argv(
    dockerd: str, root: Path, bridge: str, extra: Sequence[str] = (), path: str | None = None
) -> list[str]:
    """A daemon that shares nothing with the default one: roots, pid file and socket in `root`.

    `extra`: more daemon options; `path`: the PATH it runs with (it starts the `containerd`
    found there), set through env(1), which execs the daemon in its own process."""
    argv = [
        dockerd,
        f"--data-root={root / 'data'}",
        f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'docker.pid'}",
        f"--host=unix://{root / 'docker.sock'}",
        f"--bridge={bridge}",
        *FRESH_DOCKERD_ARGS,
        *extra,
    ]
    return argv if path is None else ["env", f"PATH={path}", *argv]


def make_bridge(name: str) -> Callable[[], None]:
    """Create bridge `name` with a random 172.30.x.1/24 (a daemon's `--bridge` must exist);
    returns what deletes it."""
    cidr = f"172.30.{secrets.randbelow(256)}.1/24"
    for args in (
        ["link", "add", "name", name, "type", "bridge"],
        ["addr", "add", cidr, "dev", name],
        ["link", "set", name, "up"],
    ):
        done = subprocess.run(["ip", *args], check=False, capture_output=True, text=True)
        if done.returncode != 0:
            subprocess.run(["ip", "link", "del", name], check=False, capture_output=True)
            raise DockerdUnavailable(f"ip {' '.join(args)} failed: {done.stderr.strip()}")

    def drop() -> None:
        subprocess.run(["ip", "link", "del", name], check=False, capture_output=True)

    return drop


def url_answers(docker_host: str) -> bool:
    """Does the engine on the unix socket `docker_host` answer `GET /_ping` with 200?

    A raw request: a docker-py client made while the daemon starts leaks its socket when the
    version query on creation fails."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(docker_host.removeprefix("unix://"))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return sock.recv(64).split(b" ", 2)[1:2] == [b"200"]
    except OSError:
        return False


def fresh_runner_env(docker_host: str, ca_path: Path) -> dict[str, str]:
    """What a step's environment adds to build on a fresh engine and reuse the local ACR's cache.

    `DOCKER_HOST` names the engine. BuildKit asks the Docker CLI, through its session, for the
    registry's token when it imports a cache, and the CLI fetches it with Go's roots:
    `SSL_CERT_FILE` is to the CLI what `REQUESTS_CA_BUNDLE` is to the SDKs (on a runner, ACR's
    public CA is in the system roots). The daemon's own trust is certs.d, read when it starts."""
    return {"DOCKER_HOST": docker_host, "SSL_CERT_FILE": str(ca_path)}


class Daemon(Process, Protocol):
    """The part of `subprocess.Popen` that starting and stopping a fresh daemon uses."""

    def send_signal(self, sig: int) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


def _start(argv: list[str], log_file: Path) -> Daemon:
    with log_file.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


def _stop(process: Daemon, root: Path, grace: float = 20) -> None:
    """SIGTERM (dockerd then stops its containerd and unmounts), SIGKILL to its group if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its own session: dockerd and containerd
            process.wait(timeout=grace)
    for mount in reversed(_mounts_under(root)):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def _mounts_under(root: Path) -> list[str]:
    try:
        lines = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [f.split()[1] for f in lines if f.split()[1].startswith(str(root) + "/")]


@contextlib.contextmanager
def fresh_dockerd(
    timeout: float = 60,
    *,
    host: Host | None = None,
    answers: Callable[[str], bool] = url_answers,
    start: Callable[[list[str], Path], Daemon] = _start,
    bridge: Callable[[str], Callable[[], None]] = make_bridge,
    dockerd: str | None = None,
    extra: Sequence[str] = (),
    path: str | None = None,
) -> Iterator[str]:
    """A throwaway Docker engine of its own; yields its `DOCKER_HOST`, stops and removes it on exit.

    `dockerd`, `extra`, `path`: another daemon binary than the one on PATH, more options for it,
    and the PATH it runs with (`fresh_dockerd_argv`).
    Raises `DockerdUnavailable` (with the daemon's log) when it cannot start within `timeout`.
    """
    host = host or Host()
    dockerd = dockerd or host.which("dockerd")
    if dockerd is None or not host.is_root():
        raise DockerdUnavailable(f"a fresh dockerd needs dockerd and root; {SETUP_HINT}")
    # A short folder: the daemon's and containerd's unix sockets must fit in 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="acr-dockerd-", dir="/tmp"))
    log_file = root / "dockerd.log"
    docker_host = f"unix://{root / 'docker.sock'}"
    name = "acrdk" + secrets.token_hex(4)  # at most 15 bytes, never docker0
    try:
        drop_bridge = bridge(name)
    except DockerdUnavailable:
        shutil.rmtree(root, ignore_errors=True)
        raise
    process = start(fresh_dockerd_argv(dockerd, root, name, extra, path), log_file)
    try:
        deadline = host.clock() + timeout
        while not answers(docker_host):
            if process.poll() is not None or host.clock() >= deadline:
                status = process.poll()
                why = f"exited with status {status}" if status is not None else "did not answer"
                raise DockerdUnavailable(
                    f"the fresh dockerd {why} within {timeout:g} s\n"
                    f"--- last lines of its log ---\n{_tail(log_file)}"
                )
            host.sleep(host.poll_interval)
        log.info("fresh dockerd is up (pid %d, %s)", process.pid, docker_host)
        yield docker_host
    finally:
        _stop(process, root)
        drop_bridge()
