"""`max-idle`: previews expire counted from their last deploy, not their creation."""

from __future__ import annotations

import datetime as dt

import pytest

from acr_action.github_context import GitHubContext
from acr_action.inputs import parse_inputs
from acr_action.preview import TAG_CREATED, TAG_DEPLOYED, Preview, decide, provenance_tags
from tests.unit.support import make_env

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
REPO = "octo-org/iris-api"
DAY = 86400.0


def preview(name: str, *, created_days: float, deployed_days: float | None) -> Preview:
    deployed = NOW - dt.timedelta(days=deployed_days) if deployed_days is not None else None
    return Preview(name, REPO, 7, NOW - dt.timedelta(days=created_days), deployed)


@pytest.mark.parametrize(
    ("created", "deployed", "delete", "reason"),
    [
        pytest.param(30, 0.5, False, "deployed within max-idle 2d", id="old-but-pushed-to"),
        pytest.param(3, 3, True, "idle longer than max-idle 2d (last deploy 3d ago)", id="idle"),
        pytest.param(3, None, True, "last deploy 3d ago", id="no-deployed-tag-counts-created"),
        pytest.param(1, None, False, "deployed within max-idle 2d", id="young-without-tag"),
    ],
)
def test_max_idle_counts_from_the_last_deploy(
    created: float, deployed: float | None, delete: bool, reason: str
) -> None:
    (decision,) = decide(
        [preview("p", created_days=created, deployed_days=deployed)],
        repository=REPO,
        open_pulls=None,
        max_age=None,
        now=NOW,
        max_idle=2 * DAY,
    )

    assert decision.delete is delete
    assert reason in decision.reason


def test_max_age_still_caps_a_preview_that_is_pushed_to() -> None:
    (decision,) = decide(
        [preview("p", created_days=9, deployed_days=0.1)],
        repository=REPO,
        open_pulls={7},
        max_age=7 * DAY,
        now=NOW,
        max_idle=2 * DAY,
    )

    assert decision.delete
    assert "older than max-age 7d" in decision.reason


def test_each_deploy_stamps_the_deployed_tag() -> None:
    tags = dict(provenance_tags(GitHubContext(repository=REPO), NOW))

    assert tags[TAG_DEPLOYED] == tags[TAG_CREATED] == "2026-12-02T12:00:00Z"


def test_max_idle_is_a_sweep_input_that_replaces_the_token_requirement() -> None:
    github = {
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_NAME": "schedule",
        "GITHUB_REF": "refs/heads/main",
    }
    inputs = parse_inputs(make_env({"mode": "sweep", "max-idle": "36h"}, github))

    assert inputs.preview.max_idle == 36 * 3600


def test_idle_action_stop_marks_only_the_idle_decision() -> None:
    decisions = decide(
        [
            preview("idle", created_days=3, deployed_days=3),
            Preview("closed", REPO, 8, NOW - dt.timedelta(days=3), NOW - dt.timedelta(days=3)),
        ],
        repository=REPO,
        open_pulls={7},
        max_age=None,
        now=NOW - dt.timedelta(minutes=0),
        listed_at=NOW,
        max_idle=2 * DAY,
        idle_action="stop",
    )

    by_name = {d.preview.name: d for d in decisions}
    assert by_name["idle"].delete
    assert by_name["idle"].stop
    assert by_name["closed"].delete  # a closed pull request's preview is deleted, never stopped
    assert not by_name["closed"].stop


def test_idle_action_needs_max_idle() -> None:
    from acr_action.errors import InputError

    github = {"GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": "schedule"}
    with pytest.raises(InputError) as raised:
        parse_inputs(make_env({"mode": "sweep", "max-age": "7d", "idle-action": "stop"}, github))

    assert "idle-action" in raised.value.title
    assert "has no effect without `max-idle`" in raised.value.details
