"""The run's time budget (the `timeout` input) and how long each phase took."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .errors import StepTimeout


@dataclass
class Deadline:
    """A point in monotonic time that bounds the whole run."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    @property
    def at(self) -> float:
        """The monotonic time at which the run must stop."""
        return self.started + self.seconds

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.at - time.monotonic())

    def check(self, phase: str) -> None:
        """Raise `StepTimeout` naming `phase` if the budget is spent."""
        if time.monotonic() >= self.at:
            raise StepTimeout(phase, self.seconds)


@dataclass
class Phases:
    """Wall-clock seconds per phase, in the order they ran (for the job summary)."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Time the block as phase `name` (also when it raises)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - started
