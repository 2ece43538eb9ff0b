"""The container runtime behind the ACI emulator: pulls, runs, inspects and removes Docker containers.

Every method here blocks (docker-py is synchronous); the service calls them through
`asyncio.to_thread`. Containers carry labels naming the emulator instance and the container group,
so `remove_all` can clean up exactly what one emulator started. Registry passwords go to the daemon
in the pull's `X-Registry-Auth` header only, never into a log line or an event message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("emulator.aci")

LABEL_EMULATOR = "io.acr-action.emulator"
LABEL_GROUP = "io.acr-action.container-group"
LABEL_CONTAINER = "io.acr-action.container"

DOCKER_RESTART = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}


class PullRefused(Exception):
    """The daemon could not pull an image (bad credentials, missing role, unknown image)."""


@dataclass(frozen=True)
class RunPlan:
    """One container to create: everything Docker needs, already resolved from the group spec."""

    group_id: str
    container: str
    docker_name: str
    image: str
    env: dict[str, str]
    entrypoint: list[str] | None
    cpu: float
    memory_gb: float
    restart_policy: str
    ports: dict[str, tuple[str, int]]  # "80/tcp" -> (ip, 80); only on the first container
    network_of: str | None  # docker id of the container whose network namespace is shared
    # Bind mounts of the group's volumes: (host folder, path in the container, read-only).
    mounts: tuple[tuple[str, str, bool], ...] = ()


def utc_now() -> str:
    """An ACI-style timestamp (UTC, seconds, 'Z')."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def docker_time(value: str | None) -> str | None:
    """Docker's RFC 3339 nanosecond time as ACI's seconds-precision UTC string (None for the zero time)."""
    if not value or value.startswith("0001-"):
        return None
    return value.split(".")[0].rstrip("Z") + "Z"


