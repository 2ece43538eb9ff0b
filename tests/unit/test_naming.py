"""Derived names: valid for Azure and OCI, stable across runs, distinct where they must be."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from acr_action.github_context import GitHubContext
from acr_action.naming import (
    default_dns_label,
    default_group_name,
    default_image_name,
    default_tags,
    oci_labels,
    sanitize_group_name,
    sanitize_tag,
    short_hash,
)
from tests.unit.support import SHA

GROUP_NAME = re.compile(r"[a-z](?:-?[a-z0-9])*")
DNS_LABEL = re.compile(r"[a-z][a-z0-9-]{3,61}[a-z0-9]")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
OCI_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")

AWKWARD = [
    pytest.param("My-App", id="mixed-case"),
    pytest.param("my_app.v2", id="underscore-dot"),
    pytest.param("--app--", id="edge-hyphens"),
    pytest.param("123app", id="leading-digit"),
    pytest.param("...", id="only-dots"),
    pytest.param("", id="empty"),
    pytest.param("ünïcödé-名前", id="unicode"),
    pytest.param("a" * 200, id="very-long"),
    pytest.param("A_" * 40, id="long-with-separators"),
]


def ctx(**fields: object) -> GitHubContext:
    base: dict[str, object] = {
        "event_name": "push",
        "ref": "refs/heads/main",
        "ref_name": "main",
        "sha": SHA,
        "repository": "octo-org/my-app",
        "repository_owner": "octo-org",
    }
    base.update(fields)
    return GitHubContext(**base)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- group names


@pytest.mark.parametrize("text", AWKWARD)
def test_sanitize_group_name_is_always_valid(text: str) -> None:
    name = sanitize_group_name(text)
    assert GROUP_NAME.fullmatch(name)
    assert len(name) <= 63
    assert sanitize_group_name(text) == name, "deterministic"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("My-App", "my-app", id="lower-cased"),
        pytest.param("my_app.v2", "my-app-v2", id="separators-to-hyphen"),
        pytest.param("a--b", "a-b", id="single-hyphens"),
        pytest.param("123app", "app-123app", id="starts-with-letter"),
        pytest.param("", "app", id="empty-fallback"),
    ],
)
def test_sanitize_group_name_examples(text: str, expected: str) -> None:
    assert sanitize_group_name(text) == expected


def test_long_names_keep_a_stable_distinct_hash_suffix() -> None:
    first = sanitize_group_name("x" * 70 + "-one")
    second = sanitize_group_name("x" * 70 + "-two")
    assert len(first) == len(second) == 63
    assert first != second
    assert re.fullmatch(r"x+-[0-9a-f]{6}", first)


@pytest.mark.parametrize(
    ("repository", "pr_number", "expected"),
    [
        pytest.param("octo-org/My-App", None, "my-app", id="push"),
        pytest.param("octo-org/My-App", 42, "my-app-pr-42", id="pull-request"),
        pytest.param(
            "octo-org/web.site",
            7,
            "web-site-" + short_hash("octo-org/web.site") + "-pr-7",
            id="dotted-repo",
        ),
    ],
)
def test_default_group_name(repository: str, pr_number: int | None, expected: str) -> None:
    assert default_group_name(repository, pr_number) == expected


def test_long_repository_keeps_the_pr_suffix() -> None:
    name = default_group_name("octo-org/" + "very-long-repository-name-" * 4, 12345)
    assert len(name) <= 63
    assert name.endswith("-pr-12345")
    assert GROUP_NAME.fullmatch(name)


# --------------------------------------------------------------------------- DNS labels


@pytest.mark.parametrize("group", AWKWARD)
def test_default_dns_label_is_always_valid(group: str) -> None:
    label = default_dns_label(group, "octo-org/my-app")
    assert DNS_LABEL.fullmatch(label), label


def test_dns_label_is_stable_and_depends_on_repository_name_and_salt() -> None:
    label = default_dns_label("my-app", "octo-org/my-app")
    assert label == default_dns_label("my-app", "octo-org/my-app")
    assert re.fullmatch(r"my-app-[0-9a-f]{8}", label)
    assert label != default_dns_label("my-app", "other-org/my-app")
    assert label != default_dns_label("my-app-pr-1", "octo-org/my-app")
    salted = default_dns_label("my-app", "octo-org/my-app", salt="s3cret")
    assert salted != label
    assert "s3cret" not in salted


def test_dns_label_ignores_repository_case() -> None:
    # GitHub repository names are case-insensitive; a rename of case must not move the URL.
    assert default_dns_label("app", "Octo/App") == default_dns_label("app", "octo/app")


# --------------------------------------------------------------------------- image names and tags


@pytest.mark.parametrize(
    ("repository", "expected"),
    [
        pytest.param("octo-org/My-App", "my-app", id="lower-cased"),
        pytest.param("octo-org/.github", "github", id="leading-dot"),
        pytest.param("octo-org/a..b", "a-b", id="double-dot"),
        pytest.param("octo-org/a___b", "a-b", id="triple-underscore"),
        pytest.param("octo-org/a__b", "a__b", id="double-underscore-kept"),
        pytest.param("octo-org/name_", "name", id="trailing-underscore"),
        pytest.param("octo-org/___", "app", id="nothing-left"),
    ],
)
def test_default_image_name(repository: str, expected: str) -> None:
    name = default_image_name(repository)
    assert name == expected
    assert OCI_COMPONENT.fullmatch(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("main", "main", id="plain"),
        pytest.param("feature/Login", "feature-Login", id="slash"),
        pytest.param("v1.2.3", "v1.2.3", id="semver"),
        pytest.param(".hidden", "hidden", id="leading-dot"),
        pytest.param("-x", "x", id="leading-hyphen"),
        pytest.param("ü", "", id="nothing-left"),
    ],
)
def test_sanitize_tag(text: str, expected: str) -> None:
    assert sanitize_tag(text) == expected


def test_sanitize_tag_shortens_long_names() -> None:
    tag = sanitize_tag("release/" + "x" * 200)
    assert len(tag) == 128
    assert TAG.fullmatch(tag)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        pytest.param(ctx(), ("sha-0123456", "main"), id="push-to-main"),
        pytest.param(
            ctx(ref="refs/heads/feature/Login", ref_name="feature/Login"),
            ("sha-0123456", "feature-Login"),
            id="push-to-feature-branch",
        ),
        pytest.param(
            ctx(ref="refs/tags/v1.2.3", ref_name="v1.2.3"), ("sha-0123456", "v1.2.3"), id="tag-push"
        ),
        pytest.param(
            ctx(event_name="pull_request", ref="refs/pull/42/merge", pr_number=42),
            ("sha-0123456", "pr-42"),
            id="pull-request",
        ),
        pytest.param(
            ctx(
                event_name="pull_request",
                ref="refs/pull/9/merge",
                pr_number=9,
                pr_head_repo_fork=True,
            ),
            ("sha-0123456", "pr-9"),
            id="pull-request-from-fork",
        ),
        pytest.param(
            ctx(
                event_name="pull_request",
                ref="refs/pull/42/merge",
                pr_number=42,
                pr_head_sha="FEDCBA9876543210fedcba9876543210fedcba98",
            ),
            ("sha-fedcba9", "pr-42"),
            id="pull-request-tags-its-head-commit-not-the-merge-commit",
        ),
        pytest.param(ctx(event_name="workflow_dispatch"), ("sha-0123456",), id="manual-run"),
        pytest.param(ctx(sha=""), ("main",), id="no-sha"),
        pytest.param(GitHubContext(), (), id="outside-actions"),
    ],
)
def test_default_tags(context: GitHubContext, expected: tuple[str, ...]) -> None:
    tags = default_tags(context)
    assert tags == expected
    assert all(TAG.fullmatch(tag) for tag in tags)


# --------------------------------------------------------------------------- OCI labels


def test_oci_labels() -> None:
    created = datetime(2024, 5, 1, 12, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert oci_labels(ctx(server_url="https://github.example.com/"), created) == {
        "org.opencontainers.image.source": "https://github.example.com/octo-org/my-app",
        "org.opencontainers.image.revision": SHA,
        "org.opencontainers.image.created": "2024-05-01T10:30:05Z",
    }


def test_oci_labels_of_a_pull_request_keep_the_merge_commit_that_was_built() -> None:
    context = ctx(event_name="pull_request", pr_number=42, pr_head_sha="f" * 40)
    labels = oci_labels(context, datetime(2024, 1, 2, tzinfo=UTC))
    assert labels["org.opencontainers.image.revision"] == SHA


def test_oci_labels_naive_time_is_utc_and_missing_context_is_left_out() -> None:
    labels = oci_labels(GitHubContext(), datetime(2024, 1, 2, 3, 4, 5))
    assert labels == {"org.opencontainers.image.created": "2024-01-02T03:04:05Z"}
