"""Azure Container Instances: create, update or recreate the group, wait until it really serves.

The step only succeeds when the app answers: the long-running operation finishing means ACI
started the containers, not that they stay up. So after the operation the group is polled
until every container is Running (a terminated or restarting container fails the step with its
exit code, its last log lines and the group's events), then the app is probed over HTTP.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .arm import translate
from .clock import Deadline
from .errors import ContainerFailed, ImagePullRefused, ImmutableChange, NotReady
from .spec import GroupSpec, Plan, diff, to_model

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient
    from azure.mgmt.containerinstance.models import ContainerGroup

    from .cloud import Endpoints

# ACI answers `Retry-After` on its operations; this is only the fallback when it doesn't.
POLL_SECONDS = 2.0
DEPENDENCY = "Azure Container Instances"


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
    credential: TokenCredential, endpoints: Endpoints, subscription_id: str
) -> ContainerInstanceManagementClient:
    """An ACI management client for this cloud."""
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient

    return ContainerInstanceManagementClient(
        credential,
        subscription_id,
        base_url=endpoints.resource_manager,
        credential_scopes=[endpoints.arm_scope],
        connection_timeout=10,
        read_timeout=60,
    )


def get_group(
    aci: ContainerInstanceManagementClient, resource_group: str, name: str
) -> ContainerGroup | None:
    """The existing container group, or None."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    try:
        return aci.container_groups.get(resource_group, name)
    except ResourceNotFoundError:
        return None
    except HttpResponseError as exc:
        raise translate(exc, DEPENDENCY, name=name, group=resource_group) from exc


def apply(
    aci: ContainerInstanceManagementClient,
    resource_group: str,
    spec: GroupSpec,
    existing: ContainerGroup | None,
    *,
    on_immutable_change: str,
    warn: Callable[[str], None],
) -> Plan:
    """Create, update or recreate the group as the plan says; returns the plan carried out."""
    from azure.core.exceptions import HttpResponseError

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
        delete(aci, resource_group, spec.name)
    try:
        poller = aci.container_groups.begin_create_or_update(
            resource_group, spec.name, to_model(spec), polling_interval=POLL_SECONDS
        )
        poller.result()
    except HttpResponseError as exc:
        error = translate(
            exc, DEPENDENCY, name=spec.name, group=resource_group, region=spec.location
        )
        if "InaccessibleImage" in str(exc) or "RegistryErrorResponse" in str(exc):
            raise ImagePullRefused(spec.image_ref, str(getattr(exc, "message", exc))) from exc
        raise error from exc
    return plan


def delete(aci: ContainerInstanceManagementClient, resource_group: str, name: str) -> bool:
    """Delete the group; True if it existed. Already gone is success."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    try:
        result = aci.container_groups.begin_delete(
            resource_group, name, polling_interval=POLL_SECONDS
        ).result()
    except ResourceNotFoundError:
        return False
    except HttpResponseError as exc:
        raise translate(exc, DEPENDENCY, name=name, group=resource_group) from exc
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
    poll: float = 1.0,
) -> ContainerGroup:
    """Poll until every container runs; a terminated or restarting container fails the step."""
    from azure.core.exceptions import HttpResponseError

    while True:
        try:
            group = aci.container_groups.get(resource_group, name)
        except HttpResponseError as exc:
            raise translate(exc, DEPENDENCY, name=name, group=resource_group) from exc
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
        time.sleep(poll)


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
    ip: str, port: int, path: str, host: str | None, deadline: Deadline, *, poll: float = 0.5
) -> int:
    """GET `http://ip:port/path` with `Host: host` until it answers below 500; returns the status."""
    last: str | int | None = None
    while True:
        connection = http.client.HTTPConnection(ip, port, timeout=5)
        try:
            connection.request(
                "GET",
                path,
                headers={"Host": host or ip, "User-Agent": "acr-action readiness probe"},
            )
            status = connection.getresponse().status
            if status < 500:
                return status
            last = status
        except OSError as exc:
            last = type(exc).__name__
        finally:
            connection.close()
        if deadline.remaining() <= 0:
            raise NotReady(f"http://{host or ip}:{port}{path}", last)
        time.sleep(poll)


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
