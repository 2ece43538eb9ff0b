"""Azure Container Registry data plane: the login server in front of a real Distribution registry.

Each registry of the seed gets its own `docker-registry` process (see `distribution.py`) in
token-auth mode, listening on 127.0.0.1 over http. Clients only ever see the login server
`https://<name>.azurecr.localhost:PORT`, served by the emulator, which answers the token
endpoints itself and streams `/v2/...` to that registry. Flows (PROTOCOL.md §4):

* Exchange: `POST /oauth2/exchange` (form `grant_type=access_token`, `service`, `access_token` =
  an Entra token for ARM, optional `tenant`) -> `{"refresh_token": <ACR refresh JWT>}`. A GET is 404.
* Refresh grant: `POST /oauth2/token` (form `grant_type=refresh_token`, `service`, `scope`
  (repeatable, or space-separated), `refresh_token`) -> `{"access_token": <JWT>}`. The Docker
  daemon uses this when it holds an identity token.
* Basic grant: `GET /oauth2/token?service=&scope=&account=` with `Authorization: Basic` as
  (a) a service principal (client id + client secret) or (b) the null GUID user with an ACR refresh
  token as password; (b) also returns `refresh_token`, which `docker login` stores as its identity
  token. Wrong credentials -> 401 with ACR's `UNAUTHORIZED` body.
* `/v2/...`: streamed both ways to the registry, which checks the access token itself; its
  challenge `realm` already names the login server's `/oauth2/token`.

Access in a token is decided per request by the caller's roles on the registry
(`State.authorized`): `pull` and `metadata_read` need `.../pull/read`; `push` and `metadata_write`
need `.../push/write` (which also grants pull: AcrPush has both, and so do Owner/Contributor);
`delete` needs `.../artifacts/delete`; a repository `*` is granted as `*` only with all three,
otherwise as the allowed subset; `registry:catalog:*` is granted with pull (AcrPull can list
repositories). Requested actions that are not allowed are left out of `access`, and the registry
then refuses the request with its own `UNAUTHORIZED` answer, as ACR does. A registry in
"AbacRepositoryPermissions" mode counts only the Container Registry Repository roles' data actions
(`.../repositories/content/read|write|delete`, `.../catalog/read`) and ignores the Acr* roles.

Registry settings (`state.Registry`) are honoured as Azure does: with
`azureADAuthenticationAsArmPolicy` disabled, the exchange refuses ARM-audience Entra tokens; a
firewall (`networkRuleSet` default action Deny without the client's address, or public network
access disabled) answers every data-plane request, `/v2/` included, with 403 `DENIED`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp
import jwt
from aiohttp import web
from multidict import CIMultiDict

from .auth import ACR_AUDIENCE, acr_exchange_audiences
from .distribution import DistributionRegistry, TokenAuth
from .service import ServiceBase
from .state import ABAC_REPOSITORY_PERMISSIONS, REGISTRY_DOMAIN, App, Registry, RoleDefinition
from .tokens import new_jti, now
from .web import json_response

if TYPE_CHECKING:
    from .server import Emulator
    from .web import Router

log = logging.getLogger("emulator.acr")

NULL_GUID = "00000000-0000-0000-0000-000000000000"
ISSUER = "Azure Container Registry"
# Lifetimes of the recorded real tokens (acr_oauth2_exchange_and_token_recording.yaml: exp - nbf).
REFRESH_TOKEN_LIFETIME = 11700
ACCESS_TOKEN_LIFETIME = 4500

PULL = "Microsoft.ContainerRegistry/registries/pull/read"
PUSH = "Microsoft.ContainerRegistry/registries/push/write"
DELETE = "Microsoft.ContainerRegistry/registries/artifacts/delete"
CATALOG_READ = "Microsoft.ContainerRegistry/registries/catalog/read"

# PROTOCOL.md §4: the message of every ACR `UNAUTHORIZED` error.
UNAUTHORIZED_MESSAGE = (
    "authentication required, visit https://aka.ms/acr/authorization for more information."
)
# What Distribution says in the same place; the proxy rewrites it to ACR's wording.
DISTRIBUTION_UNAUTHORIZED_MESSAGE = "authentication required"

CERTS_D = Path("/etc/docker/certs.d")
PROXY_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"})
# RFC 9110 §7.6.1 hop-by-hop headers, plus the ones aiohttp sets for each leg itself.
HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Expect",
    )
)
CHUNK = 1 << 16


def acr_errors(status: int, code: str, message: str, detail: Any = None) -> web.Response:
    """ACR's error body `{"errors": [{"code", "message"[, "detail"]}]}`."""
    error: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        error["detail"] = detail
    return json_response({"errors": [error]}, status)


