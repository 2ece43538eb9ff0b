"""Preview rules without network: names, collisions, labels, tags, comment bodies, sweep decisions."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Any

import pytest

from acr_action.github_context import GitHubContext
from acr_action.inputs import PreviewSettings
from acr_action.inputs_rules import parse_age
from acr_action.naming import default_dns_label, default_group_name
from acr_action.preview import (
    TAG_CREATED,
    TAG_PR,
    TAG_REPOSITORY,
    TAG_RUN,
    CommentFacts,
    Preview,
    decide,
    marker,
    provenance_tags,
    render_comment,
    skip_unlabelled,
    upsert_comment,
)

GROUP_NAME = re.compile(r"[a-z](?:-?[a-z0-9])*")
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "repository",
    [
        pytest.param("octo/My-App", id="plain"),
        pytest.param("octo/web.site", id="dotted"),
        pytest.param("octo/my_app", id="underscore"),
        pytest.param("octo/" + "x" * 100, id="long"),
        pytest.param("octo/___", id="nothing-left"),
        pytest.param("octo/9lives", id="leading-digit"),
    ],
)
def test_preview_names_follow_the_rules_and_are_stable(repository: str) -> None:
    name = default_group_name(repository, 123456)
    assert GROUP_NAME.fullmatch(name), name
    assert len(name) <= 63
    assert name.endswith("-pr-123456")
    assert name == default_group_name(repository, 123456)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("octo/web.site", "octo/web-site", id="dot-vs-hyphen"),
        pytest.param("octo/my_app", "octo/my-app", id="underscore-vs-hyphen"),
        pytest.param("alice/my_app", "bob/my_app", id="same-lossy-name-two-owners"),
        pytest.param("alice/" + "y" * 90, "bob/" + "y" * 90, id="same-long-name-two-owners"),
        pytest.param("octo/App--2", "octo/app-2", id="double-hyphen"),
    ],
)
def test_repositories_that_sanitize_alike_get_different_previews(first: str, second: str) -> None:
    assert default_group_name(first, 7) != default_group_name(second, 7)


def test_plain_names_stay_readable() -> None:
    assert default_group_name("octo/my-app", 7) == "my-app-pr-7"


def test_salted_labels_cannot_be_computed_without_the_salt() -> None:
    name = default_group_name("octo/my-app", 7)
    public = default_dns_label(name, "octo/my-app")
    salted = default_dns_label(name, "octo/my-app", salt="a-long-random-secret-salt")
    # Unsalted: anyone can compute it from the repository and the PR number (documented).
    assert public == default_dns_label("my-app-pr-7", "octo/my-app", None)
    assert salted != public
    assert salted != default_dns_label(name, "octo/my-app", salt="another-salt")
    assert salted == default_dns_label(name, "octo/my-app", salt="a-long-random-secret-salt")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 604800), ("36h", 129600), ("1d12h", 129600), ("90m", 5400), ("600", 600)],
)
def test_max_age_accepts_days(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


# --------------------------------------------------------------------------- tags


def test_provenance_tags_of_a_pull_request() -> None:
    github = GitHubContext(
        event_name="pull_request",
        ref="refs/pull/7/merge",
        sha="f" * 40,
        repository="octo/app",
        pr_number=7,
        pr_head_sha="e" * 40,
        run_id="99",
        run_attempt="2",
    )
    tags = dict(provenance_tags(github, NOW))
    assert tags[TAG_REPOSITORY] == "octo/app"
    assert tags[TAG_PR] == "7"
    assert tags["acr-action.head-sha"] == "e" * 40
    assert tags["acr-action.ref"] == "refs/pull/7/merge"
    assert tags[TAG_RUN] == "99/2"
    assert tags["acr-action.run-url"] == "https://github.com/octo/app/actions/runs/99/attempts/2"
    assert tags[TAG_CREATED] == "2026-12-01T12:00:00Z"
    assert all(name.startswith("acr-action.") for name in tags)


def test_a_push_gets_no_pull_request_tag() -> None:
    github = GitHubContext(event_name="push", repository="octo/app", sha="a" * 40)
    assert TAG_PR not in dict(provenance_tags(github, NOW))


# --------------------------------------------------------------------------- the comment


def test_comment_shows_url_short_sha_digest_time_and_state() -> None:
    github = GitHubContext(
        event_name="pull_request",
        repository="octo/app",
        sha="f" * 40,  # the merge commit
        pr_number=7,
        pr_head_sha="abcdef1234567890",
        run_id="99",
    )
    body = render_comment(
        CommentFacts(
            "app-pr-7",
            "Running",
            url="http://app-pr-7-1a2b3c4d.westeurope.azurecontainer.io",
            digest="sha256:" + "0" * 64,
            when=NOW,
            github=github,
        )
    )
    assert body.startswith(marker("app-pr-7") + "\n")
    assert "| State | Running |" in body
    assert "http://app-pr-7-1a2b3c4d.westeurope.azurecontainer.io" in body
    assert "`abcdef1`" in body
    assert "`fffffff`" not in body
    assert "sha256:" + "0" * 64 in body
    assert "2026-12-01T12:00:00Z" in body
    assert "| Run | https://github.com/octo/app/actions/runs/99 |" in body


def test_removed_comment_keeps_the_marker() -> None:
    body = render_comment(CommentFacts("app-pr-7", "removed", when=NOW, reason="closed"))
    assert body.startswith(marker("app-pr-7"))
    assert "removed" in body
    assert "| State |" not in body


class FakeGitHub:
    """Comments in memory; `racing` adds a rival's comment right after ours is created."""

    def __init__(self, racing: bool = False) -> None:
        self.comments_by_id: dict[int, str] = {}
        self.ids = itertools.count(1)
        self.racing = racing

    def comments(self, number: int) -> list[dict[str, Any]]:
        return [{"id": i, "body": b} for i, b in sorted(self.comments_by_id.items())]

    def create_comment(self, number: int, body: str) -> dict[str, Any]:
        if self.racing:  # another run created its comment first
            self.comments_by_id[next(self.ids)] = body.replace("mine", "theirs")
            self.racing = False
        new = next(self.ids)
        self.comments_by_id[new] = body
        return {"id": new, "body": body}

    def update_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        self.comments_by_id[comment_id] = body
        return {"id": comment_id, "body": body}

    def delete_comment(self, comment_id: int) -> None:
        self.comments_by_id.pop(comment_id, None)


