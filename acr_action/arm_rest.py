"""Azure Resource Manager over plain REST: what `setup` and `doctor` read and write.

No azure-mgmt-* package: the action image stays small, and `setup` needs a dozen calls of five
resource providers whose wire shapes are short. Every call goes through the run's `Retrier`
(transient answers and dropped connections are retried), every failed answer becomes our error
through `failures.translate` and `arm.from_envelope`, and long-running operations are polled
the way ARM documents them (Azure/azure-rest-api-specs, `documentation/Long-running-operations`:
`Azure-AsyncOperation` first, else `Location`, each honouring `Retry-After`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .arm import from_envelope
from .errors import ActionError, AzureCallFailed
from .failures import ARM_SETUP, translate
from .retry import Retrier

# An operation that has not ended after this long is reported instead of waited for.
OPERATION_TIMEOUT = 600.0
_ENDED = {"succeeded", "failed", "canceled", "cancelled"}


def _envelope(answer: Any, name: str) -> ActionError:
    """Our error for an ARM error answer."""
    try:
        error = answer.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    return from_envelope(
        answer.status_code,
        error.get("code"),
        str(error.get("message") or answer.text)[:500],
        ARM_SETUP.name,
        name=name,
    )


@dataclass
class ArmRest:
    """ARM calls with one bearer token source, the cloud's base URL and the run's retry rule."""

    base: str  # the cloud's resource manager URL, without a trailing slash
    token: Callable[[], str]  # a fresh (cached) ARM access token
    retrier: Retrier = field(default_factory=Retrier)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def url(self, path: str, api_version: str, query: Mapping[str, str] | None = None) -> str:
        """The URL of `path` with its api-version (and any further query)."""
        if path.startswith("https://"):
            return path  # a nextLink or an operation URL: complete as ARM gave it
        return f"{self.base}{path}?{urlencode({'api-version': api_version, **(query or {})})}"

    def send(self, method: str, url: str, body: object = None) -> Any:
        """One request (retried while transient); returns the answer, raises only when unanswered."""
        import requests

        headers = {"Authorization": f"Bearer {self.token()}"}
        try:
            return self.retrier.http(ARM_SETUP.name, method, url, headers=headers, json=body)
        except requests.RequestException as exc:
            raise translate(ARM_SETUP, exc) from exc

    def get(self, path: str, api_version: str, **query: str) -> dict[str, Any] | None:
        """The resource at `path`, or None when ARM answers 404."""
        answer = self.send("GET", self.url(path, api_version, query))
        if answer.status_code == 404:
            return None
        return self._json(answer, path)

    def list(self, path: str, api_version: str, **query: str) -> Iterator[dict[str, Any]]:
        """Every item of a list, following `nextLink`."""
        url: str | None = self.url(path, api_version, query)
        while url:
            page = self._json(self.send("GET", url), path)
            yield from page.get("value") or []
            url = page.get("nextLink")

    def put(self, path: str, api_version: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update the resource at `path`; waits for a long-running operation to end."""
        url = self.url(path, api_version)
        answer = self.send("PUT", url, dict(body))
        result = self._json(answer, path)
        if answer.status_code in (201, 202) and self._operation(answer):
            self.wait(answer, path)
            return self.get(path, api_version) or result
        return result

    def post(self, path: str, api_version: str, body: object = None) -> dict[str, Any]:
        """An action on a resource (`.../register`); its answer, empty when it has none."""
        answer = self.send("POST", self.url(path, api_version), body)
        return self._json(answer, path)

    def _json(self, answer: Any, name: str) -> dict[str, Any]:
        if answer.status_code >= 400:
            raise translate(ARM_SETUP, answer, explain=lambda a: _envelope(a, name))
        try:
            body = answer.json() if answer.content else {}
        except ValueError:
            body = {}
        return body if isinstance(body, dict) else {"value": body}

    @staticmethod
    def _operation(answer: Any) -> str | None:
        headers = answer.headers
        found = headers.get("Azure-AsyncOperation") or headers.get("Location")
        return str(found) if found else None

    def wait(self, answer: Any, name: str) -> None:
        """Poll a long-running operation until it ends; raise when it failed or took too long."""
        url = self._operation(answer)
        asynchronous = bool(answer.headers.get("Azure-AsyncOperation"))
        started = self.clock()
        while url:
            self.sleep(min(10.0, float(answer.headers.get("Retry-After") or 1)))
            answer = self.send("GET", url)
            if asynchronous:
                status = str(self._json(answer, name).get("status", "")).lower()
                if status in _ENDED:
                    if status != "succeeded":
                        error = self._json(answer, name).get("error") or {}
                        raise AzureCallFailed(
                            ARM_SETUP.name, 200, error.get("code"), error.get("message", status)
                        )
                    return
            elif answer.status_code != 202:
                self._json(answer, name)
                return
            if self.clock() - started > OPERATION_TIMEOUT:
                raise AzureCallFailed(
                    ARM_SETUP.name, None, "OperationTimeout", f"{name} did not finish in time"
                )
