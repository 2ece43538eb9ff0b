"""Azure Container Instances: create, update or recreate the group, wait until it really serves.

The step only succeeds when the app answers: the long-running operation finishing means ACI
started the containers, not that they stay up. So after the operation the group is polled
until every container is Running (a terminated or restarting container fails the step with its
exit code, its last log lines and the group's events), then the app is probed over HTTP.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import tls
from .arm import explain
from .clock import Deadline
from .errors import (
    ActionError,
    CannotKeep,
    ContainerFailed,
    ImagePullRefused,
    ImmutableChange,
    NotReady,
    RecreateFailed,
    StepTimeout,
)
from .failures import CONTAINER_INSTANCES, REGISTRY, Dependency, translate
from .keep import lost_secrets
from .registry import MANIFEST_TYPES, parse_challenge
from .retry import RETRY_STATUSES, Backoff, Retrier, Transient, retry_after
from .spec import (
    GroupSpec,
    Plan,
    RegistryCredential,
    diff,
    immutable_changes,
    resolve,
    servers,
    to_model,
)
from .specfile import defines as specfile_defines

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient
    from azure.mgmt.containerinstance.models import ContainerGroup

    from .cloud import Endpoints

# ACI answers `Retry-After` on its operations; this is only the fallback when it doesn't.
POLL_SECONDS = 2.0
DEPENDENCY = CONTAINER_INSTANCES.name
# ARM refuses a PUT or DELETE while another operation on the group runs: ACI answers 409
# `ContainerGroupTransitioning` ("The container group '<name>' is still transitioning, please
# retry later."; learn.microsoft.com/troubleshoot/azure/azure-container-instances/, "Container
# group remains in a transitioning state"), other providers `AnotherOperationInProgress`, and
# ARM itself `Conflict` "Another operation on this or dependent resource is in progress."
IN_PROGRESS_CODES = frozenset({"ContainerGroupTransitioning", "AnotherOperationInProgress"})
# Another operation takes tens of seconds: wait longer between tries than for a 503.
CONFLICT_BACKOFF = Backoff(attempts=40, base=2.0, cap=10.0)
# While the create/update operation runs, the group is read this often to spot a stuck pull.
WATCH_SECONDS = 5.0
# Provisioning states that end a wait: the platform gave up on the group (the enum of the 2024+
# api-versions, azure-sdk-for-net containerinstance autorest.md; Canceled: the operation was).
BROKEN_STATES = frozenset({"failed", "unhealthy", "notaccessible", "canceled"})
# The readiness probe retries every half second for as long as the app starts: it logs a retry
# when the answer changes, and otherwise at most once per this many seconds.
PROBE_LOG_SECONDS = 5.0


@dataclass(frozen=True)
class Deployed:
    """The group as it runs after the deploy."""

    group_id: str
    name: str
    state: str
    ip: str | None
    fqdn: str | None
    ports: tuple[int, ...]
    plan: Plan


def client(
    credential: TokenCredential,
    endpoints: Endpoints,
    subscription_id: str,
    *,
    options: Mapping[str, Any] | None = None,
) -> ContainerInstanceManagementClient:
    """An ACI management client for this cloud (`options`: `retry.azure_options`)."""
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient

    settings: dict[str, Any] = {"connection_timeout": 10, "read_timeout": 60, **(options or {})}
    return ContainerInstanceManagementClient(
        credential,
        subscription_id,
        base_url=endpoints.resource_manager,
        credential_scopes=[endpoints.arm_scope],
        api_version=endpoints.api_versions.container_groups,
        **settings,
    )


def in_progress(exc: Any) -> bool:
    """Is this ARM answer "another operation on the resource is in progress" (409)?"""
    if getattr(exc, "status_code", None) != 409:
        return False
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or ""
    message = str(getattr(error, "message", None) or getattr(exc, "message", "") or "")
    return code in IN_PROGRESS_CODES or (code == "Conflict" and "in progress" in message.lower())


def _conflict_verdict(outcome: Any) -> Transient | None:
    if not in_progress(outcome):
        return None
    code = getattr(getattr(outcome, "error", None), "code", None) or "Conflict"
    response = getattr(outcome, "response", None)
    headers = getattr(response, "headers", None) or {}
    return Transient(
        f"answered HTTP 409 {code} (another operation on the group is still running)",
        retry_after(headers.get("Retry-After")),
    )


def failure(exc: Any, *, name: str = "", group: str = "", region: str = "") -> ActionError:
    """The project's error for an Azure SDK exception from an ACI call."""

    def explained(exc: Any) -> ActionError:
        if in_progress(exc):  # still busy after the conflict retries
            code = exc.error.code if exc.error is not None else "Conflict"
            busy = CONTAINER_INSTANCES.at(
                check=f"what else is changing the group: `az container show --resource-group "
                f"{group} --name {name} --query provisioningState`; wait for it to finish"
            )
            return busy.down(f"HTTP 409 {code}")
        return explain(exc, DEPENDENCY, name=name, group=group, region=region)

    return translate(CONTAINER_INSTANCES, exc, explain=explained)


