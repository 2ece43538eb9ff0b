"""Init containers of the local ACI: run to completion, in order, before the group's containers.

What container-instances-init-container says ACI does, and so this model: "Init containers run
to completion before the application container or containers start"; "executed in the order
specified in the template, and before other containers"; "While an init container runs, no
other containers run in the group"; they get no resources of their own (the group's) and no
ports. "Each init container must exit successfully before the next container in the group
starts. If an init container doesn't exit successfully, its restart action depends on the
restart policy configured for the group": Always and OnFailure restart it (OnFailure), Never
does not. Here a failure with Never fails the provisioning (the group reads Failed), and with
the other two the container is run again after a back-off, the way the kubelet does
(`BackOff` events, the instance view Waiting in CrashLoopBackOff) until the operation is
replaced or the group deleted; the error code of the failed operation and the wording of the
events are [inferred].

They run on Docker's default network, not in the group's namespace: ACI gives them no ports,
and Docker can only join a namespace of a running container, which would have to be one of
the containers that must not run yet.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .aci_runtime import PullRefused, RunPlan, docker_time, utc_now

if TYPE_CHECKING:
    from .aci import Group, Service

# How long a failed init container waits before its next run (the kubelet starts at 10 s and
# doubles; shorter here so tests see several runs).
BACKOFF_SECONDS = 1.0
FAILED_CODE = "ContainerGroupInitContainerFailed"  # [inferred]


async def run(service: Service, group: Group, short: str) -> None:
    """Pull and run each init container of the group in order; raise `ProvisioningFailed`."""
    from .aci import ContainerRecord, ProvisioningFailed, _inaccessible, add_event

    props = group.spec["properties"]
    inits = props.get("initContainers") or []
    state = service.emulator.state
    with state.lock:
        group.init_records = {c["name"]: ContainerRecord(c["name"]) for c in inits}
    credentials = props.get("imageRegistryCredentials") or []
    for container in inits:
        record = group.init_records[container["name"]]
        image = container["properties"]["image"]
        with state.lock:
            add_event(record.events, "Pulling", f'pulling image "{image}"')
        try:
            await asyncio.to_thread(service.runtime.pull, image, credentials)
        except PullRefused as exc:
            with state.lock:
                add_event(
                    record.events, "Failed", f'Failed to pull image "{image}": {exc}', "Warning"
                )
            raise ProvisioningFailed(
                "InaccessibleImage", _inaccessible(image, group.name)
            ) from None
        with state.lock:
            add_event(record.events, "Pulled", f'Successfully pulled image "{image}"')
    for container in inits:
        record = group.init_records[container["name"]]
        while True:
            code = await _run_once(service, group, container, record, short)
            if code == 0:
                break
            if props["restartPolicy"] == "Never":
                raise ProvisioningFailed(
                    FAILED_CODE,
                    f"The init container '{record.name}' in container group '{group.name}' exited"
                    f" with code {code}; the group's containers were not started.",
                )
            with state.lock:
                add_event(
                    record.events, "BackOff", "Back-off restarting failed container", "Warning"
                )
                record.waiting = "CrashLoopBackOff: Back-off restarting failed"
            await asyncio.sleep(BACKOFF_SECONDS)


async def _run_once(
    service: Service, group: Group, container: dict[str, Any], record: Any, short: str
) -> int:
    """Create, start and wait for one init container; its exit code. It is kept (for logs)."""
    from .aci import add_event

    props = group.spec["properties"]
    cprops = container["properties"]
    env = {
        v["name"]: str(v.get("secureValue", v.get("value")) or "")
        for v in cprops.get("environmentVariables") or []
    }
    total_cpu = sum(c["properties"]["resources"]["requests"]["cpu"] for c in props["containers"])
    total_memory = sum(
        c["properties"]["resources"]["requests"]["memoryInGB"] for c in props["containers"]
    )
    runs = record.docker_starts
    plan = RunPlan(
        group_id=group.id,
        container=record.name,
        docker_name=f"aci-{group.name}-init-{record.name}-{short}-{runs}",
        image=cprops["image"],
        env=env,
        entrypoint=list(cprops["command"]) if cprops.get("command") else None,
        cpu=float(total_cpu),
        memory_gb=float(total_memory),
        restart_policy="Never",  # the model restarts it itself, as the policy table says
        ports={},
        network_of=None,
    )
    runtime, state = service.runtime, service.emulator.state
    old = record.docker_id
    docker_id = await asyncio.to_thread(runtime.create, plan)
    if old:
        await asyncio.to_thread(runtime.remove, [old])
    with state.lock:
        record.docker_id = docker_id
        record.docker_starts += 1
        add_event(record.events, "Created", "Created container")
    await asyncio.to_thread(runtime.start, [docker_id])
    with state.lock:
        record.last_start = utc_now()
        record.waiting = ""
        add_event(record.events, "Started", "Started container")
    result = await asyncio.to_thread(runtime.client.api.wait, docker_id)
    code = int(result.get("StatusCode", 1)) if isinstance(result, dict) else 1
    info = await asyncio.to_thread(runtime.inspect, docker_id)
    finished = docker_time((info or {}).get("State", {}).get("FinishedAt")) or utc_now()
    with state.lock:
        record.previous_state = {
            "state": "Terminated",
            "startTime": record.last_start,
            "exitCode": code,
            "finishTime": finished,
            "detailStatus": "Completed" if code == 0 else "Error",
        }
    return code


def view(group: Group) -> dict[str, dict[str, Any]]:
    """The instance view of each init container, by name, as ACI reports it."""
    views: dict[str, dict[str, Any]] = {}
    for name, record in (getattr(group, "init_records", None) or {}).items():
        current = record.previous_state or {"state": "Waiting", "detailStatus": record.waiting}
        if record.waiting:
            current = {"state": "Waiting", "detailStatus": record.waiting}
        elif record.docker_id and record.previous_state is None:
            current = {"state": "Running", "startTime": record.last_start, "detailStatus": ""}
        views[name] = {
            "restartCount": max(0, record.docker_starts - 1),
            "currentState": current,
            "events": [dict(e) for e in record.events],
        }
    return views


def docker_ids(group: Group) -> list[str]:
    """The Docker containers of the group's init containers (kept after they exit, for logs)."""
    records = getattr(group, "init_records", None) or {}
    return [r.docker_id for r in records.values() if r.docker_id]
