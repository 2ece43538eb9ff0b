"""Fault injection: make chosen requests fail, stall or drop, a set number of times.

    emulator.faults.add(method="PUT", path=r".*/containerGroups/.*", status=503,
                        headers={"Retry-After": "1"}, times=2)   # fail twice, then succeed

Rules match on method, host and path (regular expressions, `fullmatch`) and are consumed in the
order they were added. Service-level faults that are not HTTP answers (a failed long-running
operation, a container that crashes) are *events*: a service asks `take_event(kind, **attrs)`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FaultRule:
    """One scheduled fault."""

    method: str = ".*"
    host: str = ".*"
    path: str = ".*"
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    drop: bool = False
    times: int | None = 1  # None: forever
    hits: int = 0

    def matches(self, method: str, host: str, path: str) -> bool:
        """Does this rule apply to the request?"""
        return bool(
            re.fullmatch(self.method, method, re.IGNORECASE)
            and re.fullmatch(self.host, host, re.IGNORECASE)
            and re.fullmatch(self.path, path)
        )


@dataclass
class FaultEvent:
    """A scheduled service-level fault (e.g. kind='lro-fail', attrs={'name': 'app'})."""

    kind: str
    attrs: dict[str, Any]
    times: int | None = 1
    hits: int = 0


class Faults:
    """The schedule of faults for one emulator (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._events: list[FaultEvent] = []

    def add(self, **kwargs: Any) -> FaultRule:
        """Schedule an HTTP fault; see `FaultRule` for the fields."""
        rule = FaultRule(**kwargs)
        with self._lock:
            self._rules.append(rule)
        return rule

    def add_event(self, kind: str, times: int | None = 1, **attrs: Any) -> FaultEvent:
        """Schedule a service-level fault that a service consumes with `take_event`."""
        event = FaultEvent(kind, attrs, times)
        with self._lock:
            self._events.append(event)
        return event

    def clear(self) -> None:
        """Remove every scheduled fault."""
        with self._lock:
            self._rules.clear()
            self._events.clear()

    def take(self, method: str, host: str, path: str) -> FaultRule | None:
        """The first live rule matching this request, consuming one of its uses."""
        with self._lock:
            for rule in self._rules:
                if (rule.times is None or rule.hits < rule.times) and rule.matches(
                    method, host, path
                ):
                    rule.hits += 1
                    return rule
        return None

    def take_event(
        self, kind: str, *, settings: tuple[str, ...] = (), **attrs: Any
    ) -> FaultEvent | None:
        """The first live event of `kind` whose attributes are all equal to the given ones.

        Attribute names listed in `settings` are values the event carries for the service (e.g. an exit
        code), not conditions, so they are left out of the match.
        """
        with self._lock:
            for event in self._events:
                if event.kind != kind or (event.times is not None and event.hits >= event.times):
                    continue
                if all(attrs.get(k) == v for k, v in event.attrs.items() if k not in settings):
                    event.hits += 1
                    return event
        return None
