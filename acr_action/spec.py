"""The desired ACI container group, its diff against the existing one, the immutable-change rule.

The spec holds what the action manages; the group to PUT is the existing one with those parts
changed (`to_model` on `keep.base`), and inputs left out take the existing group's values
(`resolve`), so that a deploy never drops what other tools set up (keep.py says what and why).

Pure: no network. The existing group always comes from a GET, which never echoes secrets (secure
environment values, registry passwords) and adds server-side fields (`sku`, `instanceView`,
`ipAddress.ip`, `fqdn`, `provisioningState`, empty lists); neither may count as a difference.

## The fingerprint tag
To notice a changed secret that the GET cannot show, the group carries the tag `FINGERPRINT_TAG`
whose value is derived from the whole spec, secrets included. Tags are readable by anyone with
Reader on the resource group, a wider audience than the secrets are meant for, so the value must not
let them recover a secret:

* a plain SHA-256 of a secret is guessable when the secret is short or a dictionary word: hash
  every candidate and compare, at billions of candidates per second, or look it up in a table
  computed in advance;
* the ideal, an HMAC keyed with something stored outside the group, needs a key that is secret yet
  identical on every run; the action has no such thing of its own (it would need a Key Vault secret
  it creates and owns);
* so the value is PBKDF2-HMAC-SHA256 of all secrets together, salted with a digest of the
  non-secret spec. The salt makes tables computed in advance useless and gives every group its own
  value. The 600 000 iterations (OWASP's 2023 figure for this function) make each guess cost that
  many hashes: about 0.1 s of a CPU core, far less on an attacker's GPU but still 600 000 times a
  plain hash. Hashing the secrets together means a guess has to get all of them right at once, so a
  high-entropy registry password also protects a weak application secret next to it. A set of
  secrets that is weak as a whole stays guessable with effort: that is the residual risk.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, NamedTuple

from . import identity, keep, probes, specfile, tls
from . import volumes as vol
from .identity import AppIdentity, RegistryIdentity
from .loganalytics import Workspace
from .loganalytics import to_model as diagnostics_model
from .network import DnsConfig
from .probes import Probe
from .tls import TlsConfig

if TYPE_CHECKING:
    from azure.mgmt.containerinstance.models import (
        Container,
        ContainerGroup,
        ImageRegistryCredential,
        IpAddress,
    )

# Every tag the action sets starts with this (the provenance tags of `preview.py` too); tags
# without it were set by someone else (the portal, `az`, Azure Policy's modify effect) and stay.
OWN_TAG_PREFIX = "acr-action."
FINGERPRINT_TAG = OWN_TAG_PREFIX + "spec-sha256"
# The tags that name the run that last changed the group, and when (preview.py): every run that
# changes something changes them too, so they are no change of their own in a plan.
RUN_TAGS = (OWN_TAG_PREFIX + "run", OWN_TAG_PREFIX + "run-url", OWN_TAG_PREFIX + "deployed")

# Bump when the canonical documents change; the change then reads as one update of every group.
_FINGERPRINT_SCHEME = b"acr-action spec fingerprint v1\x00"
_KDF_ITERATIONS = 600_000

PlanAction = Literal["create", "update", "recreate", "noop"]


@dataclass(frozen=True)
class RegistryCredential:
    """A login for the registry the group pulls its image from."""

    server: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class GroupSpec:
    """What the action manages of the group: our container, its ports and sizes, the policy."""

    name: str
    location: str
    image_ref: str
    cpu: float
    memory: float
    ports: tuple[int, ...]
    protocol: str = "TCP"  # of every port that `port_protocols` does not name
    # (port, protocol) of the ports whose protocol is not `protocol` (`ports: 80, 53/udp`).
    port_protocols: tuple[tuple[int, str], ...] = ()
    environment_variables: tuple[tuple[str, str], ...] = ()
    secure_environment_variables: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    command_line: tuple[str, ...] = ()
    restart_policy: str = "Always"
    os_type: str = "Linux"
    dns_name_label: str | None = None
    registry_credentials: tuple[RegistryCredential, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    container_name: str = ""
    # Fields (of `KEEPABLE`) the inputs did not give: `resolve` takes them from the existing
    # group; their values here are those of a new group.
    unset: frozenset[str] = frozenset()
    # "Public", "Private" or "" (no IP address); None: Public when there are ports (a new group).
    ip_type: str | None = None
    # The volumes the inputs name (with their secrets) and the app's mounts (None: kept as
    # they are); volumes.py says what a deploy keeps.
    volumes: tuple[vol.Volume, ...] = field(default=(), repr=False)
    volume_mounts: tuple[vol.Mount, ...] | None = None
    # Not given (None): the existing group's stay as they are (probes.REMOVE removes one).
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    priority: str | None = None  # "Regular" or "Spot"; None: the existing group's
    log_analytics: Workspace | None = None  # None: the existing group's diagnostics stay
    # The login of a group that pulls with a managed identity (`registry-identity`).
    registry_identity: RegistryIdentity | None = None
    # The app's identities (`identity`); None: the group's identity as it is (identity.py).
    identity: AppIdentity | None = None
    # The subnets' resource IDs and the DNS configuration (network.py); None: the existing
    # group's, kept as they are.
    subnet_ids: tuple[str, ...] | None = None
    dns_config: DnsConfig | None = None
    # The checked `spec-file` body in canonical JSON (specfile.py), or "" without one.
    spec_file: str = ""
    # The TLS proxy (tls.py): tls.OFF removes it; None: the group's containers as they are.
    tls: TlsConfig | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.container_name:
            # Frozen: the only way to fill in a derived default.
            object.__setattr__(self, "container_name", self.name)


# The fields whose input may be left out, so that an existing group keeps its own value.
KEEPABLE = frozenset({"cpu", "memory", "ports", "protocol", "restart_policy", "dns_name_label"})


@dataclass(frozen=True)
class Plan:
    """What deploying `spec` over the existing group takes, and why."""

    action: PlanAction
    changed: tuple[str, ...] = ()
    reason: str = ""


def resolve(spec: GroupSpec, existing: ContainerGroup | None) -> GroupSpec:
    """Fill the fields the inputs left out from `existing`; the exposure too (never changed
    unless `ports` asks for an IP on a group without one)."""
    if existing is None:
        return replace(spec, unset=frozenset(), ip_type=_exposure(spec))
    ip = existing.ip_address
    container = _ours(existing, spec)
    settled: dict[str, object] = {"unset": frozenset(), "tags": _kept_tags(spec, existing)}
    if container is not None and "cpu" in spec.unset:
        settled["cpu"] = float(container.resources.requests.cpu)
    if container is not None and "memory" in spec.unset:
        settled["memory"] = float(container.resources.requests.memory_in_gb)
    if "restart_policy" in spec.unset and existing.restart_policy:
        settled["restart_policy"] = existing.restart_policy
    # Behind the TLS proxy the group's public ports are the proxy's, not the app's.
    public = ip if ip is not None and not tls.has_proxy(existing) else None
    ports = (public.ports if public else container.ports if container else []) or []
    kept_ports = "ports" in spec.unset and (ip is not None or container is not None)
    if kept_ports:
        settled["ports"] = tuple(dict.fromkeys(p.port for p in ports))
    protocols = {(p.protocol or "TCP").upper() for p in ports}
    if "protocol" in spec.unset and len(protocols) == 1:
        settled["protocol"] = protocols.pop()
    if kept_ports and "protocol" in spec.unset:
        # Each kept port keeps its own protocol (a group with 80/TCP and 53/UDP stays so);
        # a `protocol` given applies to them all, as it did before ports had suffixes.
        default = str(settled.get("protocol", spec.protocol)).upper()
        own: dict[int, str] = {}
        for p in ports:
            own.setdefault(p.port, (p.protocol or "TCP").upper())
        settled["port_protocols"] = tuple(
            (port, protocol) for port, protocol in own.items() if protocol != default
        )
    if "dns_name_label" in spec.unset and ip is not None:
        settled["dns_name_label"] = ip.dns_name_label or None
    if spec.priority is None and (existing.priority or "").lower() == "spot":
        settled["priority"] = "Spot"  # kept, and with it the group's lack of an IP address
    if ip is not None and spec.ip_type is None:
        settled["ip_type"] = "Private" if (ip.type or "").lower() == "private" else "Public"
    elif ip is None and spec.ip_type is None:
        settled["ip_type"] = "" if "ports" in spec.unset else _exposure(spec)
    return replace(spec, **settled)  # type: ignore[arg-type]  # the keys are GroupSpec fields


def _kept_tags(spec: GroupSpec, existing: ContainerGroup) -> tuple[tuple[str, str], ...]:
    """The inputs' and our own tags, then the existing group's tags that someone else set.

    Dropping those would remove, say, a cost-center tag on every deploy, and where Azure Policy
    adds one back, make every deploy an update. A key removed from `resource-tags` therefore
    stays on the group until it is removed there (`az tag update --operation Delete`).
    """
    ours = dict(spec.tags)
    foreign = {
        key: value
        for key, value in (existing.tags or {}).items()
        if not key.startswith(OWN_TAG_PREFIX) and key not in ours
    }
    return tuple(ours.items()) + tuple(sorted(foreign.items()))


def port_protocols(spec: GroupSpec) -> tuple[tuple[int, str], ...]:
    """Every port of the spec with its protocol, upper case, in the spec's order."""
    named = {port: protocol.upper() for port, protocol in spec.port_protocols}
    return tuple((port, named.get(port, spec.protocol.upper())) for port in spec.ports)