def unauthorized() -> web.Response:
    """The 401 ACR sends for missing or wrong credentials (PROTOCOL.md §4)."""
    return acr_errors(401, "UNAUTHORIZED", UNAUTHORIZED_MESSAGE)


def denied(address: str) -> web.Response:
    """The 403 of a registry whose firewall or disabled public access keeps the client out.

    Body as the Docker daemon quotes it from `GET /v2/` (docker/build-push-action#1214); the same
    answer for public network access disabled is [inferred].
    """
    return acr_errors(
        403,
        "DENIED",
        f"client with IP '{address}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.",
    )


def parse_scopes(values: list[str]) -> list[tuple[str, str, list[str]]]:
    """`type:name:action,action` scopes (repeated or space-separated) as (type, name, actions)."""
    parsed = []
    for value in values:
        for scope in value.split():
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind and name and actions:
                parsed.append((kind, name, [a for a in actions.split(",") if a]))
    return parsed


REPO_METADATA_READ = "Microsoft.ContainerRegistry/registries/repositories/metadata/read"
REPO_CONTENT_READ = "Microsoft.ContainerRegistry/registries/repositories/content/read"
REPO_METADATA_WRITE = "Microsoft.ContainerRegistry/registries/repositories/metadata/write"
REPO_CONTENT_WRITE = "Microsoft.ContainerRegistry/registries/repositories/content/write"
REPO_CONTENT_DELETE = "Microsoft.ContainerRegistry/registries/repositories/content/delete"


