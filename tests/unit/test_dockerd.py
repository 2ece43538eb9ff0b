"""The decisions of `ensure_dockerd`, with a fake host: when to return, start, wait or give up."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from localazure.dockerd import (
    DOCKERD_ARGS,
    FRESH_DOCKERD_ARGS,
    DockerdUnavailable,
    Host,
    ensure_dockerd,
    fresh_dockerd,
    running_dockerd_pid,
)


class FakeProcess:
    """A spawned daemon; it has no kill/terminate, so any attempt to stop it would fail the test."""

    def __init__(self, exits_with: int | None = None) -> None:
        self.pid = 4242
        self.exits_with = exits_with

    def poll(self) -> int | None:
        return self.exits_with


class FakeHost:
    """A machine where the engine answers after `answers_after` pings (never when None)."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        answers_after: int | None = 0,
        dockerd: str | None = "/usr/sbin/dockerd",
        root: bool = True,
        running_pid: int | None = None,
        process: FakeProcess | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.pings = 0
        self.answers_after = answers_after
        self.now = 0.0
        self.spawned: list[tuple[list[str], Path]] = []
        self.process = process or FakeProcess()
        self.host = Host(
            answers=self.answers,
            which=lambda name: dockerd if name == "dockerd" else None,
            is_root=lambda: root,
            running_pid=lambda: running_pid,
            spawn=self.spawn,
            log_dir=lambda: tmp_path,
            environ=environ or {},
            sleep=self.sleep,
            clock=lambda: self.now,
        )

    def answers(self) -> bool:
        self.pings += 1
        return self.answers_after is not None and self.pings > self.answers_after

    def spawn(self, argv: list[str], log_file: Path) -> FakeProcess:
        self.spawned.append((argv, log_file))
        return self.process

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_engine_answering_is_left_alone(tmp_path: Path) -> None:
    fake = FakeHost(tmp_path, answers_after=0, dockerd=None, root=False)

    ensure_dockerd(host=fake.host)

    assert fake.spawned == []
    assert fake.pings == 1


def test_starts_dockerd_without_iptables_and_waits(tmp_path: Path) -> None:
    fake = FakeHost(tmp_path, answers_after=4)

    ensure_dockerd(host=fake.host)

    assert fake.spawned == [(["/usr/sbin/dockerd", *DOCKERD_ARGS], tmp_path / "dockerd.log")]
    assert DOCKERD_ARGS == ("--iptables=false", "--ip-masq=false")
    assert fake.pings == 5


def test_not_installed_says_run_setup(tmp_path: Path) -> None:
    fake = FakeHost(tmp_path, answers_after=None, dockerd=None)

    with pytest.raises(DockerdUnavailable, match=r"not installed; run scripts/setup\.sh"):
        ensure_dockerd(host=fake.host)
    assert fake.spawned == []


def test_not_root_says_run_setup(tmp_path: Path) -> None:
    fake = FakeHost(tmp_path, answers_after=None, root=False)

    with pytest.raises(DockerdUnavailable, match=r"needs root; run scripts/setup\.sh"):
        ensure_dockerd(host=fake.host)
    assert fake.spawned == []


def test_remote_docker_host_is_not_replaced_by_a_local_daemon(tmp_path: Path) -> None:
    fake = FakeHost(tmp_path, answers_after=None, environ={"DOCKER_HOST": "tcp://10.0.0.5:2376"})

    with pytest.raises(DockerdUnavailable, match=r"DOCKER_HOST=tcp://10\.0\.0\.5:2376"):
        ensure_dockerd(host=fake.host)
    assert fake.spawned == []


def test_default_docker_host_still_starts(tmp_path: Path) -> None:
    fake = FakeHost(
        tmp_path, answers_after=2, environ={"DOCKER_HOST": "unix:///var/run/docker.sock"}
    )

    ensure_dockerd(host=fake.host)

    assert len(fake.spawned) == 1


def test_a_starting_dockerd_is_waited_for_not_doubled(tmp_path: Path) -> None:
    fake = FakeHost(tmp_path, answers_after=6, running_pid=777)

    ensure_dockerd(host=fake.host)

    assert fake.spawned == []


def test_someone_elses_hung_dockerd_is_left_alone(tmp_path: Path) -> None:
    fake = FakeHost(tmp_path, answers_after=None, running_pid=777)

    with pytest.raises(DockerdUnavailable, match=r"pid 777, not started by us"):
        ensure_dockerd(timeout=5, host=fake.host)
    assert fake.spawned == []


def test_dockerd_exiting_at_start_up_shows_its_log(tmp_path: Path) -> None:
    (tmp_path / "dockerd.log").write_text("failed to start daemon: iptables not found\n")
    fake = FakeHost(tmp_path, answers_after=None, process=FakeProcess(exits_with=1))

    with pytest.raises(DockerdUnavailable) as caught:
        ensure_dockerd(host=fake.host)

    message = str(caught.value)
    assert "exited with status 1" in message
    assert "iptables not found" in message
    assert str(tmp_path / "dockerd.log") in message


def test_timeout_leaves_the_daemon_running(tmp_path: Path) -> None:
    fake = FakeHost(tmp_path, answers_after=None)

    with pytest.raises(DockerdUnavailable, match=r"did not answer within 3 s; it is left running"):
        ensure_dockerd(timeout=3, host=fake.host)

    assert len(fake.spawned) == 1
    assert fake.now >= 3


