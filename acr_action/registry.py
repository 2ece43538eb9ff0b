"""Azure Container Registry: the login server, a push token without stored secrets, build, push.

Push auth follows ACR's documented AAD flow: the registry's `/v2/` challenge names the token
realm; an Entra token is exchanged at `/oauth2/exchange` for an ACR refresh token, which the
Docker daemon uses as the password of the null-GUID user. The Entra token is asked for ACR's own
audience first (`https://containerregistry.azure.net/.default`), because registries with
`azureADAuthenticationAsArmPolicy` disabled (Microsoft's recommended setting) refuse ARM-audience
tokens; the ARM token is the fallback where the registry still accepts it. Nothing is written to
disk except a temporary Docker config for the build (private base images), removed even on
failure.

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
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .arm import explain
from .buildcache import INLINE_CACHE_ARG, NO_CACHE, CachePlan
from .errors import (
    ActionError,
    AzureCallFailed,
    BuildFailed,
    PushFailed,
    RegistryNetworkDenied,
    RegistryTokenRefused,
    ResourceMissing,
)
from .failures import (
    ACR_DELETE,
    ACR_EXCHANGE,
    ARM_REGISTRY,
    DOCKER_ENGINE,
    ENTRA,
    Dependency,
    of_registry,
    translate,
)
from .retry import Retrier, Transient

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from .cloud import Endpoints


NULL_GUID = "00000000-0000-0000-0000-000000000000"
# ACR's own Entra resource, the same in every cloud: "You must specify
# https://containerregistry.azure.net/.default to obtain a Microsoft Entra authentication token
# scoped for the ACR service" (Microsoft Learn, container-registry-disable-authentication-as-arm).
ACR_SCOPE = "https://containerregistry.azure.net/.default"
ABAC_MODE = "abacrepositorypermissions"  # ARM's roleAssignmentMode, compared in lower case
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


# What a registry may answer a manifest request with: Docker schema 2 and OCI, single and multi
# platform. Without them some registries answer 404 for a manifest that exists.
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)


@dataclass(frozen=True)
class RegistryFacts:
    """What ARM says about the registry: its login server and the settings that decide access."""

    name: str
    login_server: str
    # "RBAC Registry + ABAC Repository Permissions" mode: the Container Registry Repository roles
    # count, AcrPull/AcrPush/AcrDelete do not (ARM's `roleAssignmentMode`).
    abac: bool = False
    # `policies.azureADAuthenticationAsArmPolicy.status` is not "disabled": ARM tokens still work.
    arm_tokens_accepted: bool = True
    public_network_access: str | None = None
    network_default_action: str | None = None


@dataclass(frozen=True)
class RegistryAccess:
    """A login server and an ACR refresh token (masked), with the run's retry rule."""

    login_server: str
    refresh: str = field(repr=False)
    retrier: Retrier = field(repr=False)

    def delete_tag(self, repository: str, tag: str) -> str | None:
        """Delete `repository:tag` (see :func:`delete_image_tag`); its digest, None if gone."""
        return delete_image_tag(
            self.login_server, self.refresh, repository, tag, retrier=self.retrier
        )


@dataclass(frozen=True)
class PushResult:
    """What a push did: the manifest digest and how many layers were uploaded."""

    digest: str
    layers_pushed: int
    layers_existing: int


def find_registry(
    credential: TokenCredential,
    endpoints: Endpoints,
    subscription_id: str,
    resource_group: str,
    registry: str,
    *,
    options: Mapping[str, Any] | None = None,
) -> RegistryFacts:
    """The registry as ARM reports it: login server (never assumed `*.azurecr.io`) and settings.

    `options`: the client's retry and timeout settings (`retry.azure_options`).
    """
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
    from azure.mgmt.containerregistry import ContainerRegistryManagementClient

    def get(api_version: str) -> Any:
        client = ContainerRegistryManagementClient(
            credential,
            subscription_id,
            base_url=endpoints.resource_manager,
            credential_scopes=[endpoints.arm_scope],
            api_version=api_version,
            **dict(options or {}),
        )
        try:
            return client.registries.get(resource_group, registry)
        finally:
            client.close()

    versions = endpoints.api_versions
    try:
        try:
            found = get(versions.registries)
        except HttpResponseError as exc:
            if not _version_refused(exc) or versions.registries_fallback == versions.registries:
                raise
            found = get(versions.registries_fallback)  # a cloud behind public Azure (cloud.py)
    except ResourceNotFoundError as exc:
        raise ResourceMissing("container registry", registry, str(exc.message)) from exc
    except AzureError as exc:
        raise translate(
            ARM_REGISTRY,
            exc,
            explain=lambda exc: explain(
                exc, ARM_REGISTRY.name, name=registry, group=resource_group
            ),
        ) from exc
    return _facts(registry, found)


