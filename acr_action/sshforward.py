"""`ssh` and `ssh-keys-from-key-vault`: SSH keys and agents for `RUN --mount=type=ssh,id=<id>`.

The syntax is docker/build-push-action's `ssh` (its README: "List of SSH agent socket or keys to
expose to the build"), which it hands to `--ssh` line by line: ``default|<id>[=<socket>|<key>[,<key>]]``
(docker/buildx ``docs/reference/buildx_build.md``). The CLI splits a value on the first ``=``
and the paths on ``,`` (buildx ``util/buildflags/ssh.go``; the 20.10 CLI's own
``parseSSH`` in ``cli/command/image/build_buildkit.go`` did the same), and BuildKit's
``session/sshforward/sshprovider/agentprovider.go`` then reads each path *in the CLI's file
system*: a socket is proxied read-only as an agent, any other file must parse with
``ssh.ParseRawPrivateKey`` (golang.org/x/crypto ``ssh/keys.go``: PEM ``OPENSSH``, ``RSA``,
``EC``, ``DSA`` or PKCS#8 ``PRIVATE KEY``), a passphrase-protected key fails ("this private key
is passphrase protected"), one id takes one socket or only keys, never both, and an id without
paths takes ``SSH_AUTH_SOCK``.

The CLI runs inside the action's container, which sees only the workspace (/github/workspace),
the runner's temp folder (/github/runner_temp), /github/home, the file-command and workflow
folders and the Docker socket (actions/runner ``Handlers/ContainerActionHandler.cs``). The
agent a job started on the runner itself (webfactory/ssh-agent's default) is not there, so
``default`` works only when ``SSH_AUTH_SOCK`` names a socket the container can reach (an agent
started with its socket under ``${{ runner.temp }}``: the runner rewrites that host path at the
start of an environment value, ``Container/ContainerInfo.cs``). Everything else is refused
before sign-in with the fix, rather than failing inside the build.

Keys from Key Vault are written, 0600, into the build's private 0700 Docker config folder
(`registry.docker_config`), which is removed when the build ends, however it ends.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from acr_action.errors import InputError, InputProblem
from acr_action.inputs_table import SPECS

__all__ = [
    "DEFAULT_ID",
    "KeyFromVault",
    "SshForward",
    "check_local",
    "key_problem",
    "keys_by_id",
    "parse_line",
    "parse_vault_line",
    "ssh_specs",
    "vault_names",
    "write_keys",
]

# The id `RUN --mount=type=ssh` uses without `id=` (BuildKit's sshforward.DefaultID).
DEFAULT_ID = "default"
# What an id may hold here: it goes into `--ssh id=...` and a Dockerfile's `id=` field.
ID = re.compile(r"[A-Za-z0-9_.-]+")
ID_RULE = "letters, digits, `.`, `_` and `-`"
# BuildKit reads at most this much of a key file (io.LimitedReader in agentprovider.go).
KEY_FILE_LIMIT = 100 * 1024
# The PEM blocks ssh.ParseRawPrivateKey reads.
KEY_TYPES = (
    "OPENSSH PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "DSA PRIVATE KEY",
    "PRIVATE KEY",
)
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
_OPENSSH_MAGIC = b"openssh-key-v1\x00"
_PUBLIC_PREFIXES = (b"ssh-", b"ecdsa-", b"sk-")


@dataclass(frozen=True)
class SshForward:
    """One line of `ssh`: an id and its paths as written (none: `SSH_AUTH_SOCK`)."""

    id: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyFromVault:
    """One line of `ssh-keys-from-key-vault`: an id and the Key Vault secrets holding its keys."""

    id: str
    secrets: tuple[str, ...]


def parse_line(line: str) -> SshForward | str:
    """One line of `ssh` (`default`, `<id>` or `<id>=<path>[,<path>]`): the value or a problem."""
    sid, sep, rest = line.strip().partition("=")
    sid = sid.strip()
    if not ID.fullmatch(sid):
        return f"the id before `=` must be {ID_RULE}"
    if not sep:
        return SshForward(sid)
    paths = tuple(p.strip() for p in rest.split(","))
    if not all(paths):
        return "has an empty path (paths are separated by `,`)"
    return SshForward(sid, paths)


def parse_vault_line(
    line: str, secret_name: re.Pattern[str], secret_rule: str
) -> KeyFromVault | str:
    """One line of `ssh-keys-from-key-vault` (`<id>=<secret>[,<secret>]`): the value or a problem."""
    sid, sep, rest = line.strip().partition("=")
    sid = sid.strip()
    if not ID.fullmatch(sid):
        return f"the id before `=` must be {ID_RULE}"
    names = tuple(n.strip() for n in rest.split(","))
    if not sep or not all(secret_name.fullmatch(n) for n in names):
        return f"needs `=` and then Key Vault secret names ({secret_rule}), separated by `,`"
    return KeyFromVault(sid, names)


def key_problem(data: bytes) -> str | None:
    """Why BuildKit would not take `data` as an SSH private key, or None. Never quotes it."""
    if len(data) > KEY_FILE_LIMIT:
        return f"is larger than {KEY_FILE_LIMIT // 1024} KiB, which BuildKit does not read as a key"
    block = _PEM.search(data)
    if block is None:
        if data.lstrip().startswith(_PUBLIC_PREFIXES):
            return "is a public key (the `.pub` file); BuildKit needs the private key"
        return "holds no PEM private key (`-----BEGIN OPENSSH PRIVATE KEY-----` ...)"
    kind, body = block.group(1).decode(), block.group(2)
    # A legacy PEM key says it is encrypted in its headers (`Proc-Type: 4,ENCRYPTED`).
    headers = re.split(rb"\r?\n\r?\n", body, maxsplit=1)[0] if b"Proc-Type:" in body else b""
    if kind == "ENCRYPTED PRIVATE KEY" or b"ENCRYPTED" in headers:
        return _ENCRYPTED
    if kind not in KEY_TYPES:
        return f"is a PEM `{kind}` block, not a private key BuildKit reads ({', '.join(KEY_TYPES)})"
    if kind == "OPENSSH PRIVATE KEY":
        return _openssh_problem(body)
    return None


_ENCRYPTED = (
    "is protected by a passphrase, and BuildKit cannot ask for one; remove it from a copy "
    "(`ssh-keygen -p -N '' -f <copy>`) or load the key into an agent and forward that"
)


def _openssh_problem(body: bytes) -> str | None:
    """The OpenSSH format (PROTOCOL.key): magic, then cipher and KDF names, `none` unencrypted."""
    try:
        raw = base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return "is not valid base64 inside its PEM block"
    if not raw.startswith(_OPENSSH_MAGIC):
        return "is not in the OpenSSH key format its PEM block names"
    rest = raw[len(_OPENSSH_MAGIC) :]
    names = []
    for _ in range(2):
        if len(rest) < 4:
            return "is cut short"
        size = int.from_bytes(rest[:4], "big")
        names.append(rest[4 : 4 + size])
        rest = rest[4 + size :]
    if names != [b"none", b"none"]:
        return _ENCRYPTED
    return None


def _roots(workspace: Path, env: Mapping[str, str]) -> list[Path]:
    """The folders of the runner's disk the action's container sees and a path may be under."""
    roots = [workspace.resolve()]
    if temp := env.get("RUNNER_TEMP"):
        roots.append((workspace / temp).resolve())
    return roots


_REACH = (
    "the action runs in its own container, which sees only the workspace (relative paths, or "
    "/github/workspace/...) and the runner's temp folder (/github/runner_temp/... on runners "
    "since v2.331.0); the runner rewrites `${{ runner.temp }}` only at the start of an input, "
    "not inside `id=path`, so write the container's path"
)
_NO_AGENT = (
    "forwards the agent in `SSH_AUTH_SOCK`, but {why}: an agent the job started on the runner "
    "(webfactory/ssh-agent, `ssh-agent`) is outside the action's container unless its socket is "
    "under `${{{{ runner.temp }}}}` (webfactory/ssh-agent's `ssh-auth-sock: "
    "${{{{ runner.temp }}}}/ssh-agent.sock`); or give key files, or `ssh-keys-from-key-vault`"
)


def check_local(
    forwards: Sequence[SshForward],
    *,
    workspace: Path,
    context: Path,
    env: Mapping[str, str],
) -> None:
    """Refuse the paths of `ssh` that BuildKit could not use here, before any network call.

    `context`: the build context, where no key may be (it is sent to the builder, and a
    `COPY . .` would put the key in a layer).
    """
    problems: list[tuple[str, str]] = []
    roots, context = _roots(workspace, env), context.resolve()
    for forward in forwards:
        shown = f"{forward.id}={','.join(forward.paths)}" if forward.paths else forward.id
        if not forward.paths:
            sock = env.get("SSH_AUTH_SOCK", "")
            why = _agent_missing(sock)
            if why:
                problems.append((f"`{forward.id}` " + _NO_AGENT.format(why=why), shown))
            continue
        sockets = keys = 0
        for written in forward.paths:
            path = (workspace / written).resolve()
            if not any(path.is_relative_to(root) for root in roots):
                problems.append((f"{written} is outside what the action sees; {_REACH}", shown))
                continue
            try:
                mode = path.stat().st_mode
            except OSError:
                problems.append((f"{written} does not exist here; {_REACH}", shown))
                continue
            if stat.S_ISSOCK(mode):
                sockets += 1
                continue
            if not stat.S_ISREG(mode):
                problems.append((f"{written} is neither a key file nor an agent socket", shown))
                continue
            keys += 1
            if path.is_relative_to(context):
                problems.append((f"{written} is inside the build context, {_IN_CONTEXT}", shown))
                continue
            with path.open("rb") as file:
                why = key_problem(file.read(KEY_FILE_LIMIT + 1))
            if why:
                problems.append((f"{written} {why}", shown))
        if sockets > 1 or (sockets and keys):
            # agentprovider.go: "only single socket allowed", "invalid combination of keys and sockets".
            problems.append(("one id takes one agent socket, or key files only, not both", shown))
    if problems:
        example = SPECS["ssh"].example
        raise InputError([InputProblem("ssh", why, example, shown) for why, shown in problems])


_IN_CONTEXT = (
    "which is sent to the builder (a `COPY . .` would put the key in a layer): write it under "
    "/github/runner_temp, or use `ssh-keys-from-key-vault`"
)


def _agent_missing(sock: str) -> str | None:
    """Why `SSH_AUTH_SOCK` names no agent socket here, or None."""
    if not sock:
        return "`SSH_AUTH_SOCK` is not set"
    try:
        mode = os.stat(sock).st_mode
    except OSError:
        return f"`SSH_AUTH_SOCK` ({sock}) does not exist in the action's container"
    if not stat.S_ISSOCK(mode):
        return f"`SSH_AUTH_SOCK` ({sock}) is not a socket"
    return None


def vault_names(keys: Sequence[KeyFromVault]) -> dict[str, str]:
    """What to read from Key Vault for `ssh-keys-from-key-vault`: {our name: secret name}."""
    return {f"{k.id}#{n}": name for k in keys for n, name in enumerate(k.secrets)}


def keys_by_id(keys: Sequence[KeyFromVault], values: Mapping[str, str]) -> dict[str, list[str]]:
    """The keys read (`values`, by `vault_names`) grouped by id, each checked as BuildKit would.

    A secret that is no usable key stops the run before the build, named but never shown.
    """
    problems, grouped = [], {}
    for k in keys:
        grouped[k.id] = [values[f"{k.id}#{n}"] for n in range(len(k.secrets))]
        for name, value in zip(k.secrets, grouped[k.id], strict=True):
            if why := key_problem(value.encode()):
                problems.append(
                    InputProblem(
                        "ssh-keys-from-key-vault",
                        f"{k.id}: the Key Vault secret `{name}` {why}",
                        SPECS["ssh-keys-from-key-vault"].example,
                        f"{k.id}={','.join(k.secrets)}",
                    )
                )
    if problems:
        raise InputError(problems, shown_by="reading the SSH keys from Key Vault")
    return grouped


def write_keys(folder: Path, keys: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Write each id's keys into `folder/ssh` (0700; files 0600); returns id -> file paths.

    `folder` is the build's private Docker config folder, removed when the build ends.
    """
    written: dict[str, tuple[str, ...]] = {}
    if not keys:
        return written
    home = folder / "ssh"
    home.mkdir(mode=0o700)
    for n, (sid, values) in enumerate(keys.items()):
        paths = []
        for m, value in enumerate(values):
            path = home / f"key-{n}-{m}"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
                file.write(value if value.endswith("\n") else value + "\n")
            paths.append(str(path))
        written[sid] = tuple(paths)
    return written


def ssh_specs(
    forwards: Sequence[SshForward],
    from_vault: Mapping[str, Sequence[str]],
    workspace: Path,
    env: Mapping[str, str],
) -> list[str]:
    """The `--ssh` values: `ssh`'s paths made absolute (an id without paths: the `SSH_AUTH_SOCK`
    that `check_local` saw, named), then the key files written from the vault."""
    specs = []
    for forward in forwards:
        written = forward.paths or (env.get("SSH_AUTH_SOCK", ""),)
        paths = ",".join(str((workspace / p).absolute()) for p in written)
        specs.append(f"{forward.id}={paths}")
    specs += [f"{sid}={','.join(paths)}" for sid, paths in from_vault.items()]
    return specs