def servers(spec: GroupSpec) -> frozenset[str]:
    """The registries the action logs in to, lower case."""
    found = {c.server.lower() for c in spec.registry_credentials}
    if spec.registry_identity is not None:
        found.add(spec.registry_identity.server.lower())
    return frozenset(found)


def _exposure(spec: GroupSpec) -> str:
    """The IP address type of the group: ACI requires ports on an IP address."""
    if (spec.priority or "").lower() == "spot":
        # SpotPriorityContainerGroupNotSupportedForInboundConnectivity: no public IP, no subnet.
        return ""
    if spec.ip_type is not None:
        return spec.ip_type if spec.ports else ""
    return "Public" if spec.ports else ""


def _ours(existing: ContainerGroup, spec: GroupSpec) -> Container | None:
    return next((c for c in existing.containers or [] if c.name == spec.container_name), None)


def to_model(spec: GroupSpec, existing: ContainerGroup | None = None) -> ContainerGroup:
    """Build the SDK model to PUT: `existing` as it is, with the action's parts set from `spec`."""
    # Imported here, not at the top: the package's __init__ also loads the management client and
    # azure-core's pipeline (~0.1 s), which a run that fails input validation never needs.
    from azure.mgmt.containerinstance.models import ImageRegistryCredential

    spec = resolve(spec, existing)
    group = keep.base(existing)
    group.location = spec.location
    group.tags = {**dict(spec.tags), FINGERPRINT_TAG: fingerprint(spec)}
    group.restart_policy = spec.restart_policy
    group.os_type = spec.os_type
    specfile.overlay(group, spec)
    ours = _ours(group, spec)
    if ours is None:
        ours = _new_container(spec)
        group.containers = [ours, *(group.containers or [])]
    if ours.resources is None:  # the app container from the file, without its resources
        ours.resources = _new_container(spec).resources
    _set_container(ours, spec)
    group.image_registry_credentials = [
        ImageRegistryCredential(server=c.server, username=c.username, password=c.password)
        for c in spec.registry_credentials
    ] + _identity_logins(spec) + keep.kept_credentials(existing, servers(spec)) or None
    group.identity = identity.merged(group, _wanted(spec))
    group.ip_address = _ip_address(group, spec)
    tls.apply(group, spec)
    if spec.volumes:
        group.volumes = vol.merged(group.volumes, spec.volumes)
    if spec.priority is not None:
        group.priority = spec.priority
    if spec.log_analytics is not None:
        group.diagnostics = diagnostics_model(spec.log_analytics)
    _set_network(group, spec)
    return group