def _facts(registry: str, found: Any) -> RegistryFacts:
    """What the action needs from ARM's registry resource."""
    props = found.properties
    server = props.login_server if props is not None else None
    if props is None or not server:
        raise AzureCallFailed(
            ARM_REGISTRY.name,
            200,
            "NoLoginServer",
            f"registry {registry} has no login server",
        )
    policy = props.policies.azure_ad_authentication_as_arm_policy if props.policies else None
    rules = props.network_rule_set
    return RegistryFacts(
        name=registry,
        login_server=str(server).lower(),
        abac=(_setting(props.role_assignment_mode) or "").lower() == ABAC_MODE,
        arm_tokens_accepted=(_setting(policy.status if policy else None) or "").lower()
        != "disabled",
        public_network_access=_setting(props.public_network_access),
        network_default_action=_setting(rules.default_action if rules else None),
    )


def _version_refused(exc: Any) -> bool:
    """Is this ARM's answer to an api-version the cloud does not serve?"""
    code = getattr(getattr(exc, "error", None), "code", None) or ""
    return exc.status_code == 400 and code in {
        "NoRegisteredProviderFound",
        "InvalidApiVersionParameter",
        "InvalidResourceType",
    }


def _setting(value: object) -> str | None:
    """An ARM enum value as its wire text (the SDK gives `str` enums, whose `str()` is the name)."""
    text = getattr(value, "value", value)
    return str(text) if text else None


def refresh_token(
    target: RegistryFacts,
    credential: TokenCredential,
    endpoints: Endpoints,
    tenant_id: str | None,
    *,
    timeout: float = 20,
    retrier: Retrier | None = None,
) -> str:
    """An ACR refresh token for the signed-in identity, from the realm the registry names.

    Entra tokens are tried in order: ACR's own audience, then (if the registry accepts them) ARM's.
    Only the exchange's refusal (401/403) or Entra's refusal to issue the ACR token moves on to
    the next; anything else is reported as it is.
    """
    sources: list[tuple[str, TokenSource]] = [
        (
            "ACR audience (https://containerregistry.azure.net)",
            partial(_entra_token, credential, ACR_SCOPE),
        )
    ]
    if target.arm_tokens_accepted:
        sources.append(
            (
                f"ARM audience ({endpoints.arm_audience})",
                partial(_entra_token, credential, endpoints.arm_scope),
            )
        )
    return _exchange(target, sources, tenant_id, timeout=timeout, retrier=retrier)


def exchange_token(
    login: str,
    entra_token: str,
    tenant_id: str | None,
    *,
    timeout: float = 20,
    retrier: Retrier | None = None,
) -> str:
    """An ACR refresh token for an Entra token the caller already holds (e.g. the Azure CLI's)."""
    return _exchange(
        RegistryFacts(name=login.split(".", 1)[0], login_server=login),
        [("the given Entra token", lambda attempts, label: entra_token)],
        tenant_id,
        timeout=timeout,
        retrier=retrier,
    )


# Gets one Entra token, or records in `attempts` why Entra would not issue it and returns None.
TokenSource = Callable[[list[tuple[str, str]], str], "str | None"]


