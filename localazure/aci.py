"""Azure Container Instances that really run: container groups as containers on the local Docker engine.

Routes (host kind "arm", paths case-insensitive, any api-version accepted) under
`/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/`:
`PUT|GET|DELETE containerGroups/{name}`, `GET containerGroups` (paged), `GET .../containers/{c}/logs`,
`POST .../restart|stop|start` (stop deallocates: the containers are removed and the group reads
`instanceView.state` Stopped with `provisioningState` still Succeeded, azure-sdk-for-js#14176; start
deploys the same spec anew, container-instances-stop-start), plus `GET /subscriptions/{s}/providers/Microsoft.ContainerInstance/containerGroups`
and the operation status `GET /subscriptions/{s}/providers/Microsoft.ContainerInstance/locations/{loc}/operations/{id}`.

A PUT validates like ACI (`aci_validate`), refuses an image the group's credentials cannot read
with 400 `InaccessibleImage` (a manifest request through the daemon), answers 201/200 with `Azure-AsyncOperation` and `Retry-After: 1`
(PROTOCOL.md §6), then provisions in the background: pull through the daemon with the group's registry
credentials, run each container (`aci_runtime`), publish the group's ports on its own loopback address
`127.77.X.Y` (its `ipAddress.ip`). The operation succeeds once the containers have started.

Fault events (`emulator.faults.add_event(kind, **attrs)`):
- `"lro-fail"`: the next provisioning fails. Matched on `name` (group) and `resource_group` when given;
  settings `code` (default "ServiceUnavailable"), `message` (default ACI's capacity text) and
  `event` (default "InsufficientCapacity.", the event name ACI reports).
- `"pull-backoff"`: pulling the image keeps failing without ending the operation, as ACI does
  for an image it accepted at the PUT but cannot fetch (Azure/dev-box-images#17: the container
  stays Waiting until the deployment times out). Matched on `name`; setting `message` (the
  pull error). The container is Waiting (`detailStatus` "ImagePullBackOff" [inferred]) and
  its events repeat Pulling, Failed and BackOff ('Back-off pulling image "..."'), the
  kubelet's event names, which ACI passes on. The provisioning state stays Creating [inferred].
- `"crash"`: a container exits right after start. Matched on `name` (group) and `container` when given;
  settings `exit_code` (default 3), `output` (the line it prints) and `shell` (default "/bin/sh";
  words split on blanks, e.g. "/bin/busybox sh").
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import socket
import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from aiohttp import web

from . import aci_identity, aci_init, aci_probes, aci_volumes, dnslabel
from . import aci_validate as v
from . import tags as arm_tags
from .aci_runtime import LABEL_EMULATOR, PullRefused, RunPlan, Runtime, docker_time, utc_now
from .arm_provider import ArmProvider, Operation, Operations
from .web import Handler, Router, arm_error, json_response

if TYPE_CHECKING:
    from .server import Emulator

log = logging.getLogger("emulator.aci")

PROVIDER = "Microsoft.ContainerInstance"
RESOURCE_TYPE = f"{PROVIDER}/containerGroups"
OPERATION_API_VERSION = "2018-06-01"  # what ACI puts on its Azure-AsyncOperation URLs (recording)

_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_GROUPS = (
    _SUB + r"/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.ContainerInstance/containerGroups"
)
_GROUP = _GROUPS + r"/(?P<name>[^/]+)"

CRASH_OUTPUT = "crash injected by the local Azure emulator"
# The pull error of the "pull-backoff" fault [inferred wording, containerd's].
PULL_ERROR = "rpc error: code = NotFound desc = failed to resolve reference: not found"


@dataclass
class ContainerRecord:
    """One container of a group: its Docker container and the ACI events seen for it."""

    name: str
    docker_id: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    previous_state: dict[str, Any] | None = None
    last_start: str | None = None
    stopping: bool = False
    waiting: str = ""  # detailStatus while the container waits without a Docker container
    docker_starts: int = 0  # Docker "start" events seen; the first is the one provisioning reports


@dataclass
class Group:
    """A container group as the emulator holds it (`spec` keeps secrets; responses use `public_view`)."""

    id: str
    name: str
    resource_group: str
    location: str
    spec: dict[str, Any]
    order: int
    ip: str | None = None
    provisioning_state: str = "Pending"
    containers: dict[str, ContainerRecord] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False
    task: asyncio.Task[None] | None = None
    # The last PUT body as the client sent it (secrets included), for tests that check what a
    # client sends back. The model ignores read-only properties in a PUT [inferred of ACI].
    sent: dict[str, Any] = field(default_factory=dict, repr=False)
    # The loopback address its ports are published on: `ip` itself for a public group; for a
    # private one (`ip` in its subnet, which the runner cannot reach) only tests know it
    # (`reachable_at`), standing in for a machine inside the virtual network.
    reach: str | None = None
    init_records: dict[str, ContainerRecord] = field(default_factory=dict)  # aci_init.py
    # What makes a `Noreuse` label's hash new for each new group (dnslabel.py).
    label_nonce: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def label(self) -> str | None:
        """The DNS name label, if any."""
        return (self.spec["properties"].get("ipAddress") or {}).get("dnsNameLabel")

    def docker_ids(self) -> list[str]:
        """The Docker containers of this group, first (network owner) last so it stops after the others."""
        ids = [r.docker_id for r in self.containers.values() if r.docker_id]
        return list(reversed(ids))


def add_event(
    events: list[dict[str, Any]],
    name: str,
    message: str,
    kind: str = "Normal",
    when: str | None = None,
) -> None:
    """Record an ACI event; a repeat of the same name and message bumps `count` and `lastTimestamp`."""
    stamp = when or utc_now()
    for event in events:
        if event["name"] == name and event["message"] == message:
            event["count"] += 1
            event["lastTimestamp"] = stamp
            return
    events.append(
        {
            "count": 1,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "name": name,
            "message": message,
            "type": kind,
        }
    )


class ProvisioningFailed(Exception):
    """Provisioning ended in a failed operation with this error body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Service(ArmProvider):
    """The ACI resource provider of the local Azure."""

    # Not the operations URL ARM hands out in Azure-AsyncOperation: it carries its own version.
    VERSIONED: ClassVar[dict[str, tuple[str, str]]] = {
        "containerGroups": ("arm", r"(?i)/providers/Microsoft\.ContainerInstance/containerGroups")
    }

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.instance_id = uuid.uuid4().hex[:12]
        self.runtime = Runtime(self.instance_id)
        self.operations = Operations(emulator, PROVIDER, OPERATION_API_VERSION)
        self._order = 0
        self._ip_block = random.randint(
            1, 254
        )  # 127.77.<block>.<n>; random so two emulators rarely meet
        self._ips: set[str] = set()
        self._by_docker_id: dict[str, tuple[str, str]] = {}
        self._watching = False
        self._actions: set[asyncio.Task[None]] = set()

    # --- hooks for tests and benchmarks ---------------------------------------------------
    def add_group(
        self,
        resource_group: str,
        name: str,
        *,
        tags: dict[str, str] | None = None,
        location: str = "westeurope",
        image: str = "mcr.microsoft.com/azuredocs/aci-helloworld:latest",
    ) -> Group:
        """Put a container group in the state without provisioning it: no container ever runs.

        It reads, lists and deletes like a provisioned group (`provisioningState` Succeeded, no
        IP address), so list, tag and delete logic can be tested at scale without Docker.
        """
        body = {
            "location": location,
            "tags": dict(tags or {}),
            "properties": {
                "osType": "Linux",
                "restartPolicy": "Always",
                "containers": [
                    {
                        "name": name,
                        "properties": {
                            "image": image,
                            "resources": {"requests": {"cpu": 0.1, "memoryInGB": 0.1}},
                        },
                    }
                ],
            },
        }
        spec = v.validate(name, body)
        resource_id = self._resource_id(self.emulator.state.subscription_id, resource_group, name)
        with self.emulator.state.lock:
            self._order += 1
            group = Group(
                resource_id, name, resource_id.split("/")[4], spec["location"], spec, self._order
            )
            group.provisioning_state = "Succeeded"
            self.emulator.state.table(RESOURCE_TYPE)[resource_id.lower()] = group
        return group

    def set_provisioning_state(self, resource_group: str, name: str, state: str) -> None:
        """Make a group report `state` (Unhealthy, Repairing, NotAccessible, ...) until its next PUT.

        ACI's newer api-versions list these provisioning states (ContainerGroupProvisioningState:
        NotSpecified, Accepted, Pending, Updating, Creating, Repairing, Unhealthy, Failed,
        Canceled, Succeeded, Deleting, NotAccessible, PreProvisioned); the platform sets them, no
        request does, so tests set them here.
        """
        resource_id = self._resource_id(self.emulator.state.subscription_id, resource_group, name)
        with self.emulator.state.lock:
            group = self._find(resource_id)
            assert group is not None, f"no container group {resource_group}/{name}"
            group.provisioning_state = state

    async def stop_group(self, group: Group) -> None:
        """What `POST .../stop` does: terminate and recycle every container, deallocating them."""
        with self.emulator.state.lock:
            group.stopped = True
            for record in group.containers.values():
                record.stopping = True
            ids = group.docker_ids()
        if group.task is not None and not group.task.done():
            group.task.cancel()
            await asyncio.gather(group.task, return_exceptions=True)
        if ids and self.emulator.docker:
            await asyncio.to_thread(self.runtime.remove, ids)
        with self.emulator.state.lock:
            for record in group.containers.values():
                if record.docker_id:
                    self._by_docker_id.pop(record.docker_id, None)
                record.docker_id = None
                record.waiting = ""

    # --- routes ---------------------------------------------------------------------------
    def register(self, router: Router) -> None:
        """Add the ACI routes."""
        routes: list[tuple[str, str, Handler]] = [
            ("PUT", _GROUP, self.put_group),
            ("GET", _GROUP, self.get_group),
            ("DELETE", _GROUP, self.delete_group),
            ("GET", _GROUPS, self.list_groups),
            (
                "GET",
                _SUB + r"/providers/Microsoft\.ContainerInstance/containerGroups",
                self.list_subscription,
            ),
            ("GET", _GROUP + r"/containers/(?P<container>[^/]+)/logs", self.logs),
            ("POST", _GROUP + r"/(?P<verb>restart|stop|start)", self.action),
        ]
        for method, pattern, handler in routes:
            self.arm_route(router, method, "(?i)" + pattern, handler)
        self.operation_route(router, self.operations)

    async def start(self) -> None:
        """Nothing runs until the first container group is provisioned."""

    async def stop(self) -> None:
        """Cancel provisioning and remove every container this emulator started."""
        tasks = [g.task for g in self._groups() if g.task is not None and not g.task.done()]
        tasks.extend(self._actions)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.emulator.docker and self.runtime._client is not None:
            removed = await asyncio.to_thread(self.runtime.remove_all)
            log.info(
                "removed %d container(s) labelled %s=%s", removed, LABEL_EMULATOR, self.instance_id
            )
        await asyncio.to_thread(self.runtime.close)
        await asyncio.to_thread(aci_volumes.remove_all, self.emulator)

    # --- shared checks ------------------------------------------------------------------
    def _groups(self) -> list[Group]:
        with self.emulator.state.lock:
            return sorted(self.emulator.state.table(RESOURCE_TYPE).values(), key=lambda g: g.order)

    def serves_subscription(self, subscription: str) -> bool:
        """Container groups of the local Azure live in the seed's main subscription only."""
        return subscription.lower() == self.emulator.state.subscription_id.lower()

    def _resource_id(self, sub: str, rg: str, name: str) -> str:
        canonical_rg = (self.emulator.state.resource_group(rg) or (rg, ""))[0]
        return f"/subscriptions/{self.emulator.state.subscription_id}/resourceGroups/{canonical_rg}/providers/{RESOURCE_TYPE}/{name}"

    def _find(self, resource_id: str) -> Group | None:
        with self.emulator.state.lock:
            group: Group | None = self.emulator.state.table(RESOURCE_TYPE).get(resource_id.lower())
            return group

    def _not_found(self, rg: str, name: str) -> web.Response:
        return self.resource_not_found(RESOURCE_TYPE, name, rg)

    # --- views --------------------------------------------------------------------------
    def _view(self, group: Group, *, instance: dict[str, Any] | None = None) -> dict[str, Any]:
        body = v.public_view(group.spec)
        props = body["properties"]
        props["provisioningState"] = group.provisioning_state
        ip = props.get("ipAddress")
        if ip is not None:
            if group.ip is not None and any(r.docker_id for r in group.containers.values()):
                ip["ip"] = group.ip
            if ip.get("dnsNameLabel"):
                ip["fqdn"] = self._fqdn(group.spec, group.id, group.label_nonce)
        if instance is not None:
            for container in props["containers"]:
                container["properties"]["instanceView"] = instance["containers"].get(
                    container["name"]
                )
                if container["properties"]["instanceView"] is None:
                    del container["properties"]["instanceView"]
            props["instanceView"] = {"events": instance["events"], "state": instance["state"]}
            inits = aci_init.view(group)
            for init in props.get("initContainers") or []:
                if init["name"] in inits:
                    init.setdefault("properties", {})["instanceView"] = inits[init["name"]]
        return {
            "id": group.id,
            "name": group.name,
            "type": RESOURCE_TYPE,
            "location": group.location,
            **{k: body[k] for k in ("tags", "zones") if k in body},
            **(
                {"identity": aci_identity.view(self.emulator, body["identity"], group.id)}
                if isinstance(body.get("identity"), dict)
                else {}
            ),
            "properties": props,
        }

    async def _instance_view(self, group: Group) -> dict[str, Any]:
        """Container and group states from `docker inspect`, as ACI's instanceView reports them."""
        infos: dict[str, dict[str, Any] | None] = {}
        for record in list(group.containers.values()):
            if record.docker_id and self.emulator.docker:
                infos[record.name] = await asyncio.to_thread(self.runtime.inspect, record.docker_id)
        with self.emulator.state.lock:
            containers: dict[str, Any] = {}
            states = []
            for record in group.containers.values():
                if group.stopped and record.docker_id is None:
                    # Deallocated: nothing runs, so nothing to report [inferred].
                    continue
                view = self._container_view(record, infos.get(record.name))
                containers[record.name] = view
                states.append(view["currentState"])
            return {
                "containers": containers,
                "events": list(group.events),
                "state": self._group_state(group, states),
            }

    def _container_view(
        self, record: ContainerRecord, info: dict[str, Any] | None
    ) -> dict[str, Any]:
        restarts = 0
        current: dict[str, Any] = {"state": "Waiting", "detailStatus": record.waiting}
        if info is not None:
            state = info["State"]
            restarts = int(info.get("RestartCount") or 0)
            started, finished = (
                docker_time(state.get("StartedAt")),
                docker_time(state.get("FinishedAt")),
            )
            if state["Status"] == "running":
                current = {"state": "Running", "startTime": started, "detailStatus": ""}
            elif state["Status"] == "restarting":
                # Docker waits before the next restart: what Kubernetes-based ACI shows as CrashLoopBackOff.
                current = {
                    "state": "Waiting",
                    "detailStatus": "CrashLoopBackOff: Back-off restarting failed",
                }
            elif state["Status"] in ("exited", "dead"):
                code = int(state.get("ExitCode") or 0)
                current = {
                    "state": "Terminated",
                    "startTime": started,
                    "exitCode": code,
                    "finishTime": finished,
                    "detailStatus": "Completed" if code == 0 else "Error",
                }
        view: dict[str, Any] = {
            "restartCount": restarts,
            "currentState": {k: x for k, x in current.items() if x is not None},
        }
        if record.previous_state is not None:
            view["previousState"] = dict(record.previous_state)
        view["events"] = [dict(e) for e in record.events]
        return view

    def _group_state(self, group: Group, states: list[dict[str, Any]]) -> str:
        if group.provisioning_state in ("Pending", "Creating"):
            return "Pending"
        if group.provisioning_state == "Failed":
            return "Failed"
        if group.stopped:
            return "Stopped"
        if not states or any(s["state"] in ("Running", "Waiting") for s in states):
            return "Running"
        if group.spec["properties"]["restartPolicy"] == "Always":
            return "Running"
        return "Succeeded" if all(s.get("exitCode") == 0 for s in states) else "Failed"

    # --- handlers -----------------------------------------------------------------------
    async def put_group(
        self, request: web.Request, sub: str, rg: str, name: str
    ) -> web.StreamResponse:
        """Create or update a container group, then provision it in the background."""
        resource_id = self._resource_id(sub, rg, name)
        refused = self.check(request, sub, f"{RESOURCE_TYPE}/write", resource_id, rg)
        if refused is not None:
            return refused
        try:
            body = json.loads(await request.text() or "null")
        except ValueError:
            return arm_error(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized.",
            )
        refused = arm_tags.refusal(body)  # ARM's own check, before the provider's
        if refused is not None:
            return refused
        try:
            spec = v.validate(name, body)
            aci_identity.check(self.emulator, name, spec)
        except v.AciError as exc:
            return arm_error(exc.status, exc.code, exc.message)
        refused = self._check_subnets(name, resource_id, spec)
        if refused is not None:
            return refused
        state = self.emulator.state
        with state.lock:
            refused = self._check_against(name, resource_id, spec)
        if refused is not None:
            return refused
        if self.emulator.docker:
            refused = await self._check_images(name, spec)
            if refused is not None:
                return refused
        with state.lock:
            # Checked again: the image check ran without the lock.
            refused = self._check_against(name, resource_id, spec)
            if refused is not None:
                return refused
            existing = self._find(resource_id)
            if existing is None:
                self._order += 1
                group = Group(
                    resource_id,
                    name,
                    resource_id.split("/")[4],
                    spec["location"],
                    spec,
                    self._order,
                )
                state.table(RESOURCE_TYPE)[resource_id.lower()] = group
            else:
                group = existing
                group.spec = spec
            group.sent = body
            if group.task is not None and not group.task.done():
                group.task.cancel()
            group.provisioning_state = "Pending"
            group.stopped = False
            operation = self.operations.new(group.id)
            response_body = self._view(group)
            response_body["properties"]["instanceView"] = {"events": [], "state": "Pending"}
        group.task = asyncio.create_task(self._provision(group, operation))
        return json_response(
            response_body,
            201 if existing is None else 200,
            self.operations.headers(operation, group.location),
        )

    def _check_against(
        self, name: str, resource_id: str, spec: dict[str, Any]
    ) -> web.Response | None:
        """The refusal of a PUT that conflicts with the group or its neighbours, or None."""
        existing = self._find(resource_id)
        try:
            if existing is not None:
                v.check_update(name, existing.spec, spec)
                if v.normalize_location(existing.location) != spec["location"]:
                    return arm_error(
                        400,
                        "InvalidResourceLocation",
                        f"The resource '{name}' already exists in location '{existing.location}' in resource group"
                        f" '{existing.resource_group}'. A resource with the same name cannot be created in location"
                        f" '{spec['location']}'. Please select a new resource name.",
                    )
            self._check_label(name, resource_id, spec)
        except v.AciError as exc:
            return arm_error(exc.status, exc.code, exc.message)
        return None

    async def _check_images(self, name: str, spec: dict[str, Any]) -> web.Response | None:
        """400 InaccessibleImage when the group's credentials cannot read an image, or None.

        ACI answers the PUT itself this way (aci_error_examples.md: az CLI's
        `(InaccessibleImage) The image '...' in container group '...' is not accessible.`), so
        nothing is created or changed; the group that was there keeps running. Which of these
        checks ACI makes first is not documented [inferred order].
        """
        props = spec["properties"]
        credentials = aci_identity.pull_credentials(
            self.emulator, props.get("imageRegistryCredentials") or []
        )
        for container in [*(props.get("initContainers") or []), *props["containers"]]:
            image = container["properties"]["image"]
            try:
                await asyncio.to_thread(self.runtime.check_access, image, credentials)
            except PullRefused:
                return arm_error(400, "InaccessibleImage", _inaccessible(image, name))
        return None

    def _check_subnets(
        self, name: str, resource_id: str, spec: dict[str, Any]
    ) -> web.Response | None:
        """ACI's refusal of a subnet that does not exist or is not delegated to it, or None."""
        network = self.emulator.services["network"]
        for subnet in spec["properties"].get("subnetIds") or []:
            found = network.find_subnet(str(subnet["id"]))
            if found is None:
                # The Network RP's answer for a missing reference (MicrosoftDocs/azure-docs#60273
                # quotes its wording); the code is [inferred].
                return arm_error(
                    400,
                    "InvalidResourceReference",
                    f"Resource {subnet['id']} referenced by resource {resource_id}"
                    " was not found. Please make sure that the referenced resource exists, and"
                    " that both resources are in the same region.",
                )
            if "Microsoft.ContainerInstance/containerGroups" not in found.delegations:
                # Real code and wording (Azure/dev-box-images#8).
                return arm_error(
                    400,
                    "SubnetMissingRequiredDelegation",
                    f"Subnet missing required delegation 'Microsoft.ContainerInstance' for"
                    f" container group '{name}'.",
                )
        return None

    def reachable_at(self, resource_group: str, name: str) -> str | None:
        """Where this machine reaches a group's ports: for a private one, as from its network."""
        resource_id = self._resource_id(self.emulator.state.subscription_id, resource_group, name)
        group = self._find(resource_id)
        return group.reach if group is not None else None

    def _fqdn(self, spec: dict[str, Any], resource_id: str, nonce: str) -> str:
        """The FQDN ACI gives the spec's label, by its reuse scope (dnslabel.py)."""
        ip = spec["properties"].get("ipAddress") or {}
        parts = resource_id.split("/")
        return dnslabel.fqdn(
            str(ip["dnsNameLabel"]),
            str(spec["location"]),
            ip.get("autoGeneratedDomainNameLabelScope"),
            tenant=self.emulator.state.tenant_id,
            subscription=parts[2],
            resource_group=parts[4],
            nonce=nonce,
        )

    def _check_label(self, name: str, resource_id: str, spec: dict[str, Any]) -> None:
        """`DnsNameLabelAlreadyTaken` when another group holds the FQDN this label would get."""
        label = (spec["properties"].get("ipAddress") or {}).get("dnsNameLabel")
        if not label:
            return
        existing = self._find(resource_id)
        nonce = existing.label_nonce if existing is not None else "new group"
        wanted = self._fqdn(spec, resource_id, nonce)
        for other in self.emulator.state.table(RESOURCE_TYPE).values():
            if (
                other.id.lower() != resource_id.lower()
                and other.label
                and self._fqdn(other.spec, other.id, other.label_nonce) == wanted
            ):
                raise v.AciError(
                    400,
                    "DnsNameLabelAlreadyTaken",
                    f"The DNS name label '{label}' in container group '{name}' is not available. Try using a different label.",
                )

    async def get_group(
        self, request: web.Request, sub: str, rg: str, name: str
    ) -> web.StreamResponse:
        """A container group with its instance view."""
        resource_id = self._resource_id(sub, rg, name)
        refused = self.check(request, sub, f"{RESOURCE_TYPE}/read", resource_id, rg)
        if refused is not None:
            return refused
        group = self._find(resource_id)
        if group is None:
            return self._not_found(rg, name)
        instance = await self._instance_view(group)
        with self.emulator.state.lock:
            return json_response(self._view(group, instance=instance))

    async def list_groups(self, request: web.Request, sub: str, rg: str) -> web.StreamResponse:
        """The groups of a resource group, `page_size` at a time."""
        scope = f"/subscriptions/{sub}/resourceGroups/{rg}"
        refused = self.check(request, sub, f"{RESOURCE_TYPE}/read", scope, rg)
        if refused is not None:
            return refused
        groups = [g for g in self._groups() if g.resource_group.lower() == rg.lower()]
        return self.page(request, groups, self._view)

    async def list_subscription(self, request: web.Request, sub: str) -> web.StreamResponse:
        """Every group of the subscription, `page_size` at a time."""
        refused = self.check(request, sub, f"{RESOURCE_TYPE}/read", f"/subscriptions/{sub}", None)
        if refused is not None:
            return refused
        return self.page(request, self._groups(), self._view)

    async def delete_group(
        self, request: web.Request, sub: str, rg: str, name: str
    ) -> web.StreamResponse:
        """Remove the group and its containers: 200 with the group, 204 when there is none."""
        resource_id = self._resource_id(sub, rg, name)
        refused = self.check(request, sub, f"{RESOURCE_TYPE}/delete", resource_id, rg)
        if refused is not None:
            return refused
        with self.emulator.state.lock:
            group = self.emulator.state.table(RESOURCE_TYPE).pop(resource_id.lower(), None)
            if group is None:
                return web.Response(status=204)
            for record in group.containers.values():
                record.stopping = True
        if group.task is not None and not group.task.done():
            group.task.cancel()
            await asyncio.gather(group.task, return_exceptions=True)
        if self.emulator.docker:
            await asyncio.to_thread(
                self.runtime.remove, group.docker_ids() + aci_init.docker_ids(group)
            )
        await asyncio.to_thread(aci_volumes.remove, self.emulator, group.id)
        with self.emulator.state.lock:
            body = self._view(group)
            for record in group.containers.values():
                if record.docker_id:
                    self._by_docker_id.pop(record.docker_id, None)
            if group.ip is not None:
                self._ips.discard(group.ip)
            if group.reach is not None:
                self._ips.discard(group.reach)
        self.emulator.services["network"].release(group.id)
        return json_response(body)

    async def logs(
        self, request: web.Request, sub: str, rg: str, name: str, container: str
    ) -> web.StreamResponse:
        """A container's log as `{"content": ...}`."""
        resource_id = self._resource_id(sub, rg, name)
        refused = self.check(
            request,
            sub,
            f"{RESOURCE_TYPE}/containers/logs/read",
            f"{resource_id}/containers/{container}",
            rg,
        )
        if refused is not None:
            return refused
        group = self._find(resource_id)
        if group is None:
            return self._not_found(rg, name)
        record = group.containers.get(container)
        if record is None and container not in {
            c["name"] for c in group.spec["properties"]["containers"]
        }:
            return arm_error(
                404,
                "ContainerNotFound",
                f"The container '{container}' could not be found in container group '{name}'.",
            )  # [inferred] wording
        tail_text = request.query.get("tail")
        try:
            tail = int(tail_text) if tail_text else None
        except ValueError:
            return arm_error(
                400,
                "InvalidRequestParameter",
                f"The value '{tail_text}' of parameter 'tail' is invalid.",
            )  # [inferred]
        timestamps = request.query.get("timestamps", "false").lower() == "true"
        content = ""
        if record is not None and record.docker_id and self.emulator.docker:
            content = await asyncio.to_thread(
                self.runtime.logs, record.docker_id, tail=tail, timestamps=timestamps
            )
        return json_response({"content": content})

    async def action(
        self, request: web.Request, sub: str, rg: str, name: str, verb: str
    ) -> web.StreamResponse:
        """restart (204 + operation), stop (204), start (202 + operation), as the SDK expects them."""
        verb = verb.lower()
        resource_id = self._resource_id(sub, rg, name)
        refused = self.check(request, sub, f"{RESOURCE_TYPE}/{verb}/action", resource_id, rg)
        if refused is not None:
            return refused
        group = self._find(resource_id)
        if group is None:
            return self._not_found(rg, name)
        ids = group.docker_ids()
        if verb == "stop":
            await self.stop_group(group)
            return web.Response(status=204)
        operation = self.operations.new(group.id)
        if verb == "start":
            # "Starting a container group begins a new deployment with the same container
            # configuration" (container-instances-stop-start): pull and run afresh.
            with self.emulator.state.lock:
                group.stopped = False
                group.provisioning_state = "Pending"
            group.task = asyncio.create_task(self._provision(group, operation))
            return web.Response(
                status=202, headers=self.operations.headers(operation, group.location)
            )
        task = asyncio.create_task(self._run_action(group, operation, verb, list(reversed(ids))))
        self._actions.add(task)  # a reference keeps the task alive until it ends
        task.add_done_callback(self._actions.discard)
        return web.Response(status=204, headers=self.operations.headers(operation, group.location))

    async def _run_action(
        self, group: Group, operation: Operation, verb: str, ids: list[str]
    ) -> None:
        try:
            if not self.emulator.docker:
                raise ProvisioningFailed("InternalServerError", _NO_DOCKER)
            with self.emulator.state.lock:
                for record in group.containers.values():
                    record.stopping = (
                        verb == "restart"
                    )  # a requested restart is not a crash: no BackOff
            await asyncio.to_thread(
                self.runtime.restart if verb == "restart" else self.runtime.start, ids
            )
            with self.emulator.state.lock:
                for record in group.containers.values():
                    record.stopping = False
                group.stopped = False
                operation.status = "Succeeded"
        except ProvisioningFailed as exc:
            operation.status, operation.error = "Failed", {"code": exc.code, "message": exc.message}
        except Exception as exc:
            operation.status, operation.error = (
                "Failed",
                {"code": "InternalServerError", "message": f"{verb} failed: {exc}"},
            )

    # --- provisioning -------------------------------------------------------------------
    async def _provision(self, group: Group, operation: Operation) -> None:
        """Pull, (re)create and start the group's containers; settle the operation."""
        try:
            await self._provision_steps(group, operation)
        except asyncio.CancelledError:
            with self.emulator.state.lock:
                if operation.status == "InProgress":
                    operation.status = "Canceled"
            raise
        except ProvisioningFailed as exc:
            self._fail(group, operation, exc.code, exc.message)
        except Exception as exc:
            log.exception("provisioning %s failed", group.id)
            self._fail(
                group,
                operation,
                "InternalServerError",
                f"Provisioning container group '{group.name}' failed: {exc}",
            )

    def _fail(self, group: Group, operation: Operation, code: str, message: str) -> None:
        with self.emulator.state.lock:
            group.provisioning_state = "Failed"
            operation.status = "Failed"
            operation.error = {"code": code, "message": message}
            operation.events = [
                *group.events,
                *[e for r in group.containers.values() for e in r.events],
            ]

    async def _provision_steps(self, group: Group, operation: Operation) -> None:
        faults = self.emulator.faults
        with self.emulator.state.lock:
            spec = group.spec
            props = spec["properties"]
            group.provisioning_state = "Creating"
        failure = faults.take_event(
            "lro-fail",
            settings=("code", "message", "event"),
            name=group.name,
            resource_group=group.resource_group,
        )
        if failure is not None:
            cpu = sum(c["properties"]["resources"]["requests"]["cpu"] for c in props["containers"])
            memory = sum(
                c["properties"]["resources"]["requests"]["memoryInGB"] for c in props["containers"]
            )
            # The asynchronous capacity failure ACI reports (aci_error_examples.md, ALZ#2409).
            message = failure.attrs.get("message") or (
                f"The requested resource is not available in the location '{group.location}' at this moment. Please retry"
                " with a different resource request or in another location. Resource requested:"
                f" '{v._fmt(cpu)}' CPU '{v._fmt(memory)}' GB memory '{props['osType']}' OS"
            )
            with self.emulator.state.lock:
                add_event(
                    group.events,
                    failure.attrs.get("event", "InsufficientCapacity."),
                    message,
                    "Warning",
                )
            raise ProvisioningFailed(failure.attrs.get("code", "ServiceUnavailable"), message)
        if not self.emulator.docker:
            raise ProvisioningFailed("InternalServerError", _NO_DOCKER)
        if not self._watching:
            await asyncio.to_thread(self.runtime.watch, self._on_docker_event)
            self._watching = True
        # Fresh records for this generation; the old containers go once the new images are in.
        old_ids = group.docker_ids() + aci_init.docker_ids(group)
        records = {c["name"]: ContainerRecord(c["name"]) for c in props["containers"]}
        with self.emulator.state.lock:
            previous = group.containers
            group.containers = records
            for record in previous.values():
                record.stopping = True
        credentials = aci_identity.pull_credentials(
            self.emulator, props.get("imageRegistryCredentials") or []
        )
        for container in props["containers"]:
            record = records[container["name"]]
            image = container["properties"]["image"]
            with self.emulator.state.lock:
                add_event(record.events, "Pulling", f'pulling image "{image}"')
            stuck = faults.take_event("pull-backoff", settings=("message",), name=group.name)
            if stuck is not None:
                await self._pull_backoff(record, image, str(stuck.attrs.get("message", PULL_ERROR)))
            try:
                await asyncio.to_thread(self.runtime.pull, image, credentials)
            except PullRefused as exc:
                with self.emulator.state.lock:
                    add_event(
                        record.events, "Failed", f'Failed to pull image "{image}": {exc}', "Warning"
                    )
                raise ProvisioningFailed(
                    "InaccessibleImage", _inaccessible(image, group.name)
                ) from None
            with self.emulator.state.lock:
                add_event(record.events, "Pulled", f'Successfully pulled image "{image}"')
        if old_ids:
            await asyncio.to_thread(self.runtime.remove, old_ids)
            with self.emulator.state.lock:
                for docker_id in old_ids:
                    self._by_docker_id.pop(docker_id, None)
        if props.get("ipAddress") and group.ip is None:
            group.reach = await asyncio.to_thread(self._allocate_ip, props["ipAddress"]["ports"])
            subnets = props.get("subnetIds") or []
            private = props["ipAddress"].get("type") == "Private" and subnets
            group.ip = (
                self.emulator.services["network"].allocate(str(subnets[0]["id"]), group.id)
                if private
                else group.reach
            )
        try:
            binds = await asyncio.to_thread(aci_volumes.prepare, self.emulator, group.id, props)
        except aci_volumes.MountFailed as exc:
            await self._mount_backoff(props, records, exc)
        short = uuid.uuid4().hex[:8]
        await aci_init.run(self, group, short)  # to completion, in order, before the others
        first_id: str | None = None
        for index, container in enumerate(props["containers"]):
            record = records[container["name"]]
            plan = self._plan(group, container, short, first_id, publish=index == 0)
            plan = replace(plan, mounts=tuple(binds.get(container["name"], ())))
            docker_id = await asyncio.to_thread(self.runtime.create, plan)
            with self.emulator.state.lock:
                record.docker_id = docker_id
                self._by_docker_id[docker_id] = (group.id.lower(), record.name)
                add_event(record.events, "Created", "Created container")
            await asyncio.to_thread(self.runtime.start, [docker_id])
            with self.emulator.state.lock:
                record.last_start = utc_now()
                add_event(record.events, "Started", "Started container")
            first_id = first_id or docker_id
        with self.emulator.state.lock:
            group.provisioning_state = "Succeeded"
            operation.events = [e for r in records.values() for e in r.events]
            operation.status = "Succeeded"
        # The probes run until the next PUT, stop or delete cancels this task (aci_probes.py).
        await aci_probes.watch(self, group)

    async def _pull_backoff(self, record: ContainerRecord, image: str, error: str) -> None:
        """Fail to pull `image` again and again, until a PUT, stop or delete cancels provisioning."""
        while True:
            with self.emulator.state.lock:
                add_event(record.events, "Pulling", f'pulling image "{image}"')
                add_event(
                    record.events, "Failed", f'Failed to pull image "{image}": {error}', "Warning"
                )
                add_event(record.events, "BackOff", f'Back-off pulling image "{image}"', "Warning")
                record.waiting = "ImagePullBackOff"
            await asyncio.sleep(1)

    async def _mount_backoff(
        self,
        props: dict[str, Any],
        records: dict[str, ContainerRecord],
        failure: aci_volumes.MountFailed,
    ) -> NoReturn:
        """Fail to mount a share again and again, until a PUT, stop or delete ends provisioning.

        The containers that mount it stay Waiting (detailStatus "ContainerCreating", the
        kubelet's [inferred]) with repeated warnings (aci_volumes.py); the provisioning state
        stays Creating, as with an image that cannot be pulled.
        """
        waiting = [
            records[c["name"]]
            for c in props["containers"]
            if any(
                m.get("name") == failure.volume
                for m in (c.get("properties") or {}).get("volumeMounts") or []
            )
        ] or list(records.values())
        while True:
            with self.emulator.state.lock:
                for record in waiting:
                    add_event(
                        record.events, aci_volumes.FAILED_MOUNT_EVENT, failure.message, "Warning"
                    )
                    record.waiting = "ContainerCreating"
            await asyncio.sleep(1)

    def _plan(
        self,
        group: Group,
        container: dict[str, Any],
        short: str,
        network_of: str | None,
        *,
        publish: bool,
    ) -> RunPlan:
        props = group.spec["properties"]
        cprops = container["properties"]
        env = {}
        for variable in cprops.get("environmentVariables") or []:
            value = variable.get("secureValue", variable.get("value"))
            env[variable["name"]] = "" if value is None else str(value)
        entrypoint = list(cprops["command"]) if cprops.get("command") else None
        crash = self.emulator.faults.take_event(
            "crash",
            settings=("exit_code", "output", "shell"),
            name=group.name,
            container=container["name"],
        )
        if crash is not None:
            output = str(crash.attrs.get("output", CRASH_OUTPUT)).replace("'", "")
            code = int(crash.attrs.get("exit_code", 3))
            entrypoint = [
                *str(crash.attrs.get("shell", "/bin/sh")).split(),
                "-c",
                f"echo '{output}'; exit {code}",
            ]
        requests = cprops["resources"]["requests"]
        limits = cprops["resources"].get("limits") or {}
        ports: dict[str, tuple[str, int]] = {}
        if publish and group.reach is not None:
            for port in props["ipAddress"]["ports"]:
                ports[f"{port['port']}/{port.get('protocol', 'TCP').lower()}"] = (
                    group.reach,
                    int(port["port"]),
                )
        return RunPlan(
            group_id=group.id,
            container=container["name"],
            docker_name=f"aci-{group.name}-{container['name']}-{short}",
            image=cprops["image"],
            env=env,
            entrypoint=entrypoint,
            cpu=float(limits.get("cpu", requests["cpu"])),
            memory_gb=float(limits.get("memoryInGB", requests["memoryInGB"])),
            restart_policy=props["restartPolicy"],
            ports=ports,
            network_of=network_of,
        )

    def _allocate_ip(self, ports: list[dict[str, Any]]) -> str:
        """The next free 127.77.X.Y whose group ports nobody holds (blocking: test binds)."""
        for host in range(1, 255):
            address = f"127.77.{self._ip_block}.{host}"
            with self.emulator.state.lock:
                if address in self._ips:
                    continue
            if all(_bindable(address, int(p["port"]), p.get("protocol", "TCP")) for p in ports):
                with self.emulator.state.lock:
                    if address not in self._ips:
                        self._ips.add(address)
                        return address
        raise ProvisioningFailed(
            "InternalServerError", f"No free loopback address in 127.77.{self._ip_block}.0/24."
        )

    def _on_docker_event(self, event: dict[str, Any]) -> None:
        """Turn Docker's container events into ACI events (runs on the watcher thread)."""
        docker_id = str(event.get("id") or event.get("Actor", {}).get("ID", ""))
        status = event.get("status") or event.get("Action")
        attributes = event.get("Actor", {}).get("Attributes", {})
        when = _epoch_time(event.get("time"))
        with self.emulator.state.lock:
            owner = self._by_docker_id.get(docker_id)
            if owner is None:
                return
            group = self.emulator.state.table(RESOURCE_TYPE).get(owner[0])
            record = group.containers.get(owner[1]) if group is not None else None
            if group is None or record is None or record.docker_id != docker_id:
                return
            if status == "die":
                code = int(attributes.get("exitCode", 0))
                record.previous_state = {
                    "state": "Terminated",
                    **({"startTime": record.last_start} if record.last_start else {}),
                    "exitCode": code,
                    "finishTime": when,
                    "detailStatus": "Completed" if code == 0 else "Error",
                }
                policy = group.spec["properties"]["restartPolicy"]
                if not record.stopping and (
                    policy == "Always" or (policy == "OnFailure" and code != 0)
                ):
                    add_event(
                        record.events,
                        "BackOff",
                        "Back-off restarting failed container",
                        "Warning",
                        when,
                    )
            elif status == "start":
                record.docker_starts += 1
                if record.docker_starts > 1:
                    add_event(record.events, "Started", "Started container", "Normal", when)
                record.last_start = when
            elif status == "kill" and record.stopping:
                add_event(
                    record.events,
                    "Killing",
                    f"Killing container with id {docker_id[:12]}.",
                    "Normal",
                    when,
                )


def _inaccessible(image: str, group: str) -> str:
    # Verbatim shape of ACI's message (aci_error_examples.md).
    return (
        f"The image '{image}' in container group '{group}' is not accessible. Please check the"
        " image and registry credential."
    )


_NO_DOCKER = (
    "The local Azure emulator was started without Docker (docker=False), so container groups cannot be"
    " provisioned; use the `azure` fixture for ACI."
)


def _epoch_time(value: Any) -> str:
    import datetime as dt

    if not isinstance(value, (int, float)):
        return utc_now()
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bindable(address: str, port: int, protocol: str) -> bool:
    kind = socket.SOCK_DGRAM if protocol.upper() == "UDP" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True