def _identity_logins(spec: GroupSpec) -> list[ImageRegistryCredential]:
    """The registry login by managed identity: the server and the identity, no password."""
    from azure.mgmt.containerinstance.models import ImageRegistryCredential

    login = spec.registry_identity
    if login is None:
        return []
    return [ImageRegistryCredential(server=login.server, identity=login.resource_id)]


def _wanted(spec: GroupSpec) -> identity.Wanted:
    return identity.wanted(spec.identity, spec.registry_identity)


def _set_network(group: ContainerGroup, spec: GroupSpec) -> None:
    """The subnets and DNS configuration the spec asks for; the existing ones when it does not.

    `ip-address: Public` takes the group out of its subnets: ACI refuses a public IP in one.
    """
    from azure.mgmt.containerinstance.models import ContainerGroupSubnetId, DnsConfiguration

    wanted = () if _exposure(spec) == "Public" else spec.subnet_ids
    if wanted is not None:
        named = {(s.id or "").lower(): s for s in group.subnet_ids or []}
        group.subnet_ids = [
            named.get(subnet.lower()) or ContainerGroupSubnetId(id=subnet) for subnet in wanted
        ] or None
    if spec.dns_config is not None:
        group.dns_config = DnsConfiguration(
            name_servers=list(spec.dns_config.name_servers),
            search_domains=" ".join(spec.dns_config.search_domains) or None,
            options=" ".join(spec.dns_config.options) or None,
        )


