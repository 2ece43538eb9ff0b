"""ARM's 50-tag limit, counted with our own tags and the ones kept from the existing group."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from acr_action import __main__ as entry
from acr_action.errors import TooManyTags
from acr_action.tag_limit import ARM_TAG_LIMIT, check


def user_tags(count: int) -> list[tuple[str, str]]:
    return [(f"team-{index}", "x") for index in range(count)]


OURS = [("acr-action.repository", "o/r"), ("acr-action.created", "2026-01-01T00:00:00Z")]


def test_fits_exactly_at_the_limit() -> None:
    # 47 of the user's, 2 provenance tags and the fingerprint: 50.
    check("app", user_tags(47) + OURS, user_keys=[k for k, _ in user_tags(47)])


def test_over_the_limit_names_how_many_are_ours() -> None:
    tags = user_tags(48) + OURS

    with pytest.raises(TooManyTags) as raised:
        check("app", tags, user_keys=[k for k, _ in user_tags(48)])

    error = raised.value
    assert (error.user, error.ours, error.foreign) == (48, 3, ())
    assert "51 tags" in error.title
    assert "48 from `resource-tags`" in error.title
    assert "3 of the action's own" in error.title
    assert "Nothing was sent to Azure" in error.details


def test_foreign_tags_of_the_existing_group_count_and_are_named() -> None:
    existing = {
        **{f"policy-{i}": "y" for i in range(10)},
        "acr-action.pr": "7",  # ours: replaced, not kept
        "TEAM-0": "old",  # the same name as a user's tag in another case: replaced
    }

    with pytest.raises(TooManyTags) as raised:
        check(
            "app", user_tags(40) + OURS, user_keys=[k for k, _ in user_tags(40)], existing=existing
        )

    assert len(raised.value.foreign) == 10
    assert "10 kept from the existing group" in raised.value.title
    assert "`policy-3`" in raised.value.details
    assert "az tag update --operation Delete" in raised.value.details


def test_names_count_without_regard_to_case() -> None:
    tags = [(f"k{i}", "v") for i in range(ARM_TAG_LIMIT - 1)] + [("K0", "v")]
    check("app", tags, user_keys=[k for k, _ in tags])  # 49 distinct names + the fingerprint


def test_main_refuses_before_any_network_call(runner_files: dict[str, str]) -> None:
    tags = "\n".join(f"tag{i}=v" for i in range(49))
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "octo-org/iris-api",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": "b28b7af69320201d1cf206ebf28373980add1451",
        "INPUT_RESOURCE-GROUP": "demo-rg",
        "INPUT_IMAGE": "docker.io/library/nginx:1.27",
        "INPUT_RESOURCE-TAGS": tags,
        **runner_files,
    }
    out = io.StringIO()

    code = entry.main(env, out=out)  # the autouse no_network fixture fails any connection

    assert code == 1, out.getvalue()
    assert "49 from `resource-tags`" in out.getvalue()
    summary = Path(runner_files["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert "more than the 50 ARM allows" in summary
