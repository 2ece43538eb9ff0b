"""Retrying what fails for a moment: one backoff rule for every call the action makes.

Two halves, one rule (exponential backoff with full jitter, `Retry-After` honoured, bounded by
attempts *and* the run's `Deadline`, each retry logged once):

* :class:`Retrier` retries the calls the action makes itself: the GitHub ID-token request, the ACR
  challenge and token exchange, cloud metadata, the resource group read, Docker pushes and ARM's
  409 "still transitioning" answers.
* :class:`Pacer` spaces out many calls of one kind (the sweep's deletes) so that they stay
  within a service's request rate before any retry is needed.
* :func:`azure_options` configures the Azure SDK clients (ARM, Key Vault, and Entra through
  azure-identity) the same way: azure-core's `RetryPolicy` does the retrying (it retries 408, 429,
  500, 502, 503, 504 and transport errors, and honours `Retry-After`), :class:`DeadlineRetryPolicy`
  gives it our backoff and the run's deadline, and :class:`RetryLog` (a per-retry policy) logs
  each retry once. azure-identity posts token requests with `retry_on_methods=["POST"]`
  (`azure/identity/_internal/msal_client.py`), so Entra's 408/429/5xx answers and dropped
  connections are retried by the same policy.

Backoff: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/ ("full jitter").
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import requests

    from .clock import Deadline

T = TypeVar("T")

# The statuses worth asking again: timeout, throttling and the server-side transient ones.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Every network call: seconds to connect, and the longest wait for an answer.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class Backoff:
    """How often and how long to wait: `attempts` tries in all, waits up to `cap` seconds."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 8.0

    def delay(self, retry: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(retry-1))] for retry 1, 2, ..."""
        return rng.uniform(0.0, min(self.cap, self.base * 2 ** max(0, retry - 1)))


DEFAULT_BACKOFF = Backoff()


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class Transient:
    """Why an attempt is worth repeating: what happened, and any wait the server asked for."""

    what: str  # e.g. "answered HTTP 503", "dropped the connection (ConnectionError)"
    wait: float | None = None  # from Retry-After


def http_verdict(outcome: Any) -> Transient | None:
    """The verdict on a `requests` answer or exception: transient or final."""
    import requests

    if isinstance(outcome, requests.Response):
        if outcome.status_code in RETRY_STATUSES:
            return Transient(
                f"answered HTTP {outcome.status_code}",
                retry_after(outcome.headers.get("Retry-After")),
            )
        return None
    if isinstance(outcome, requests.Timeout):
        return Transient(f"did not answer in time ({type(outcome).__name__})")
    if isinstance(outcome, requests.ConnectionError):
        return Transient(f"dropped the connection ({type(outcome).__name__})")
    return None


def _silent(_: str) -> None:
    pass


@dataclass
class Retrier:
    """Runs a call again while it fails transiently, within `backoff.attempts` and the deadline."""

    deadline: Deadline | None = None
    log: Callable[[str], None] = _silent
    backoff: Backoff = DEFAULT_BACKOFF
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)  # jitter, not cryptography

    def remaining(self) -> float | None:
        """Seconds left in the run, or None when unbounded."""
        return None if self.deadline is None else self.deadline.remaining()

    def read_timeout(self, wanted: float = READ_TIMEOUT) -> float:
        """A read timeout that does not outlive the run (at least one second)."""
        left = self.remaining()
        return wanted if left is None else max(1.0, min(wanted, left))

    def call(
        self,
        dependency: str,
        attempt: Callable[[], T],
        verdict: Callable[[Any], Transient | None],
        *,
        backoff: Backoff | None = None,
    ) -> T:
        """`attempt()` until `verdict` finds its answer (or exception) final; returns the last answer.

        When the attempts or the deadline run out, the last answer is returned (or its exception
        raised) as it is, so the caller's error names the dependency and the last status.
        """
        rule = backoff or self.backoff
        tries = 0
        while True:
            tries += 1
            try:
                result: T | None = attempt()
                error: BaseException | None = None
            except Exception as exc:  # judged below; re-raised when final
                result, error = None, exc
            judged = verdict(error if error is not None else result)
            if judged is None or tries >= rule.attempts:
                return self._final(result, error)
            wait = judged.wait if judged.wait is not None else rule.delay(tries, self.rng)
            left = self.remaining()
            if left is not None and wait >= left:
                return self._final(result, error)  # waiting would outlive the run
            self.log(
                f"{dependency} {judged.what}; retrying in {wait:.1f} s "
                f"(attempt {tries + 1} of {rule.attempts})"
            )
            self.sleep(wait)

    @staticmethod
    def _final(result: T | None, error: BaseException | None) -> T:
        if error is not None:
            raise error
        return result  # type: ignore[return-value]  # attempt() returned it: it is a T

    def http(
        self,
        dependency: str,
        method: str,
        url: str,
        *,
        connect: float = CONNECT_TIMEOUT,
        read: float = READ_TIMEOUT,
        **kwargs: Any,
    ) -> requests.Response:
        """One HTTP request with connect/read timeouts, retried while transient."""
        import requests

        def attempt() -> requests.Response:
            return requests.request(
                method, url, timeout=(connect, self.read_timeout(read)), **kwargs
            )

        return self.call(dependency, attempt, http_verdict)


class Pacer:
    """A token bucket: `wait()` returns when one more request may start.

    Starts at most `burst` requests at once, then `rate` a second: the shape of ARM's own
    throttling, so a caller paced by it never draws the service's bucket dry by itself.
    """

    def __init__(
        self,
        burst: int,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._burst = float(burst)
        self._rate = rate
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Take one token, sleeping until there is one."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
            self._tokens -= 1
            delay = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if delay:
            self._sleep(delay)


# --------------------------------------------------------------------------- Azure SDK clients

# One place for the SDK clients' retry and timeout settings (see `azure_options`).
SDK_RETRY_TOTAL = 5  # retries after the first attempt
SDK_CONNECTION_TIMEOUT = 10
SDK_READ_TIMEOUT = 60


def _retry_policy_class() -> type[Any]:
    from azure.core.pipeline.policies import RetryPolicy

    class DeadlineRetryPolicy(RetryPolicy):  # type: ignore[type-arg]  # generic over transports
        """azure-core's `RetryPolicy` with our backoff and the run's deadline as its limit."""

        def __init__(self, *, deadline: Deadline | None = None, **kwargs: Any) -> None:
            kwargs.setdefault("retry_total", SDK_RETRY_TOTAL)
            # azure-core also caps status and connection retries at 3 each by default, which
            # would cut the budget short of retry_total (and make "attempt N of 6" untrue).
            kwargs.setdefault("retry_status", SDK_RETRY_TOTAL)
            kwargs.setdefault("retry_connect", SDK_RETRY_TOTAL)
            super().__init__(**kwargs)
            self._deadline = deadline
            self._rng = random.Random()  # noqa: S311 - jitter, not cryptography

        def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
            settings: dict[str, Any] = super().configure_retries(options)
            if self._deadline is not None:
                # The operation's absolute timeout: azure-core stops retrying when it is spent.
                settings["timeout"] = max(1.0, min(settings["timeout"], self._deadline.remaining()))
            return settings

        def get_backoff_time(self, settings: dict[str, Any]) -> float:
            retry = len(settings["history"])
            return DEFAULT_BACKOFF.delay(retry, self._rng)

        def get_retry_after(self, response: Any) -> float | None:
            wait: float | None = super().get_retry_after(response)
            if wait is not None and self._deadline is not None:
                # Never sleep past the run's end; the next attempt then fails with a timeout.
                wait = min(wait, self._deadline.remaining())
            return wait

    return DeadlineRetryPolicy


def _retry_log_class() -> type[Any]:
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class RetryLog(SansIOHTTPPolicy):  # type: ignore[type-arg]  # generic over transports
        """A per-retry policy: logs each retry once, with what the previous attempt got."""

        def __init__(self, dependency: str, log: Callable[[str], None]) -> None:
            super().__init__()
            self.dependency = dependency
            self.log = log

        def on_request(self, request: Any) -> None:
            context = request.context
            retry = int(context.get("retry_count", 0) or 0)
            last = context.get("acr_action_last")
            if retry > 0 and last is not None:
                what, at = last
                self.log(
                    f"{self.dependency} {what}; retried after {time.monotonic() - at:.1f} s "
                    f"(attempt {retry + 1} of {SDK_RETRY_TOTAL + 1})"
                )
            context["acr_action_last"] = None

        def on_response(self, request: Any, response: Any) -> None:
            status = response.http_response.status_code
            if status in RETRY_STATUSES:
                request.context["acr_action_last"] = (f"answered HTTP {status}", time.monotonic())

        def on_exception(self, request: Any) -> None:
            import sys

            error = sys.exc_info()[1]
            name = type(error).__name__ if error is not None else "error"
            request.context["acr_action_last"] = (
                f"dropped the connection or timed out ({name})",
                time.monotonic(),
            )

    return RetryLog


def azure_options(
    dependency: str,
    deadline: Deadline | None,
    log: Callable[[str], None] = _silent,
    *,
    identity: bool = False,
) -> dict[str, Any]:
    """Keyword arguments for an Azure SDK client (or, with `identity`, an azure-identity credential)."""
    policy_class = _retry_policy_class()
    retry_log = _retry_log_class()(dependency, log)
    options: dict[str, Any] = {
        "connection_timeout": SDK_CONNECTION_TIMEOUT,
        "read_timeout": SDK_READ_TIMEOUT,
    }
    if identity:
        # azure-identity builds its pipeline itself: it takes the class (called with its kwargs)
        # and the per-retry policies under a private name (azure/identity/_internal/pipeline.py).
        options["retry_policy_class"] = _bound(policy_class, deadline)
        options["_per_retry_policies"] = [retry_log]
    else:
        options["retry_policy"] = policy_class(deadline=deadline)
        options["per_retry_policies"] = [retry_log]
    return options


def _bound(policy_class: type[Any], deadline: Deadline | None) -> Callable[..., Any]:
    def make(**kwargs: Any) -> Any:
        return policy_class(deadline=deadline, **_retry_kwargs(kwargs))

    return make


def _retry_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Only the settings `RetryPolicy` reads, from a credential's keyword arguments."""
    names = ("retry_total", "retry_connect", "retry_read", "retry_status", "retry_mode")
    return {name: kwargs[name] for name in names if name in kwargs}