def _finish(poller: Any, deadline: Deadline | None, phase: str) -> Any:
    """The long-running operation's result, waiting no longer than the run may last."""
    if deadline is None:
        return poller.result()
    poller.wait(timeout=deadline.remaining())  # raises the operation's error, if any
    if not poller.done():
        raise StepTimeout(phase, deadline.seconds)
    return poller.result()


def get_group(
    aci: ContainerInstanceManagementClient, resource_group: str, name: str
) -> ContainerGroup | None:
    """The existing container group, or None."""
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

    try:
        return aci.container_groups.get(resource_group, name)
    except ResourceNotFoundError:
        return None
    except (HttpResponseError, AzureError) as exc:
        raise failure(exc, name=name, group=resource_group) from exc


def apply(
    aci: ContainerInstanceManagementClient,
    resource_group: str,
    spec: GroupSpec,
    existing: ContainerGroup | None,
    *,
    on_immutable_change: str,
    warn: Callable[[str], None],
    deadline: Deadline | None = None,
    retrier: Retrier | None = None,
    on_created: Callable[[], None] | None = None,
) -> Plan:
    """Create, update or recreate the group as the plan says; returns the plan carried out.

    `on_created` runs once a create's PUT is accepted (the group is listed from then on) and
    before its operation is waited for; it may raise to stop there (`preview.recount`).

    A 409 "another operation is in progress" is waited out (within the deadline); the operation
    itself is waited for no longer than the deadline allows. A recreate first proves that the
    new image is readable with the group's credentials, so a refusal leaves the old group up;
    a create that fails after the delete is reported as `RecreateFailed`.
    """
    spec = resolve(spec, existing)
    plan = diff(existing, spec)
    if plan.action == "noop":
        return plan
    # Checked before anything changes: a PUT would send these secrets empty (keep.py).
    our_volumes = frozenset(v.name for v in spec.volumes) | frozenset(tls.managed_volumes(spec))
    lost = (
        lost_secrets(
            existing,
            spec.container_name,
            servers(spec),
            our_volumes,
            replaced=specfile_defines(spec) + tls.managed(spec),
            log_analytics_given=spec.log_analytics is not None,
        )
        if existing
        else []
    )
    if lost:
        raise CannotKeep(spec.name, resource_group, lost)
    retry = retrier or Retrier(deadline)
    if plan.action == "recreate":
        immutable = immutable_changes(existing, spec)
        # The input guards against taking a running app down for a change; a group that is
        # broken or stopped has no app up to protect.
        if immutable and on_immutable_change == "fail":
            raise ImmutableChange(spec.name, immutable)
        # ACI would refuse an unreadable image only at the create, after the delete.
        check_pullable(spec, retrier=retry)
        warn(
            f"Recreating container group {spec.name}: {_join(immutable)} cannot change in place"
            " (ACI rejects it); the app is briefly unavailable."
            if immutable
            else f"Recreating container group {spec.name}: {plan.reason}."
        )
        delete(aci, resource_group, spec.name, deadline=deadline, retrier=retrier)
    try:
        _put(
            aci,
            resource_group,
            spec,
            existing,
            deadline,
            retry,
            on_accepted=on_created if plan.action == "create" else None,
        )
    except ActionError as exc:
        if plan.action == "recreate":
            raise RecreateFailed(spec.name, exc) from exc
        raise
    return plan


