"""`ssh` and `ssh-keys-from-key-vault`: syntax, what BuildKit could use here, the `--ssh` values."""

from __future__ import annotations

import base64
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from acr_action import sshforward
from acr_action.errors import InputError
from acr_action.inputs import parse_inputs
from acr_action.registry import build_command
from acr_action.sshforward import KeyFromVault, SshForward
from tests.unit.support import make_env

Format = serialization.PrivateFormat
NO_PASSPHRASE = serialization.NoEncryption()
PASSPHRASE = serialization.BestAvailableEncryption(b"correct horse")


def ed25519_key() -> bytes:
    """An ed25519 private key in OpenSSH's format, as `ssh-keygen -t ed25519 -N ''` writes it."""
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.PEM, Format.OpenSSH, NO_PASSPHRASE)


def openssh_encrypted() -> bytes:
    """An OpenSSH key whose header says aes256-ctr with bcrypt, as `ssh-keygen -N pass` writes it.

    (The venv has no bcrypt module for cryptography to really encrypt one; only the header is
    read, so the unencrypted key's header is rewritten: PROTOCOL.key's magic, then the names.)
    """
    lines = ed25519_key().decode().splitlines()
    raw = base64.b64decode("".join(lines[1:-1]))
    magic, rest = raw[:15], raw[15:]
    for _ in range(2):  # skip the cipher and KDF names ("none", "none")
        rest = rest[4 + int.from_bytes(rest[:4], "big") :]
    rest = rest[4 + int.from_bytes(rest[:4], "big") :]  # and the empty KDF options
    options = b"\0\0\0\x10" + b"s" * 16 + b"\0\0\0\x10"
    fields = [b"aes256-ctr", b"bcrypt", options]
    header = b"".join(len(f).to_bytes(4, "big") + f for f in fields)
    body = base64.b64encode(magic + header + rest).decode()
    return f"{lines[0]}\n{body}\n{lines[-1]}\n".encode()


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, fmt: Format, encryption: serialization.KeySerializationEncryption = NO_PASSPHRASE) -> bytes:  # fmt: skip
    """A private key in a PEM format, possibly encrypted."""
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption)


RSA = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # small: parsed, not used
EC = ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(ed25519_key(), id="openssh-ed25519"),
        pytest.param(pem(RSA, Format.TraditionalOpenSSL), id="pem-rsa-pkcs1"),
        pytest.param(pem(EC, Format.TraditionalOpenSSL), id="pem-ec-sec1"),
        pytest.param(pem(RSA, Format.PKCS8), id="pkcs8-rsa"),
        pytest.param(b"# deploy key\n" + ed25519_key(), id="text-before-the-block"),
    ],
)
def test_keys_buildkit_reads_are_taken(data: bytes) -> None:
    assert sshforward.key_problem(data) is None


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(openssh_encrypted(), "passphrase", id="openssh-with-passphrase"),
        pytest.param(
            pem(RSA, Format.TraditionalOpenSSL, PASSPHRASE), "passphrase", id="pem-proc-type"
        ),
        pytest.param(pem(EC, Format.PKCS8, PASSPHRASE), "passphrase", id="pkcs8-encrypted"),
        pytest.param(
            ed25519.Ed25519PrivateKey.generate()
            .public_key()
            .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
            "public key",
            id="the-pub-file",
        ),
        pytest.param(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "CERTIFICATE",
            id="certificate",
        ),
        pytest.param(b"hunter2", "no PEM private key", id="not-a-key"),
        pytest.param(b"x" * (101 * 1024), "100 KiB", id="too-large"),
    ],
)
def test_keys_buildkit_refuses_are_refused_without_quoting_them(data: bytes, words: str) -> None:
    problem = sshforward.key_problem(data)
    assert problem is not None
    assert words in problem
    assert data.decode(errors="replace")[:40] not in problem


