"""ARM's tag limit, counted before any write: the inputs' tags, ours, and the ones kept.

"Each resource, resource group, and subscription can have a maximum of 50 tag name/value pairs"
and "Tag names are case-insensitive for operations"
(https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources, Limitations).
A deploy sends `resource-tags`, the action's own `acr-action.*` tags (provenance, the spec
fingerprint) and the tags someone else set on the existing group (`spec._kept_tags` keeps them),
so a `resource-tags` list that fits on its own can still push the group over the limit. Counted
twice: from the inputs before signing in, and with the existing group's tags before the PUT.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import TooManyTags
from .spec import FINGERPRINT_TAG, OWN_TAG_PREFIX

ARM_TAG_LIMIT = 50


def check(
    name: str,
    tags: Iterable[tuple[str, str]],
    *,
    user_keys: Iterable[str],
    existing: dict[str, str] | None = None,
) -> None:
    """Raise `TooManyTags` when `tags` (plus the fingerprint and `existing`'s foreign tags) exceed 50.

    `tags`: what the spec sets (`resource-tags` then ours); `user_keys`: the keys of
    `resource-tags`, to say how many of the total are the user's.
    """
    wanted = {key.casefold(): key for key, _ in tags}
    wanted.setdefault(FINGERPRINT_TAG.casefold(), FINGERPRINT_TAG)
    users = {key.casefold() for key in user_keys}
    foreign = [
        key
        for key in sorted(existing or {})
        if not key.startswith(OWN_TAG_PREFIX) and key.casefold() not in wanted
    ]
    ours = sum(1 for key in wanted if key not in users)
    user = len(wanted) - ours
    if user + ours + len(foreign) > ARM_TAG_LIMIT:
        raise TooManyTags(name, ARM_TAG_LIMIT, user=user, ours=ours, foreign=foreign)