def _exchange(
    target: RegistryFacts,
    sources: Sequence[tuple[str, TokenSource]],
    tenant_id: str | None,
    *,
    timeout: float,
    retrier: Retrier | None,
) -> str:
    """The challenge, then `/oauth2/exchange` with each source's token until one is accepted."""
    retry = retrier or Retrier()
    dependency = of_registry(ACR_EXCHANGE, target.name)
    realm, service = _token_realm(target, retry, dependency, timeout)
    exchange_url = realm.rsplit("/oauth2/", 1)[0] + "/oauth2/exchange"
    attempts: list[tuple[str, str]] = []
    for label, source in sources:
        entra_token = source(attempts, label)
        if entra_token is None:
            continue
        form = {"grant_type": "access_token", "service": service, "access_token": entra_token}
        if tenant_id:
            form["tenant"] = tenant_id
        answer = _send(retry, dependency, "POST", exchange_url, data=form, read=timeout)
        if answer.status_code == 403 and _acr_error_code(answer) == "DENIED":
            raise _network_denied(target, answer)
        if answer.status_code in (401, 403):
            attempts.append((label, f"refused by /oauth2/exchange (HTTP {answer.status_code})"))
            continue
        token = answer.json().get("refresh_token") if answer.status_code == 200 else None
        if answer.status_code != 200 or not isinstance(token, str) or not token:
            raise translate(
                dependency,
                answer,
                where=exchange_url,
                explain=lambda answer: _exchange_failed(exchange_url, answer),
            )
        return token
    if not target.arm_tokens_accepted:
        attempts.append(
            (
                "ARM audience",
                "not tried: the registry's azureADAuthenticationAsArmPolicy is disabled",
            )
        )
    raise RegistryTokenRefused(
        login=target.login_server,
        attempts=attempts,
        registry=target.name,
        arm_tokens_accepted=target.arm_tokens_accepted,
        abac=target.abac,
    )


def parse_challenge(header: str) -> dict[str, str]:
    """The parameters of a `WWW-Authenticate: Bearer realm="...",service="...",...` header."""
    return dict(_CHALLENGE_PARAM.findall(header))


def _send(retry: Retrier, dependency: Dependency, method: str, url: str, **kwargs: Any) -> Any:
    """One registry request through the retry rule; no answer at all is `dependency` down."""
    import requests

    try:
        return retry.http(dependency.name, method, url, **kwargs)
    except requests.RequestException as exc:
        raise translate(dependency, exc, where=url) from exc


def _token_realm(
    target: RegistryFacts, retry: Retrier, dependency: Dependency, timeout: float
) -> tuple[str, str]:
    """(realm, service) of the registry's Bearer challenge at `/v2/`."""
    url = f"https://{target.login_server}/v2/"
    challenge = _send(retry, dependency, "GET", url, read=timeout)
    params = parse_challenge(challenge.headers.get("WWW-Authenticate", ""))
    realm = params.get("realm")
    if challenge.status_code == 401 and realm:
        return realm, params.get("service", target.login_server)

    def refused(answer: Any) -> ActionError:
        if answer.status_code == 403:
            # The firewall answers before any credential is looked at (azure-cli
            # acr/_docker_utils.py reads a 403 from /v2/ the same way): `DENIED` "client with
            # IP ... is not allowed access".
            return _network_denied(target, answer)
        return AzureCallFailed(
            dependency.name, answer.status_code, "NoChallenge", f"{url} gave no Bearer challenge"
        )

    raise translate(dependency, challenge, where=url, explain=refused)


