"""Routing by host name and path, and the response shapes shared by the services."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

Handler = Callable[..., Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """A handler for a method and a path pattern on one kind of host."""

    host: str
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Host-then-path dispatch; path patterns are regexes whose named groups become kwargs.

    Hosts are recognised by `host_patterns` (host kind -> regex on the host name without port);
    named groups of the host regex (e.g. the vault name) are passed to the handler too.
    """

    def __init__(self, host_patterns: dict[str, str]) -> None:
        self.host_patterns = {
            kind: re.compile(p, re.IGNORECASE) for kind, p in host_patterns.items()
        }
        self.routes: list[Route] = []

    def add(self, host: str, method: str, pattern: str, handler: Handler) -> None:
        """Register `handler` for `method` (or '*') and a path regex on hosts of kind `host`."""
        if host not in self.host_patterns:
            raise KeyError(f"unknown host kind {host!r}")
        self.routes.append(Route(host, method.upper(), re.compile(pattern), handler))

    def route(self, host: str, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Decorator form of `add`."""

        def decorate(handler: Handler) -> Handler:
            self.add(host, method, pattern, handler)
            return handler

        return decorate

    def host_kind(self, host: str) -> tuple[str, dict[str, str]] | None:
        """(kind, named groups) for a host name, or None."""
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        for kind, regex in self.host_patterns.items():
            match = regex.fullmatch(name)
            if match:
                return kind, match.groupdict()
        return None

    def resolve(self, host: str, method: str, path: str) -> tuple[Handler, dict[str, str]] | str:
        """The handler and its kwargs, or a reason string ('host', 'path' or 'method')."""
        found = self.host_kind(host)
        if found is None:
            return "host"
        kind, host_params = found
        path_matched = False
        for route in self.routes:
            if route.host != kind:
                continue
            match = route.pattern.fullmatch(path)
            if not match:
                continue
            path_matched = True
            if route.method in ("*", method.upper()):
                return route.handler, {**host_params, **match.groupdict()}
        return "method" if path_matched else "path"


def json_response(
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    content_type: str = "application/json; charset=utf-8",
) -> web.Response:
    """A JSON answer with the content type Azure sends."""
    response = web.Response(status=status, text=json.dumps(body), headers=headers or {})
    response.headers["Content-Type"] = content_type
    return response


def arm_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    """The ARM error envelope `{"error": {"code", "message"}}`."""
    return json_response({"error": {"code": code, "message": message, **extra}}, status, headers)
