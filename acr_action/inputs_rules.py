"""What a single-line input value must look like: the syntax rules the input table points to.

Each :class:`Rule` is a check and the words of the error when the check fails; an
``InputSpec.rule`` names one, and ``inputs._Reader.valid`` applies it. Names follow the service's own
rules, cited where they are defined.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "ACR_ID",
    "DOMAIN_NAME",
    "GUID",
    "KEY_VAULT_SECRET",
    "SECRET_NAME",
    "SECRET_RULE",
    "SUBSCRIPTION_ID",
    "TAG",
    "USER_IDENTITY_ID",
    "Rule",
    "parse_age",
    "parse_duration",
    "valid_https_url",
]


@dataclass(frozen=True)
class Rule:
    """A value's check and what the error says when it fails ("must be …")."""

    check: Callable[[str], object]
    says: str
    normalize: Callable[[str], str] | None = None  # applied before the check; errors show the input


GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DOMAIN_NAME = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]")
ACR_NAME = re.compile(r"[A-Za-z0-9]{5,50}")
# A registry's ARM resource ID, as `az acr show --query id` prints it (ARM is case-insensitive).
ACR_ID = re.compile(
    r"/subscriptions/(?P<subscription>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
    r"-[0-9a-fA-F]{12})/resourceGroups/(?P<group>[-\w.()]{0,89}[-\w()])"
    r"/providers/Microsoft\.ContainerRegistry/registries/(?P<name>[A-Za-z0-9]{5,50})/?",
    re.IGNORECASE,
)
# A user-assigned managed identity's ARM resource ID, as `az identity show --query id` prints it;
# the name follows Microsoft.ManagedIdentity's naming rule (3-128 letters, digits, `-` and `_`).
USER_IDENTITY_ID = re.compile(
    r"/subscriptions/(?P<subscription>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
    r"-[0-9a-fA-F]{12})/resourceGroups/(?P<group>[-\w.()]{0,89}[-\w()])"
    r"/providers/Microsoft\.ManagedIdentity/userAssignedIdentities"
    r"/(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{2,127})/?",
    re.IGNORECASE,
)
VAULT_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-)){1,22}[A-Za-z0-9]")
SECRET_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
SECRET_RULE = "1-127 letters, digits and `-`"  # noqa: S105 - a naming rule, not a password
GROUP_NAME = re.compile(r"[a-z0-9](?:-?[a-z0-9])*")
# The container name rule as ACI words it (MicrosoftDocs/azure-docs#15546).
CONTAINER_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
DNS_LABEL = re.compile(r"[a-z][a-z0-9-]{3,61}[a-z0-9]")
LOCATION = re.compile(r"[a-z0-9]{2,40}")
# OCI distribution spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
IMAGE_NAME = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_REGISTRY_HOST = rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*(?::[0-9]+)?"
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}"
IMAGE_REF = re.compile(
    rf"(?:{_REGISTRY_HOST}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*(?::{TAG.pattern})?(?:@{_DIGEST})?"
)
PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")
STAGE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_NUM = r"[0-9]+(?:\.[0-9]+)?"
_UNIT = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str) -> float | None:
    """Seconds in ``600``, ``90s``, ``10m`` or ``1h30m``; None if the text is none of these."""
    return _seconds(text, "hms")


def parse_age(text: str) -> float | None:
    """Seconds in ``7d``, ``36h``, ``1d12h``, ``90m`` or plain seconds; None if none of these."""
    return _seconds(text, "dhms")


def _seconds(text: str, units: str) -> float | None:
    """Plain seconds, or numbers with the given units in that order (``1d12h``), ignoring spaces."""
    compact = re.sub(r"\s+", "", text).lower()
    if re.fullmatch(_NUM, compact):
        return float(compact)
    match = re.fullmatch("".join(rf"(?:({_NUM}){unit})?" for unit in units), compact)
    if not compact or match is None:
        return None
    return sum(
        float(amount) * _UNIT[unit]
        for amount, unit in zip(match.groups(), units, strict=True)
        if amount
    )


def valid_https_url(text: str) -> bool:
    """An https URL with a host and nothing that would not be an endpoint (user, query, fragment)."""
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and bool(parts.hostname)
        and port_ok
        and not parts.username
        and not parts.query
        and not parts.fragment
    )


def matches(pattern: re.Pattern[str], longest: int) -> Callable[[str], bool]:
    """A check: the whole value matches ``pattern`` and is at most ``longest`` characters."""
    return lambda text: len(text) <= longest and bool(pattern.fullmatch(text))


def valid_vault(text: str) -> bool:
    """A Key Vault's name, or its https URL."""
    if text.lower().startswith("https://"):
        return valid_https_url(text)
    return bool(VAULT_NAME.fullmatch(text))


def valid_url_path(text: str) -> bool:
    """A URL path: starts with `/`, no white space."""
    return text.startswith("/") and not re.search(r"\s", text)


def region_name(text: str) -> str:
    """ARM names regions in lower case without spaces; this accepts the display name too."""
    return re.sub(r"\s+", "", text).lower()


# Rules that more than one input follows.
SUBSCRIPTION_ID = Rule(GUID.fullmatch, "must be a subscription ID, a GUID")
KEY_VAULT_SECRET = Rule(SECRET_NAME.fullmatch, f"must be a Key Vault secret name: {SECRET_RULE}")
USER_IDENTITY = Rule(
    USER_IDENTITY_ID.fullmatch,
    "must be the resource ID of a user-assigned managed identity, /subscriptions/<subscription"
    " id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>"
    " (`az identity show --resource-group <group> --name <name> --query id --output tsv`)",
)
