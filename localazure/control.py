"""The emulator's control API: drive a running local Azure from another process over HTTPS.

Served on the ARM host under `/_emulator/`, for callers that cannot reach the `Emulator` object (the
action running as a container, the demo, a shell). Every request carries the emulator's random
`control_token` in `X-Emulator-Token` (401 without it); the server listens on loopback only anyway.
Control requests are never subject to faults and are not recorded in `emulator.requests`.

| request | body / query | answer |
|---|---|---|
| `POST /_emulator/faults` | `FaultRule` fields: method, host, path, status, headers, body, delay, drop, times | 201 `{"id", ...rule}` |
| `GET /_emulator/faults` | | 200 `{"value": [rules and events with id and hits]}` |
| `DELETE /_emulator/faults` | | 204; every rule and event is gone |
| `POST /_emulator/events` | kind, times, attrs (matched), settings (carried values) | 201 `{"id", ...event}` |
| `GET /_emulator/requests` | `?method=GET&path_contains=/registries/&since=N` | 200 `{"value": [records], "total": N}` |
| `POST /_emulator/roles` | principal, role, scope | 201 the assignment |
| `DELETE /_emulator/roles` | principal, role (optional), scope (optional) | 200 `{"removed": n}` |
| `POST /_emulator/secrets` | vault, name, value, content_type (optional) | 201 `{"vault", "name", "version"}` |
| `GET`/`PATCH /_emulator/settings` | `state.Settings` fields (numbers of seconds) | 200 the settings |

`ControlClient` is the same API from Python (with `requests`), and `control_env` the variables that
tell another process where it is.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .faults import FaultEvent, FaultRule
from .service import ServiceBase
from .state import SecretVersion
from .tokens import now
from .web import Router, json_response

if TYPE_CHECKING:
    import requests

    from .server import Emulator

PREFIX = "/_emulator"
TOKEN_HEADER = "X-Emulator-Token"
URL_VARIABLE = "EMULATOR_CONTROL_URL"
TOKEN_VARIABLE = "EMULATOR_CONTROL_TOKEN"
CA_VARIABLE = "EMULATOR_CA_BUNDLE"

RULE_FIELDS = ("method", "host", "path", "status", "headers", "body", "delay", "drop", "times")


class BadRequest(Exception):
    """A control request the API refuses (answered 400 with the message)."""


def _error(status: int, code: str, message: str) -> web.Response:
    return json_response({"error": {"code": code, "message": message}}, status)


def control_env(emulator: Emulator) -> dict[str, str]:
    """Where another process finds the control API: its URL, the token and the CA to trust."""
    return {
        URL_VARIABLE: emulator.arm_url + PREFIX,
        TOKEN_VARIABLE: emulator.control_token,
        CA_VARIABLE: str(emulator.ca_path),
    }


# --- validation of JSON bodies -------------------------------------------------------------------
def _regex(body: dict[str, Any], name: str) -> str:
    value = body.get(name, ".*")
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a regular expression (a string)")
    try:
        re.compile(value)
    except re.error as exc:
        raise BadRequest(f"{name} is not a valid regular expression: {exc}") from None
    return value


def _times(body: dict[str, Any]) -> int | None:
    times = body.get("times", 1)
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise BadRequest("times must be a positive integer, or null for forever")
    return times


def _unknown(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(set(body) - set(allowed))
    if extra:
        raise BadRequest(f"unknown fields {extra}; allowed: {list(allowed)}")


def parse_rule(body: Any) -> dict[str, Any]:
    """The `Faults.add` keyword arguments of a `POST /_emulator/faults` body (BadRequest if invalid)."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    _unknown(body, RULE_FIELDS)
    rule: dict[str, Any] = {name: _regex(body, name) for name in ("method", "host", "path")}
    status = body.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599
    ):
        raise BadRequest("status must be an HTTP status code (100-599) or null")
    headers = body.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise BadRequest("headers must be an object of strings")
    delay = body.get("delay", 0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise BadRequest("delay must be a number of seconds >= 0")
    drop = body.get("drop", False)
    if not isinstance(drop, bool):
        raise BadRequest("drop must be true or false")
    if status is None and not delay and not drop:
        raise BadRequest("a fault needs a status, a delay or drop")
    rule.update(
        status=status,
        headers=headers,
        body=body.get("body"),
        delay=float(delay),
        drop=drop,
        times=_times(body),
    )
    return rule


def parse_event(body: Any) -> tuple[str, int | None, dict[str, Any]]:
    """(kind, times, attrs) of a `POST /_emulator/events` body; settings are merged into attrs."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    _unknown(body, ("kind", "times", "attrs", "settings"))
    kind = body.get("kind")
    if not isinstance(kind, str) or not kind:
        raise BadRequest("kind is required (e.g. 'lro-fail', 'crash')")
    attrs = body.get("attrs") or {}
    settings = body.get("settings") or {}
    if not isinstance(attrs, dict) or not isinstance(settings, dict):
        raise BadRequest("attrs and settings must be objects")
    both = sorted(set(attrs) & set(settings))
    if both:
        raise BadRequest(f"{both} given both as attrs and as settings")
    return kind, _times(body), {**attrs, **settings}


def _strings(
    body: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, str]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    _unknown(body, required + optional)
    missing = [name for name in required if not isinstance(body.get(name), str) or not body[name]]
    if missing:
        raise BadRequest(f"{missing} required (strings)")
    wrong = [name for name in optional if name in body and not isinstance(body[name], str)]
    if wrong:
        raise BadRequest(f"{wrong} must be strings")
    return {name: body[name] for name in required + optional if name in body}


def _rule_json(rule_id: str, rule: FaultRule) -> dict[str, Any]:
    return {"id": rule_id, "type": "rule", **dataclasses.asdict(rule)}


def _event_json(event_id: str, event: FaultEvent) -> dict[str, Any]:
    return {"id": event_id, "type": "event", **dataclasses.asdict(event)}


# --- the service ---------------------------------------------------------------------------------
class Service(ServiceBase):
    """The `/_emulator/` routes on the ARM host."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self._scheduled: dict[str, FaultRule | FaultEvent] = {}
        self._next = 0

    def register(self, router: Router) -> None:
        """Add the control routes."""
        routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.Response]]]] = [
            ("POST", "/faults", self.add_fault),
            ("GET", "/faults", self.list_faults),
            ("DELETE", "/faults", self.clear_faults),
            ("POST", "/events", self.add_event),
            ("GET", "/requests", self.list_requests),
            ("POST", "/roles", self.grant),
            ("DELETE", "/roles", self.revoke),
            ("POST", "/secrets", self.set_secret),
            ("GET", "/settings", self.settings),
            ("PATCH", "/settings", self.settings),
        ]
        for method, path, handler in routes:
            router.add("arm", method, re.escape(PREFIX + path) + "/?", self._guard(handler))

    def _guard(
        self, handler: Callable[[web.Request], Awaitable[web.Response]]
    ) -> Callable[..., Awaitable[web.Response]]:
        async def handle(request: web.Request, **params: str) -> web.Response:
            del params
            given = request.headers.get(TOKEN_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.emulator.control_token.encode()):
                return _error(
                    401,
                    "Unauthorized",
                    f"the control API needs the emulator's token in the {TOKEN_HEADER} header",
                )
            try:
                return await handler(request)
            except BadRequest as exc:
                return _error(400, "BadRequest", str(exc))

        return handle

    def _id(self, prefix: str) -> str:
        self._next += 1  # handlers run on the one event-loop thread
        return f"{prefix}-{self._next}"

    @staticmethod
    async def _body(request: web.Request) -> Any:
        text = await request.text()
        if not text:
            return {}
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"the body is not JSON: {exc}") from None

    async def _body_or_query(self, request: web.Request) -> Any:
        body = await self._body(request)
        return {**request.query, **body} if isinstance(body, dict) else body

    # --- faults ------------------------------------------------------------------------------
    async def add_fault(self, request: web.Request) -> web.Response:
        """`POST /_emulator/faults`: schedule an HTTP fault."""
        rule = self.emulator.faults.add(**parse_rule(await self._body(request)))
        rule_id = self._id("rule")
        self._scheduled[rule_id] = rule
        return json_response(_rule_json(rule_id, rule), 201)

    async def add_event(self, request: web.Request) -> web.Response:
        """`POST /_emulator/events`: schedule a service-level fault (`take_event`)."""
        kind, times, attrs = parse_event(await self._body(request))
        event = self.emulator.faults.add_event(kind, times, **attrs)
        event_id = self._id("event")
        self._scheduled[event_id] = event
        return json_response(_event_json(event_id, event), 201)

    async def list_faults(self, request: web.Request) -> web.Response:
        """`GET /_emulator/faults`: what the control API scheduled, with hits so far."""
        del request
        value = [
            _rule_json(i, s) if isinstance(s, FaultRule) else _event_json(i, s)
            for i, s in self._scheduled.items()
        ]
        return json_response({"value": value})

    async def clear_faults(self, request: web.Request) -> web.Response:
        """`DELETE /_emulator/faults`: remove every rule and event (also those added in-process)."""
        del request
        self.emulator.faults.clear()
        self._scheduled.clear()
        return web.Response(status=204)

    # --- traffic -----------------------------------------------------------------------------
    async def list_requests(self, request: web.Request) -> web.Response:
        """`GET /_emulator/requests[?method=&path_contains=&since=]`: the request records."""
        query = request.query
        try:
            since = int(query.get("since", "0"))
        except ValueError:
            raise BadRequest("since must be an integer (a record index)") from None
        records = list(self.emulator.requests)
        method = query.get("method", "").upper()
        contains = query.get("path_contains", "")
        value = [
            {"index": index, **dataclasses.asdict(record)}
            for index, record in enumerate(records)
            if index >= since
            and (not method or record.method == method)
            and contains in record.path
        ]
        return json_response({"value": value, "total": len(records)})

    # --- scenario set-up ---------------------------------------------------------------------
    async def settings(self, request: web.Request) -> web.Response:
        """`GET`/`PATCH /_emulator/settings`: the tenant's delays (`state.Settings`)."""
        body = await self._body(request) if request.method == "PATCH" else {}
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object of settings")
        current = self.emulator.state.settings
        known = {f.name for f in dataclasses.fields(current)}
        _unknown(body, tuple(known))
        for key, value in body.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise BadRequest(f"{key} must be a number of seconds >= 0, not {value!r}")
        with self.emulator.state.lock:
            for key, value in body.items():
                setattr(current, key, float(value))
            return json_response(dataclasses.asdict(current))

    async def grant(self, request: web.Request) -> web.Response:
        """`POST /_emulator/roles`: assign a role to a principal (client id or object id) at a scope."""
        body = _strings(await self._body(request), ("principal", "role", "scope"))
        if not body["scope"].startswith("/"):
            raise BadRequest(
                "scope must be a resource id, e.g. /subscriptions/{id}/resourceGroups/{rg}"
            )
        try:
            assignment = self.emulator.state.grant(body["principal"], body["role"], body["scope"])
        except KeyError as exc:
            raise BadRequest(str(exc.args[0])) from None
        return json_response(dataclasses.asdict(assignment), 201)

    async def revoke(self, request: web.Request) -> web.Response:
        """`DELETE /_emulator/roles`: remove a principal's assignments (of a role, at a scope)."""
        body = _strings(await self._body_or_query(request), ("principal",), ("role", "scope"))
        state = self.emulator.state

        def chosen(principal: str, role: str, scope: str) -> bool:
            return (
                principal.lower() == body["principal"].lower()
                and ("role" not in body or role.lower() == body["role"].lower())
                and (
                    "scope" not in body
                    or scope.rstrip("/").lower() == body["scope"].rstrip("/").lower()
                )
            )

        with state.lock:
            kept = [
                ra for ra in state.role_assignments if not chosen(ra.principal, ra.role, ra.scope)
            ]
            removed = len(state.role_assignments) - len(kept)
            state.role_assignments = kept
        return json_response({"removed": removed})

    async def set_secret(self, request: web.Request) -> web.Response:
        """`POST /_emulator/secrets`: a new latest version of a secret (no RBAC: this is set-up)."""
        body = _strings(await self._body(request), ("vault", "name", "value"), ("content_type",))
        state = self.emulator.state
        stamp = now()
        version = SecretVersion(
            value=body["value"], content_type=body.get("content_type"), created=stamp, updated=stamp
        )
        with state.lock:
            vault = state.vaults.get(body["vault"].lower())
            if vault is None:
                return _error(
                    404, "VaultNotFound", f"no vault {body['vault']!r} in this local Azure"
                )
            stored = next(
                (n for n in vault.secrets if n.lower() == body["name"].lower()), body["name"]
            )
            vault.secrets.setdefault(stored, []).append(version)
        return json_response({"vault": vault.name, "name": stored, "version": version.version}, 201)