@pytest.mark.parametrize("racing", [pytest.param(False, id="alone"), pytest.param(True, id="race")])
def test_upsert_leaves_exactly_one_comment(racing: bool) -> None:
    gh = FakeGitHub(racing)
    gh.comments_by_id[next(gh.ids)] = "an unrelated comment"
    body = marker("app-pr-7") + "\nmine"

    first = upsert_comment(gh, 7, "app-pr-7", body)  # type: ignore[arg-type]
    second = upsert_comment(gh, 7, "app-pr-7", body + " again")  # type: ignore[arg-type]

    ours = [b for b in gh.comments_by_id.values() if b.startswith(marker("app-pr-7"))]
    assert (first, second) == ("created", "updated")
    assert ours == [body + " again"]
    assert "an unrelated comment" in gh.comments_by_id.values()


def test_a_quoted_marker_in_someone_elses_comment_is_not_ours() -> None:
    gh = FakeGitHub()
    gh.comments_by_id[next(gh.ids)] = "> " + marker("app-pr-7") + " see above"
    upsert_comment(gh, 7, "app-pr-7", marker("app-pr-7") + "\nmine")  # type: ignore[arg-type]
    assert len(gh.comments_by_id) == 2


# --------------------------------------------------------------------------- sweep decisions


def preview(name: str, pr: int | None, days: float | None, repository: str = "octo/app") -> Preview:
    created = NOW - dt.timedelta(days=days) if days is not None else None
    return Preview(name, repository, pr, created)


@pytest.mark.parametrize(
    ("item", "open_pulls", "max_age", "delete", "reason"),
    [
        pytest.param(
            preview("a-pr-1", 1, 1), {2}, None, True, "PR #1 is closed or merged", id="closed"
        ),
        pytest.param(preview("a-pr-2", 2, 1), {2}, None, False, "PR #2 is open", id="open"),
        pytest.param(
            preview("a-pr-2", 2, 9), {2}, 7 * 86400, True, "older than max-age 7d", id="stale"
        ),
        pytest.param(
            preview("a-pr-2", 2, 3),
            None,
            7 * 86400,
            False,
            "younger than max-age 7d",
            id="young-no-token",
        ),
        pytest.param(
            preview("a-pr-2", 2, None), {2}, 86400, False, "no created tag", id="no-created"
        ),
        pytest.param(
            preview("a-pr-3", 3, 0.001), {2}, None, False, "created after", id="brand-new"
        ),
        pytest.param(
            preview("b-pr-1", 1, 30, "octo/b"),
            {2},
            86400,
            False,
            "belongs to octo/b",
            id="other-repo",
        ),
    ],
)
def test_sweep_decisions(
    item: Preview, open_pulls: set[int] | None, max_age: float | None, delete: bool, reason: str
) -> None:
    (decision,) = decide(
        [item], repository="octo/APP", open_pulls=open_pulls, max_age=max_age, now=NOW
    )
    assert decision.delete is delete
    assert reason in decision.reason


