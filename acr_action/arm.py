"""Turning Azure Resource Manager error answers into errors a user can act on."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .errors import (
    ActionError,
    AzureCallFailed,
    DnsLabelTaken,
    ImmutableChange,
    PermissionDenied,
    ResourceMissing,
    SubnetNotDelegated,
)

if TYPE_CHECKING:
    from .failures import Dependency
    from .retry import Retrier

_AUTHORIZATION = re.compile(
    r"client '(?P<principal>[^']*)'.*?action '(?P<action>[^']*)' over scope '(?P<scope>[^']*)'",
    re.DOTALL,
)
# The smallest built-in role that grants each action the action performs.
ROLE_FOR_ACTION = {
    "microsoft.containerinstance": "Contributor",
    "microsoft.containerregistry/registries/read": "Reader",
    "microsoft.resources/subscriptions/resourcegroups/read": "Reader",
}


def role_hint(action: str) -> str:
    """The built-in role to grant for an ARM action."""
    lowered = action.lower()
    for prefix, role in ROLE_FOR_ACTION.items():
        if lowered.startswith(prefix):
            return role
    return "Contributor"


def explain(
    exc: Any, dependency: str, *, name: str = "", group: str = "", region: str = ""
) -> ActionError:
    """The project's error for an `HttpResponseError` from an ARM call."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = str(getattr(error, "message", None) or getattr(exc, "message", "") or exc)
    return from_envelope(
        getattr(exc, "status_code", None),
        code,
        message,
        dependency,
        name=name,
        group=group,
        region=region,
    )


def from_envelope(
    status: int | None,
    code: str | None,
    message: str,
    dependency: str,
    *,
    name: str = "",
    group: str = "",
    region: str = "",
) -> ActionError:
    """The project's error for an ARM error envelope `{"error": {"code", "message"}}`."""
    if code == "AuthorizationFailed":
        match = _AUTHORIZATION.search(message)
        if match:
            return PermissionDenied(
                action=match["action"],
                scope=match["scope"],
                principal=match["principal"],
                role_hint=role_hint(match["action"]),
            )
    if code in ("ResourceGroupNotFound", "ResourceNotFound"):
        return ResourceMissing(
            "resource group" if code == "ResourceGroupNotFound" else "resource",
            name or group,
            message,
        )
    if code == "DnsNameLabelAlreadyTaken":
        label = re.search(r"label '([^']*)'", message)
        return DnsLabelTaken(label.group(1) if label else name, region)
    if code == "SubnetMissingRequiredDelegation":  # Azure/dev-box-images#8
        return SubnetNotDelegated(name, message)
    if code == "InvalidContainerGroupUpdate":
        return ImmutableChange(name, ())
    return AzureCallFailed(dependency, status, code, message)


def bearer_call(
    dependency: Dependency,
    method: str,
    url: str,
    token: str,
    retrier: Retrier | None = None,
    *,
    name: str = "",
    group: str = "",
) -> Any:
    """One ARM request with `token`, through the run's retry rule: the 200 answer, else our error
    (a dropped connection through `failures.translate`, an error answer through its envelope)."""
    import requests

    from .failures import translate
    from .retry import Retrier as _Retrier

    try:
        answer = (retrier or _Retrier()).http(
            dependency.name, method, url, headers={"Authorization": f"Bearer {token}"}
        )
    except requests.RequestException as exc:
        raise translate(dependency, exc) from exc
    if answer.status_code == 200:
        return answer

    def envelope(answer: Any) -> ActionError:
        try:
            error = answer.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        # The envelope's message, else the start of the body: only an error answer gets here.
        message = str(error.get("message") or answer.text)[:500]
        return from_envelope(
            answer.status_code, error.get("code"), message, dependency.name, name=name, group=group
        )

    raise translate(dependency, answer, explain=envelope)