def _new_container(spec: GroupSpec) -> Container:
    from azure.mgmt.containerinstance.models import (
        Container,
        ResourceRequests,
        ResourceRequirements,
    )

    return Container(
        name=spec.container_name,
        image=spec.image_ref,
        resources=ResourceRequirements(
            requests=ResourceRequests(cpu=spec.cpu, memory_in_gb=spec.memory)
        ),
    )


def _set_container(container: Container, spec: GroupSpec) -> None:
    """Our container's image, command, ports, environment and requests; the rest stays."""
    from azure.mgmt.containerinstance.models import ContainerPort, EnvironmentVariable

    container.image = spec.image_ref
    # None rather than []: keep the image's own entrypoint and command.
    container.command = list(spec.command_line) or None
    container.ports = [
        ContainerPort(port=port, protocol=protocol) for port, protocol in port_protocols(spec)
    ]
    container.environment_variables = [
        *(
            EnvironmentVariable(name=name, value=value)
            for name, value in spec.environment_variables
        ),
        *(
            EnvironmentVariable(name=name, secure_value=value)
            for name, value in spec.secure_environment_variables
        ),
    ]
    # The GPU and limits, if any, stay as they were.
    container.resources.requests.cpu = spec.cpu
    container.resources.requests.memory_in_gb = spec.memory
    # Probes not given stay as the group has them.
    first_port = spec.ports[0] if spec.ports else None
    if spec.liveness_probe is not None:
        container.liveness_probe = probes.to_model(spec.liveness_probe, first_port)
    if spec.readiness_probe is not None:
        container.readiness_probe = probes.to_model(spec.readiness_probe, first_port)
    # Mounts not given stay as the container has them.
    if spec.volume_mounts is not None:
        container.volume_mounts = vol.mount_models(spec.volume_mounts)


def _ip_address(group: ContainerGroup, spec: GroupSpec) -> IpAddress | None:
    """The group's IP address: its type kept, the ports and label the spec's."""
    from azure.mgmt.containerinstance.models import IpAddress, Port

    exposure = _exposure(spec)
    if not exposure:
        return None
    ip = group.ip_address or IpAddress(type=exposure, ports=[])
    ip.type = exposure
    ip.ports = [Port(port=port, protocol=protocol) for port, protocol in port_protocols(spec)]
    # A private address has no DNS label (network.py): the derived default is not sent.
    ip.dns_name_label = (spec.dns_name_label or None) if exposure == "Public" else None
    return ip


@lru_cache(maxsize=16)
def fingerprint(spec: GroupSpec) -> str:
    """Return the hex value of the fingerprint tag for `spec` (see the module docstring)."""
    # Cached: to_model and diff both need it for the same spec, and each call costs ~0.1 s.
    salt = hashlib.sha256(_FINGERPRINT_SCHEME + _canonical(_public_document(spec))).digest()
    secret = _canonical(_secret_document(spec))
    return hashlib.pbkdf2_hmac("sha256", secret, salt, _KDF_ITERATIONS).hex()


