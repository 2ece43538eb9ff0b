"""ACI request validation and response shaping: what a container group PUT may say, and what comes back.

Codes and messages follow PROTOCOL.md §6 and aci_error_examples.md; where no real text exists the
message is marked [inferred] and keeps ARM's envelope. Responses never carry secrets: secure
environment values, registry passwords, storage account keys, secret-volume contents and Log
Analytics workspace keys are dropped, as ACI drops them.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from . import aci_features

# Limits of a Linux container group in a standard region (ACI "resource availability" table).
MAX_GROUP_CPU = 4.0
MAX_GROUP_MEMORY_GB = 16.0

RESTART_POLICIES = ("Always", "OnFailure", "Never")
OS_TYPES = ("Linux", "Windows")
IP_TYPES = ("Public", "Private")
PROTOCOLS = ("TCP", "UDP")
IDENTITY_TYPES = ("SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None")
LABEL_SCOPES = ("Unsecure", "TenantReuse", "SubscriptionReuse", "ResourceGroupReuse", "Noreuse")

# ARM resource names for containerGroups: 1-63 lower-case letters, digits and hyphens, no hyphen at
# either end and no "--" (the naming-rules table of Microsoft.ContainerInstance).
GROUP_NAME = re.compile(r"(?!-)(?!.*--)[a-z0-9-]{1,63}(?<!-)")
# The container name rule as ACI words it (MicrosoftDocs/azure-docs#15546).
CONTAINER_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# The DNS label rule as the portal message states it (PROTOCOL.md §6).
DNS_LABEL = re.compile(r"[a-z][a-z0-9-]{3,61}[a-z0-9]")


class AciError(Exception):
    """A synchronous ARM error answer of a container group request."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def normalize_location(location: str) -> str:
    """ARM's canonical region name: 'West Europe' -> 'westeurope'."""
    return location.replace(" ", "").lower()


def _invalid_content(message: str) -> AciError:
    # ARM's deserialisation failure envelope (code InvalidRequestContent) [inferred wording of the detail].
    return AciError(
        400,
        "InvalidRequestContent",
        f"The request content was invalid and could not be deserialized: '{message}'.",
    )


def _required(obj: dict[str, Any], key: str, path: str) -> Any:
    value = obj.get(key)
    if value is None:
        raise _invalid_content(f"Required property '{key}' not found in JSON. Path '{path}'")
    return value


def _enum(value: Any, allowed: tuple[str, ...], type_name: str, path: str) -> str:
    """Enums are matched case-insensitively by ARM and stored in their canonical spelling."""
    for item in allowed:
        if isinstance(value, str) and value.lower() == item.lower():
            return item
    raise _invalid_content(
        f"Error converting value \"{value}\" to type '{type_name}'. Path '{path}'"
    )


def _requests(cprops: dict[str, Any], cname: str, name: str) -> dict[str, Any]:
    """A container's resource requests, refused as ACI refuses missing ones.

    Wording as users quoted it when azure-cli 2.67 stopped defaulting --cpu and --memory
    (MicrosoftLearning/mslearn-azure-developer#67, MicrosoftDocs/azure-docs-cli#4812, whose
    'Cpu' variant shows how the given requests are rendered). The 'MemoryInGB' variant and the
    status are [inferred].
    """
    resources = cprops.get("resources")
    requests = resources.get("requests") if isinstance(resources, dict) else None
    if not isinstance(requests, dict) or all(
        requests.get(key) is None for key in ("cpu", "memoryInGB")
    ):
        raise AciError(
            400,
            "ResourceRequestsNotSpecified",
            f"The resource requests are not specified in container '{cname}' of contain group"
            f" '{name}'. Both memory and CPU requests are required since API version"
            " '2017-07-01-preview'.",
        )
    for key, label in (("cpu", "Cpu"), ("memoryInGB", "MemoryInGB")):
        if requests.get(key) is None:
            given = " ".join(
                f"{shown} '{_given(requests.get(field))}'"
                for field, shown in (("memoryInGB", "MemoryInGB"), ("cpu", "Cpu"))
            )
            raise AciError(
                400,
                "ResourceSomeRequestsNotSpecified",
                f"The '{label}' request is not specified in '{given}' in container '{cname}' of"
                f" contain group '{name}'. It is required since API version '2017-07-01-preview'.",
            )
    return requests


