"""`ssh` and `ssh-keys-from-key-vault`: a real build on the shared engine asks the forwarded agent
for its identities, and the private key is in no log line, command line, layer or leftover file.

The Dockerfile's RUN step speaks the ssh-agent protocol itself (draft-miller-ssh-agent:
SSH_AGENTC_REQUEST_IDENTITIES = 11, answered by SSH_AGENT_IDENTITIES_ANSWER = 12 with each key's
public blob) on the `SSH_AUTH_SOCK` that `RUN --mount=type=ssh` gives it, and writes the blobs it
was offered into the image: public keys, which the test compares with the key it generated.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from acr_action import sshforward
from localazure.state import SecretVersion
from tests.harness.workflow import VAULT
from tests.shared import PYTHON_IMAGE

from .steps import Run, forget_the_build, mount_app

if TYPE_CHECKING:
    from localazure.server import Emulator

pytestmark = pytest.mark.docker

# Run in the build container with the forwarded agent's socket in SSH_AUTH_SOCK.
AGENT_IDENTITIES = """\
import base64, os, socket, struct

def take(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise SystemExit("the agent closed the connection")
        data += chunk
    return data

sock = socket.socket(socket.AF_UNIX)
sock.connect(os.environ["SSH_AUTH_SOCK"])
sock.sendall(struct.pack(">IB", 1, 11))  # SSH_AGENTC_REQUEST_IDENTITIES
(length,) = struct.unpack(">I", take(sock, 4))
answer = take(sock, length)
assert answer[0] == 12, answer[0]  # SSH_AGENT_IDENTITIES_ANSWER
(count,) = struct.unpack(">I", answer[1:5])
at = 5
for _ in range(count):
    (size,) = struct.unpack(">I", answer[at : at + 4])
    print(base64.b64encode(answer[at + 4 : at + 4 + size]).decode())
    at += 4 + size
    (size,) = struct.unpack(">I", answer[at : at + 4])  # the comment
    at += 4 + size
"""


class Key:
    """A fresh unencrypted ed25519 key: its OpenSSH private text and its public blob (base64)."""

    def __init__(self) -> None:
        key = ed25519.Ed25519PrivateKey.generate()
        self.private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ).decode()
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        self.blob = public.decode().split()[1]

    @property
    def secret_lines(self) -> list[str]:
        """The base64 lines between BEGIN and END: the key itself."""
        return self.private.splitlines()[1:-1]


def agent_app(workspace: Path, ssh_id: str, nonce: str, *, then: str = "true") -> Path:
    """`workspace/app`: one RUN step that lists the agent's identities into /ssh-identities
    (and then runs `then`)."""
    app = mount_app(
        workspace / "app",
        f"--mount=type=ssh,id={ssh_id},required=true "
        "--mount=type=bind,source=agent_identities.py,target=/tmp/agent_identities.py "
        f"python3 /tmp/agent_identities.py > /ssh-identities && echo {nonce} > /nonce && {then}",
        base="PYTHON_IMAGE",
    )
    (app / "agent_identities.py").write_text(AGENT_IDENTITIES, encoding="utf-8")
    return app


def build_inputs(nonce: str, **more: str) -> dict[str, str]:
    """A `mode: build` of `app` on the python stand-in, tagged for this test."""
    return {
        "name": f"ssh-{nonce[:6]}",
        "mode": "build",
        "tags": f"ssh-{nonce}",
        "context": "app",
        "build-args": f"PYTHON_IMAGE={PYTHON_IMAGE}",
        **more,
    }


def identities(docker_engine: Any, image: str) -> list[str]:
    """What the build's RUN step was offered by the agent (public blobs, base64)."""
    out = docker_engine.containers.run(image, ["cat", "/ssh-identities"], remove=True)
    return out.decode().split()


def assert_key_not_shown(key: Key, run: Run, commands: list[list[str]]) -> None:
    """No line of the private key in what the runner shows or on a command line; in what the
    step printed, only in its `::add-mask::` line."""
    printed = "\n".join(
        line for line in run.stdout.splitlines() if not line.startswith("::add-mask::")
    )
    for line in key.secret_lines:
        assert line not in run.shown, "a line of the private key appears in the step's log"
        assert line not in printed, "a line of the private key was printed"
        assert not any(line in arg for command in commands for arg in command)


def assert_key_nowhere(key: Key, run: Run, docker_engine: Any, commands: list[list[str]]) -> None:
    """No line of the private key in what the runner shows, on a command line or in the image."""
    assert_key_not_shown(key, run, commands)
    saved = b"".join(docker_engine.images.get(run.outputs["image"]).save())
    assert key.blob.encode() in saved  # the layers are there to search, uncompressed
    assert not any(line.encode() in saved for line in key.secret_lines)


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every command line the step starts (the docker build among them)."""
    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(args: list[str], **kwargs: Any) -> Any:
        started.append(list(args))
        return real_popen(args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    return started


def ssh_args(commands: list[list[str]]) -> list[str]:
    """The `--ssh` values of the build."""
    build = next(c for c in commands if "build" in c)
    return [build[i + 1] for i, arg in enumerate(build) if arg == "--ssh"]


def test_ssh_key_file_reaches_run_mount_and_nothing_else(
    run_action: Callable[..., Run],
    tmp_path: Path,
    docker_engine: Any,
    commands: list[list[str]],
) -> None:
    """`ssh: deploy=keys/deploy_key`: the agent in the build holds exactly that key."""
    key, nonce = Key(), uuid.uuid4().hex[:12]
    workspace = tmp_path / "ws"
    agent_app(workspace, "deploy", nonce)
    (workspace / "keys").mkdir()
    (workspace / "keys" / "deploy_key").write_text(key.private, encoding="utf-8")
    inputs = build_inputs(nonce, ssh="deploy=keys/deploy_key")
    try:
        run = run_action(inputs=inputs, workspace=workspace)
        assert run.exit_code == 0, run.stdout[-3000:]
        assert ssh_args(commands) == [f"deploy={workspace / 'keys' / 'deploy_key'}"]
        assert identities(docker_engine, run.outputs["image"]) == [key.blob]
        assert_key_nowhere(key, run, docker_engine, commands)
    finally:
        forget_the_build(docker_engine, inputs["tags"], nonce)


@pytest.mark.parametrize("fails", [pytest.param(False, id="build-succeeds"), pytest.param(True, id="build-fails")])  # fmt: skip
def test_ssh_key_from_key_vault_is_masked_and_gone_after_the_build(
    fails: bool,
    azure: Emulator,
    run_action: Callable[..., Run],
    tmp_path: Path,
    docker_engine: Any,
    commands: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`ssh-keys-from-key-vault`: read, masked line by line, forwarded, and its file removed
    when the build ends, however it ends."""
    key, nonce = Key(), uuid.uuid4().hex[:12]
    workspace = tmp_path / "ws"
    # A failing step shows what it was offered in the log, then fails the build.
    agent_app(workspace, "deploy", nonce, then="cat /ssh-identities && false" if fails else "true")
    written: list[Path] = []
    real_write = sshforward.write_keys

    def recording_write(folder: Path, keys: Any) -> dict[str, tuple[str, ...]]:
        paths = real_write(folder, keys)
        written.extend(Path(p) for files in paths.values() for p in files)
        for path in written:  # while the build runs: a private file in a private folder
            assert (path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777) == (
                0o600,
                0o700,
            )
        return paths

    monkeypatch.setattr(sshforward, "write_keys", recording_write)
    azure.state.vaults[VAULT].secrets["deploy-key"] = [SecretVersion(key.private)]
    inputs = build_inputs(
        nonce, **{"key-vault": VAULT, "ssh-keys-from-key-vault": "deploy=deploy-key"}
    )
    try:
        run = run_action(inputs=inputs, workspace=workspace)
        assert (run.exit_code != 0) == fails, run.stdout[-3000:]
        # Masked the moment it was read, each line (the runner masks line by line).
        for line in key.secret_lines:
            assert f"::add-mask::{line}" in run.stdout
        (path,) = written
        assert ssh_args(commands) == [f"deploy={path}"]
        if fails:
            assert "Docker build failed" in run.stdout
            assert key.blob in run.seen.shown  # the agent was there: its public key was listed
            assert_key_not_shown(key, run, commands)
        else:
            assert identities(docker_engine, run.outputs["image"]) == [key.blob]
            assert_key_nowhere(key, run, docker_engine, commands)
        # Gone with the build's config folder: no file, no folder, nothing else holding the key.
        assert not path.exists()
        assert not path.parent.parent.exists()
        for folder in (tmp_path, Path(path.parent.parent.parent)):
            for file in (f for f in folder.rglob("*") if f.is_file() and not f.is_symlink()):
                text = file.read_bytes()
                assert not any(line.encode() in text for line in key.secret_lines), file
    finally:
        del azure.state.vaults[VAULT].secrets["deploy-key"]
        forget_the_build(docker_engine, inputs["tags"], nonce)


@pytest.fixture
def ssh_agent(tmp_path: Path) -> Iterator[tuple[Path, Key]]:
    """A real ssh-agent (OpenSSH) holding a fresh key, its socket in the workspace."""
    key = Key()
    workspace = tmp_path / "ws"
    workspace.mkdir()
    sock = workspace / "agent.sock"
    agent = subprocess.Popen(
        ["/usr/bin/ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert agent.poll() is None, "ssh-agent ended"
            assert time.monotonic() < deadline, "ssh-agent made no socket"
            time.sleep(0.05)
        key_file = tmp_path / "to_add"
        key_file.write_text(key.private, encoding="utf-8")
        key_file.chmod(0o600)
        subprocess.run(
            ["/usr/bin/ssh-add", "-q", str(key_file)],
            env={"SSH_AUTH_SOCK": str(sock), "PATH": "/usr/bin:/bin"},
            check=True,
            capture_output=True,
        )
        key_file.unlink()
        yield sock, key
    finally:
        agent.terminate()
        agent.wait(timeout=10)


def test_default_forwards_an_agent_the_container_sees(
    run_action: Callable[..., Run],
    ssh_agent: tuple[Path, Key],
    docker_engine: Any,
    commands: list[list[str]],
) -> None:
    """`ssh: default` with `SSH_AUTH_SOCK` on a socket the action sees: that agent's keys."""
    sock, key = ssh_agent
    nonce = uuid.uuid4().hex[:12]
    agent_app(sock.parent, "default", nonce)
    inputs = build_inputs(nonce, ssh="default")
    try:
        run = run_action(
            inputs=inputs, workspace=sock.parent, env_overrides={"SSH_AUTH_SOCK": str(sock)}
        )
        assert run.exit_code == 0, run.stdout[-3000:]
        assert ssh_args(commands) == [f"default={sock}"]
        assert identities(docker_engine, run.outputs["image"]) == [key.blob]
    finally:
        forget_the_build(docker_engine, inputs["tags"], nonce)


def test_default_without_an_agent_in_the_container_is_refused_before_sign_in(
    run_action: Callable[..., Run], tmp_path: Path, commands: list[list[str]]
) -> None:
    """The host agent a job started (its socket in the host's /tmp) is not in the container."""
    nonce = uuid.uuid4().hex[:12]
    workspace = tmp_path / "ws"
    agent_app(workspace, "default", nonce)
    host_agent = "/tmp/ssh-XXXXXXabcdef/agent.4242"
    run = run_action(
        inputs=build_inputs(nonce, ssh="default"),
        workspace=workspace,
        env_overrides={"SSH_AUTH_SOCK": host_agent},
    )
    assert run.exit_code != 0
    assert "Invalid inputs: 1 problem in ssh" in run.stdout
    assert "Nothing was sent to Azure" in run.stdout
    assert "does not exist in the action's container" in run.stdout
    assert "ssh-auth-sock: ${{ runner.temp }}/ssh-agent.sock" in run.stdout
    assert not any("build" in command for command in commands)