def registry_host(image: str) -> str:
    """The registry part of an image reference, as Docker decides it."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first.lower()
    return "index.docker.io"


def _auth(image: str, credentials: list[dict[str, Any]]) -> dict[str, str] | None:
    """The group's login for the registry of `image`, as docker-py's `auth_config`."""
    host = registry_host(image)
    for credential in credentials:
        if str(credential.get("server", "")).lower() == host and credential.get("username"):
            return {
                "username": credential["username"],
                "password": credential.get("password") or "",
            }
    return None


class Runtime:
    """Docker operations for one emulator instance (label value `instance_id`)."""

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        self._client: Any = None
        self._events: Any = None
        self._watcher: threading.Thread | None = None

    @property
    def client(self) -> Any:
        """The docker-py client, created on first use."""
        if self._client is None:
            import docker

            self._client = docker.from_env(timeout=300)
        return self._client

    def check_access(self, image: str, credentials: list[dict[str, Any]]) -> None:
        """Ask the registry for `image`'s manifest with the group's credential; raise `PullRefused`.

        What ACI does while it accepts a PUT: an image the credentials cannot read is refused
        there, with 400 InaccessibleImage, before any group changes.
        """
        import docker

        try:
            self.client.api.inspect_distribution(image, auth_config=_auth(image, credentials))
        except docker.errors.APIError as exc:
            raise PullRefused(str(exc.explanation or exc)) from None

    def pull(self, image: str, credentials: list[dict[str, Any]]) -> None:
        """Pull `image` with the group's credential for its registry; raise `PullRefused`."""
        import docker
        from docker.utils import parse_repository_tag

        repository, tag = parse_repository_tag(image)
        auth = _auth(image, credentials)
        try:
            # The daemon skips the registry when a pulled-by-digest image is already local, so
            # a principal that lost AcrPull would still "pull". ACI authenticates every pull:
            # ask the registry for the manifest with the group's credentials first.
            self.client.api.inspect_distribution(image, auth_config=auth)
            self.client.images.pull(repository, tag=tag or "latest", auth_config=auth)
        except docker.errors.APIError as exc:
            raise PullRefused(str(exc.explanation or exc)) from None

    def create(self, plan: RunPlan) -> str:
        """Create one container (not started); its docker id."""
        kwargs: dict[str, Any] = {
            "name": plan.docker_name,
            "detach": True,
            "labels": {
                LABEL_EMULATOR: self.instance_id,
                LABEL_GROUP: plan.group_id,
                LABEL_CONTAINER: plan.container,
            },
            "environment": plan.env,
            "nano_cpus": int(plan.cpu * 1e9),
            "mem_limit": int(plan.memory_gb * 1024**3),
            "restart_policy": {"Name": DOCKER_RESTART[plan.restart_policy]},
        }
        if plan.entrypoint is not None:
            # ACI's `command` replaces the image's ENTRYPOINT (and with it the image's CMD).
            kwargs["entrypoint"] = plan.entrypoint
        if plan.network_of is not None:
            # The containers of a group share one network namespace (they reach each other on localhost).
            kwargs["network_mode"] = f"container:{plan.network_of}"
        elif plan.ports:
            kwargs["ports"] = plan.ports
        if plan.mounts:
            # Paths with ':' are refused by the validation, so the short form is unambiguous.
            kwargs["volumes"] = [
                f"{host}:{path}:{'ro' if read_only else 'rw'}"
                for host, path, read_only in plan.mounts
            ]
        container = self.client.containers.create(plan.image, **kwargs)
        return str(container.id)

    def inspect(self, container_id: str) -> dict[str, Any] | None:
        """`docker inspect` of a container, or None when it is gone."""
        import docker

        try:
            return dict(self.client.api.inspect_container(container_id))
        except docker.errors.NotFound:
            return None

    def logs(self, container_id: str, *, tail: int | None, timestamps: bool) -> str:
        """The container's stdout and stderr."""
        import docker

        try:
            raw = self.client.api.logs(
                container_id,
                stdout=True,
                stderr=True,
                timestamps=timestamps,
                tail=tail if tail is not None else "all",
            )
        except docker.errors.NotFound:
            return ""
        return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)

    def remove(self, container_ids: list[str]) -> None:
        """Force-remove containers (missing ones are fine)."""
        import docker

        for container_id in container_ids:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.api.remove_container(container_id, force=True)

    def stop(self, container_ids: list[str]) -> None:
        """Stop containers (Docker then does not restart them, whatever the policy)."""
        for container_id in container_ids:
            self.client.api.stop(container_id, timeout=5)

    def start(self, container_ids: list[str]) -> None:
        """Start stopped containers."""
        for container_id in container_ids:
            self.client.api.start(container_id)

    def restart(self, container_ids: list[str]) -> None:
        """Restart containers in place."""
        for container_id in container_ids:
            self.client.api.restart(container_id, timeout=5)

    def remove_all(self) -> int:
        """Remove every container this emulator instance started; how many."""
        containers = self.client.api.containers(
            all=True, filters={"label": f"{LABEL_EMULATOR}={self.instance_id}"}
        )
        self.remove([c["Id"] for c in containers])
        return len(containers)

    def watch(self, on_event: Callable[[dict[str, Any]], None]) -> None:
        """Feed Docker's container events for this instance to `on_event` on a background thread."""
        self._events = self.client.events(
            decode=True,
            filters={"type": "container", "label": f"{LABEL_EMULATOR}={self.instance_id}"},
        )
        stream = self._events

        def pump() -> None:
            try:
                for event in stream:
                    try:
                        on_event(event)
                    except Exception:
                        log.exception("handling docker event failed")
            except Exception:
                log.debug("docker event stream ended", exc_info=True)

        self._watcher = threading.Thread(target=pump, name="aci-docker-events", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop watching events and drop the client."""
        if self._events is not None:
            self._events.close()
            self._events = None
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None
        if self._client is not None:
            self._client.close()
            self._client = None
