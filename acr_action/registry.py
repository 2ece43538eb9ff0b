"""Azure Container Registry: the login server, a push token without stored secrets, build, push.

Push auth follows ACR's documented AAD flow: the registry's `/v2/` challenge names the token
realm; the Entra ARM token is exchanged at `/oauth2/exchange` for an ACR refresh token, which the
Docker daemon uses as the password of the null-GUID user. Nothing is written to disk except a
temporary Docker config for the build (private base images), removed even on failure.

The build runs through the Docker CLI with BuildKit: docker-py's build endpoint is the legacy
builder, which rejects `RUN --mount=...` and the other syntax current Dockerfiles use.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .arm import translate
from .errors import (
    AzureCallFailed,
    BuildFailed,
    DependencyUnavailable,
    PushFailed,
    ResourceMissing,
)
from .retry import RETRY_STATUSES, Retrier, Transient

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from .cloud import Endpoints

EXCHANGE = "ACR token exchange"
EXCHANGE_CHECK = (
    "the registry's health (`az acr check-health --name <registry>`) and "
    "https://status.azure.com (Container Registry)"
)

NULL_GUID = "00000000-0000-0000-0000-000000000000"
ARM_CHECK = "https://status.azure.com (Azure Resource Manager) and the runner's network"
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class PushResult:
    """What a push did: the manifest digest and how many layers were uploaded."""

    digest: str
    layers_pushed: int
    layers_existing: int


def login_server(
    credential: TokenCredential,
    endpoints: Endpoints,
    subscription_id: str,
    resource_group: str,
    registry: str,
    *,
    options: Mapping[str, Any] | None = None,
) -> str:
    """The registry's login server as ARM reports it (never assumed to be `*.azurecr.io`).

    `options`: the client's retry and timeout settings (`retry.azure_options`).
    """
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
    from azure.mgmt.containerregistry import ContainerRegistryManagementClient

    client = ContainerRegistryManagementClient(
        credential,
        subscription_id,
        base_url=endpoints.resource_manager,
        credential_scopes=[endpoints.arm_scope],
        api_version=endpoints.api_versions.registries,
        **dict(options or {}),
    )
    try:
        found = client.registries.get(resource_group, registry)
    except ResourceNotFoundError as exc:
        raise ResourceMissing("container registry", registry, str(exc.message)) from exc
    except HttpResponseError as exc:
        raise translate(
            exc, "Azure Resource Manager (registry)", name=registry, group=resource_group
        ) from exc
    except AzureError as exc:  # no answer: connection dropped or timed out, retries spent
        raise DependencyUnavailable(
            "Azure Resource Manager (registry)", type(exc).__name__, ARM_CHECK
        ) from exc
    finally:
        client.close()
    server = found.properties.login_server if found.properties is not None else None
    if not server:
        raise AzureCallFailed(
            "Azure Resource Manager (registry)",
            200,
            "NoLoginServer",
            f"registry {registry} has no login server",
        )
    return str(server).lower()


def refresh_token(
    login: str,
    arm_token: str,
    tenant_id: str | None,
    *,
    timeout: float = 20,
    retrier: Retrier | None = None,
) -> str:
    """Exchange an Entra ARM token for an ACR refresh token, at the realm the registry names."""
    import requests

    retry = retrier or Retrier()
    try:
        challenge = retry.http(EXCHANGE, "GET", f"https://{login}/v2/", read=timeout)
        if challenge.status_code in RETRY_STATUSES:
            raise DependencyUnavailable(
                EXCHANGE, f"HTTP {challenge.status_code} from /v2/", EXCHANGE_CHECK
            )
        params = dict(_CHALLENGE_PARAM.findall(challenge.headers.get("WWW-Authenticate", "")))
        realm, service = params.get("realm"), params.get("service", login)
        if challenge.status_code != 401 or not realm:
            raise AzureCallFailed(
                "ACR token exchange",
                challenge.status_code,
                "NoChallenge",
                f"https://{login}/v2/ gave no Bearer challenge",
            )
        exchange_url = realm.rsplit("/oauth2/", 1)[0] + "/oauth2/exchange"
        form = {"grant_type": "access_token", "service": service, "access_token": arm_token}
        if tenant_id:
            form["tenant"] = tenant_id
        answer = retry.http(EXCHANGE, "POST", exchange_url, data=form, read=timeout)
    except requests.RequestException as exc:
        raise DependencyUnavailable(
            EXCHANGE, f"{type(exc).__name__} reaching {login}", EXCHANGE_CHECK
        ) from exc
    if answer.status_code in RETRY_STATUSES:
        raise DependencyUnavailable(
            EXCHANGE, f"HTTP {answer.status_code} from /oauth2/exchange", EXCHANGE_CHECK
        )
    if answer.status_code != 200:
        raise AzureCallFailed(
            "ACR token exchange",
            answer.status_code,
            "ExchangeRefused",
            f"{exchange_url} refused the Entra token (HTTP {answer.status_code}); the identity needs AcrPush on the registry",
        )
    token = answer.json().get("refresh_token")
    if not isinstance(token, str) or not token:
        raise AzureCallFailed(
            "ACR token exchange", 200, "NoRefreshToken", f"{exchange_url} returned no refresh_token"
        )
    return token


# The temporary Docker config folders: `<tmp>/acr-action-docker-*`, each holding `.lock` locked
# (flock) by the run that made it for as long as the folder exists.
CONFIG_PREFIX = "acr-action-docker-"
_CONFIG_LOCK = ".lock"
# A folder without a lock file is another run's between `mkdtemp` and locking, unless it is older.
STALE_UNLOCKED_SECONDS = 60.0


@contextmanager
def docker_config(
    login: str | None, password: str | None, root: str | None = None
) -> Iterator[Path]:
    """A throw-away `DOCKER_CONFIG` folder (auth for the registry if given), removed on exit.

    Removed on any exception, SIGINT and SIGTERM included. Only a run killed outright (SIGKILL,
    the runner's last resort) leaves one behind: the next run removes it first
    (`remove_stale_configs`), so a token outlives its run only until the next run starts (and
    the ACR refresh token in it expires on its own within hours).

    `root` is the job's `RUNNER_TEMP` on a runner: the runner empties it after every job, so
    even a killed run's folder does not outlive the job.
    """
    if root is not None and not Path(root).is_dir():
        root = None
    remove_stale_configs(root)
    folder = Path(tempfile.mkdtemp(prefix=CONFIG_PREFIX, dir=root))
    lock: int | None = None
    try:
        os.chmod(folder, 0o700)
        lock = _hold_lock(folder)
        config: dict[str, Any] = {}
        if login and password:
            auth = base64.b64encode(f"{NULL_GUID}:{password}".encode()).decode()
            config["auths"] = {login: {"auth": auth}}
        path = folder / "config.json"
        path.touch(mode=0o600)
        path.write_text(json.dumps(config), encoding="utf-8")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if lock is not None:
            os.close(lock)


def _hold_lock(folder: Path) -> int:
    """Lock `folder`'s lock file for this process; the kernel drops the lock when it dies."""
    import fcntl

    descriptor = os.open(folder / _CONFIG_LOCK, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return descriptor


def remove_stale_configs(root: str | None = None) -> list[str]:
    """Remove the Docker config folders of earlier runs that were killed; returns their names.

    A folder is stale when no live process holds its lock (flock works across processes and
    containers sharing the folder, unlike a PID). Other users' folders and symlinks are skipped.
    """
    import fcntl
    import stat
    import time

    removed: list[str] = []
    for folder in Path(root or tempfile.gettempdir()).glob(CONFIG_PREFIX + "*"):
        try:
            info = folder.lstat()
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                continue
            descriptor = os.open(folder / _CONFIG_LOCK, os.O_RDWR | os.O_NOFOLLOW)
        except FileNotFoundError:
            if folder.exists() and time.time() - info.st_mtime >= STALE_UNLOCKED_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
            continue
        except OSError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            continue  # a live run holds it
        shutil.rmtree(folder, ignore_errors=True)
        os.close(descriptor)
        removed.append(folder.name)
    return removed


def build_command(
    *,
    context: str,
    dockerfile: str | None,
    tags: Sequence[str],
    build_args: Sequence[tuple[str, str]],
    labels: Sequence[tuple[str, str]],
    target: str | None,
    platform: str | None,
    network: str | None,
    iidfile: Path,
    docker: str = "docker",
) -> list[str]:
    """The `docker build` command line (never carries a secret)."""
    command = [docker, "build", "--progress", "plain", "--iidfile", str(iidfile)]
    if dockerfile:
        command += ["--file", dockerfile]
    for tag in tags:
        command += ["--tag", tag]
    for key, value in build_args:
        command += ["--build-arg", f"{key}={value}"]
    for key, value in labels:
        command += ["--label", f"{key}={value}"]
    if target:
        command += ["--target", target]
    if platform:
        command += ["--platform", platform]
    if network:
        command += ["--network", network]
    command.append(context)
    return command


def run_build(
    command: list[str],
    env: dict[str, str],
    show: Callable[[Iterator[str]], None],
    *,
    cwd: str | None = None,
) -> str:
    """Run the build, streaming its log through `show`; returns the image id."""
    iidfile = Path(command[command.index("--iidfile") + 1])
    tail: list[str] = []

    def lines(stream: Any) -> Iterator[str]:
        for raw in stream:
            line = raw.rstrip("\n")
            tail.append(line)
            del tail[:-60]
            yield line

    try:
        process = subprocess.Popen(  # noqa: S603 - an argument list built by build_command, no shell
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
            errors="replace",
        )
    except FileNotFoundError as exc:
        raise BuildFailed(
            "starting docker", f"the Docker CLI ({command[0]}) is not installed: {exc}"
        ) from exc
    assert process.stdout is not None
    with process:
        try:
            show(lines(process.stdout))
        except BaseException:
            # Cancelled (SIGINT/SIGTERM) or the log could not be shown: stop the build as well,
            # rather than leave it running on the daemon with nobody reading its log.
            process.terminate()
            raise
    if process.returncode != 0:
        raise BuildFailed(_failing_step(tail), "\n".join(tail[-30:]))
    return iidfile.read_text(encoding="utf-8").strip()


def _failing_step(tail: Sequence[str]) -> str:
    """The BuildKit step that failed (`ERROR [stage 3/5] RUN ...`), or the last step seen."""
    for line in reversed(tail):
        if "ERROR" in line and "[" in line:
            return line.split("ERROR", 1)[1].strip(" :")
    for line in reversed(tail):
        if line.startswith("#") and "[" in line:
            return line
    return "the build"


class _PushError(Exception):
    """The daemon reported a push error (judged transient or final by `_push_verdict`)."""

    def __init__(self, image: str, detail: str) -> None:
        super().__init__(detail)
        self.image = image
        self.detail = detail


# What the Docker daemon says when the registry answered a transient status or the connection
# broke (moby's distribution errors quote the registry's status text).
_TRANSIENT_PUSH = re.compile(
    r"\b(408|429|500|502|503|504)\b|too many requests|service unavailable|bad gateway|"
    r"gateway time-?out|internal server error|request timeout|toomanyrequests|"
    r"connection reset|broken pipe|\bEOF\b|i/o timeout|connection refused|"
    r"TLS handshake timeout|unexpected status",
    re.IGNORECASE,
)


def _push_verdict(outcome: Any) -> Transient | None:
    if isinstance(outcome, _PushError) and _TRANSIENT_PUSH.search(outcome.detail):
        status = re.search(r"\b(408|429|500|502|503|504)\b", outcome.detail)
        said = f"HTTP {status.group(1)}" if status else _first(outcome.detail)
        return Transient(f"failed the push transiently ({said})")
    import requests

    if isinstance(outcome, requests.ConnectionError | requests.Timeout):
        return Transient(f"dropped the connection to the Docker daemon ({type(outcome).__name__})")
    return None


def _first(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:80]


def push(
    client: Any,
    repository: str,
    tags: Sequence[str],
    refresh: str,
    on_line: Callable[[str], None],
    *,
    retrier: Retrier | None = None,
) -> PushResult:
    """Push every tag of `repository` with the null-GUID user; returns the manifest digest.

    The daemon retries a failed layer upload itself; a push that still fails transiently (the
    registry's 429/5xx on a blob or the manifest, a broken connection) is pushed again: layers
    already uploaded are skipped, so a repeat costs little.
    """
    auth = {"username": NULL_GUID, "password": refresh}
    digest = ""
    pushed: set[str] = set()
    existing: set[str] = set()
    retry = retrier or Retrier()

    def one(tag: str) -> str:
        found = ""
        for event in client.api.push(
            repository, tag=tag, auth_config=auth, stream=True, decode=True
        ):
            if "error" in event:
                detail = event.get("errorDetail", {}).get("message") or event["error"]
                raise _PushError(f"{repository}:{tag}", str(detail))
            status = event.get("status", "")
            layer = event.get("id", "")
            if status == "Pushed":
                pushed.add(layer)
            elif status == "Layer already exists":
                existing.add(layer)
            aux = event.get("aux") or {}
            if aux.get("Digest"):
                found = str(aux["Digest"])
        return found

    for tag in tags:
        try:
            digest = retry.call("The registry (Docker push)", partial(one, tag), _push_verdict)
        except _PushError as exc:
            raise PushFailed(exc.image, exc.detail) from None
        if digest:
            on_line(f"pushed {repository}:{tag} ({digest})")
    if not digest:
        raise PushFailed(repository, "the registry did not report a manifest digest")
    return PushResult(digest, len(pushed), len(existing - pushed))


def resolve_digest(client: Any, image: str, password: str | None) -> str:
    """The manifest digest of an existing image (deploys go by digest, so ACI never re-resolves a tag)."""
    auth = {"username": NULL_GUID, "password": password} if password else None
    try:
        data = client.api.inspect_distribution(image, auth_config=auth)
    except Exception as exc:
        raise ResourceMissing("image", image, str(exc)) from exc
    return str(data["Descriptor"]["digest"])
