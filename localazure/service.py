"""What a service of the local Azure declares: its hosts, its roles and the state it keeps.

A service module defines `Service(ServiceBase)` and is named in `server.SERVICE_MODULES`; that
is the whole registration. The server builds its host routing from every service's `HOSTS`,
the tenant's built-in roles from every service's `ROLES`, the api-versioned resource types
from every service's `VERSIONED`, and the names that must resolve to
this machine from every service's `host_names()`. ARM resource providers subclass
`arm_provider.ArmProvider` (itself a `ServiceBase`) and keep their resources in
`state.table(resource_type)`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from .state import RoleDefinition
from .web import Router

if TYPE_CHECKING:
    from .server import Emulator


class ServiceBase:
    """One emulated service: routes on its hosts, with optional `start()`/`stop()`."""

    # Host kind -> regex on the host name without port; named groups reach the handlers.
    HOSTS: ClassVar[dict[str, str]] = {}
    # The built-in roles whose actions this service checks.
    ROLES: ClassVar[tuple[RoleDefinition, ...]] = ()
    # Resource type -> (host kind, path regex) of the requests whose api-version a test may
    # narrow (`api_versions.ServedVersions`).
    VERSIONED: ClassVar[dict[str, tuple[str, str]]] = {}

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def register(self, router: Router) -> None:
        """Add this service's routes."""

    def host_names(self) -> list[str]:
        """The names of this service that must resolve to this machine: by default every host
        kind whose pattern is one literal name; a service with names made from its state (vaults,
        registries) adds those."""
        return [name for name in map(_literal, self.HOSTS.values()) if name is not None]

    async def start(self) -> None:
        """Start what runs beside the server (a registry, containers); default: nothing."""

    async def stop(self) -> None:
        """Remove what `start()` and the requests started; default: nothing."""


def _literal(pattern: str) -> str | None:
    """The one name `pattern` matches when it is a literal (as `re.escape` writes one), else None."""
    name = re.sub(r"\\(.)", r"\1", pattern)
    return name if re.escape(name) == pattern else None