def _given(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _fmt(float(value))
    return str(value)


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid_content(f"Could not convert {value!r} to double. Path '{path}'")
    return float(value)


@dataclass(frozen=True)
class Immutable:
    """What cannot change on an existing group.

    "Properties that require container delete" of the container-instances-update page: OS type;
    CPU, memory or GPU resources; restart policy; network profile; availability zone. Ports are
    not on it (they were until 2019) and update in place.
    """

    os_type: str
    restart_policy: str
    resources: tuple[tuple[str, float, float, str], ...]
    network: tuple[str, tuple[str, ...]]
    zones: tuple[str, ...]


def validate(name: str, body: Any) -> dict[str, Any]:
    """Check a PUT body like ACI does; the normalised stored spec (with secrets) or `AciError`."""
    if not GROUP_NAME.fullmatch(name):
        # [inferred] code and wording: ARM's naming-rule answer for this resource type.
        raise AciError(
            400,
            "InvalidResourceName",
            f"The container group name '{name}' is invalid. The name can contain only lowercase letters, numbers and"
            " hyphens, cannot start or end with a hyphen or contain consecutive hyphens, and must be between 1 and"
            " 63 characters long.",
        )
    if not isinstance(body, dict):
        raise _invalid_content("Unexpected character encountered while parsing value. Path ''")
    spec = copy.deepcopy(body)
    location = _required(spec, "location", "")
    if not isinstance(location, str) or not location.strip():
        raise _invalid_content("Required property 'location' not found in JSON. Path ''")
    spec["location"] = normalize_location(location)
    props = _required(spec, "properties", "")
    if not isinstance(props, dict):
        raise _invalid_content("Unexpected value for 'properties'. Path 'properties'")
    containers = _required(props, "containers", "properties")
    if not isinstance(containers, list) or not containers:
        raise AciError(
            400,
            "ContainerGroupContainersMissing",  # [inferred]
            f"The container group '{name}' must have at least one container.",
        )
    if props.get("osType") is None:
        # ACI's answer to a PUT without osType (az container create without --os-type, azure-cli
        # >= 2.67: Azure/azure-cli#30439, MicrosoftDocs/azure-docs-cli#4812); '<null>' is the
        # value, whatever the group is called. The status is [inferred].
        raise AciError(
            400,
            "InvalidOsType",
            "The 'osType' for container group '<null>' is invalid. The value must be one of"
            " 'Windows,Linux'.",
        )
    props["osType"] = _enum(
        props["osType"],
        OS_TYPES,
        "OperatingSystemTypes",
        "properties.osType",
    )
    props["restartPolicy"] = _enum(
        props.get("restartPolicy", "Always"),
        RESTART_POLICIES,
        "ContainerGroupRestartPolicy",
        "properties.restartPolicy",
    )
    seen: set[str] = set()
    total_cpu = 0.0
    total_memory = 0.0
    for index, container in enumerate(containers):
        path = f"properties.containers[{index}]"
        if not isinstance(container, dict):
            raise _invalid_content(f"Unexpected value. Path '{path}'")
        cname = _required(container, "name", path)
        cprops = _required(container, "properties", path)
        if not isinstance(cname, str) or len(cname) > 63 or not CONTAINER_NAME.fullmatch(cname):
            # Real wording (MicrosoftDocs/azure-docs#15546); the code is [inferred].
            raise AciError(
                400,
                "InvalidContainerName",
                f"The container name '{cname}' in container group '{name}' is invalid. The container name must contain"
                " no more than 63 characters and must match the regex '[a-z0-9]([-a-z0-9]*[a-z0-9])?' (e.g. 'my-name').",
            )
        if cname in seen:
            raise AciError(
                400,
                "DuplicateContainerName",  # [inferred]
                f"The container name '{cname}' in container group '{name}' is used more than once.",
            )
        seen.add(cname)
        image = _required(cprops, "image", f"{path}.properties")
        if not isinstance(image, str) or not image.strip():
            raise AciError(
                400,
                "InvalidContainerImage",
                f"The container image of container '{cname}' in container group '{name}' is empty.",
            )  # [inferred]
        requests = _requests(cprops, cname, name)
        cpu = _number(
            _required(requests, "cpu", f"{path}.properties.resources.requests"),
            f"{path}.properties.resources.requests.cpu",
        )
        memory = _number(
            _required(requests, "memoryInGB", f"{path}.properties.resources.requests"),
            f"{path}.properties.resources.requests.memoryInGB",
        )
        if cpu <= 0 or memory <= 0:
            raise AciError(
                400,
                "InvalidContainerResourceRequests",  # [inferred]
                f"The resource requests of container '{cname}' in container group '{name}' are invalid."
                " CPU and memory requests must be greater than 0.",
            )
        total_cpu += cpu
        total_memory += memory
        for pindex, port in enumerate(cprops.get("ports") or []):
            _port_number(port, f"{path}.properties.ports[{pindex}]")
            if "protocol" in port:
                port["protocol"] = _enum(
                    port["protocol"],
                    PROTOCOLS,
                    "ContainerNetworkProtocol",
                    f"{path}.properties.ports[{pindex}].protocol",
                )
        for vindex, variable in enumerate(cprops.get("environmentVariables") or []):
            _required(variable, "name", f"{path}.properties.environmentVariables[{vindex}]")
        command = cprops.get("command")
        if command is not None and (
            not isinstance(command, list) or not all(isinstance(c, str) for c in command)
        ):
            raise _invalid_content(
                f"Unexpected value for 'command'. Path '{path}.properties.command'"
            )
    if total_cpu > MAX_GROUP_CPU or total_memory > MAX_GROUP_MEMORY_GB:
        # Synchronous capacity refusal, real code and wording (PROTOCOL.md §6, virtual-kubelet#592).
        raise AciError(
            409,
            "ServiceUnavailable",
            f"The requested resource is not available in the location '{spec['location']}' at this moment. Please retry"
            " with a different resource request or in another location. Resource requested:"
            f" '{_fmt(total_cpu)}' CPU '{_fmt(total_memory)}' GB memory '{props['osType']}' OS",
        )
    ip = props.get("ipAddress")
    if ip is not None:
        ports = _required(ip, "ports", "properties.ipAddress")
        ip["type"] = _enum(
            _required(ip, "type", "properties.ipAddress"),
            IP_TYPES,
            "ContainerGroupIpAddressType",
            "properties.ipAddress.type",
        )
        for pindex, port in enumerate(ports):
            _port_number(port, f"properties.ipAddress.ports[{pindex}]")
            port["protocol"] = _enum(
                port.get("protocol", "TCP"),
                PROTOCOLS,
                "ContainerGroupNetworkProtocol",
                f"properties.ipAddress.ports[{pindex}].protocol",
            )
        if "autoGeneratedDomainNameLabelScope" in ip:
            # The SDK model always sends "Unsecure" (PROTOCOL.md §6).
            ip["autoGeneratedDomainNameLabelScope"] = _enum(
                ip["autoGeneratedDomainNameLabelScope"],
                LABEL_SCOPES,
                "DnsNameLabelReusePolicy",
                "properties.ipAddress.autoGeneratedDomainNameLabelScope",
            )
        label = ip.get("dnsNameLabel")
        if label is not None and not (isinstance(label, str) and DNS_LABEL.fullmatch(label)):
            # Verbatim portal message (PROTOCOL.md §6); the code name is [inferred].
            raise AciError(
                400,
                "InvalidDnsNameLabel",
                f"The DNS name label '{label}' in container group '{name}' is invalid. It can contain only lowercase"
                " letters, numbers and hyphens. The first character must be a letter. The last character must be a"
                " letter or number. The value must be between 5 and 63 characters long.",
            )
    for cindex, credential in enumerate(props.get("imageRegistryCredentials") or []):
        _required(credential, "server", f"properties.imageRegistryCredentials[{cindex}]")
    _check_network(name, props)
    _check_volumes(name, props)
    _check_extras(spec, props)
    aci_features.check(name, spec, props, AciError)
    return spec


def _check_network(name: str, props: dict[str, Any]) -> None:
    """A private IP lives in a subnet, a public one does not, and only a public one has a label.

    What a virtual-network deployment sends (container-instances-vnet: `subnetIds` with
    `ipAddress.type` Private, no DNS label). The wording is ACI's as users quoted it, from the
    days of `networkProfile` (whose role `subnetIds` took over): CompositionalIT/farmer#125,
    Azure/azure-cli#13802, Azure/aci-deploy#53; the codes are [inferred]. `dnsConfig` needs
    `nameServers` (the 2023-05-01 spec's `required`).
    """
    ip = props.get("ipAddress") or {}
    subnets = props.get("subnetIds") or []
    for sindex, subnet in enumerate(subnets):
        _required(subnet, "id", f"properties.subnetIds[{sindex}]")
    dns = props.get("dnsConfig")
    if dns is not None:
        _required(dns, "nameServers", "properties.dnsConfig")
    private = ip.get("type") == "Private"
    if private and not subnets:
        raise AciError(
            400,
            "PrivateIPAddressNotSupported",
            f"IP Address type in container group '{name}' is invalid. Private IP address is only"
            " supported when network profile is defined.",
        )
    if subnets and ip and not private:
        raise AciError(
            400,
            "PublicIPAddressNotSupportedWithSubnet",
            "IP Address type can't be public when network profile is set.",
        )
    if private and ip.get("dnsNameLabel"):
        raise AciError(
            400,
            "DnsNameLabelNotSupported",
            "DNS name label for container group is only supported when IP Address type is public.",
        )


def _check_volumes(name: str, props: dict[str, Any]) -> None:
    """Volumes and volume mounts as ACI checks them (`aci_volumes.validate` has the rules)."""
    from .aci_volumes import validate

    validate(name, props)


def _check_extras(spec: dict[str, Any], props: dict[str, Any]) -> None:
    """Init containers, Log Analytics and the identity: the spec's required fields and enums."""
    for iindex, init in enumerate(props.get("initContainers") or []):
        path = f"properties.initContainers[{iindex}]"
        _required(init, "name", path)
        _required(init, "properties", path)
        _required(init["properties"], "image", f"{path}.properties")
    log_analytics = (props.get("diagnostics") or {}).get("logAnalytics")
    if log_analytics is not None:
        for key in ("workspaceId", "workspaceKey"):
            _required(log_analytics, key, "properties.diagnostics.logAnalytics")
    identity = spec.get("identity")
    if identity is not None:
        identity["type"] = _enum(
            _required(identity, "type", "identity"),
            IDENTITY_TYPES,
            "ResourceIdentityType",
            "identity.type",
        )


def _port_number(port: Any, path: str) -> int:
    if not isinstance(port, dict):
        raise _invalid_content(f"Unexpected value. Path '{path}'")
    number = _required(port, "port", path)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535:
        raise AciError(
            400,
            "InvalidPort",
            f"The port '{number}' is invalid. Ports must be between 1 and 65535.",
        )  # [inferred]
    return number


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def immutable(spec: dict[str, Any]) -> Immutable:
    """The parts of a stored spec that an in-place update must keep."""
    props = spec["properties"]
    resources = []
    for container in props["containers"]:
        requests = container["properties"]["resources"]["requests"]
        gpu = json.dumps(requests.get("gpu"), sort_keys=True)
        resources.append(
            (container["name"], float(requests["cpu"]), float(requests["memoryInGB"]), gpu)
        )
    ip_type = str((props.get("ipAddress") or {}).get("type") or "")
    subnets = tuple(sorted(str(s.get("id", "")).lower() for s in props.get("subnetIds") or []))
    return Immutable(
        props["osType"],
        props["restartPolicy"],
        tuple(sorted(resources)),
        (ip_type if ip_type == "Private" else "", subnets),
        tuple(sorted(str(z) for z in spec.get("zones") or [])),
    )


def check_update(name: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Raise `InvalidContainerGroupUpdate` when a property that needs delete + create changed."""
    before, after = immutable(old), immutable(new)
    # A container added or removed changes the group's resources too; ACI refuses that as well.
    if before != after:
        raise AciError(
            400,
            "InvalidContainerGroupUpdate",
            f"The updates on container group '{name}' are invalid. If you are going to update the os type, restart"
            " policy, network profile, CPU, memory or GPU resources for a container group, you must delete it first"
            " and then create a new one.",
        )


def public_view(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as ACI echoes it: defaults filled in, every secret removed."""
    view = copy.deepcopy(spec)
    props = view["properties"]
    props.setdefault("sku", "Standard")
    props.setdefault("initContainers", [])
    for container in [*props["containers"], *props["initContainers"]]:
        cprops = container.setdefault("properties", {})
        cprops.setdefault("ports", [])
        cprops["environmentVariables"] = [
            {k: v for k, v in variable.items() if k != "secureValue"}
            for variable in cprops.get("environmentVariables") or []
        ]
    props["imageRegistryCredentials"] = [
        {k: v for k, v in credential.items() if k != "password"}
        for credential in props.get("imageRegistryCredentials") or []
    ]
    for volume in props.get("volumes") or []:
        if isinstance(volume.get("azureFile"), dict):
            volume["azureFile"].pop("storageAccountKey", None)
        if "secret" in volume:
            volume["secret"] = {}
    log_analytics = (props.get("diagnostics") or {}).get("logAnalytics")
    if isinstance(log_analytics, dict):
        # Both are `x-ms-secret` in the 2023-05-01 spec; the spec's create-or-update example
        # answers with the workspace id alone.
        log_analytics.pop("workspaceKey", None)
        log_analytics.pop("workspaceResourceId", None)
    return view


def identity_view(identity: dict[str, Any], resource_id: str, tenant_id: str) -> dict[str, Any]:
    """The identity as ACI echoes it: with the read-only ids the platform assigns.

    `principalId` and `tenantId` for a system-assigned identity, `principalId` and `clientId` for
    each user-assigned one (all `readOnly` in the 2023-05-01 spec); stable per resource here.
    """
    view = copy.deepcopy(identity)
    kind = str(view.get("type") or "")
    if "SystemAssigned" in kind:
        view["principalId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, resource_id.lower()))
        view["tenantId"] = tenant_id
    for key, value in (view.get("userAssignedIdentities") or {}).items():
        if isinstance(value, dict):
            value["principalId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, key.lower() + "#principal"))
            value["clientId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, key.lower() + "#client"))
    return view
