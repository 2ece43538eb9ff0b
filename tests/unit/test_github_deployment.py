"""Which runs record a GitHub deployment, and to which environment."""

from __future__ import annotations

import pytest

from acr_action.github_context import GitHubContext
from acr_action.github_deployment import environment_of
from acr_action.inputs import PreviewSettings


@pytest.mark.parametrize(
    ("setting", "token", "pull_request", "wanted"),
    [
        ("auto", "ghs_x", True, True),
        ("auto", "ghs_x", False, False),  # a push records one only when asked
        ("true", "ghs_x", False, True),
        ("false", "ghs_x", True, False),
        ("auto", None, True, False),  # no token, nothing to record it with
    ],
)
def test_a_deployment_is_recorded_when_asked_and_possible(
    setting: str, token: str | None, pull_request: bool, wanted: bool
) -> None:
    settings = PreviewSettings(github_token=token, github_deployment=setting)  # type: ignore[arg-type]
    assert settings.deployment_wanted(pull_request) is wanted


def test_the_environment_is_the_input_else_the_pull_request_else_production() -> None:
    github = GitHubContext()
    assert environment_of(PreviewSettings(), github, 7) == "pr-7"
    assert environment_of(PreviewSettings(), github, None) == "production"
    named = PreviewSettings(deployment_environment="staging")
    assert environment_of(named, github, 7) == "staging"
