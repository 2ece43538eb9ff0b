"""ACI's checks of probes and priority in a container group PUT (called by `aci_validate`).

Probes (Azure/azure-rest-api-specs containerInstance.json `ContainerProbe`): `exec.command` a
list of strings, `httpGet.port` required, `scheme` http or https; the integers are Kubernetes'
Probe fields and follow its rules (period, timeout and thresholds at least 1, initial delay at
least 0, a liveness probe's success threshold 1). ACI's codes for these are not recorded:
`InvalidContainerProbe` and its wording are [inferred].

Priority: `Regular` or `Spot` (ContainerGroupPriority). The codes and messages are ACI's own
(learn.microsoft.com troubleshoot/azure/azure-container-instances/configuration-setup/
error-codes-spot-container-creation): `PriorityNotSpecified` ("The 'Priority' must be one of
'Regular,Spot' for container group '{xyz}'."), `SpotPriorityContainerGroupNotSupportedForInboundConnectivity`
(a public IP address or a subnet), `SpotPriorityContainerGroupNotSupportedInSku` (only Standard),
`SpotPriorityContainerGroupWithGPUResourcesNotSupported`. The statuses (400) are [inferred].
"""

from __future__ import annotations

from typing import Any

PRIORITIES = ("Regular", "Spot")


def check(name: str, spec: dict[str, Any], props: dict[str, Any], error: type[Exception]) -> None:
    """Raise `error(status, code, message)` for a bad probe or priority; normalise the enums."""
    for container in props.get("containers") or []:
        cprops = container.get("properties") or {}
        for field in ("livenessProbe", "readinessProbe"):
            probe = cprops.get(field)
            if probe is not None:
                _check_probe(name, container.get("name"), field, probe, error)
    _check_priority(name, props, error)


def _probe_error(
    error: type[Exception], group: str, container: Any, field: str, why: str
) -> Exception:
    return error(
        400,
        "InvalidContainerProbe",  # [inferred]
        f"The {field} of container '{container}' in container group '{group}' is invalid: {why}.",
    )


def _check_probe(
    group: str, container: Any, field: str, probe: Any, error: type[Exception]
) -> None:
    if not isinstance(probe, dict):
        raise _probe_error(error, group, container, field, "it must be an object")
    kinds = [k for k in ("exec", "httpGet") if probe.get(k) is not None]
    if len(kinds) != 1:
        raise _probe_error(error, group, container, field, "set exactly one of exec or httpGet")
    if kinds == ["exec"]:
        command = probe["exec"].get("command")
        if (
            not isinstance(command, list)
            or not command
            or not all(isinstance(c, str) for c in command)
        ):
            raise _probe_error(error, group, container, field, "exec.command must list strings")
    else:
        http = probe["httpGet"]
        port = http.get("port")
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise _probe_error(error, group, container, field, "httpGet.port must be 1 to 65535")
        scheme = http.get("scheme")
        if scheme is not None:
            if str(scheme).lower() not in ("http", "https"):
                raise _probe_error(
                    error, group, container, field, "httpGet.scheme is http or https"
                )
            http["scheme"] = str(scheme).lower()
    for key, low in (
        ("initialDelaySeconds", 0),
        ("periodSeconds", 1),
        ("failureThreshold", 1),
        ("successThreshold", 1),
        ("timeoutSeconds", 1),
    ):
        value = probe.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < low
        ):
            raise _probe_error(error, group, container, field, f"{key} must be at least {low}")
    if field == "livenessProbe" and probe.get("successThreshold") not in (None, 1):
        raise _probe_error(error, group, container, field, "successThreshold must be 1")


def _check_priority(name: str, props: dict[str, Any], error: type[Exception]) -> None:
    priority = props.get("priority")
    if priority is None:
        return
    known = {p.lower(): p for p in PRIORITIES}.get(str(priority).lower())
    if known is None:
        raise error(
            400,
            "PriorityNotSpecified",
            f"The 'Priority' must be one of 'Regular,Spot' for container group '{name}'.",
        )
    props["priority"] = known
    if known != "Spot":
        return
    if props.get("ipAddress") or props.get("subnetIds"):
        raise error(
            400,
            "SpotPriorityContainerGroupNotSupportedForInboundConnectivity",
            "Spot Priority is not supported for container groups with inbound connectivity.",
        )
    sku = props.get("sku") or "Standard"
    if str(sku).lower() != "standard":
        raise error(
            400,
            "SpotPriorityContainerGroupNotSupportedInSku",
            f"Spot Priority Container Group is not supported in '{sku}' Sku.",
        )
    for container in props.get("containers") or []:
        requests = ((container.get("properties") or {}).get("resources") or {}).get(
            "requests"
        ) or {}
        if requests.get("gpu"):
            raise error(
                400,
                "SpotPriorityContainerGroupWithGPUResourcesNotSupported",
                "Spot Priority Container Groups that include containers requesting GPU resources"
                " are not supported.",
            )
