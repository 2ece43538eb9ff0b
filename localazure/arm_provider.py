"""What every ARM resource provider shares: routes on the ARM host, checks, headers, paging, LROs.

A service that serves ARM resources subclasses `ArmProvider` and registers its handlers with
`self.arm_route(router, method, pattern, handler)`. Every answer then gets, in ARM's order:

1. the `api-version` check (400 `MissingApiVersionParameter`), then, for a write, the
   namespace's registration (409 `MissingSubscriptionRegistration` after sign-in);
2. the handler, which calls `self.check(request, subscription, action, scope, rg)` for
   authentication (401s of `auth.authenticate_arm`), the subscription (404
   `SubscriptionNotFound`), the role at the scope (403 `AuthorizationFailed`) and the resource
   group (404 `ResourceGroupNotFound`), and uses `resource_not_found` for a missing resource;
3. the request-id headers every ARM answer has (`arm_headers`, also applied by the server to
   answers no handler gave: faults, unrouted paths, refused api-versions).

Lists answer through `self.page(request, items, view)` (`value` plus `nextLink` with
`$skiptoken`, `page_size` at a time); long-running operations through `self.operations`
(`Azure-AsyncOperation`, optionally `Location`, and `Retry-After`), polled at
`/subscriptions/{s}/providers/{namespace}/locations/{loc}/operations/{id}`.

Sources: headers and the LRO protocol are Microsoft Learn's "Track asynchronous Azure operations"
(azure-resource-manager/management/async-operations) and the response examples of the REST
reference pages (x-ms-request-id, x-ms-correlation-request-id, x-ms-routing-request-id
`REGION:yyyyMMddTHHmmssZ:correlation`); error texts are `azure-reference/arm_error_envelopes.md`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from aiohttp import web

from . import auth
from .service import ServiceBase
from .state import App
from .web import Handler, Router, arm_error, json_response

if TYPE_CHECKING:
    from .server import Emulator

# The region ARM's front door names in x-ms-routing-request-id (any real one; the local Azure is one).
ROUTING_REGION = "WESTEUROPE"
GATEWAY = {"x-ms-failure-cause": "gateway"}  # what ARM's front door adds to its own 404s
WRITES = frozenset({"PUT", "PATCH", "POST", "DELETE"})
# The namespace a request is for: the last `/providers/{namespace}` of its path (an extension
# resource such as a role assignment on a registry belongs to Microsoft.Authorization), except
# the registration calls themselves.
NAMESPACE = re.compile(r"(?i).*/providers/(?P<ns>[^/]+)(?P<rest>/.*)?")
# Registered in every subscription (Learn, "Azure resource providers and types": "registered by
# default"); the local Azure refuses neither.
ALWAYS_REGISTERED = frozenset({"microsoft.resources", "microsoft.authorization"})
RPS_NOT_FOUND = "See https://aka.ms/rps-not-found for how to register subscriptions."


def missing_subscription_registration(namespace: str) -> web.Response:
    """ARM's 409 for a write to a namespace the subscription is not registered for.

    Body as `az acr create` prints it on a fresh subscription (code, message and one detail
    with `target` = the namespace; quoted in public notes of that error).
    """
    message = f"The subscription is not registered to use namespace '{namespace}'. {RPS_NOT_FOUND}"
    detail = {"code": "MissingSubscriptionRegistration", "target": namespace, "message": message}
    return arm_error(409, "MissingSubscriptionRegistration", message, details=[detail])


def arm_headers(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Give an answer the request-id headers every ARM answer has (kept when already set)."""
    correlation = request.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
    response.headers.setdefault("x-ms-correlation-request-id", correlation)
    response.headers.setdefault(
        "x-ms-routing-request-id", f"{ROUTING_REGION}:{stamp}:{correlation}"
    )
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


