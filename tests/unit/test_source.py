"""The image's `created` time is the checked-out commit's, read without the git binary.

The repositories are made with git (as actions/checkout makes them); the action then runs with
a PATH that has no git, as in its image.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from acr_action.github_context import github_context
from acr_action.orchestrate import source_date
from acr_action.source import commit_time
from tests.harness.checkout import check_out, git, origin_repository

COMMITTED = "2026-11-20T08:15:00+00:00"
COMMIT_TIME = dt.datetime(2026, 11, 20, 8, 15, tzinfo=dt.UTC)
PUSHED = "2026-11-27T09:30:00Z"  # a head_commit timestamp that is not the checkout's


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, str]:
    files = tmp_path / "files"
    (files / "app").mkdir(parents=True)
    (files / "Dockerfile").write_text("FROM busybox\n", encoding="utf-8")
    (files / "app" / "index.html").write_text("hello\n", encoding="utf-8")
    origin = tmp_path / "origin"
    return origin, origin_repository(files, origin, committed=COMMITTED, commits=3)


@pytest.fixture
def no_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The action image's PATH has no git."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.mark.parametrize(
    ("pull_request", "packed"),
    [
        pytest.param(None, False, id="push-depth-1-loose-objects"),
        pytest.param(None, True, id="push-depth-1-pack"),
        pytest.param(7, False, id="pull-request-merge-ref-detached"),
        pytest.param(7, True, id="pull-request-merge-ref-pack"),
    ],
)
def test_commit_time_of_an_actions_checkout(
    tmp_path: Path, origin: tuple[Path, str], pull_request: int | None, packed: bool
) -> None:
    workspace = tmp_path / "workspace"
    check_out(origin[0], workspace, origin[1], pull_request=pull_request, packed=packed)
    assert (workspace / ".git" / "shallow").is_file()

    assert commit_time(workspace) == COMMIT_TIME
    assert commit_time(workspace / "app") == COMMIT_TIME  # a context below the root


def test_commit_time_of_a_full_gc_packed_history(origin: tuple[Path, str]) -> None:
    git(origin[0], "gc", "--quiet", "--aggressive")
    assert not list((origin[0] / ".git" / "objects").glob("??/*"))  # all packed

    assert commit_time(origin[0]) == COMMIT_TIME


def test_commit_time_through_a_dot_git_file(tmp_path: Path, origin: tuple[Path, str]) -> None:
    linked = tmp_path / "linked"
    git(origin[0], "worktree", "add", "--quiet", "--detach", str(linked), origin[1])
    assert (linked / ".git").is_file()

    assert commit_time(linked) == COMMIT_TIME


def test_no_commit_time_without_a_repository_or_a_commit(tmp_path: Path) -> None:
    plain = tmp_path / "download"  # actions/checkout's REST API download has no .git
    plain.mkdir()
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "--quiet")

    assert commit_time(plain) is None
    assert commit_time(empty) is None


def event_file(tmp_path: Path, payload: dict[str, object]) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return str(path)


@pytest.mark.usefixtures("no_git")
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"pull_request": {"number": 7}}, id="pull_request"),
        pytest.param({"inputs": {}, "ref": "refs/heads/main"}, id="workflow_dispatch"),
        pytest.param({"schedule": "30 5 * * 1"}, id="schedule"),
        pytest.param({"head_commit": {"timestamp": PUSHED}}, id="push"),
    ],
)
def test_created_is_the_checked_out_commit_time_without_git(
    tmp_path: Path, origin: tuple[Path, str], payload: dict[str, object]
) -> None:
    workspace = tmp_path / "workspace"
    check_out(origin[0], workspace, origin[1])
    env = {"GITHUB_EVENT_PATH": event_file(tmp_path, payload)}
    pushed = github_context(env).head_commit_time

    assert source_date(env, ".", cwd=str(workspace), pushed=pushed) == COMMIT_TIME
    assert source_date(env, "app", cwd=str(workspace), pushed=pushed) == COMMIT_TIME


@pytest.mark.usefixtures("no_git")
def test_created_falls_back_to_the_pushed_commit_then_now(tmp_path: Path) -> None:
    workspace = tmp_path / "download"
    workspace.mkdir()
    pushed = {"GITHUB_EVENT_PATH": event_file(tmp_path, {"head_commit": {"timestamp": PUSHED}})}
    before = dt.datetime.now(dt.UTC)

    pushed_at = github_context(pushed).head_commit_time
    assert pushed_at == dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
    assert source_date(pushed, ".", cwd=str(workspace), pushed=pushed_at) == dt.datetime(
        2026, 11, 27, 9, 30, tzinfo=dt.UTC
    )
    assert source_date({}, ".", cwd=str(workspace)) >= before


def test_source_date_epoch_wins(tmp_path: Path, origin: tuple[Path, str]) -> None:
    workspace = tmp_path / "workspace"
    check_out(origin[0], workspace, origin[1])

    assert source_date({"SOURCE_DATE_EPOCH": "1700000000"}, ".", cwd=str(workspace)) == (
        dt.datetime.fromtimestamp(1700000000, dt.UTC)
    )