# --- the client ----------------------------------------------------------------------------------
class ControlError(RuntimeError):
    """The control API refused a request."""


class ControlClient:
    """The control API from another process: `ControlClient.from_env(os.environ)` in a test.

    control.add_fault(method="GET", path=r".*/registries/.*", status=503,
                      headers={"Retry-After": "1"}, times=2)   # fail twice, then succeed
    """

    def __init__(self, url: str, token: str, ca: str | Path, *, timeout: float = 30) -> None:
        import requests

        self.url = url.rstrip("/")
        self.timeout = timeout
        self.ca = str(ca)  # per request: requests lets REQUESTS_CA_BUNDLE override session.verify
        self.session: requests.Session = requests.Session()
        self.session.headers[TOKEN_HEADER] = token

    @classmethod
    def from_env(cls, env: dict[str, str]) -> ControlClient:
        """A client from the variables of `control_env` (as `serve` prints them)."""
        return cls(env[URL_VARIABLE], env[TOKEN_VARIABLE], env[CA_VARIABLE])

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response: requests.Response = self.session.request(
            method, self.url + path, timeout=self.timeout, verify=self.ca, **kwargs
        )
        with response:
            if response.status_code != expect:
                raise ControlError(f"{method} {path}: {response.status_code} {response.text}")
            return response.json() if response.content else None

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Schedule an HTTP fault (the `FaultRule` fields); returns it with its id."""
        return dict(self._call("POST", "/faults", 201, json=rule))

    def add_event(
        self,
        kind: str,
        times: int | None = 1,
        *,
        settings: dict[str, Any] | None = None,
        **attrs: Any,
    ) -> dict[str, Any]:
        """Schedule a service-level fault: `attrs` are matched, `settings` carried."""
        body = {"kind": kind, "times": times, "attrs": attrs, "settings": settings or {}}
        return dict(self._call("POST", "/events", 201, json=body))

    def faults(self) -> list[dict[str, Any]]:
        """The rules and events scheduled through the control API, with their hits."""
        return list(self._call("GET", "/faults", 200)["value"])

    def clear_faults(self) -> None:
        """Remove every scheduled fault."""
        self._call("DELETE", "/faults", 204)

    def requests(
        self, method: str | None = None, path_contains: str | None = None, since: int = 0
    ) -> list[dict[str, Any]]:
        """Request records (method, host, path, query, status, seconds, index)."""
        params: dict[str, str | int] = {"since": since}
        if method:
            params["method"] = method
        if path_contains:
            params["path_contains"] = path_contains
        return list(self._call("GET", "/requests", 200, params=params)["value"])

    def grant(self, principal: str, role: str, scope: str) -> dict[str, Any]:
        """Assign a role."""
        body = {"principal": principal, "role": role, "scope": scope}
        return dict(self._call("POST", "/roles", 201, json=body))

    def revoke(self, principal: str, role: str | None = None, scope: str | None = None) -> int:
        """Remove role assignments; returns how many."""
        body = {"principal": principal}
        body.update({k: v for k, v in (("role", role), ("scope", scope)) if v is not None})
        return int(self._call("DELETE", "/roles", 200, json=body)["removed"])

    def settings(self, **values: float) -> dict[str, Any]:
        """Change the tenant's delays (`state.Settings` fields); returns them all."""
        return dict(self._call("PATCH", "/settings", 200, json=values))

    def set_secret(self, vault: str, name: str, value: str) -> dict[str, Any]:
        """Add a secret version to a vault."""
        body = {"vault": vault, "name": name, "value": value}
        return dict(self._call("POST", "/secrets", 201, json=body))