def diff(existing: ContainerGroup | None, spec: GroupSpec) -> Plan:
    """Decide how to get from `existing` (a GET result, or None) to `spec`."""
    if existing is None:
        return Plan("create")
    spec = resolve(spec, existing)
    changes = _changes(existing, spec)
    # The run tags change with anything else: named only when nothing else changed.
    changed = tuple(name for name, _ in changes if name != "run tags" or len(changes) == 1)
    reasons = []
    immutable = [name for name, is_immutable in changes if is_immutable]
    if immutable:
        reasons.append(
            f"{_join(immutable)} cannot be changed in place, only by deleting the group first"
        )
    unhealthy = _unhealthy(existing)
    if unhealthy:
        # Left alone it stays broken or stopped, and a stopped or terminated group "must be
        # deployed as new" (container-instances-update); a new group is sure to start afresh.
        reasons.append(f"the existing group {unhealthy}")
    if reasons:
        return Plan("recreate", changed, "; ".join(reasons))
    provisioning = _provisioning_state(existing)
    if provisioning in _REDEPLOY:
        # The last operation did not finish (Canceled) or the group is going away (Deleting):
        # nothing promises the spec is in force, so send it again; a 409 while the delete
        # runs is waited out.
        return Plan("update", changed, f"its provisioning state is {provisioning}")
    if changed:
        return Plan("update", changed)
    return Plan("noop")


def immutable_changes(existing: ContainerGroup | None, spec: GroupSpec) -> tuple[str, ...]:
    """Name the changes from `existing` to `spec` that ACI refuses to make in place."""
    if existing is None:
        return ()
    changes = _changes(existing, resolve(spec, existing))
    return tuple(name for name, is_immutable in changes if is_immutable)


# -- comparing with a GET result -------------------------------------------------------------------


class _Check(NamedTuple):
    """One comparison of the diff: the property's human name, whether it differs, and whether
    ACI can change it only by deleting the group first."""

    name: str
    differs: bool
    immutable: bool = False


def _changes(existing: ContainerGroup, spec: GroupSpec) -> list[tuple[str, bool]]:
    """Return (human name, immutable) for each property where `existing` differs from `spec`."""
    container = _ours(existing, spec)
    checks = [
        # ARM cannot move a resource to another region: InvalidResourceLocation.
        _Check("location", _location(existing.location or "") != _location(spec.location), True),
        # Our container is added to a group that lacks it: what ACI accepts when containers are
        # added is not documented; deleting and creating the group is always accepted. Other
        # containers (sidecars) are kept as they are.
        _Check("containers", container is None, True),
        *_resource_checks(container, spec),
        _Check("ports", _ports_differ(existing, container, spec)),
        *_group_checks(existing, spec),
        *_container_checks(container, spec),
        *_metadata_checks(existing, spec),
        *(
            _Check(name, True)
            for name in vol.differences(existing, container, spec.volumes, spec.volume_mounts)
        ),
        *_feature_checks(existing, container, spec),
        *_file_checks(existing, spec),
        _Check("tls proxy", tls.differs(existing, spec), tls.adds_or_removes(existing, spec)),
    ]
    changes = [(check.name, check.immutable) for check in checks if check.differs]
    # The fingerprint covers everything above too, so only a difference nothing else explains
    # points at the secrets; a missing tag (a group made by other tools) is a tag change.
    if not changes and (existing.tags or {}).get(FINGERPRINT_TAG) != fingerprint(spec):
        changes.append(("secure environment variables or registry credentials", False))
    return changes


# What needs delete + create is what "Properties that require container delete" of
# https://learn.microsoft.com/azure/container-instances/container-instances-update lists: OS
# type; CPU, memory or GPU resources; restart policy; network profile; availability zone. The
# live InvalidContainerGroupUpdate message names the same set. Ports were on the list until
# 2019 and are no longer: they change in place.


def _resource_checks(container: Container | None, spec: GroupSpec) -> list[_Check]:
    """Our container's image and resources (nothing to compare when it is missing)."""
    if container is None:
        return []
    requests = container.resources.requests
    return [
        _Check("image", container.image != spec.image_ref),
        _Check("cpu", not _same_number(requests.cpu, spec.cpu), True),
        _Check("memory", not _same_number(requests.memory_in_gb, spec.memory), True),
        # A GPU request, like every property the action does not manage, is kept as it is.
    ]


