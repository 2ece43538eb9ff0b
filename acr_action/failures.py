"""One place where a failed call to another service becomes the action's own error.

Every service the action calls is one :class:`Dependency` in one table: its name (in error titles
and retry lines) and what to check when it stays down. :func:`translate` turns whatever a call to
it left behind into our error, the way httpx maps the transport's exceptions onto its own in one
table (`httpx/_exceptions.py`, `map_exceptions`):

* no answer at all (a `requests` exception; azure-core's `ServiceRequestError` "no request was
  sent" or `ServiceResponseError` "the request was sent, but the client failed to understand the
  response", both `AzureError` but not `HttpResponseError`, `azure/core/exceptions.py`) and an
  answer whose status the retry rule repeats (`retry.RETRY_STATUSES`): the retries are spent, so
  :class:`~acr_action.errors.DependencyUnavailable`, naming the dependency and what to check;
* any other answer: what the caller's `explain` makes of it (ARM's envelope, a vault's 403 ...),
  else the generic call failure of its kind (GitHub's or Azure's).

Callers handle the answers they know (404 "already gone", 403 "role missing") first and hand the
rest here, so the same failure reads the same wherever it happens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from .errors import ActionError, AzureCallFailed, DependencyUnavailable, GitHubCallFailed
from .retry import RETRY_STATUSES

_ARM_CHECK = "https://status.azure.com (Azure Resource Manager) and the runner's network"


@dataclass(frozen=True)
class Dependency:
    """A service the action calls: its name in messages and retry lines, and what to check."""

    name: str
    check: str
    kind: Literal["azure", "github"] = "azure"  # which generic error an unexplained answer gets

    def at(self, *, name: str | None = None, check: str | None = None) -> Dependency:
        """This dependency for one target (a registry host, a custom cloud's endpoint)."""
        return replace(self, name=name or self.name, check=check or self.check)

    def down(self, last: str) -> DependencyUnavailable:
        """The error for this dependency after its retries ran out; `last` is what it did last."""
        return DependencyUnavailable(self.name, last, self.check)


GITHUB_OIDC = Dependency(
    "GitHub OIDC token endpoint",
    "GitHub's token service (https://www.githubstatus.com, *Actions*); on GitHub Enterprise "
    "Server, the runner's connection to the server",
    kind="github",
)
GITHUB_API = Dependency(
    "GitHub REST API",
    "https://www.githubstatus.com (*API Requests*); on GitHub Enterprise Server, the server at "
    "`GITHUB_API_URL` and the runner's connection to it",
    kind="github",
)
ENTRA = Dependency(
    "Microsoft Entra ID (token request)",
    "https://status.azure.com (Microsoft Entra ID) and the runner's network",
)
CLOUD_METADATA = Dependency("Cloud metadata", "that `resource-manager-endpoint` is up")
ARM_RESOURCE_GROUP = Dependency("Azure Resource Manager (resource group)", _ARM_CHECK)
ARM_REGISTRY = Dependency("Azure Resource Manager (registry)", _ARM_CHECK)
ARM_STORAGE = Dependency("Azure Resource Manager (storage account keys)", _ARM_CHECK)
# `setup` and `doctor`, from a laptop: providers, groups, identities, roles, vaults.
ARM_SETUP = Dependency("Azure Resource Manager (setup)", _ARM_CHECK)
CONTAINER_INSTANCES = Dependency(
    "Azure Container Instances",
    "https://status.azure.com (Container Instances, Resource Manager) and the runner's network",
)
KEY_VAULT = Dependency(
    "Key Vault",
    "https://status.azure.com (Key Vault), and the vault's firewall and private endpoints",
)
_ACR_CHECK = "the registry's health and https://status.azure.com (Container Registry)"
ACR_EXCHANGE = Dependency("ACR token exchange", _ACR_CHECK)
ACR_DELETE = Dependency("ACR (delete image tag)", _ACR_CHECK)
REGISTRY = Dependency("the registry", "that the registry's /v2/ answers, and the runner's network")
DOCKER_ENGINE = Dependency(
    "The Docker daemon",
    "that the Docker daemon runs and answers on this runner (`docker info`; `DOCKER_HOST` if it "
    "is not the local socket)",
)

DEPENDENCIES = (
    GITHUB_OIDC,
    GITHUB_API,
    ENTRA,
    CLOUD_METADATA,
    ARM_RESOURCE_GROUP,
    ARM_REGISTRY,
    ARM_STORAGE,
    ARM_SETUP,
    CONTAINER_INSTANCES,
    KEY_VAULT,
    ACR_EXCHANGE,
    ACR_DELETE,
    REGISTRY,
    DOCKER_ENGINE,
)
"""Every service the action calls (a registry and a custom cloud are named per target)."""

Explain = Callable[[Any], "ActionError | None"]


def of_registry(dependency: Dependency, registry: str) -> Dependency:
    """An ACR dependency whose check names the registry (`az acr check-health --name ...`)."""
    return dependency.at(
        check=f"the registry's health (`az acr check-health --name {registry}`) and "
        "https://status.azure.com (Container Registry)"
    )


def status_of(outcome: object) -> int | None:
    """The HTTP status of an answer or of an SDK exception that carries one, else None."""
    status = getattr(outcome, "status_code", None)
    if status is None:
        status = getattr(getattr(outcome, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def _unanswered(outcome: object) -> bool:
    """Did the call get no answer at all (dropped, refused, timed out, unreadable)?"""
    if not isinstance(outcome, BaseException):
        return False
    from azure.core.exceptions import HttpResponseError

    # An HttpResponseError is an answer (azure-identity raises ClientAuthenticationError, one of
    # them, also for a refusal that carries no response); every other exception here is not.
    return not isinstance(outcome, HttpResponseError)


def unavailable(
    dependency: Dependency, outcome: object, *, where: str = ""
) -> DependencyUnavailable | None:
    """`DependencyUnavailable` when `outcome` is a failure the retry rule repeats, else None.

    `outcome` is an answer (`requests.Response`) or an exception; `where` names the endpoint
    in the message ("from https://HOST/v2/").
    """
    status = status_of(outcome)
    if _unanswered(outcome):
        last = type(outcome).__name__
    elif status in RETRY_STATUSES:
        last = f"HTTP {status}"
    else:
        return None
    if where:
        last = f"{last} from {where}"
    return dependency.down(last)


def translate(
    dependency: Dependency,
    outcome: object,
    *,
    where: str = "",
    explain: Explain | None = None,
) -> ActionError:
    """Our error for a failed call to `dependency`: an answer or an exception it left behind."""
    down = unavailable(dependency, outcome, where=where)
    if down is not None:
        return down
    explained = explain(outcome) if explain is not None else None
    if explained is not None:
        return explained
    status, code, message = _described(outcome)
    if dependency.kind == "github":
        return GitHubCallFailed(where or dependency.name, status, message)
    return AzureCallFailed(dependency.name, status, code, message)


def _described(outcome: object) -> tuple[int | None, str | None, str]:
    """(status, error code, message) of an answer or an SDK exception, for a generic error."""
    status = status_of(outcome)
    error = getattr(outcome, "error", None)
    code = getattr(error, "code", None)
    if isinstance(outcome, BaseException):
        message = str(getattr(error, "message", None) or getattr(outcome, "message", "") or outcome)
        return status, code if isinstance(code, str) else None, message
    return status, None, _answer_message(outcome)


def _answer_message(answer: Any) -> str:
    """The message of an error answer: GitHub's `message`, ARM's `error.message`, or its text."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        if body.get("message"):
            return str(body["message"])[:500]
    return str(getattr(answer, "text", ""))[:500]