@pytest.mark.parametrize(
    ("ssh", "expected"),
    [
        pytest.param("default", (SshForward("default"),), id="default-agent"),
        pytest.param(
            "github=keys/a, keys/b\n# a comment\n\ngitlab=/github/runner_temp/agent.sock",
            (
                SshForward("github", ("keys/a", "keys/b")),
                SshForward("gitlab", ("/github/runner_temp/agent.sock",)),
            ),
            id="ids-with-paths",
        ),
    ],
)
def test_ssh_lines_parse_as_build_push_action_writes_them(
    ssh: str, expected: tuple[SshForward, ...]
) -> None:
    assert parse_inputs(make_env({"ssh": ssh})).build.ssh == expected


def test_vault_keys_parse_with_their_secret_names() -> None:
    build = parse_inputs(
        make_env({"key-vault": "my-kv", "ssh-keys-from-key-vault": "github=gh-key,gh-key-2"})
    ).build
    assert build.ssh_keys_from_key_vault == (KeyFromVault("github", ("gh-key", "gh-key-2")),)
    assert sshforward.vault_names(build.ssh_keys_from_key_vault) == {
        "github#0": "gh-key",
        "github#1": "gh-key-2",
    }


@pytest.mark.parametrize(
    ("inputs", "name", "words"),
    [
        pytest.param({"ssh": "git hub=key"}, "ssh", "the id before", id="bad-id"),
        pytest.param({"ssh": "github=a,,b"}, "ssh", "empty path", id="empty-path"),
        pytest.param({"ssh": "github=a\ngithub=b"}, "ssh", "given twice", id="same-id-twice"),
        pytest.param(
            {"key-vault": "kv", "ssh": "github=a", "ssh-keys-from-key-vault": "github=gh-key"},
            "ssh-keys-from-key-vault",
            "given twice",
            id="same-id-in-both",
        ),
        pytest.param(
            {"key-vault": "kv", "ssh-keys-from-key-vault": "github=bad_name"},
            "ssh-keys-from-key-vault",
            "Key Vault secret names",
            id="bad-secret-name",
        ),
        pytest.param(
            {"ssh-keys-from-key-vault": "github=gh-key", "key-vault": ""},
            "ssh-keys-from-key-vault",
            "needs `key-vault`",
            id="vault-keys-without-vault",
        ),
        pytest.param(
            {"ssh": "default", "image": "r.azurecr.io/app:1"},
            "ssh",
            "cannot be combined with `image`",
            id="nothing-to-build",
        ),
    ],
)
def test_bad_ssh_inputs_are_refused_before_any_call(
    inputs: dict[str, str], name: str, words: str
) -> None:
    with pytest.raises(InputError) as info:
        parse_inputs(make_env(inputs))
    problems = [p for p in info.value.problems if p.input == name]
    assert problems, info.value.render()
    assert any(words in p.message for p in problems), info.value.render()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace with an app folder (the build context) and a runner temp folder beside it."""
    (tmp_path / "ws" / "app").mkdir(parents=True)
    (tmp_path / "temp").mkdir()
    return tmp_path / "ws"


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Path]:
    """A listening Unix socket under the runner temp folder, as an agent's would be."""
    path = tmp_path / "temp" / "agent.sock"
    path.parent.mkdir(exist_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    yield path
    server.close()


def check(workspace: Path, forwards: list[SshForward], **env: str) -> list[str]:
    """The problems `check_local` finds, as messages (none: it passed)."""
    env = {"RUNNER_TEMP": str(workspace.parent / "temp"), **env}
    try:
        sshforward.check_local(forwards, workspace=workspace, context=workspace / "app", env=env)
    except InputError as exc:
        problems = exc.problems
    else:
        return []
    assert {p.input for p in problems} == {"ssh"}
    return [p.message for p in problems]


def test_key_files_and_agents_the_container_sees_are_taken(workspace: Path, agent: Path) -> None:
    (workspace / "deploy_key").write_bytes(ed25519_key())
    (workspace.parent / "temp" / "other_key").write_bytes(ed25519_key())
    forwards = [
        SshForward("a", ("deploy_key", str(workspace.parent / "temp" / "other_key"))),
        SshForward("b", (str(agent),)),
        SshForward("default"),
    ]
    assert check(workspace, forwards, SSH_AUTH_SOCK=str(agent)) == []


@pytest.mark.parametrize(
    ("sock", "words"),
    [
        pytest.param(None, "`SSH_AUTH_SOCK` is not set", id="unset"),
        pytest.param(
            "/tmp/ssh-XXXX/agent.1234", "does not exist in the action's container", id="host-agent"
        ),
    ],
)
def test_default_without_a_reachable_agent_is_refused_with_the_fix(
    workspace: Path, sock: str | None, words: str
) -> None:
    env = {} if sock is None else {"SSH_AUTH_SOCK": sock}
    (problem,) = check(workspace, [SshForward("default")], **env)
    assert words in problem
    assert "ssh-auth-sock: ${{ runner.temp }}/ssh-agent.sock" in problem


def test_paths_the_container_cannot_use_are_refused(
    workspace: Path, agent: Path, tmp_path: Path
) -> None:
    (workspace / "app" / "key").write_bytes(ed25519_key())
    (workspace / "locked").write_bytes(openssh_encrypted())
    (tmp_path / "elsewhere").write_bytes(ed25519_key())
    (workspace / "k1").write_bytes(ed25519_key())
    problems = check(
        workspace,
        [
            SshForward("a", ("app/key",)),
            SshForward("b", ("locked",)),
            SshForward("c", (str(tmp_path / "elsewhere"),)),
            SshForward("d", ("missing",)),
            SshForward("e", (str(agent), "k1")),
            SshForward("f", ("app",)),
        ],
    )
    assert len(problems) == 6, problems
    inside, locked, outside, missing, mixed, folder = problems
    assert "inside the build context" in inside
    assert "passphrase" in locked
    assert "outside what the action sees" in outside
    assert "/github/runner_temp" in outside
    assert "does not exist here" in missing
    assert "one agent socket, or key files only" in mixed
    assert "neither a key file nor an agent socket" in folder


def test_vault_keys_are_checked_and_named_never_shown() -> None:
    keys = (KeyFromVault("github", ("gh-key",)), KeyFromVault("gitlab", ("gl-key",)))
    good, public = ed25519_key().decode(), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG"
    assert sshforward.keys_by_id(keys[:1], {"github#0": good}) == {"github": [good]}
    with pytest.raises(InputError) as info:
        sshforward.keys_by_id(keys, {"github#0": good, "gitlab#0": public})
    (problem,) = info.value.problems
    assert problem.input == "ssh-keys-from-key-vault"
    assert "`gl-key` is a public key" in problem.message
    assert public not in info.value.render()
    assert "reading the SSH keys from Key Vault" in info.value.render()


def test_vault_keys_are_written_private_and_named_by_path_only(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir(mode=0o700)
    key = ed25519_key().decode()
    written = sshforward.write_keys(folder, {"github": [key.rstrip("\n")]})
    (path,) = written["github"]
    assert Path(path).read_text(encoding="utf-8") == key
    assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "ssh").stat().st_mode) == 0o700
    forwards = [SshForward("default"), SshForward("a", ("k",))]
    specs = sshforward.ssh_specs(forwards, written, tmp_path, {"SSH_AUTH_SOCK": "/a.sock"})
    assert specs == ["default=/a.sock", f"a={tmp_path / 'k'}", f"github={path}"]
    command = build_command(
        context=".",
        dockerfile=None,
        tags=["r.azurecr.io/app:main"],
        build_args=[],
        labels=[],
        target=None,
        platform=None,
        network=None,
        iidfile=tmp_path / "iid",
        ssh=specs,
    )
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "--ssh"] == specs
    assert not any(line in " ".join(command) for line in key.splitlines()[1:-1])
