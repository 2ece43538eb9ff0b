"""The local ACI runs the containers' probes, as the kubelet under ACI does.

After `initialDelaySeconds`, every `periodSeconds` (default 10), a probe runs with
`timeoutSeconds` (default 1): `exec` through `docker exec` (passes on exit code 0), `httpGet`
against the group's address (passes on a status from 200 to 399, the kubelet's rule). After
`failureThreshold` (default 3) failures in a row a liveness probe restarts the container, with
the kubelet's events (`Unhealthy` "Liveness probe failed: ...", `Killing` "Container ... failed
liveness probe, will be restarted"), which ACI passes on. A failing readiness probe only adds
`Unhealthy` "Readiness probe failed: ..." events: ACI has no load balancer to take a container
out of, and the 2023-05-01 instance view has no ready flag, so that is all it can show here.

Limits of the model: an HTTP probe reaches only a port published on the group's IP address
(a port of the container alone is not reachable from this machine) and is skipped otherwise.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .aci import Group, Service


async def watch(service: Service, group: Group) -> None:
    """Run every probe of the group until cancelled (a PUT, stop, delete or shutdown)."""
    loops = []
    for container in group.spec["properties"]["containers"]:
        cprops = container["properties"]
        for field, kind in (("livenessProbe", "Liveness"), ("readinessProbe", "Readiness")):
            probe = cprops.get(field)
            if isinstance(probe, dict):
                loops.append(_loop(service, group, container["name"], kind, probe))
    if loops:
        await asyncio.gather(*loops)


async def _loop(
    service: Service, group: Group, name: str, kind: str, probe: dict[str, Any]
) -> None:
    from .aci import add_event

    await asyncio.sleep(float(probe.get("initialDelaySeconds") or 0))
    period = float(probe.get("periodSeconds") or 10)
    threshold = int(probe.get("failureThreshold") or 3)
    failures = 0
    while True:
        record = group.containers.get(name)
        if record is not None and record.docker_id:
            failed = await asyncio.to_thread(_run, service, group, record.docker_id, probe)
            if failed is None:
                failures = 0
            else:
                failures += 1
                with service.emulator.state.lock:
                    add_event(
                        record.events, "Unhealthy", f"{kind} probe failed: {failed}", "Warning"
                    )
                if kind == "Liveness" and failures >= threshold:
                    failures = 0
                    await _restart(service, record, name)
        await asyncio.sleep(period)


async def _restart(service: Service, record: Any, name: str) -> None:
    from .aci import add_event

    with service.emulator.state.lock:
        add_event(
            record.events,
            "Killing",
            f"Container {name} failed liveness probe, will be restarted",
            "Normal",
        )
        record.stopping = True  # a restart for a probe is not a crash: no BackOff
    try:
        await asyncio.to_thread(service.runtime.restart, [record.docker_id])
    finally:
        with service.emulator.state.lock:
            record.stopping = False


def _run(service: Service, group: Group, docker_id: str, probe: dict[str, Any]) -> str | None:
    """None when the probe passes, else why it failed (blocking)."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    if isinstance(probe.get("exec"), dict):
        return _exec(service, docker_id, list(probe["exec"].get("command") or []))
    http = probe.get("httpGet") or {}
    port = int(http.get("port") or 80)
    ports = {
        int(p["port"]) for p in (group.spec["properties"].get("ipAddress") or {}).get("ports") or []
    }
    if group.ip is None or port not in ports:
        return None  # not reachable from this machine: not modelled
    scheme = str(http.get("scheme") or "http").lower()
    url = f"{scheme}://{group.ip}:{port}{http.get('path') or '/'}"
    # No proxy: the group's address is this machine's loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        status = int(exc.code)
    except OSError as exc:
        return f'Get "{url}": {exc}'
    return None if 200 <= status < 400 else f"HTTP probe failed with statuscode: {status}"


def _exec(service: Service, docker_id: str, command: list[str]) -> str | None:
    import docker

    api = service.runtime.client.api
    try:
        created = api.exec_create(docker_id, command)
        output = api.exec_start(created["Id"])
        code = api.exec_inspect(created["Id"]).get("ExitCode")
    except docker.errors.APIError as exc:
        return str(exc.explanation or exc)
    if code == 0:
        return None
    text = output.decode("utf-8", "replace").strip() if isinstance(output, bytes) else ""
    return f"command {command!r} exited with {code}" + (f": {text}" if text else "")