def test_engine_up_after_the_lock_skips_the_start(tmp_path: Path) -> None:
    # Another caller started it while this one waited for the lock: the second ping answers.
    fake = FakeHost(tmp_path, answers_after=1)

    ensure_dockerd(host=fake.host)

    assert fake.spawned == []


def test_pid_file_reading(tmp_path: Path) -> None:
    pid_file = tmp_path / "docker.pid"
    assert running_dockerd_pid(pid_file) is None  # no file
    pid_file.write_text("not a pid")
    assert running_dockerd_pid(pid_file) is None
    pid_file.write_text(str(os.getpid()))  # alive, but a python, not a dockerd
    assert running_dockerd_pid(pid_file) is None


class FakeDaemon:
    """A fresh daemon that exits with `exits_with` at start, or runs until it is sent a signal."""

    def __init__(self, exits_with: int | None = None) -> None:
        self.pid = 4343
        self.code = exits_with
        self.signals: list[int] = []

    def poll(self) -> int | None:
        return self.code

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        self.code = 0

    def wait(self, timeout: float | None = None) -> int:
        assert self.code is not None
        return self.code


def fresh(
    tmp_path: Path, daemon: FakeDaemon, answers_after: int | None
) -> tuple[FakeHost, list[list[str]], list[str], dict[str, Any]]:
    """A fake host, the argv of each daemon started, the bridges not yet deleted, and
    `fresh_dockerd`'s keyword arguments."""
    fake = FakeHost(tmp_path, answers_after=answers_after)
    started: list[list[str]] = []

    def start(argv: list[str], log_file: Path) -> FakeDaemon:
        started.append(argv)
        log_file.write_text("level=error msg=boom\n", encoding="utf-8")
        return daemon

    bridges: list[str] = []

    def bridge(name: str) -> Callable[[], None]:
        bridges.append(name)
        return lambda: bridges.remove(name)

    kwargs = {"host": fake.host, "answers": lambda url: fake.answers(), "start": start}
    return fake, started, bridges, {**kwargs, "bridge": bridge}


def test_fresh_dockerd_shares_nothing_and_is_removed_after(tmp_path: Path) -> None:
    daemon = FakeDaemon()
    _, started, bridges, kwargs = fresh(tmp_path, daemon, answers_after=2)
    with fresh_dockerd(**kwargs) as docker_host:
        root = Path(docker_host.removeprefix("unix://")).parent
        assert root.is_dir()
        assert daemon.signals == []
        [bridge] = bridges
        # Its own bridge: `--bridge=none` makes dockerd delete the shared daemon's docker0.
        assert f"--bridge={bridge}" in started[0]
        assert bridge != "docker0"
        assert len(bridge) <= 15
    argv = started[0]
    assert argv[0] == "/usr/sbin/dockerd"
    for flag in ("data-root", "exec-root", "pidfile"):
        assert any(a.startswith(f"--{flag}={root}/") for a in argv), argv
    assert f"--host={docker_host}" in argv
    assert set(FRESH_DOCKERD_ARGS) <= set(argv)
    assert not any(a.startswith("--bridge=none") for a in argv)
    assert daemon.signals == [signal.SIGTERM]
    assert not root.exists()
    assert bridges == []


def test_fresh_dockerd_runs_another_daemon_with_its_options_and_path(tmp_path: Path) -> None:
    # bench/stores.py: trixie's dockerd, its containerd found on the PATH given, and the
    # containerd image store switched on by a config file.
    daemon = FakeDaemon()
    _, started, _, kwargs = fresh(tmp_path, daemon, answers_after=1)
    other = "/cache/trixie/usr/sbin/dockerd"
    with fresh_dockerd(
        **kwargs, dockerd=other, extra=("--config-file=/x/daemon.json",), path="/cache/bin:/usr/bin"
    ):
        pass
    argv = started[0]
    # env(1) execs the daemon in its own process, so SIGTERM still reaches dockerd.
    assert argv[:3] == ["env", "PATH=/cache/bin:/usr/bin", other]
    assert argv[-1] == "--config-file=/x/daemon.json"
    assert set(FRESH_DOCKERD_ARGS) <= set(argv)
    assert daemon.signals == [signal.SIGTERM]


def test_fresh_dockerd_exiting_at_start_shows_its_log_and_is_cleaned(tmp_path: Path) -> None:
    daemon = FakeDaemon(exits_with=1)
    _, started, bridges, kwargs = fresh(tmp_path, daemon, answers_after=None)
    with (
        pytest.raises(DockerdUnavailable, match=r"exited with status 1(.|\n)*boom"),
        fresh_dockerd(**kwargs),
    ):
        pytest.fail("yielded without an engine")
    root = Path(started[0][1].split("=", 1)[1]).parent
    assert not root.exists()
    assert bridges == []


def test_fresh_dockerd_start_is_bounded_and_the_daemon_stopped(tmp_path: Path) -> None:
    daemon = FakeDaemon()
    fake, _, _, kwargs = fresh(tmp_path, daemon, answers_after=None)
    with (
        pytest.raises(DockerdUnavailable, match="did not answer within 5 s"),
        fresh_dockerd(5, **kwargs),
    ):
        pytest.fail("yielded without an engine")
    assert 5 <= fake.now < 6
    assert daemon.signals == [signal.SIGTERM]