def _ports_differ(existing: ContainerGroup, container: Container | None, spec: GroupSpec) -> bool:
    """Whether the group's public ports or our container's ports are not the spec's."""
    wanted_ports = set(port_protocols(spec))
    wanted_group_ports = tls.public_ports(spec, wanted_ports) if _exposure(spec) else set()
    ip = existing.ip_address
    group_ports = {
        (p.port, (p.protocol or "TCP").upper()) for p in (ip.ports if ip else None) or []
    }
    container_ports = (
        {(p.port, (p.protocol or "TCP").upper()) for p in container.ports or []}
        if container
        else wanted_ports
    )
    return group_ports != wanted_group_ports or container_ports != wanted_ports


def _group_checks(existing: ContainerGroup, spec: GroupSpec) -> list[_Check]:
    """The group-wide settings ACI changes only by deleting the group first."""
    ip = existing.ip_address
    private = (ip is not None and (ip.type or "").lower() == "private") or bool(existing.subnet_ids)
    wanted_private = _exposure(spec) == "Private"
    return [
        # The exposure is kept (`resolve`); a group in a virtual network could not become public
        # in place anyway: the "network profile" of InvalidContainerGroupUpdate.
        _Check("network", private != wanted_private, True),
        # Moving to other subnets is a change of the "network profile" too.
        _Check("subnets", _subnets_differ(existing, spec), True),
        _Check("dns config", _dns_differs(existing, spec)),
        # The service's default restart policy is Always.
        _Check(
            "restart policy",
            (existing.restart_policy or "Always").lower() != spec.restart_policy.lower(),
            True,
        ),
        _Check("os type", (existing.os_type or "").lower() != spec.os_type.lower(), True),
        # Zones, like every property the action does not manage, are kept as they are.
    ]


def _subnets_differ(existing: ContainerGroup, spec: GroupSpec) -> bool:
    """Whether the subnets the spec asks for are not the group's (None asks for none)."""
    wanted = () if _exposure(spec) == "Public" else spec.subnet_ids
    if wanted is None:
        return False
    have = {(s.id or "").lower() for s in existing.subnet_ids or []}
    return have != {subnet.lower() for subnet in wanted}


def _dns_differs(existing: ContainerGroup, spec: GroupSpec) -> bool:
    """Whether the DNS configuration the spec asks for is not the group's."""
    if spec.dns_config is None:
        return False
    dns = existing.dns_config
    if dns is None:
        return True
    return (
        tuple(dns.name_servers or ()) != spec.dns_config.name_servers
        or tuple((dns.search_domains or "").split()) != spec.dns_config.search_domains
        or tuple((dns.options or "").split()) != spec.dns_config.options
    )


def _container_checks(container: Container | None, spec: GroupSpec) -> list[_Check]:
    """Our container's command line and plain environment."""
    if container is None:
        return []
    return [
        _Check("command line", tuple(container.command or ()) != spec.command_line),
        _Check(
            "environment variables",
            _plain_environment(container, spec) != dict(spec.environment_variables),
        ),
    ]


def _metadata_checks(existing: ContainerGroup, spec: GroupSpec) -> list[_Check]:
    """Registry logins, the DNS label and the tags (the fingerprint's value aside)."""
    wanted_logins = {(c.server.lower(), c.username, "") for c in spec.registry_credentials} | {
        _login(c) for c in keep.kept_credentials(existing, servers(spec))
    }
    if spec.registry_identity is not None:
        login = spec.registry_identity
        wanted_logins.add((login.server.lower(), None, login.resource_id.lower()))
    logins = {_login(c) for c in existing.image_registry_credentials or []}
    ip = existing.ip_address
    label = (ip.dns_name_label if ip else None) or ""
    wanted_label = (spec.dns_name_label or "") if _exposure(spec) == "Public" else ""
    tags = dict(existing.tags or {})
    stored = tags.pop(FINGERPRINT_TAG, None)
    wanted_tags = dict(spec.tags)

    def lasting(found: dict[str, str]) -> dict[str, str]:
        return {key: value for key, value in found.items() if key not in RUN_TAGS}

    others_differ = lasting(tags) != lasting(wanted_tags) or stored is None
    return [
        _Check("registry credentials", logins != wanted_logins),
        _Check("identity", identity.differs(existing, _wanted(spec))),
        _Check("dns label", label.lower() != wanted_label.lower()),
        _Check("tags", others_differ),
        _Check("run tags", not others_differ and tags != wanted_tags),
    ]


