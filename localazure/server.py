"""The local Azure: one TLS server routed by host name, running on its own event-loop thread.

    with Emulator(seed, workdir=tmp) as azure:
        env = azure.step_env(repository="octo-org/iris-api", ref="refs/heads/main")

Services (`identity`, `arm`, `keyvault`, `acr`, `aci`, ...; `service.ServiceBase`) each register their routes on the
shared `Router` and may have `start()`/`stop()` coroutines for what they run beside the server
(the Distribution registry, containers).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from . import hosts
from .api_versions import ResourceTypes, ServedVersions
from .arm_provider import arm_headers
from .certs import Pki, make_pki
from .faults import Faults
from .service import ServiceBase
from .state import DOMAIN, GITHUB_API_HOST, GITHUB_ISSUER_HOST, REGISTRY_DOMAIN, Seed, State
from .tokens import Keys
from .web import Router, arm_error, json_response

log = logging.getLogger("emulator")

# Service modules, in start order; each defines `Service(emulator)`, a `service.ServiceBase`
# that declares its hosts, roles and host names. Adding a service is adding its name here.
SERVICE_MODULES = (
    "metadata",
    "oidc",
    "identity",
    "arm",
    "resources",
    "authorization",
    "managedidentity",
    "vaults",
    "registries",
    "keyvault",
    "storage",
    "loganalytics",
    "github",
    "acr",
    "network",
    "aci",
    "control",
)


def service_classes() -> dict[str, type[ServiceBase]]:
    """Every service class by module name, in start order."""
    return {
        name: importlib.import_module(f"{__package__}.{name}").Service for name in SERVICE_MODULES
    }


ServiceClasses = Mapping[str, type[ServiceBase]]


def host_patterns(classes: ServiceClasses) -> dict[str, str]:
    """Host kind -> regex on the host name, from every service's `HOSTS`."""
    return {kind: pattern for cls in classes.values() for kind, pattern in cls.HOSTS.items()}


def resource_types(classes: ServiceClasses) -> ResourceTypes:
    """Resource type -> (host kind, path pattern) whose api-versions a test may narrow."""
    return {kind: where for cls in classes.values() for kind, where in cls.VERSIONED.items()}


# Those of the standard services.
HOST_PATTERNS = host_patterns(service_classes())
RESOURCE_TYPES = resource_types(service_classes())


