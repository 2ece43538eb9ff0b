"""Azure Container Instances: create, update or recreate the group, wait until it really serves.

The step only succeeds when the app answers: the long-running operation finishing means ACI
started the containers, not that they stay up. So after the operation the group is polled
until every container is Running (a terminated or restarting container fails the step with its
exit code, its last log lines and the group's events), then the app is probed over HTTP.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .arm import translate
from .clock import Deadline
from .errors import (
    ContainerFailed,
    DependencyUnavailable,
    ImagePullRefused,
    ImmutableChange,
    NotReady,
    StepTimeout,
)
from .retry import RETRY_STATUSES, Backoff, Retrier, Transient, retry_after
from .spec import GroupSpec, Plan, diff, to_model

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient
    from azure.mgmt.containerinstance.models import ContainerGroup

    from .cloud import Endpoints

# ACI answers `Retry-After` on its operations; this is only the fallback when it doesn't.
POLL_SECONDS = 2.0
DEPENDENCY = "Azure Container Instances"
CHECK = "https://status.azure.com (Container Instances, Resource Manager) and the runner's network"
# ARM refuses a PUT or DELETE while another operation on the group runs: ACI answers 409
# `ContainerGroupTransitioning` ("The container group '<name>' is still transitioning, please
# retry later."; learn.microsoft.com/troubleshoot/azure/azure-container-instances/, "Container
# group remains in a transitioning state"), other providers `AnotherOperationInProgress`, and
# ARM itself `Conflict` "Another operation on this or dependent resource is in progress."
IN_PROGRESS_CODES = frozenset({"ContainerGroupTransitioning", "AnotherOperationInProgress"})
# Another operation takes tens of seconds: wait longer between tries than for a 503.
CONFLICT_BACKOFF = Backoff(attempts=40, base=2.0, cap=10.0)
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


def failure(exc: Any, *, name: str = "", group: str = "", region: str = "") -> Exception:
    """The project's error for an Azure SDK exception from an ACI call."""
    from azure.core.exceptions import HttpResponseError

    if not isinstance(exc, HttpResponseError):  # no answer: dropped or timed out, retries spent
        return DependencyUnavailable(DEPENDENCY, type(exc).__name__, CHECK)
    if exc.status_code in RETRY_STATUSES:
        return DependencyUnavailable(DEPENDENCY, f"HTTP {exc.status_code}", CHECK)
    if in_progress(exc):
        code = exc.error.code if exc.error is not None else "Conflict"
        return DependencyUnavailable(
            DEPENDENCY,
            f"HTTP 409 {code}",
            f"what else is changing the group: `az container show --resource-group {group} "
            f"--name {name} --query provisioningState`; wait for it to finish",
        )
    return translate(exc, DEPENDENCY, name=name, group=group, region=region)


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
) -> Plan:
    """Create, update or recreate the group as the plan says; returns the plan carried out.

    A 409 "another operation is in progress" is waited out (within the deadline); the operation
    itself is waited for no longer than the deadline allows.
    """
    from azure.core.exceptions import AzureError, HttpResponseError

    plan = diff(existing, spec)
    if plan.action == "noop":
        return plan
    if plan.action == "recreate":
        if on_immutable_change == "fail":
            raise ImmutableChange(spec.name, plan.changed)
        warn(
            f"Recreating container group {spec.name}: {', '.join(plan.changed) or plan.reason} cannot change in place"
            " (ACI rejects it); the app is briefly unavailable."
        )
        delete(aci, resource_group, spec.name, deadline=deadline, retrier=retrier)
    retry = retrier or Retrier(deadline)

    def put() -> Any:
        return aci.container_groups.begin_create_or_update(
            resource_group, spec.name, to_model(spec), polling_interval=POLL_SECONDS
        )

    try:
        poller = retry.call(DEPENDENCY, put, _conflict_verdict, backoff=CONFLICT_BACKOFF)
    except HttpResponseError as exc:
        raise _deploy_failure(exc, spec, resource_group) from exc
    except AzureError as exc:
        raise failure(exc, name=spec.name, group=resource_group) from exc
    settle(poller, spec, resource_group, deadline)
    return plan


def settle(operation: Any, spec: GroupSpec, resource_group: str, deadline: Deadline | None) -> None:
    """Wait for the create/update operation to end; raise the error a failed one explains."""
    from azure.core.exceptions import AzureError, HttpResponseError

    try:
        _finish(operation, deadline, f"the deployment of {spec.name} ({DEPENDENCY})")
    except HttpResponseError as exc:
        raise _deploy_failure(exc, spec, resource_group) from exc
    except AzureError as exc:
        raise failure(exc, name=spec.name, group=resource_group) from exc


def _deploy_failure(exc: Any, spec: GroupSpec, resource_group: str) -> Exception:
    if "InaccessibleImage" in str(exc) or "RegistryErrorResponse" in str(exc):
        return ImagePullRefused(spec.image_ref, str(getattr(exc, "message", exc)))
    return failure(exc, name=spec.name, group=resource_group, region=spec.location)


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
        containers = group.containers or []
        states: list[str | None] = []
        for container in containers:
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
        if group.provisioning_state == "Failed":
            events = _events(group)
            if any("pull" in e.lower() or "inaccessible" in e.lower() for e in events):
                raise ImagePullRefused(
                    containers[0].image if containers else name, "\n".join(events)
                )
            raise ContainerFailed(containers[0].name if containers else name, None, "", events)
        if containers and all(state == "Running" for state in states):
            return group
        deadline.check("waiting for the containers to run")
        time.sleep(min(poll, max(0.0, deadline.remaining())))
        if time.monotonic() - started > eager_seconds:  # then back off: ARM reads are budgeted
            poll = min(poll * 1.5, max_poll)


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
) -> int:
    """GET `http://ip:port/path` with `Host: host` until it answers below 500; returns the status.

    A retry is logged (through `log`) when the answer differs from the last one logged, else at
    most every `PROBE_LOG_SECONDS`; an app's `Retry-After` is honoured, within the deadline. The
    app is the user's own, so the probe keeps trying until the deadline.
    """
    last: str | int | None = None
    attempt = 0
    logged: tuple[str, float] | None = None  # what the last retry line said, and when
    url = f"http://{host or ip}:{port}{path}"
    while True:
        attempt += 1
        wait = poll
        connection = http.client.HTTPConnection(
            ip, port, timeout=max(0.5, min(5.0, deadline.remaining()))
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
        finally:
            connection.close()
        left = deadline.remaining()
        if left <= 0:
            raise NotReady(url, last)
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