def _feature_checks(
    existing: ContainerGroup, container: Container | None, spec: GroupSpec
) -> list[_Check]:
    """Probes, priority and Log Analytics, each only when its input was given."""
    checks = []
    first_port = spec.ports[0] if spec.ports else None
    for name, wanted, attribute in (
        ("liveness probe", spec.liveness_probe, "liveness_probe"),
        ("readiness probe", spec.readiness_probe, "readiness_probe"),
    ):
        if wanted is not None and container is not None:
            have = getattr(container, attribute, None)
            checks.append(_Check(name, not probes.same(have, wanted, first_port)))
    if spec.priority is not None:
        # Not on the update page's list, but a Spot group lives on other capacity: a change is
        # sent as delete + create, which ACI always accepts [inferred].
        have_priority = (existing.priority or "Regular").lower()
        checks.append(_Check("priority", have_priority != spec.priority.lower(), True))
    if spec.log_analytics is not None:
        diagnostics = existing.diagnostics.log_analytics if existing.diagnostics else None
        have_id = diagnostics.workspace_id if diagnostics is not None else None
        # The key a GET never shows is in the fingerprint.
        checks.append(_Check("log analytics", have_id != spec.log_analytics.workspace_id))
    return checks


def _login(credential: ImageRegistryCredential) -> tuple[str, str | None, str]:
    """A registry login as the diff compares it: server, user, identity (case ignored)."""
    return (
        (credential.server or "").lower(),
        credential.username,
        (credential.identity or "").lower(),
    )


def _file_checks(existing: ContainerGroup, spec: GroupSpec) -> list[_Check]:
    """What the spec file states beyond the action's own parts (specfile.differs)."""

    def managed(group: ContainerGroup) -> None:
        ours = _ours(group, spec)
        if ours is not None:
            if ours.resources is None:
                ours.resources = _new_container(spec).resources
            _set_container(ours, spec)

    changed, immutable = specfile.differs(existing, spec, managed)
    return [_Check("spec file", changed, immutable)]


def _plain_environment(container: Container, spec: GroupSpec) -> dict[str, str]:
    """The container's non-secret environment as the GET shows it."""
    wanted = dict(spec.environment_variables)
    plain: dict[str, str] = {}
    for variable in container.environment_variables or []:
        if variable.value is not None:
            plain[variable.name] = variable.value
        elif wanted.get(variable.name) == "":
            # The service may drop an empty value, leaving only the name.
            plain[variable.name] = ""
        # Otherwise a secure variable, whose value the GET never shows: the fingerprint covers it.
    return plain


# ContainerGroupProvisioningState of the 2024+ api-versions (the enum in azure-sdk-for-net's
# containerinstance autorest.md): NotSpecified, Accepted, Pending, Updating, Creating,
# Repairing, Unhealthy, Failed, Canceled, Succeeded, Deleting, NotAccessible, PreProvisioned.
# Broken beyond an in-place update: recreate.
_BROKEN = frozenset({"Failed", "Unhealthy", "NotAccessible"})
# The spec may not be in force: PUT it again.
_REDEPLOY = frozenset({"Canceled", "Deleting"})
# The rest are in progress (Accepted, Pending, Creating, Updating, Repairing, PreProvisioned)
# or settled (Succeeded, NotSpecified): an unchanged spec waits for the containers to run.

# instanceView.state of a group that runs nothing any more: "Once a container group has
# terminated (is in either a Succeeded or Failed state) ... the group must be deployed as new"
# (container-instances-update); `az container stop` leaves it Stopped, with provisioningState
# still Succeeded (container-instances-stop-start; Azure/azure-sdk-for-js#14176).
_ENDED = frozenset({"Stopped", "Succeeded", "Failed", "Terminated"})


def _provisioning_state(existing: ContainerGroup) -> str:
    # The SDK sets every read-only field to None in __init__, so mypy types them as None; the
    # deserializer fills them in. Read them through getattr, into variables of their real types.
    provisioning: str | None = getattr(existing, "provisioning_state", None)
    # ARM compares enum values case-insensitively; give them the spelling of the enum.
    known = {state.lower(): state for state in (*_BROKEN, *_REDEPLOY)}
    return known.get((provisioning or "").lower(), provisioning or "")