class Service(ServiceBase):
    """The ACR login servers: token endpoints and the `/v2/` proxy to Distribution."""

    HOSTS: ClassVar[dict[str, str]] = {"acr": rf"(?P<registry>[a-z0-9]+)\.{REGISTRY_DOMAIN}"}
    # AcrPull/AcrPush are control-plane actions.
    ROLES: ClassVar[tuple[RoleDefinition, ...]] = (
        # GUIDs: Learn, "Azure built-in roles" (Containers).
        RoleDefinition(
            "AcrPull",
            actions=("Microsoft.ContainerRegistry/registries/pull/read",),
            id="7f951dda-4ed3-4680-a7ca-43fe172d538d",
        ),
        RoleDefinition(
            "AcrPush",
            actions=(
                "Microsoft.ContainerRegistry/registries/pull/read",
                "Microsoft.ContainerRegistry/registries/push/write",
            ),
            id="8311e382-0749-4cb8-b61a-304f252e45ec",
        ),
        # The roles of registries in "RBAC Registry + ABAC Repository Permissions" mode: data
        # actions only, and the only ones such a registry honours on its repositories
        # (container-registry-rbac-abac-repository-permissions; azure-rbac-catalog.org role
        # 2efddaa5-... for Contributor's list).
        RoleDefinition(
            "Container Registry Repository Reader",
            data_actions=(REPO_METADATA_READ, REPO_CONTENT_READ),
        ),
        RoleDefinition(
            "Container Registry Repository Writer",
            data_actions=(
                REPO_METADATA_READ,
                REPO_CONTENT_READ,
                REPO_METADATA_WRITE,
                REPO_CONTENT_WRITE,
            ),
        ),
        RoleDefinition(
            "Container Registry Repository Contributor",
            data_actions=(
                REPO_METADATA_READ,
                REPO_CONTENT_READ,
                REPO_METADATA_WRITE,
                REPO_CONTENT_WRITE,
                "Microsoft.ContainerRegistry/registries/repositories/metadata/delete",
                REPO_CONTENT_DELETE,
            ),
        ),
        RoleDefinition(
            "Container Registry Repository Catalog Lister",
            data_actions=("Microsoft.ContainerRegistry/registries/catalog/read",),
        ),
    )

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.registries: dict[str, DistributionRegistry] = {}
        self._session: aiohttp.ClientSession | None = None
        self._trusted: list[Path] = []

    def host_names(self) -> list[str]:
        """One login server per registry."""
        with self.emulator.state.lock:
            registries = self.emulator.state.registries.values()
            return [f"{r.name.lower()}.{REGISTRY_DOMAIN}" for r in registries]

    def register(self, router: Router) -> None:
        """Routes on every `<registry>.azurecr.localhost` host."""
        router.add("acr", "POST", r"/oauth2/exchange", self.exchange)
        router.add("acr", "GET", r"/oauth2/exchange", self.exchange_get)
        router.add("acr", "POST", r"/oauth2/token", self.token_post)
        router.add("acr", "GET", r"/oauth2/token", self.token_get)
        router.add("acr", "*", r"/v2(/.*)?", self.proxy)

    # --- life cycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start one Distribution process per registry and make the Docker daemon trust the login servers."""
        if not self.emulator.docker:
            return
        root = self.emulator.workdir / "registry"
        root.mkdir(parents=True, exist_ok=True)
        bundle = root / "acr-token-signer.pem"
        bundle.write_bytes(self.emulator.keys.acr.certificate_pem)
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, connect=10, sock_read=600),
            # Headers are forwarded as the client sent them; aiohttp must not add its own.
            skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
        )
        with self.emulator.state.lock:
            registries = list(self.emulator.state.registries.values())
        for registry in registries:
            await self.serve(registry)

    async def serve(self, registry: Registry) -> None:
        """Give one registry its Distribution process and the daemon's trust (a created one too)."""
        if not self.emulator.docker or registry.name.lower() in self.registries:
            return
        root = self.emulator.workdir / "registry"
        login_server = self.emulator.login_server(registry.name)
        process = DistributionRegistry(
            name=registry.name.lower(),
            directory=root / registry.name.lower(),
            auth=TokenAuth(
                realm=f"https://{login_server}/oauth2/token",
                service=login_server,
                issuer=ISSUER,
                rootcertbundle=root / "acr-token-signer.pem",
            ),
        )
        self.registries[registry.name.lower()] = process
        await asyncio.to_thread(process.start)
        log.info(
            "registry %s: Distribution at %s, log %s", registry.name, process.url, process.log_path
        )
        await asyncio.to_thread(self._trust_login_server, login_server)

    async def retire(self, name: str) -> None:
        """Stop a deleted registry's Distribution process and remove its storage."""
        process = self.registries.pop(name.lower(), None)
        if process is not None:
            await asyncio.to_thread(process.stop)
            await asyncio.to_thread(shutil.rmtree, process.directory, True)

    def _trust_login_server(self, login_server: str) -> None:
        # The daemon reads /etc/docker/certs.d/<host:port>/ca.crt on every connection, so no restart.
        # (127.0.0.0/8 registries are also "insecure" to Docker by default, which would allow
        # unverified TLS; the CA makes verification pass anyway, as it would against Azure.)
        directory = CERTS_D / login_server
        try:
            directory.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.emulator.ca_path, directory / "ca.crt")
        except OSError as exc:
            log.warning(
                "cannot write %s (%s); the Docker daemon may not trust %s",
                directory,
                exc,
                login_server,
            )
            return
        self._trusted.append(directory)

    async def stop(self) -> None:
        """Stop the registries and remove the daemon's trust entries."""
        for process in self.registries.values():
            await asyncio.to_thread(process.stop)
        self.registries.clear()
        for directory in self._trusted:
            await asyncio.to_thread(shutil.rmtree, directory, True)
        self._trusted.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- hooks for other services and tests -----------------------------------------------
    def registry_url(self, name: str) -> str:
        """The upstream (http, loopback) URL of a registry's Distribution process."""
        return self.registries[name.lower()].url

    def mint_refresh_token(self, app: App, registry: str | Registry) -> str:
        """An ACR refresh token for `app` on `registry`, as `/oauth2/exchange` would return it."""
        found = registry if isinstance(registry, Registry) else self._registry(registry)
        if found is None:
            raise KeyError(f"no registry {registry!r}")
        return self._refresh_token(app, found)

    def mint_access_token(self, app: App, registry: str | Registry, scopes: list[str]) -> str:
        """An ACR access token for `app` with the granted part of `scopes` (what `/oauth2/token` returns)."""
        found = registry if isinstance(registry, Registry) else self._registry(registry)
        if found is None:
            raise KeyError(f"no registry {registry!r}")
        return self._access_token(app, found, scopes)

    # --- tokens ----------------------------------------------------------------------------
    def _registry(self, name: str) -> Registry | None:
        with self.emulator.state.lock:
            return self.emulator.state.registries.get(name.lower())

    def _registry_id(self, registry: Registry) -> str:
        return self.emulator.state.registry_id(registry)

    def _rights(self, app: App, registry: Registry) -> dict[str, bool]:
        """What `app` may do on this registry's repositories, by the registry's role mode."""
        scope = self._registry_id(registry)
        if registry.role_assignment_mode == ABAC_REPOSITORY_PERMISSIONS:
            # Only data actions count: AcrPull/AcrPush/AcrDelete and Owner/Contributor's
            # control-plane wildcards are ignored (container-registry-rbac-abac-repository-permissions).
            def can(action: str) -> bool:
                return self.emulator.state.authorized(app, action, scope, data_action=True)

            return {
                "read": can(REPO_CONTENT_READ),
                "write": can(REPO_CONTENT_WRITE),
                "delete": can(REPO_CONTENT_DELETE),
                "catalog": can(CATALOG_READ),
            }
        pull = self.emulator.state.authorized(app, PULL, scope)
        push = self.emulator.state.authorized(app, PUSH, scope)
        return {
            "read": pull or push,  # AcrPush carries pull; a push needs to read blobs
            "write": push,
            "delete": self.emulator.state.authorized(app, DELETE, scope),
            "catalog": pull or push,  # ACR lets pull roles list repositories
        }

    def _refresh_token(self, app: App, registry: Registry) -> str:
        issued = now()
        scope = self._registry_id(registry)
        # Informational, as in the recorded token; access is decided again for every access token.
        rights = self._rights(app, registry)
        actions = [name for name in ("read", "write", "delete") if rights[name]]
        claims = {
            "jti": new_jti(),
            "sub": app.object_id,
            "nbf": issued,
            "exp": issued + REFRESH_TOKEN_LIFETIME,
            "iat": issued,
            "iss": ISSUER,
            "aud": self.emulator.login_server(registry.name),
            "version": "1.0",
            "rid": hashlib.sha256(scope.lower().encode()).hexdigest()[:32],
            "grant_type": "refresh_token",
            "tenant": self.emulator.state.tenant_id,
            "permissions": {"actions": actions, "notActions": None},
            "roles": [],
        }
        return self._sign(claims)

    def _granted(self, app: App, registry: Registry, kind: str, requested: list[str]) -> list[str]:
        """The requested actions `app` may have on one resource of this registry."""
        rights = self._rights(app, registry)
        pull, push, delete = rights["read"], rights["write"], rights["delete"]
        if kind == "registry":
            # `registry:catalog:*` lists repositories.
            return ["*"] if rights["catalog"] and requested == ["*"] else []
        if kind != "repository":
            return []
        allowed = {
            "pull": pull,
            "metadata_read": pull,
            "push": push,
            "metadata_write": push,
            "delete": delete,
        }
        granted: list[str] = []
        for action in requested:
            if action == "*":
                if pull and push and delete:
                    granted.append("*")
                else:
                    granted.extend(a for a in ("pull", "push", "delete") if allowed[a])
            elif allowed.get(action):
                granted.append(action)
        return list(dict.fromkeys(granted))

    def _access_token(self, app: App, registry: Registry, scopes: list[str]) -> str:
        access: dict[tuple[str, str], list[str]] = {}
        for kind, name, actions in parse_scopes(scopes):
            granted = self._granted(app, registry, kind, actions)
            if granted:
                merged = access.setdefault((kind, name), [])
                merged.extend(a for a in granted if a not in merged)
        issued = now()
        claims = {
            "jti": new_jti(),
            "sub": app.object_id,
            "nbf": issued,
            "exp": issued + ACCESS_TOKEN_LIFETIME,
            "iat": issued,
            "iss": ISSUER,
            "aud": self.emulator.login_server(registry.name),
            "version": "2.0",
            "rid": hashlib.sha256(self._registry_id(registry).lower().encode()).hexdigest()[:32],
            "access": [
                {"type": kind, "name": name, "actions": actions}
                for (kind, name), actions in access.items()
            ],
            "roles": [],
            "grant_type": "access_token",
        }
        return self._sign(claims)

    def _sign(self, claims: dict[str, Any]) -> str:
        key = self.emulator.keys.acr
        # Distribution verifies `x5c` against its rootcertbundle (registry/auth/token/token.go).
        return key.sign(claims, headers={"x5c": [key.x5c]})

    def _app_from_refresh_token(self, token: str, registry: Registry) -> App | None:
        """The principal of a valid refresh token for this registry, else None."""
        try:
            claims = self.emulator.keys.acr.decode(
                token, audience=self.emulator.login_server(registry.name)
            )
        except jwt.InvalidTokenError:
            return None
        if claims.get("iss") != ISSUER or claims.get("grant_type") != "refresh_token":
            return None
        with self.emulator.state.lock:
            return self.emulator.state.app_by_object_id(str(claims.get("sub", "")))

    def _shut_out(self, request: web.Request, registry: Registry) -> web.Response | None:
        """The firewall's 403 when the registry's network rules keep this client out."""
        address = request.remote or ""
        return None if registry.admits(address) else denied(address)

    def _admitted(self, request: web.Request, registry: str) -> Registry | web.StreamResponse:
        """The registry a token endpoint was asked on, or the answer refusing the request: an
        unknown registry, or a client its network rules shut out."""
        found = self._registry(registry)
        if found is None:
            return acr_errors(404, "NAME_UNKNOWN", f"registry {registry} is unknown")  # [inferred]
        return self._shut_out(request, found) or found

    def _service_matches(self, service: str | None, registry: Registry) -> bool:
        return (service or "").lower() == self.emulator.login_server(registry.name).lower()

    # --- token endpoints -----------------------------------------------------------------
    async def exchange(self, request: web.Request, registry: str) -> web.StreamResponse:
        """`POST /oauth2/exchange`: an Entra ARM token for an ACR refresh token."""
        found = self._admitted(request, registry)
        if isinstance(found, web.StreamResponse):
            return found
        form = await request.post()
        if form.get("grant_type") != "access_token":
            # [inferred] ACR's wording for other grant types is not recorded.
            return acr_errors(400, "UNSUPPORTED", "grant_type must be access_token")
        if not self._service_matches(str(form.get("service", "")), found):
            return unauthorized()
        try:
            claims = self.emulator.keys.entra.decode(
                str(form.get("access_token", "")), audience=acr_exchange_audiences(self.emulator)
            )
        except jwt.InvalidTokenError:
            return unauthorized()
        if found.authentication_as_arm.lower() == "disabled" and str(claims.get("aud", "")).rstrip(
            "/"
        ) != ACR_AUDIENCE.rstrip("/"):
            # azureADAuthenticationAsArmPolicy disabled: only ACR-audience tokens are accepted
            # (container-registry-disable-authentication-as-arm). The answer's body is [inferred].
            return unauthorized()
        tenant = str(form.get("tenant") or claims.get("tid", ""))
        if claims.get("tid") != self.emulator.state.tenant_id or tenant != claims.get("tid"):
            return unauthorized()
        with self.emulator.state.lock:
            app = self.emulator.state.app_by_object_id(str(claims.get("oid", "")))
        if app is None:
            return unauthorized()
        return json_response({"refresh_token": self._refresh_token(app, found)})

    async def exchange_get(self, request: web.Request, registry: str) -> web.StreamResponse:
        """`GET /oauth2/exchange`: only POST exists, and Azure answers 404 (Azure/acr#166)."""
        return web.Response(
            status=404, text="404 page not found\n", content_type="text/plain"
        )  # body [inferred]

    async def token_post(self, request: web.Request, registry: str) -> web.StreamResponse:
        """`POST /oauth2/token`: the refresh-token grant (the daemon's path once it has an identity token)."""
        found = self._admitted(request, registry)
        if isinstance(found, web.StreamResponse):
            return found
        form = await request.post()
        if form.get("grant_type") != "refresh_token":
            return acr_errors(400, "UNSUPPORTED", "grant_type must be refresh_token")  # [inferred]
        if not self._service_matches(str(form.get("service", "")), found):
            return unauthorized()
        app = self._app_from_refresh_token(str(form.get("refresh_token", "")), found)
        if app is None:
            return unauthorized()
        scopes = [str(s) for s in form.getall("scope", [])]
        return json_response({"access_token": self._access_token(app, found, scopes)})

    async def token_get(self, request: web.Request, registry: str) -> web.StreamResponse:
        """`GET /oauth2/token` with Basic auth: a service principal, or the null GUID with a refresh token."""
        found = self._admitted(request, registry)
        if isinstance(found, web.StreamResponse):
            return found
        credentials = basic_credentials(request)
        if credentials is None:
            return unauthorized()
        if not self._service_matches(request.query.get("service"), found):
            return unauthorized()
        username, password = credentials
        scopes = request.query.getall("scope", [])
        if username == NULL_GUID:
            app = self._app_from_refresh_token(password, found)
            if app is None:
                return unauthorized()
            # Returning the refresh token makes `docker login` store it as the identity token,
            # which is what `az acr login` leaves in ~/.docker/config.json (PROTOCOL.md §4).
            return json_response(
                {"access_token": self._access_token(app, found, scopes), "refresh_token": password}
            )
        with self.emulator.state.lock:
            app = self.emulator.state.app(username)
        if (
            app is None
            or app.secret is None
            or not hmac.compare_digest(app.secret.encode(), password.encode())
        ):
            return unauthorized()
        return json_response({"access_token": self._access_token(app, found, scopes)})

    # --- /v2/ proxy -------------------------------------------------------------------------
    async def proxy(self, request: web.Request, registry: str) -> web.StreamResponse:
        """Stream a `/v2/...` request to the registry's Distribution process and its answer back."""
        found = self._registry(registry)
        refusal = None if found is None else self._shut_out(request, found)
        if refusal is not None:
            return refusal  # the firewall answers before any registry does, `/v2/` included
        upstream = self.registries.get(registry.lower())
        if upstream is None or self._session is None:
            # docker=False, or a host name that is not a registry of the seed.
            return acr_errors(
                404, "NAME_UNKNOWN", f"registry {registry} has no running registry in this emulator"
            )
        if request.method not in PROXY_METHODS:
            return acr_errors(405, "UNSUPPORTED", f"method {request.method} is not supported")
        # A multidict: clients send several `Accept` lines, and Distribution picks the manifest
        # format (schema 2, OCI, or a converted schema 1 with another digest) from all of them.
        headers = CIMultiDict(
            (k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP
        )
        # Distribution builds Location URLs from these, so they already name the login server.
        headers["X-Forwarded-Proto"] = "https"
        headers["X-Forwarded-Host"] = request.host
        body = request.content if request.body_exists else None
        async with self._session.request(
            request.method,
            upstream.url + request.rel_url.raw_path_qs,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as answer:
            if answer.status == 401 and request.method != "HEAD":
                return await self._unauthorized_from_registry(answer)
            response = web.StreamResponse(status=answer.status, reason=answer.reason)
            for name, value in answer.headers.items():
                if name.lower() in HOP_BY_HOP:
                    continue
                if name.lower() == "location":
                    value = self._public_location(value, upstream, request.host)
                response.headers.add(name, value)
            await response.prepare(request)
            if request.method != "HEAD":
                async for chunk in answer.content.iter_chunked(CHUNK):
                    await response.write(chunk)
            await response.write_eof()
            return response

    async def _unauthorized_from_registry(self, answer: aiohttp.ClientResponse) -> web.Response:
        """The registry's 401, reworded as ACR words it (PROTOCOL.md §4); the challenge is kept as is."""
        raw = await answer.read()
        headers = CIMultiDict(
            (k, v)
            for k, v in answer.headers.items()
            if k.lower() not in HOP_BY_HOP | {"content-length"}
        )
        try:
            body = json.loads(raw)
            for error in body.get("errors", []):
                if (
                    error.get("code") == "UNAUTHORIZED"
                    and error.get("message") == DISTRIBUTION_UNAUTHORIZED_MESSAGE
                ):
                    error["message"] = UNAUTHORIZED_MESSAGE
                # ACR's detail entries carry Type, Name and Action only (no empty Class).
                for detail in error.get("detail") or []:
                    if isinstance(detail, dict) and not detail.get("Class"):
                        detail.pop("Class", None)
            raw = json.dumps(body, separators=(",", ":")).encode()
        except (ValueError, AttributeError):
            pass
        return web.Response(status=401, body=raw, headers=headers)

    def _public_location(self, location: str, upstream: DistributionRegistry, host: str) -> str:
        """Rewrite an absolute upstream URL to the login server's https URL."""
        for prefix in (upstream.url, f"http://{host}"):
            if location.startswith(prefix):
                return f"https://{host}{location[len(prefix) :]}"
        return location


def basic_credentials(request: web.Request) -> tuple[str, str] | None:
    """(username, password) of a Basic `Authorization` header, if it has one."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None