def test_a_preview_whose_open_pull_request_lost_the_label_is_swept() -> None:
    lost, kept = preview("a-pr-1", 1, 1), preview("a-pr-2", 2, 1)

    decisions = decide(
        [lost, kept],
        repository="octo/APP",
        open_pulls={1, 2},
        max_age=None,
        now=NOW,
        labelled=("preview", {2}),
    )

    assert [(d.delete, d.reason) for d in decisions] == [
        (True, "PR #1 lacks the label preview"),
        (False, "PR #2 is open"),
    ]


@pytest.mark.parametrize(
    ("labels", "skipped"),
    [(("Preview",), False), (("bug",), True), ((), True)],
    ids=["label-any-case", "other-label", "no-label"],
)
def test_a_pull_request_without_the_required_label_gets_no_preview(
    labels: tuple[str, ...], skipped: bool
) -> None:
    notices: list[str] = []
    runner = type("R", (), {"notice": lambda self, text, title: notices.append(text)})()
    github = GitHubContext(event_name="pull_request", pr_number=3, pr_labels=labels)
    settings = PreviewSettings(require_label="preview")

    assert skip_unlabelled(settings, github, runner) is skipped  # type: ignore[arg-type]
    assert bool(notices) is skipped
    assert not skip_unlabelled(PreviewSettings(), github, runner)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- inputs


def parse(**inputs: str) -> Any:
    from acr_action.inputs import env_key, parse_inputs

    env = {
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_SHA": "a" * 40,
        env_key("resource-group"): "demo-rg",
        env_key("registry"): "myregistry",
        env_key("registry-username"): "pull",
        env_key("registry-password"): "pull-password",
    }
    env.update({env_key(name.replace("_", "-")): value for name, value in inputs.items()})
    return parse_inputs(env)


@pytest.mark.parametrize(
    ("inputs", "bad"),
    [
        pytest.param({"comment_on_pr": "true"}, "github-token", id="comment-needs-token"),
        pytest.param({"github_token": "ghs_x"}, "github-token", id="token-without-comment"),
        pytest.param({"github_deployment": "true"}, "github-token", id="deployment-needs-token"),
        pytest.param(
            {"github_deployment": "maybe"}, "github-deployment", id="bad-github-deployment"
        ),
        pytest.param({"max_age": "7d"}, "max-age", id="max-age-outside-sweep"),
        pytest.param({"dry_run": "true"}, "dry-run", id="dry-run-outside-sweep"),
        pytest.param(
            {"sweep_concurrency": "4"}, "sweep-concurrency", id="concurrency-outside-sweep"
        ),
        pytest.param({"mode": "sweep"}, "github-token", id="sweep-needs-token-or-age"),
        pytest.param({"mode": "sweep", "max_age": "soon"}, "max-age", id="bad-age"),
        pytest.param(
            {"mode": "sweep", "max_age": "7d", "sweep_concurrency": "64"},
            "sweep-concurrency",
            id="too-concurrent",
        ),
        pytest.param({"max_previews": "0"}, "max-previews", id="zero-previews"),
        pytest.param(
            {"on_max_previews": "evict-oldest"}, "on-max-previews", id="evict-without-max"
        ),
        pytest.param({"on_fork": "maybe"}, "on-fork", id="bad-on-fork"),
        pytest.param({"delete_image_tag": "true"}, "delete-image-tag", id="delete-tag-on-deploy"),
        pytest.param({"mode": "delete", "max_previews": "3"}, "max-previews", id="limit-on-delete"),
    ],
)
def test_preview_inputs_are_checked_before_any_call(inputs: dict[str, str], bad: str) -> None:
    from acr_action.errors import InputError

    with pytest.raises(InputError) as caught:
        parse(**inputs)
    assert bad in {problem.input for problem in caught.value.problems}
    assert "ghs_x" not in caught.value.render()


def test_sweep_inputs_parse() -> None:
    inputs = parse(mode="sweep", github_token="ghs_x", max_age="1d12h", dry_run="true")
    assert inputs.mode == "sweep"
    assert inputs.preview.max_age == 129600
    assert inputs.preview.dry_run is True
    assert inputs.preview.sweep_concurrency == 8
    assert "ghs_x" not in repr(inputs)