def _unhealthy(existing: ContainerGroup) -> str | None:
    """Say why `existing` needs a new group (broken, stopped or ended), if it does."""
    provisioning = _provisioning_state(existing)
    if provisioning in _BROKEN:
        return f"is not healthy: its provisioning state is {provisioning}"
    group_state: str | None = getattr(getattr(existing, "instance_view", None), "state", None)
    ended = {state.lower(): state for state in _ENDED}.get((group_state or "").lower())
    if ended is not None:
        return f"has ended: its state is {ended}, and an ended group must be deployed anew"
    for container in existing.containers or []:
        current = getattr(getattr(container, "instance_view", None), "current_state", None)
        state: str | None = getattr(current, "state", None)
        exit_code: int | None = getattr(current, "exit_code", None)
        if (state or "").lower() == "terminated" and exit_code:
            return f"is not healthy: container '{container.name}' terminated with exit code {exit_code}"
    return None


def _location(name: str) -> str:
    # ARM answers with the display form ("West US", "WestUs") for the name given as "westus".
    return name.replace(" ", "").lower()


def _same_number(actual: float, wanted: float) -> bool:
    # JSON gives back 1 for 1.0; compare as numbers, tolerating float round trips.
    return abs(float(actual) - float(wanted)) < 1e-9


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# -- the fingerprint's canonical documents ---------------------------------------------------------


def _public_document(spec: GroupSpec) -> dict[str, object]:
    """Everything that is not a secret, in a form that ignores order and case where ACI does."""
    return {
        "name": spec.name,
        "container": spec.container_name,
        "location": _location(spec.location),
        "image": spec.image_ref,
        "cpu": float(spec.cpu),
        "memory": float(spec.memory),
        "ports": sorted(set(spec.ports)),
        "protocol": spec.protocol.upper(),
        # Only when set, so that groups deployed before these fields keep their fingerprint.
        **_when_set(
            portProtocols=sorted(
                (port, protocol.upper()) for port, protocol in spec.port_protocols
            ),
        ),
        # Probes, priority and the workspace ID are not here: a GET shows them, the diff
        # compares them (`_feature_checks`), and one left out of the inputs stays as it is,
        # which a fingerprint of the inputs alone would read as a change.
        "environment": sorted(spec.environment_variables),
        "command": list(spec.command_line),
        "restartPolicy": spec.restart_policy.lower(),
        "osType": spec.os_type.lower(),
        "dnsNameLabel": (spec.dns_name_label or "").lower(),
        "registries": sorted((c.server.lower(), c.username) for c in spec.registry_credentials),
        "tags": sorted((k, v) for k, v in spec.tags if k != FINGERPRINT_TAG),
        # Only when given: a group without them keeps the fingerprint it had.
        **(
            {"volumes": vol.public_document(spec.volumes, spec.volume_mounts)}
            if spec.volumes or spec.volume_mounts is not None
            else {}
        ),
        # Only when given, so that the fingerprint of a group without them stays what it was.
        **(
            {
                "registryIdentity": [
                    spec.registry_identity.server.lower(),
                    spec.registry_identity.resource_id.lower(),
                ]
            }
            if spec.registry_identity is not None
            else {}
        ),
        **({"identity": identity.canonical(_wanted(spec))} if spec.identity is not None else {}),
        # Only with a file: groups deployed without one keep their fingerprint.
        **({"specFile": spec.spec_file} if spec.spec_file else {}),
        **_when_set(tls=tls.public_document(spec)),
    }


def _when_set(**fields: object) -> dict[str, object]:
    """The fields that are not empty: a field added later leaves older fingerprints alone."""
    return {key: value for key, value in fields.items() if value}


def _secret_document(spec: GroupSpec) -> dict[str, object]:
    """The values a GET never returns."""
    return {
        "secureEnvironment": sorted(spec.secure_environment_variables),
        "registryPasswords": sorted(
            (c.server.lower(), c.username, c.password) for c in spec.registry_credentials
        ),
        **({"volumes": vol.secret_document(spec.volumes)} if spec.volumes else {}),
        **_when_set(logAnalyticsKey=spec.log_analytics.workspace_key if spec.log_analytics else ""),
        **_when_set(tlsPassword=tls.secret_document(spec)),
    }


def _canonical(document: dict[str, object]) -> bytes:
    # ASCII escapes keep the bytes well defined even for a lone surrogate (an environment
    # variable that was not valid UTF-8), which would make a UTF-8 encode fail.
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")