# Paths of the control API (control.py): never faulted, never recorded.
CONTROL_PREFIX = "/_emulator/"


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator answered (for tests that assert on traffic)."""

    method: str
    host: str
    path: str
    query: str
    status: int
    seconds: float
    at: float = 0.0  # time.monotonic() when the request arrived (for Retry-After timing)


class Emulator:
    """A running local Azure. Use as a context manager, or call `start()` and `stop()`."""

    def __init__(
        self,
        seed: Seed,
        *,
        workdir: Path,
        port: int = 0,
        bind: str = "127.0.0.1",
        docker: bool = True,
        services: ServiceClasses | None = None,
    ) -> None:
        self.seed = seed
        self.state = State(seed)
        self.workdir = workdir
        self.bind = bind
        self.port = port
        self.docker = (
            docker  # False: no registry/containers (contract tests of the pure HTTP services)
        )
        self.keys = Keys()
        self.faults = Faults()
        # The secret of the control API (`X-Emulator-Token`), for callers in other processes.
        self.control_token = secrets.token_urlsafe(32)
        # The service classes (default: SERVICE_MODULES'); a test may add its own.
        classes = dict(services) if services is not None else service_classes()
        self.router = Router(host_patterns(classes))
        self.requests: list[RequestRecord] = []
        # Every Entra access token issued, in order: tests check that the action masked each.
        self.access_tokens: list[str] = []
        # Every version, unless a test narrows them.
        self.api_versions = ServedVersions(resource_types(classes))
        self.pki: Pki | None = None
        self.services: dict[str, Any] = {name: cls(self) for name, cls in classes.items()}
        for service in self.services.values():
            self.state.add_roles(service.ROLES)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # --- addresses ---------------------------------------------------------------------
    def url(self, host: str) -> str:
        """`https://host:port` on this emulator."""
        return f"https://{host}:{self.port}"

    @property
    def arm_url(self) -> str:
        return self.url(f"management.{DOMAIN}")

    @property
    def authority_url(self) -> str:
        return self.url(f"login.{DOMAIN}")

    @property
    def vault_resource(self) -> str:
        """The Key Vault audience/resource (the real one is https://vault.azure.net)."""
        return self.url(f"vault.{DOMAIN}")

    def vault_url(self, name: str) -> str:
        return self.url(f"{name}.vault.{DOMAIN}")

    def login_server(self, registry: str) -> str:
        """A registry's login server (host:port), as ARM reports it."""
        return f"{registry.lower()}.{REGISTRY_DOMAIN}:{self.port}"

    @property
    def oidc_issuer(self) -> str:
        return self.url(GITHUB_ISSUER_HOST)

    @property
    def github_api_url(self) -> str:
        return self.url(GITHUB_API_HOST)

    @property
    def ca_path(self) -> Path:
        assert self.pki is not None, "emulator not started"
        return self.pki.ca_path

    def host_names(self) -> list[str]:
        """Every name that must resolve to this machine (what each service declares)."""
        return [name for service in self.services.values() for name in service.host_names()]

    # --- life cycle --------------------------------------------------------------------
    def start(self) -> Emulator:
        """Start the server thread and every service; returns when they answer."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        hosts.ensure(self.host_names())
        self.pki = make_pki(self.workdir / "pki")
        for service in self.services.values():
            service.register(self.router)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="local-azure", daemon=True
        )
        self._thread.start()
        try:
            self.call(self._start())
        except BaseException:
            self.stop()
            raise
        return self

    def call(self, coroutine: Any, timeout: float | None = 300) -> Any:
        """Run a coroutine on the emulator's loop from another thread and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def call_soon(self, function: Callable[[], Any]) -> None:
        """Schedule a plain function on the emulator's loop."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(function)

    async def _start(self) -> None:
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        assert self.pki is not None
        site = web.TCPSite(self._runner, self.bind, self.port, ssl_context=self.pki.server_context)
        await site.start()
        if self.port == 0:
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        for service in self.services.values():
            await service.start()

    def stop(self) -> None:
        """Stop services (removing what they started) and the server."""
        if self._loop is None:
            return
        try:
            self.call(self._stop(), timeout=120)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            if self._thread is None or not self._thread.is_alive():
                self._loop.close()  # else an unclosed-loop ResourceWarning fails pytest (filterwarnings=error)
            self._loop = None

    async def _stop(self) -> None:
        for name, service in reversed(list(self.services.items())):
            try:
                await service.stop()
            except Exception:
                log.exception("stopping service %s failed", name)
        if self._runner is not None:
            # Abort every open client connection first (idle keep-alives, ones that never sent a
            # request): a graceful TLS close does not finish before the loop closes, and the
            # leftover sockets raise ResourceWarnings (errors under filterwarnings=error).
            server = self._runner.server
            for handler in list(server.connections) if server is not None else []:
                if handler.transport is not None:
                    handler.transport.abort()
            await asyncio.sleep(0.05)  # let connection_lost callbacks run
            await self._runner.cleanup()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the one handler ---------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        host = request.host.rsplit(":", 1)[0].lower()
        response: web.StreamResponse
        control = request.path.startswith(CONTROL_PREFIX)
        rule = None if control else self.faults.take(request.method, host, request.path)
        if rule is not None:
            if rule.delay:
                await asyncio.sleep(rule.delay)
            if rule.drop:
                # A dropped connection: the client sees the socket close with no answer.
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
        if rule is not None and rule.status is not None:
            body = (
                rule.body
                if rule.body is not None
                else {"error": {"code": "InjectedFault", "message": f"injected {rule.status}"}}
            )
            response = json_response(body, rule.status, dict(rule.headers))
        elif not control and (
            refused := self.api_versions.refusal(
                self._host_kind(host), request.path, request.query_string
            )
        ):
            response = refused  # an api-version this cloud does not serve (api_versions.py)
        else:
            resolved = self.router.resolve(request.host, request.method, request.path)
            if isinstance(resolved, str):
                response = self._unrouted(request, resolved)
            else:
                handler, params = resolved
                try:
                    response = await handler(request, **params)
                except web.HTTPException:
                    raise
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.error(
                        "handler failed for %s %s\n%s",
                        request.method,
                        request.path,
                        traceback.format_exc(),
                    )
                    response = arm_error(
                        500, "InternalServerError", "The local Azure emulator failed; see its log."
                    )
        if control:
            return response
        if self._host_kind(host) == "arm":
            arm_headers(request, response)  # ARM's front door answers faults and 404s too
        self.requests.append(
            RequestRecord(
                request.method,
                host,
                request.path,
                request.query_string,
                response.status,
                time.monotonic() - started,
                started,
            )
        )
        return response

    def _host_kind(self, host: str) -> str:
        """The kind of an emulated host (`arm`, `vault`, ...), "" for none."""
        found = self.router.host_kind(host)
        return found[0] if found else ""

    def _unrouted(self, request: web.Request, reason: str) -> web.Response:
        if reason == "method":
            return arm_error(
                405,
                "MethodNotAllowed",
                f"The requested method '{request.method}' is not allowed for this resource.",
            )
        return arm_error(
            404,
            "NotFound",
            f"No HTTP resource was found that matches the request URI '{request.url}'.",
        )

    def count(self, method: str, path_contains: str) -> int:
        """How many requests with this method had `path_contains` in their path."""
        return sum(1 for r in self.requests if r.method == method and path_contains in r.path)