def _put(
    aci: ContainerInstanceManagementClient,
    resource_group: str,
    spec: GroupSpec,
    existing: ContainerGroup | None,
    deadline: Deadline | None,
    retry: Retrier,
    *,
    on_accepted: Callable[[], None] | None = None,
) -> None:
    """PUT the group built on `existing` (waiting out a 409) and wait for the operation."""
    from azure.core.exceptions import AzureError, HttpResponseError

    def put() -> Any:
        return aci.container_groups.begin_create_or_update(
            resource_group, spec.name, to_model(spec, existing), polling_interval=POLL_SECONDS
        )

    try:
        poller = retry.call(DEPENDENCY, put, _conflict_verdict, backoff=CONFLICT_BACKOFF)
    except HttpResponseError as exc:
        raise _deploy_failure(exc, spec, resource_group) from exc
    except AzureError as exc:
        raise failure(exc, name=spec.name, group=resource_group) from exc
    if on_accepted is not None:
        on_accepted()

    def watch() -> None:
        # An image ACI accepted but cannot fetch keeps the operation running until Azure gives
        # up, half an hour later (Azure/dev-box-images#17); the group's events say why long
        # before. Read errors are left to the operation's own polling.
        try:
            group = aci.container_groups.get(resource_group, spec.name)
        except AzureError:
            return
        raise_if_stuck(group)

    settle(poller, spec, resource_group, deadline, watch=watch)


def settle(
    operation: Any,
    spec: GroupSpec,
    resource_group: str,
    deadline: Deadline | None,
    *,
    watch: Callable[[], None] | None = None,
) -> None:
    """Wait for the create/update operation to end; raise the error a failed one explains.

    `watch` runs every `WATCH_SECONDS` while the operation lasts and may raise to stop waiting.
    """
    from azure.core.exceptions import AzureError, HttpResponseError

    phase = f"the deployment of {spec.name} ({DEPENDENCY})"
    try:
        while watch is not None and not operation.done():
            left = deadline.remaining() if deadline is not None else WATCH_SECONDS
            if left <= 0:
                raise StepTimeout(phase, deadline.seconds if deadline is not None else 0)
            operation.wait(timeout=min(WATCH_SECONDS, left))
            if not operation.done():
                watch()
        _finish(operation, deadline, phase)
    except HttpResponseError as exc:
        raise _deploy_failure(exc, spec, resource_group) from exc
    except AzureError as exc:
        raise failure(exc, name=spec.name, group=resource_group) from exc


def _deploy_failure(exc: Any, spec: GroupSpec, resource_group: str) -> Exception:
    if "InaccessibleImage" in str(exc) or "RegistryErrorResponse" in str(exc):
        return ImagePullRefused(
            spec.image_ref, str(getattr(exc, "message", exc)), identity=_pull_identity(spec)
        )
    return failure(exc, name=spec.name, group=resource_group, region=spec.location)


def _pull_identity(spec: GroupSpec) -> str | None:
    return spec.registry_identity.resource_id if spec.registry_identity is not None else None


_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class ImageRef:
    """An image reference split the way Docker splits it."""

    registry: str  # as a credential names it: "myreg.azurecr.io", "index.docker.io"
    repository: str
    reference: str  # a tag or a digest

    @property
    def api_host(self) -> str:
        """Where the registry API answers (Docker Hub's differs from its name)."""
        return "registry-1.docker.io" if self.registry in _DOCKER_HUB else self.registry


def parse_image(image: str) -> ImageRef:
    """Split `host/repo:tag` or `host/repo@digest`; no host means Docker Hub."""
    name, at, digest = image.partition("@")
    reference = digest if at else "latest"
    if not at:
        slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > slash:
            name, reference = name[:colon], name[colon + 1 :]
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return ImageRef(first.lower(), rest, reference)
    repository = name if "/" in name else f"library/{name}"
    return ImageRef("index.docker.io", repository, reference)