def utc_now() -> str:
    """Now as ARM writes times (ISO 8601 with seven fractional digits, Z)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


@dataclass
class Operation:
    """A long-running operation: what a client polls after a 201/202."""

    id: str
    resource_id: str
    start_time: str = field(default_factory=utc_now)
    status: str = "InProgress"
    events: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        """The poll answer (real shape: aci_real_recording_create_poll_get_list_logs.yaml)."""
        body: dict[str, Any] = {
            "id": self.resource_id,
            "status": self.status,
            "startTime": self.start_time,
            "properties": {"events": self.events},
        }
        if self.error is not None:
            body["error"] = self.error
        return body


class Operations:
    """The long-running operations of one provider namespace and the headers that point at them."""

    def __init__(self, emulator: Emulator, namespace: str, api_version: str) -> None:
        self.emulator = emulator
        self.namespace = namespace
        self.api_version = api_version  # the version the provider puts on its polling URLs
        self.running: dict[str, Operation] = {}

    def new(self, resource_id: str) -> Operation:
        """Start tracking an operation on `resource_id`."""
        operation = Operation(str(uuid.uuid4()), resource_id)
        self.running[operation.id] = operation
        return operation

    def find(self, operation_id: str) -> Operation | None:
        """An operation by id (ids are GUIDs: either case)."""
        return self.running.get(operation_id.lower()) or self.running.get(operation_id)

    def headers(
        self, operation: Operation, location: str, *, location_header: bool = False
    ) -> dict[str, str]:
        """`Azure-AsyncOperation` (and `Location` when the provider sends it) with `Retry-After`."""
        url = (
            f"{self.emulator.arm_url}/subscriptions/{self.emulator.state.subscription_id}"
            f"/providers/{self.namespace}/locations/{location}/operations/{operation.id}"
            f"?api-version={self.api_version}"
        )
        headers = {"Azure-AsyncOperation": url, "Retry-After": "1"}
        if location_header:
            headers["Location"] = url
        return headers

    @property
    def route(self) -> str:
        """The path pattern of the polling URL."""
        namespace = self.namespace.replace(".", r"\.")
        return (
            r"(?i)/subscriptions/(?P<subscription>[^/]+)/providers/"
            + namespace
            + r"/locations/(?P<location>[^/]+)/operations/(?P<operation_id>[^/]+)"
        )


class ArmProvider(ServiceBase):
    """The base of every ARM service module (see the module docstring)."""

    page_size = 100  # items per list page before `nextLink` (tests lower it)

    # --- routes ------------------------------------------------------------------------
    def arm_route(self, router: Router, method: str, pattern: str, handler: Handler) -> None:
        """Serve `handler` on ARM's host with the api-version check and ARM's headers."""

        async def handle(request: web.Request, **params: str) -> web.StreamResponse:
            if not request.query.get("api-version"):
                response: web.StreamResponse = arm_error(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                )
            else:
                # Any api-version is accepted: the SDKs, the CLI and the action each send their own.
                response = self._unregistered(request) or await handler(request, **params)
            if response.status >= 400:
                # The SDKs raise on errors with the connection still referenced by the exception;
                # closing from this side keeps the emulator's shutdown free of open sockets.
                response.force_close()
            return arm_headers(request, response)

        router.add("arm", method, pattern, handle)

    def operation_route(self, router: Router, operations: Operations) -> None:
        """Serve the polling URL of `operations` (only authentication is checked, as in ARM)."""

        async def status(
            request: web.Request, subscription: str, location: str, operation_id: str
        ) -> web.Response:
            caller = auth.authenticate_arm(self.emulator, request)
            if isinstance(caller, web.Response):
                return caller
            operation = operations.find(operation_id)
            if operation is None:
                return arm_error(
                    404, "OperationNotFound", f"The operation '{operation_id}' could not be found."
                )  # [inferred]
            with self.emulator.state.lock:
                body = operation.body()
            headers = {"Retry-After": "1"} if operation.status == "InProgress" else {}
            return json_response(body, 200, headers)

        self.arm_route(router, "GET", operations.route, status)

    def _unregistered(self, request: web.Request) -> web.Response | None:
        """A signed-in write to an unregistered namespace: ARM's 409 (or its 401 first)."""
        if request.method not in WRITES:
            return None
        found = NAMESPACE.fullmatch(request.path.rstrip("/"))
        if found is None or found.group("ns").lower() in ALWAYS_REGISTERED:
            return None
        if (found.group("rest") or "").lower() in ("/register", "/unregister"):
            return None
        namespace, state = self.emulator.state.provider(found.group("ns"))
        if state == "Registered":
            return None
        caller = auth.authenticate_arm(self.emulator, request)
        if isinstance(caller, web.Response):
            return caller
        return missing_subscription_registration(namespace)

    @staticmethod
    async def json_body(request: web.Request) -> dict[str, Any] | web.Response:
        """The request's JSON object, or ARM's 400 `InvalidRequestContent`."""
        try:
            body = json.loads(await request.text() or "{}")
        except json.JSONDecodeError as exc:
            body = exc
        if not isinstance(body, dict):
            return arm_error(
                400,
                "InvalidRequestContent",
                f"The request content was invalid and could not be deserialized: '{body}'.",
            )
        return body

    def resource_id(self, subscription: str, rg: str, kind: str, name: str) -> str:
        """A resource's id, with the subscription and the resource group spelt as created."""
        group = self.emulator.state.resource_group(rg)
        return (
            f"{self.subscription_scope(subscription)}/resourceGroups/{group[0] if group else rg}"
            f"/providers/{kind}/{name}"
        )

    async def checked_write(
        self, request: web.Request, subscription: str, rg: str, kind: str, name: str
    ) -> dict[str, Any] | web.Response:
        """The body of a PUT of `kind/name` after ARM's checks (`{kind}/write` on the resource)."""
        scope = self.resource_id(subscription, rg, kind, name)
        refusal = self.check(request, subscription, f"{kind}/write", scope, rg)
        if refusal is not None:
            return refusal
        return await self.json_body(request)

    # --- checks, in ARM's order --------------------------------------------------------
    def serves_subscription(self, subscription: str) -> bool:
        """Does this provider know `subscription`? (The seed's and its other subscriptions.)"""
        return self.emulator.state.knows_subscription(subscription)

    def check(
        self,
        request: web.Request,
        subscription: str,
        action: str,
        scope: str,
        rg: str | None = None,
    ) -> web.Response | None:
        """Authentication, subscription, role at `scope`, resource group; None when all pass."""
        caller = auth.authenticate_arm(self.emulator, request)
        if isinstance(caller, web.Response):
            return caller
        if not self.serves_subscription(subscription):
            return self.subscription_not_found(subscription)
        if not self.emulator.state.authorized(caller, action, scope):
            return auth.authorization_failed(caller, action, scope)
        if rg is not None and self.emulator.state.resource_group(rg) is None:
            return self.resource_group_not_found(rg)
        return None

    def caller(self, request: web.Request) -> App | web.Response:
        """The signed-in principal, or ARM's 401."""
        return auth.authenticate_arm(self.emulator, request)

    def subscription_scope(self, subscription: str) -> str:
        """`/subscriptions/{id}` with the main subscription's id spelt as created."""
        state = self.emulator.state
        if subscription.lower() == state.subscription_id.lower():
            return state.subscription_scope()
        return f"/subscriptions/{subscription}"

    # --- error envelopes ---------------------------------------------------------------
    @staticmethod
    def subscription_not_found(subscription: str) -> web.Response:
        return arm_error(
            404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found."
        )

    @staticmethod
    def resource_group_not_found(rg: str) -> web.Response:
        return arm_error(
            404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.", GATEWAY
        )

    @staticmethod
    def resource_not_found(kind: str, name: str, rg: str) -> web.Response:
        return arm_error(
            404,
            "ResourceNotFound",
            f"The Resource '{kind}/{name}' under resource group '{rg}' was not found."
            " For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            GATEWAY,
        )

    # --- lists -------------------------------------------------------------------------
    def page(
        self,
        request: web.Request,
        items: Sequence[Any],
        view: Callable[[Any], dict[str, Any]],
    ) -> web.Response:
        """`page_size` items from `$skiptoken` on, with `nextLink` when more follow."""
        try:
            offset = max(0, int(request.query.get("$skiptoken", "0")))
        except ValueError:
            return arm_error(400, "InvalidSkipToken", "The skip token is invalid.")  # [inferred]
        chosen = items[offset : offset + self.page_size]
        with self.emulator.state.lock:
            body: dict[str, Any] = {"value": [view(item) for item in chosen]}
        if offset + self.page_size < len(items):
            query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = str(offset + self.page_size)
            body["nextLink"] = (
                f"{self.emulator.arm_url}{request.path}?{urlencode(query, safe='$', quote_via=quote)}"
            )
        return json_response(body)