def delete_image_tag(
    login: str,
    refresh: str,
    repository: str,
    tag: str,
    *,
    timeout: float = 20,
    retrier: Retrier | None = None,
) -> str | None:
    """Delete the manifest `repository:tag` points at; returns its digest, None if already gone.

    Distribution (and ACR) delete manifests by digest, which removes every tag of that manifest.
    The access token comes from the realm of the registry's challenge for `pull,delete` on the
    repository (ACR grants `delete` to principals with `.../artifacts/delete`, e.g. Contributor
    or AcrDelete; on a registry in ABAC repository-permissions mode, Container Registry
    Repository Contributor).
    """
    retry = retrier or Retrier()
    target = RegistryFacts(name=login.split(".", 1)[0], login_server=login)
    dependency = of_registry(ACR_DELETE, target.name)
    realm, service = _token_realm(target, retry, dependency, timeout)
    form = {
        "grant_type": "refresh_token",
        "service": service,
        "scope": f"repository:{repository}:pull,delete",
        "refresh_token": refresh,
    }
    answer = _send(retry, dependency, "POST", realm, data=form, read=timeout)
    if answer.status_code != 200:
        raise _delete_failed(dependency, answer, realm, "TokenRefused", answer.text[:300])
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    manifest = f"https://{login}/v2/{repository}/manifests"
    accept = {**headers, "Accept": MANIFEST_TYPES}
    head = _send(retry, dependency, "HEAD", f"{manifest}/{tag}", headers=accept, read=timeout)
    if head.status_code == 404:
        return None
    digest = str(head.headers.get("Docker-Content-Digest", ""))
    if head.status_code != 200 or not digest:
        raise _delete_failed(
            dependency, head, manifest, "ManifestLookupFailed", f"{repository}:{tag}"
        )
    gone = _send(retry, dependency, "DELETE", f"{manifest}/{digest}", headers=headers, read=30)
    if gone.status_code not in (200, 202, 404):
        raise _delete_failed(
            dependency,
            gone,
            manifest,
            "DeleteRefused",
            f"{gone.text[:300]} (the identity needs delete rights on the registry: AcrDelete, or "
            "Container Registry Repository Contributor on a registry in ABAC mode)",
        )
    return digest


def _delete_failed(
    dependency: Dependency, answer: Any, where: str, code: str, message: str
) -> ActionError:
    """Down (retries spent) or refused, for one step of deleting an image tag."""

    def refused(answer: Any) -> AzureCallFailed:
        return AzureCallFailed(ACR_DELETE.name, answer.status_code, code, message)

    return translate(dependency, answer, where=where, explain=refused)


def _exchange_failed(url: str, answer: Any) -> AzureCallFailed:
    if answer.status_code == 200:
        return AzureCallFailed(
            ACR_EXCHANGE.name, 200, "NoRefreshToken", f"{url} returned no refresh_token"
        )
    return AzureCallFailed(
        ACR_EXCHANGE.name,
        answer.status_code,
        "ExchangeFailed",
        f"{url} answered HTTP {answer.status_code}",
    )


def _entra_token(
    credential: TokenCredential, scope: str, attempts: list[tuple[str, str]], label: str
) -> str | None:
    """An Entra token for `scope`, or None (and why, in `attempts`) when Entra refuses it."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError

    try:
        return credential.get_token(scope).token
    except ClientAuthenticationError as exc:
        # E.g. AADSTS500011 in a cloud without ACR's resource: the next audience may still work.
        reason = str(exc).split("Trace ID")[0].strip()
        attempts.append((label, f"Entra did not issue it: {reason[:300]}"))
        return None
    except AzureError as exc:  # no answer: dropped or timed out, retries spent
        raise translate(ENTRA, exc) from exc


def _acr_error_code(answer: Any) -> str:
    try:
        errors = answer.json().get("errors") or [{}]
        return str(errors[0].get("code", ""))
    except (ValueError, AttributeError, IndexError):
        return ""


def _network_denied(target: RegistryFacts, answer: Any) -> RegistryNetworkDenied:
    try:
        message = str((answer.json().get("errors") or [{}])[0].get("message") or answer.text)
    except (ValueError, AttributeError, IndexError):
        message = str(answer.text)
    return RegistryNetworkDenied(
        target.login_server,
        message[:500],
        registry=target.name,
        public_network_access=target.public_network_access,
        default_action=target.network_default_action,
    )


# The temporary Docker config folders: `<tmp>/acr-action-docker-*`, each holding `.lock` locked
# (flock) by the run that made it for as long as the folder exists.
CONFIG_PREFIX = "acr-action-docker-"
_CONFIG_LOCK = ".lock"
# A folder without a lock file is another run's between `mkdtemp` and locking, unless it is older.
STALE_UNLOCKED_SECONDS = 60.0
# This process's config folders that exist now, for `remove_live_configs`.
_LIVE_CONFIGS: set[Path] = set()


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
    _LIVE_CONFIGS.add(folder)
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
        _LIVE_CONFIGS.discard(folder)
        if lock is not None:
            os.close(lock)


def remove_live_configs() -> None:
    """Remove this process's config folders now: the run is about to end without unwinding."""
    for folder in list(_LIVE_CONFIGS):
        shutil.rmtree(folder, ignore_errors=True)
        _LIVE_CONFIGS.discard(folder)


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
    cache: CachePlan = NO_CACHE,
    secrets: Sequence[tuple[str, str]] = (),
    ssh: Sequence[str] = (),
) -> list[str]:
    """The `docker build` command line (never carries a secret).

    `secrets` are (id, environment variable) pairs: the CLI reads each value from its environment
    (`--secret id=...,env=...`), so the value is on no command line and in no file. `ssh`: the
    `--ssh` values (`id[=path,...]`): paths of agent sockets and key files, never a key.
    """
    command = [docker, "build", "--progress", "plain", "--iidfile", str(iidfile)]
    if dockerfile:
        command += ["--file", dockerfile]
    for tag in tags:
        command += ["--tag", tag]
    for key, value in build_args:
        command += ["--build-arg", f"{key}={value}"]
    if cache.inline:
        command += ["--build-arg", "=".join(INLINE_CACHE_ARG)]
    for ref in cache.cache_from:
        command += ["--cache-from", ref]
    for secret_id, variable in secrets:
        command += ["--secret", f"id={secret_id},env={variable}"]
    for spec in ssh:
        command += ["--ssh", spec]
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