def check_pullable(spec: GroupSpec, *, retrier: Retrier | None = None, timeout: float = 20) -> None:
    """Prove the group's own registry credentials can read its image; else `ImagePullRefused`.

    A manifest request as the registry API documents it: ask without credentials, answer the
    Bearer challenge at its realm with the group's login as Basic auth (github.com/Azure/acr
    docs/Token-BasicAuth.md: `GET /oauth2/token?service=&scope=repository:<repo>:pull`), and ask
    again with the token. Run before deleting a group, so that a wrong image or credential
    stops the run while the old group still serves.
    """
    if spec.registry_identity is not None:
        # The runner cannot sign in as the group's managed identity; ACI checks the pull itself
        # (InaccessibleImage), only after the delete.
        return
    ref = parse_image(spec.image_ref)
    login = next(
        (
            c
            for c in spec.registry_credentials
            if c.server.lower() == ref.registry
            or (ref.registry in _DOCKER_HUB and c.server.lower() in _DOCKER_HUB)
        ),
        None,
    )
    dependency = REGISTRY.at(
        name=f"the registry {ref.registry}",
        check=f"https://{ref.api_host}/v2/ answers, and the runner's network",
    )
    answer = _manifest_head(retrier or Retrier(), dependency, ref, login, timeout)
    if answer.status_code != 200:
        who = f"as {login.username}" if login else "without credentials (none is set for it)"

        def refused(answer: Any) -> ImagePullRefused:
            return ImagePullRefused(
                spec.image_ref,
                f"A manifest request to {ref.registry} {who} answered HTTP {answer.status_code}"
                f"{_registry_code(answer)}. Checked before deleting container group {spec.name} "
                "to recreate it: the existing group was left as it is.",
            )

        raise translate(dependency, answer, explain=refused)


def _manifest_head(
    retry: Retrier,
    dependency: Dependency,
    ref: ImageRef,
    login: RegistryCredential | None,
    timeout: float,
) -> Any:
    """HEAD the image's manifest, answering a Bearer or Basic challenge with `login`."""
    import requests

    registry = dependency.name
    url = f"https://{ref.api_host}/v2/{ref.repository}/manifests/{ref.reference}"
    accept = {"Accept": MANIFEST_TYPES}
    basic = (login.username, login.password) if login else None
    try:
        answer = retry.http(registry, "HEAD", url, headers=accept, read=timeout)
        challenge = answer.headers.get("WWW-Authenticate", "")
        if answer.status_code == 401 and challenge.lower().startswith("bearer"):
            params = parse_challenge(challenge)
            query = {"scope": f"repository:{ref.repository}:pull"}
            if params.get("service"):
                query["service"] = params["service"]
            realm = params.get("realm", "")
            granted = retry.http(registry, "GET", realm, params=query, auth=basic, read=timeout)
            if granted.status_code != 200:
                return granted
            body = granted.json()
            token = body.get("token") or body.get("access_token") or ""
            bearer = {**accept, "Authorization": f"Bearer {token}"}
            return retry.http(registry, "HEAD", url, headers=bearer, read=timeout)
        if answer.status_code == 401 and basic is not None:
            return retry.http(registry, "HEAD", url, headers=accept, auth=basic, read=timeout)
    except (requests.RequestException, ValueError) as exc:
        raise translate(dependency, exc) from exc
    return answer


def _registry_code(answer: Any) -> str:
    """` (CODE)` from a registry error body, when it has one."""
    try:
        errors = answer.json().get("errors") or []
        code = errors[0].get("code") if errors else None
    except (ValueError, AttributeError):
        return ""
    return f" ({code})" if isinstance(code, str) and code else ""


