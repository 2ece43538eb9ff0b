"""What the action keeps of an existing container group: everything it does not manage.

A container group PUT replaces the whole group: "If you don't set a value for a property, it
reverts to its default value" (learn.microsoft.com/azure/container-instances/
container-instances-update). So the group to PUT starts as the existing one, read by a GET, and
the action changes only its own parts: the container named after the group (image, command,
ports, environment, cpu and memory requests), the group's ports, DNS label, restart policy, OS
type, tags and the login of the registry it pulls from. Everything else goes back as it was:
volumes, the managed identity, subnets, DNS configuration, Log Analytics, probes, GPU and limits,
security context, init containers, other containers (sidecars), zones, SKU, priority, encryption
and confidential-compute properties, and the IP address type (public, private, none).

## What a GET does not return
The 2023-05-01 REST spec (Azure/azure-rest-api-specs, containerInstance.json) marks read-only
what the service sets: provisioningState, every instanceView (states, events, restart counts),
`ipAddress.fqdn`, the identity's principalId, tenantId and clientId, and the resource's id, name
and type. The SDK drops those when it serializes a model (`keep_readonly=False`); `ipAddress.ip`
is not marked read-only but is the address the service gave, so it is dropped too.

The same spec marks secrets `x-ms-secret`, which ARM never returns: environment `secureValue`,
registry `password`, Log Analytics `workspaceKey` (and `workspaceResourceId`). Its GET example
answers an Azure Files volume without `storageAccountKey`, and its create-or-update example a
secret volume as `"secret": {}`. Sent back, these would arrive empty; an app losing a secret
silently is worse than a deploy that stops, so `lost_secrets` names them and the deploy stops
before any change (`errors.CannotKeep`). A registry login without a password is dropped when no
kept container pulls from that registry, and so is not a loss. The Log Analytics key is not a
loss either when the action sends it itself: `log-analytics-workspace` names the workspace, or
an earlier deploy tagged the group with it (`loganalytics.WORKSPACE_TAG`), and its key is read
through ARM again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.mgmt.containerinstance.models import (
        Container,
        ContainerGroup,
        ImageRegistryCredential,
        InitContainerDefinition,
    )


def base(existing: ContainerGroup | None) -> ContainerGroup:
    """A copy of `existing` without what the service sets, to build the PUT on; or a new group."""
    from azure.mgmt.containerinstance.models import ContainerGroup

    if existing is None:
        return ContainerGroup(containers=[], os_type="Linux")
    group: ContainerGroup = ContainerGroup.deserialize(existing.serialize(keep_readonly=False))
    if group.ip_address is not None:
        group.ip_address.ip = None
    return group


def others(group: ContainerGroup, container_name: str) -> list[Container | InitContainerDefinition]:
    """The containers the action does not manage: sidecars and init containers."""
    kept: list[Container | InitContainerDefinition] = [
        c for c in group.containers or [] if c.name != container_name
    ]
    return kept + list(group.init_containers or [])


def kept_credentials(
    existing: ContainerGroup | None, ours: frozenset[str]
) -> list[ImageRegistryCredential]:
    """The existing registry logins to send again: not for `ours` (servers, lower case), complete."""
    if existing is None:
        return []
    return [
        c
        for c in existing.image_registry_credentials or []
        if (c.server or "").lower() not in ours and (c.identity or c.password)
    ]


def lost_secrets(
    existing: ContainerGroup,
    container_name: str,
    ours: frozenset[str],
    our_volumes: frozenset[str] = frozenset(),
    *,
    replaced: tuple[str, ...] = (),
    log_analytics_given: bool = False,
) -> list[str]:
    """What a PUT of `existing` with our container and logins (`ours`: their servers) changed
    would send empty, as phrases for the error. `our_volumes`: the volumes the inputs name,
    whose secrets the action sends itself (volumes.py); `replaced`: containers the spec file
    defines anew, whose old secrets are not sent back. With `log_analytics_given` the action
    sends the workspace's key itself (`log-analytics-workspace`), so the one the GET hides is no
    loss."""
    lost: list[str] = []
    kept = [c for c in others(existing, container_name) if c.name not in replaced]
    for container in kept:
        kind = "init container" if not hasattr(container, "resources") else "container"
        for variable in container.environment_variables or []:
            # The GET shows a secure variable by its name only.
            if variable.value is None and variable.secure_value is None:
                lost.append(
                    f"secure environment variable `{variable.name}` of {kind} `{container.name}`"
                )
    lost += _lost_logins(existing, ours, kept)
    for volume in existing.volumes or []:
        if volume.name in our_volumes:
            continue
        if volume.azure_file is not None and not volume.azure_file.storage_account_key:
            lost.append(f"storage account key of Azure Files volume `{volume.name}`")
        if volume.secret is not None:
            lost.append(f"contents of secret volume `{volume.name}`")
    log_analytics = existing.diagnostics.log_analytics if existing.diagnostics else None
    if log_analytics is not None and not log_analytics.workspace_key and not log_analytics_given:
        lost.append("Log Analytics workspace key (diagnostics.logAnalytics)")
    return lost


def _lost_logins(
    existing: ContainerGroup,
    ours: frozenset[str],
    kept: list[Container | InitContainerDefinition],
) -> list[str]:
    """Registry passwords a kept container needs and the GET did not return."""
    lost = []
    for login in existing.image_registry_credentials or []:
        server = (login.server or "").lower()
        if server in ours or login.identity or login.password:
            continue
        users = [c.name for c in kept if (c.image or "").lower().startswith(server + "/")]
        if users:
            lost.append(
                f"password of the registry login `{login.username}` for `{login.server}`, "
                f"which `{users[0]}` pulls with"
            )
    return lost
