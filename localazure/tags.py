"""ARM's checks of a resource's `tags` on a write, shared by the resource providers.

"Each resource, resource group, and subscription can have a maximum of 50 tag name/value
pairs"; "The tag name is limited to 512 characters, and the tag value is limited to 256
characters"; tag names are case-insensitive
(https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources, Limitations).
ARM refuses such a request before the provider sees it, with HTTP 400; the code and wording of
the count refusal are [inferred] (no recording of one was found).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .web import arm_error

MAX_TAGS = 50
MAX_NAME = 512
MAX_VALUE = 256


def refusal(body: Any) -> web.Response | None:
    """ARM's 400 for tags over the limits in a PUT body, or None."""
    tags = body.get("tags") if isinstance(body, dict) else None
    if not isinstance(tags, dict):
        return None
    names = {str(name).casefold() for name in tags}
    if len(names) > MAX_TAGS:
        return arm_error(
            400,
            "InvalidTagCount",  # [inferred]
            f"The number of tags ({len(names)}) exceeds the maximum of {MAX_TAGS} tags "
            "allowed on a resource.",  # [inferred]
        )
    for name, value in tags.items():
        if len(str(name)) > MAX_NAME or len(str(value)) > MAX_VALUE:
            return arm_error(
                400,
                "InvalidTagNameOrValue",  # [inferred]
                f"The tag name '{str(name)[:40]}' or its value is too long: names may have "
                f"{MAX_NAME} characters, values {MAX_VALUE}.",  # [inferred]
            )
    return None