def delete(
    aci: ContainerInstanceManagementClient,
    resource_group: str,
    name: str,
    *,
    deadline: Deadline | None = None,
    retrier: Retrier | None = None,
) -> bool:
    """Delete the group; True if it existed. Already gone is success."""
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

    retry = retrier or Retrier(deadline)

    def start() -> Any:
        return aci.container_groups.begin_delete(
            resource_group, name, polling_interval=POLL_SECONDS
        )

    try:
        poller = retry.call(DEPENDENCY, start, _conflict_verdict, backoff=CONFLICT_BACKOFF)
        result = _finish(poller, deadline, f"the deletion of {name} ({DEPENDENCY})")
    except ResourceNotFoundError:
        return False
    except (HttpResponseError, AzureError) as exc:
        raise failure(exc, name=name, group=resource_group) from exc
    return result is not None


def _events(group: ContainerGroup) -> list[str]:
    lines = []
    for event in getattr(group.instance_view, "events", None) or []:
        lines.append(f"{event.name}: {event.message}")
    for container in group.containers or []:
        view = container.instance_view
        for event in (view.events if view is not None else None) or []:
            lines.append(f"{container.name}: {event.name}: {event.message}")
    return lines[-20:]


def _pull_errors(group: ContainerGroup) -> list[str]:
    """The pull-failure events of containers still Waiting for their image, if any.

    ACI passes on the kubelet's events: `Failed` 'Failed to pull image "..."' and `BackOff`
    'Back-off pulling image "..."', both of type Warning.
    """
    stuck: list[str] = []
    for container in group.containers or []:
        view = container.instance_view
        current = view.current_state if view is not None else None
        if view is None or (current is not None and current.state not in (None, "Waiting")):
            continue
        for event in view.events or []:
            text = f"{event.name or ''} {event.message or ''}".lower()
            if (event.type or "").lower() == "warning" and "pull" in text:
                stuck.append(f"{container.name}: {event.name}: {event.message}")
    return stuck


def raise_if_stuck(group: ContainerGroup) -> None:
    """Raise `ImagePullRefused` with the events when a container waits on a failing pull."""
    stuck = _pull_errors(group)
    if stuck:
        containers = group.containers or []
        raise ImagePullRefused(
            containers[0].image if containers else str(group.name), "\n".join(stuck[-20:])
        )


def wait_running(
    aci: ContainerInstanceManagementClient,
    resource_group: str,
    name: str,
    deadline: Deadline,
    *,
    log_lines: int = 40,
    poll: float = 0.2,
    max_poll: float = 2.0,
    eager_seconds: float = 3.0,
) -> ContainerGroup:
    """Poll, after the create/update operation, until every container runs.

    A terminated or restarting container fails the step. Polls are short for the first seconds
    (containers usually run within seconds of the operation ending), then back off.
    """
    from azure.core.exceptions import AzureError

    started = time.monotonic()
    while True:
        try:
            group = aci.container_groups.get(resource_group, name)
        except AzureError as exc:
            raise failure(exc, name=name, group=resource_group) from exc
        states = _running_states(aci, resource_group, name, group, log_lines)
        _raise_if_broken(group, name)
        if group.containers and all(state == "Running" for state in states):
            return group
        deadline.check("waiting for the containers to run")
        time.sleep(min(poll, max(0.0, deadline.remaining())))
        if time.monotonic() - started > eager_seconds:  # then back off: ARM reads are budgeted
            poll = min(poll * 1.5, max_poll)


def _running_states(
    aci: ContainerInstanceManagementClient,
    resource_group: str,
    name: str,
    group: ContainerGroup,
    log_lines: int,
) -> list[str | None]:
    """Each container's state; a terminated or restarted container fails with its logs."""
    states: list[str | None] = []
    for container in group.containers or []:
        view = container.instance_view
        current = view.current_state if view is not None else None
        state = current.state if current is not None else None
        restarts = view.restart_count if view is not None else 0
        if state == "Terminated" or (restarts or 0) > 0:
            exit_code = current.exit_code if current is not None else None
            if exit_code is None and view is not None and view.previous_state is not None:
                exit_code = view.previous_state.exit_code
            raise ContainerFailed(
                container.name,
                exit_code,
                _logs(aci, resource_group, name, container.name, log_lines),
                _events(group),
            )
        states.append(state)
    return states