# How long a cancelled build's CLI gets to stop after SIGTERM before it is killed.
STOP_BUILD_SECONDS = 2.0


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
            # rather than leave it running on the daemon with nobody reading its log. Waited
            # for briefly: the runner sends SIGTERM 7.5 s after SIGINT, and cleanup comes next.
            process.terminate()
            try:
                process.wait(STOP_BUILD_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()  # the daemon cancels the build when the CLI's session ends
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
    target: RegistryFacts | None = None,
    client_id: str | None = None,
) -> PushResult:
    """Push every tag of `repository` with the null-GUID user; returns the manifest digest.

    The daemon retries a failed layer upload itself; a push that still fails transiently (the
    registry's 429/5xx on a blob or the manifest, a broken connection) is pushed again: layers
    already uploaded are skipped, so a repeat costs little. `client_id` (the app the run signs
    in as) goes into the role fix of a refused push.
    """
    auth = {"username": NULL_GUID, "password": refresh}
    digest = ""
    pushed: set[str] = set()
    existing: set[str] = set()
    retry = retrier or Retrier()

    import requests

    for tag in tags:
        try:
            one = partial(_push_tag, client, repository, tag, auth, pushed, existing)
            digest = retry.call("The registry (Docker push)", one, _push_verdict)
        except requests.RequestException as exc:  # the daemon itself did not answer, retries spent
            raise translate(DOCKER_ENGINE, exc) from exc
        except _PushError as exc:
            raise PushFailed(
                exc.image,
                exc.detail,
                target.name if target else None,
                abac=bool(target and target.abac),
                client_id=client_id,
            ) from None
        if digest:
            on_line(f"pushed {repository}:{tag} ({digest})")
    if not digest:
        raise PushFailed(repository, "the registry did not report a manifest digest")
    return PushResult(digest, len(pushed), len(existing - pushed))


def _push_tag(
    client: Any,
    repository: str,
    tag: str,
    auth: Mapping[str, str],
    pushed: set[str],
    existing: set[str],
) -> str:
    """Push one tag, noting layers `pushed` and `existing`; the manifest digest ("" if none)."""
    found = ""
    for event in client.api.push(repository, tag=tag, auth_config=auth, stream=True, decode=True):
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


def resolve_digest(client: Any, image: str, password: str | None) -> str:
    """The manifest digest of an existing image (deploys go by digest, so ACI never re-resolves a tag)."""
    auth = {"username": NULL_GUID, "password": password} if password else None
    try:
        data = client.api.inspect_distribution(image, auth_config=auth)
    except Exception as exc:
        raise ResourceMissing("image", image, str(exc)) from exc
    return str(data["Descriptor"]["digest"])
