"""The real Azure CLI, installed once into the cache and pointed at a local Azure.

Used by the contract suite (`tests/contract/test_azcli.py`: a second client that nobody here
wrote) and by the benchmark (`bench/azcli.py`). `azure-cli` and its dependencies come from
`requirements/azcli.lock` (hash-pinned, like the other locks) into their own venv under the cache,
`<cache>/azure-cli-<version>-<lock hash>`: never into `.venv`, whose azure-* SDK versions are the
action's. A new lock gets a new directory, so an install is never half old, half new.

`AzureCli` runs `az` with a throw-away configuration (`AZURE_CONFIG_DIR`, `DOCKER_CONFIG`, `HOME`)
and keeps every request on this machine:
* the custom cloud is registered from the emulator's metadata document
  (`az cloud register --endpoint-resource-manager`), so ARM, Entra, Key Vault and ACR are its hosts;
* the CLI's own outbound calls are switched off by configuration, through the `AZURE_<SECTION>_<OPTION>`
  variables that azure-cli-core reads for any config option (knack `CLIConfig`, prefix `AZURE`):
  telemetry (`core.collect_telemetry`), MSAL instance discovery against login.microsoftonline.com
  (`core.instance_discovery`, read in azure-cli-core `_profile.py`), the survey prompt
  (`core.survey_message`), extension installs from the index (`extension.use_dynamic_install`),
  the upgrade check (`auto-upgrade.enable`, off by default; set anyway) and per-command log files
  (`logging.enable_log_file`). The latest-version lookup has no switch: it is skipped by recording
  the installed versions as already checked (`AzureCli._skip_version_check`);
* anything left over meets `OutsideTrap`: `HTTPS_PROXY`/`HTTP_PROXY` name a loopback listener that
  records the request line and refuses it, and `NO_PROXY` exempts only `localhost` names and
  loopback, so a call to any other host is caught, recorded and never leaves the machine.

Sign-in passes the credential on `az`'s command line, as azure/login does: only the local seed's
test values and freshly minted test tokens ever go there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localazure.server import Emulator

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCK = REPO_ROOT / "requirements" / "azcli.lock"
# scripts/lib.sh's CACHE_DIR: ACR_ACTION_CACHE moves it.
CACHE_DIR = Path(os.environ.get("ACR_ACTION_CACHE", REPO_ROOT / ".cache"))
# Debian's CLI (scripts/lib.sh): `az acr login` runs `docker login` from PATH.
DOCKER_BIN = Path("/usr/bin")
CLOUD = "AzureLocal"


class InstallFailed(RuntimeError):
    """The Azure CLI could not be installed from the lock."""


def pinned_version(lock: Path = LOCK) -> str:
    """The azure-cli version that the lock pins."""
    found = re.search(r"^azure-cli==(\S+)", lock.read_text(encoding="utf-8"), re.MULTILINE)
    if found is None:
        raise InstallFailed(f"{lock.name} pins no azure-cli version (azure-cli==X.Y.Z)")
    return found.group(1)


def install_dir(lock: Path = LOCK, cache: Path = CACHE_DIR) -> Path:
    """Where this lock's CLI lives: keyed by the pinned version and the lock's content."""
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:12]
    return cache / f"azure-cli-{pinned_version(lock)}-{digest}"


def ensure_installed(
    say: Callable[[str], None] = lambda line: None, lock: Path = LOCK, cache: Path = CACHE_DIR
) -> Path:
    """The `az` of the lock's venv; installs it on first use (about a minute) and says so."""
    target = install_dir(lock, cache)
    az = target / "bin" / "az"
    # Written last: a directory without it is an interrupted install, started again from scratch.
    stamp = target / ".installed"
    if stamp.exists():
        return az
    say(f"installing azure-cli {pinned_version(lock)} into {target} (once, about a minute)")
    started = time.monotonic()
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A venv without pip of its own (ensurepip alone takes seconds); this interpreter's pip
    # installs into it (`pip --python`). The CLI needs no pip: extension installs are off.
    _run_or_raise("python -m venv", [sys.executable, "-m", "venv", "--without-pip", str(target)])
    _run_or_raise(
        f"pip install -r {lock.name}",
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(target / "bin" / "python"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            # Every file must match the lock, whichever index or mirror served it.
            "--require-hashes",
            "--no-deps",
            "-r",
            str(lock),
        ],
    )
    stamp.write_text(f"{lock.name} {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
    say(f"azure-cli installed in {time.monotonic() - started:.0f} s")
    # Installs of earlier locks are dead weight (about 700 MB each) once this one works. (Two
    # checkouts with different locks that share one ACR_ACTION_CACHE would take turns.)
    for old in cache.glob("azure-cli-*"):
        if old != target and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return az


def installed_or_unavailable() -> Path:
    """`ensure_installed()` for a fixture: a failure fails the test in CI and skips it elsewhere."""
    from tests.shared import unavailable

    try:
        return ensure_installed(print)
    except (InstallFailed, OSError) as exc:  # OSError: the cache cannot be written
        unavailable(f"the Azure CLI could not be installed from requirements/azcli.lock: {exc}")
        raise  # unreachable: unavailable() fails or skips


def _run_or_raise(what: str, argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise InstallFailed(f"{what} failed (exit {done.returncode}):\n{tail}")


class OutsideTrap:
    """A loopback "proxy" that refuses every request and remembers its first line."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, name="azcli-outside-trap", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, for HTTPS_PROXY and HTTP_PROXY."""
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:  # closed
                return
            with connection:
                connection.settimeout(5)
                try:
                    line = connection.recv(4096).split(b"\r\n", 1)[0]
                    self.requests.append(line.decode("latin-1"))
                    connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    continue

    def close(self) -> None:
        """Stop listening."""
        # shutdown() wakes the thread blocked in accept(); close() alone would not, on Linux.
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class Result:
    """One `az` run: exit code, output, and its wall time."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        """stdout as JSON (the command ran with `--output json`)."""
        return json.loads(self.stdout)


class CliFailed(AssertionError):
    """An `az` command that had to succeed did not."""


class AzureCli:
    """`az` with its own configuration, pointed at one local Azure, traffic kept on loopback."""

    def __init__(self, az: Path, emulator: Emulator, home: Path, trap: OutsideTrap) -> None:
        self.az = az
        self.emulator = emulator
        self.home = home
        self.docker_config = home / "docker"
        self.docker_config.mkdir(parents=True, exist_ok=True)
        self.env = {
            "PATH": f"{az.parent}:{DOCKER_BIN}:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "AZURE_CONFIG_DIR": str(home / "azure"),
            "DOCKER_CONFIG": str(self.docker_config),
            "REQUESTS_CA_BUNDLE": str(emulator.ca_path),
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_INSTANCE_DISCOVERY": "false",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_NO_COLOR": "true",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
            "AZURE_EXTENSION_USE_DYNAMIC_INSTALL": "no",
            "AZURE_AUTO-UPGRADE_ENABLE": "no",
            # No per-command log files under the config dir (azure-cli-core azlogging.py reads
            # logging.enable_log_file); values are redacted there, but nothing needs them.
            "AZURE_LOGGING_ENABLE_LOG_FILE": "no",
            "HTTPS_PROXY": trap.url,
            "HTTP_PROXY": trap.url,
            "NO_PROXY": "localhost,127.0.0.1",
        }
        self.history: list[Result] = []
        self._skip_version_check()

    def _skip_version_check(self) -> None:
        """Record the installed versions as already checked, so `az` does not look them up.

        azure-cli-core's start-up (`util.handle_version_update`) fetches the latest versions from
        azcliprod.blob.core.windows.net whenever `versionCheck.json` holds none, and no option
        turns that off; once the file names the local versions it only compares them.
        """
        pins = dict(re.findall(r"^azure-cli(|-core|-telemetry)==(\S+)", LOCK.read_text(), re.M))
        versions = {
            "azure-cli": {"local": pins[""]},
            "core": {"local": pins["-core"]},
            "telemetry": {"local": pins["-telemetry"]},
        }
        config_dir = Path(self.env["AZURE_CONFIG_DIR"])
        config_dir.mkdir(parents=True, exist_ok=True)
        checked = time.strftime("%Y-%m-%d %H:%M:%S.000000")
        (config_dir / "versionCheck.json").write_text(
            json.dumps({"versions": versions, "update_time": checked}), encoding="utf-8"
        )

    def run(self, *args: str, check: bool = True, stdin: str | None = None) -> Result:
        """`az ARGS`; raises CliFailed (with its stderr) when `check` and it fails."""
        argv = (str(self.az), *args)
        started = time.monotonic()
        done = subprocess.run(
            argv, env=self.env, input=stdin, capture_output=True, text=True, check=False
        )
        result = Result(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)
        self.history.append(result)
        if check and done.returncode != 0:
            raise CliFailed(
                f"az {' '.join(args[:3])} exited {done.returncode}:\n{done.stderr.strip()[-1500:]}"
            )
        return result

    def json(self, *args: str) -> Any:
        """`az ARGS --output json`, parsed."""
        return self.run(*args, "--output", "json").json()

    def use_local_cloud(self) -> None:
        """Register the emulator's cloud from its metadata document and make it current."""
        self.run("cloud", "register", "--name", CLOUD, "--endpoint-resource-manager",
                 self.emulator.arm_url)  # fmt: skip
        self.run("cloud", "set", "--name", CLOUD)

    def login_federated(self, client_id: str, federated_token: str) -> None:
        """`az login --service-principal --federated-token`, as azure/login does with OIDC."""
        self._login(client_id, "--federated-token", federated_token)

    def login_secret(self, client_id: str, secret: str) -> None:
        """`az login --service-principal` with a client secret."""
        self._login(client_id, "--password", secret)

    def _login(self, client_id: str, *credential: str) -> None:
        # `az login` makes the first subscription it lists the default (azure-cli-core
        # _profile.py), so no `az account set` is needed when it is the only one; check that.
        state = self.emulator.state
        accounts = self.json("login", "--service-principal", "--username", client_id,
                             "--tenant", state.tenant_id, *credential)  # fmt: skip
        default = [a["id"] for a in accounts if a.get("isDefault")]
        if default != [state.subscription_id]:
            raise CliFailed(f"az login chose {default}, not {state.subscription_id}")