def _raise_if_broken(group: ContainerGroup, name: str) -> None:
    """Fail now when nothing will start: the platform gave up, a pull keeps failing, or the
    group was stopped while this run waited."""
    containers = group.containers or []
    first = containers[0].name if containers else name
    provisioning = group.provisioning_state or ""
    if provisioning.lower() in BROKEN_STATES:
        events = _events(group)
        if any("pull" in e.lower() or "inaccessible" in e.lower() for e in events):
            raise ImagePullRefused(containers[0].image if containers else name, "\n".join(events))
        raise ContainerFailed(first, None, "", [*events, f"provisioningState: {provisioning}"])
    raise_if_stuck(group)
    if (getattr(group.instance_view, "state", None) or "") == "Stopped":
        # Someone ran `az container stop` while this run waited: nothing will start.
        raise ContainerFailed(first, None, "", [*_events(group), "the container group was stopped"])


def _logs(
    aci: ContainerInstanceManagementClient,
    resource_group: str,
    name: str,
    container: str,
    tail: int,
) -> str:
    try:
        return str(
            aci.containers.list_logs(resource_group, name, container, tail=tail).content or ""
        )
    except Exception as exc:
        return f"(logs unavailable: {type(exc).__name__})"


def probe(
    ip: str,
    port: int,
    path: str,
    host: str | None,
    deadline: Deadline,
    *,
    poll: float = 0.5,
    log: Callable[[str], None] | None = None,
    https: bool = False,
) -> int:
    """GET `http://ip:port/path` with `Host: host` until it answers below 500; returns the status.

    A retry is logged (through `log`) when the answer differs from the last one logged, else at
    most every `PROBE_LOG_SECONDS`; an app's `Retry-After` is honoured, within the deadline. The
    app is the user's own, so the probe keeps trying until the deadline.
    """
    last: str | int | None = None
    untrusted: str | None = None  # why the last certificate served did not verify
    attempt = 0
    logged: tuple[str, float] | None = None  # what the last retry line said, and when
    url = f"{'https' if https else 'http'}://{host or ip}:{port}{path}"
    while True:
        attempt += 1
        wait = poll
        timeout = max(0.5, min(5.0, deadline.remaining()))
        connection = (
            tls.connection(ip, port, host or ip, timeout)
            if https
            else http.client.HTTPConnection(ip, port, timeout=timeout)
        )
        try:
            connection.request(
                "GET",
                path,
                headers={"Host": host or ip, "User-Agent": "acr-action readiness probe"},
            )
            response = connection.getresponse()
            status = response.status
            # Below 500 means the app is up; 408 and 429 say "not yet", like a 503.
            if status < 500 and status not in RETRY_STATUSES:
                return status
            last = status
            asked = retry_after(response.getheader("Retry-After"))
            wait = poll if asked is None else max(poll, asked)
            what = f"answered HTTP {status}"
        except OSError as exc:
            last = type(exc).__name__
            what = f"did not answer ({last})"
            untrusted = None
            if isinstance(exc, ssl.SSLCertVerificationError):
                untrusted = str(exc.verify_message or exc.reason)
                what = f"served a certificate that does not verify ({untrusted})"
        finally:
            connection.close()
        left = deadline.remaining()
        if left <= 0:
            raise NotReady(url, last, untrusted=untrusted)
        wait = min(wait, left)
        now = time.monotonic()
        if log is not None and (
            logged is None or logged[0] != what or now - logged[1] >= PROBE_LOG_SECONDS
        ):
            log(f"Readiness probe {url} {what}; retrying in {wait:.1f} s (attempt {attempt + 1})")
            logged = (what, now)
        time.sleep(wait)


def describe(group: ContainerGroup, plan: Plan) -> Deployed:
    """The outputs-relevant facts of a deployed group."""
    address: Any = group.ip_address
    ports = tuple(p.port for p in (address.ports if address is not None else None) or [])
    view = group.instance_view
    return Deployed(
        group_id=str(group.id),
        name=str(group.name),
        state=str(view.state if view is not None and view.state else group.provisioning_state),
        ip=address.ip if address is not None else None,
        fqdn=address.fqdn if address is not None else None,
        ports=ports,
        plan=plan,
    )


def _join(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
