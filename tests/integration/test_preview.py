"""Pull-request previews end to end: tags, the sticky comment, delete, sweep, forks, limits, races.

The GitHub side is the emulator's REST subset (`localazure/github.py`); preview groups that
only need to exist (for sweep and limits) are placed with `aci.add_group`, which never runs a
container.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator

import pytest

from acr_action.preview import (
    TAG_CREATED,
    TAG_HEAD_SHA,
    TAG_PR,
    TAG_REPOSITORY,
    TAG_RUN,
    marker,
    stamp,
)
from localazure.github import Comment
from localazure.server import Emulator
from tests.harness.workflow import REGISTRY, RESOURCE_GROUP, Event

from .steps import Run

pytestmark = pytest.mark.docker

REPO = "octo-org/iris-api"
TOKEN = "ghs_previewTokenForTheEmulator0001"


def comment_inputs(**extra: str) -> dict[str, str]:
    return {"comment-on-pr": "true", "github-token": TOKEN, **extra}


def group(azure: Emulator, name: str) -> object | None:
    with azure.state.lock:
        return next((g for g in azure.state.container_groups.values() if g.name == name), None)


def tags_of(azure: Emulator, name: str) -> dict[str, str]:
    found = group(azure, name)
    assert found is not None, f"no group {name}"
    return dict(found.spec.get("tags") or {})  # type: ignore[attr-defined]


def our_comments(azure: Emulator, number: int, name: str) -> list[Comment]:
    return [c for c in azure.services["github"].comments(REPO, number) if marker(name) in c.body]


def assert_token_hidden(run: Run) -> None:
    assert TOKEN not in run.shown
    assert f"::add-mask::{TOKEN}" in run.stdout


@pytest.fixture
def github(azure: Emulator) -> object:
    service = azure.services["github"]
    service.add_token(TOKEN, REPO)
    return service


@pytest.fixture
def placed(azure: Emulator) -> Iterator[Callable[..., str]]:
    """Place never-provisioned preview groups; whatever is left is removed afterwards."""
    names: list[str] = []

    def place(name: str, pr: int, *, age_days: float = 0, repository: str = REPO) -> str:
        created = dt.datetime.now(dt.UTC) - dt.timedelta(days=age_days, minutes=30)
        tags = {TAG_REPOSITORY: repository, TAG_PR: str(pr), TAG_CREATED: stamp(created)}
        azure.services["aci"].add_group(RESOURCE_GROUP, name, tags=tags)
        names.append(name)
        return name

    yield place
    with azure.state.lock:
        for key in [k for k, g in azure.state.container_groups.items() if g.name in names]:
            del azure.state.container_groups[key]


# --------------------------------------------------------------------------- comment and delete


def test_comment_is_created_updated_and_marked_removed_once(
    azure: Emulator, github, run_action: Callable[..., Run], hello_app
) -> None:
    name = "iris-api-pr-41"
    github.add_pull(REPO, 41)
    # More than one page of other comments: the marker must be found on page 2.
    for index in range(105):
        comment = Comment(next(github._ids), REPO, 41, f"looks good {index}", "octocat", 583231)
        github.issue_comments[comment.id] = comment
    first_event = Event(name="pull_request", pr_number=41, sha="a" * 40)

    first = run_action(event=first_event, inputs=comment_inputs(), workspace=hello_app)

    assert first.exit_code == 0, first.stdout
    assert first.outputs["name"] == name
    (comment,) = our_comments(azure, 41, name)
    assert comment.body.startswith(marker(name))
    assert first.outputs["url"] in comment.body
    assert first.outputs["digest"] in comment.body
    assert "`aaaaaaa`" in comment.body
    tags = tags_of(azure, name)
    assert tags[TAG_REPOSITORY] == REPO
    assert tags[TAG_PR] == "41"
    assert tags[TAG_HEAD_SHA] == "a" * 40
    assert tags[TAG_RUN] == "4242/1"
    created = tags[TAG_CREATED]
    assert_token_hidden(first)

    second_event = Event(name="pull_request", pr_number=41, sha="b" * 40, action="synchronize")
    second = run_action(event=second_event, inputs=comment_inputs(), workspace=hello_app)

    assert second.exit_code == 0, second.stdout
    (updated,) = our_comments(azure, 41, name)
    assert updated.id == comment.id
    assert "`bbbbbbb`" in updated.body
    assert tags_of(azure, name)[TAG_CREATED] == created  # kept across updates
    assert "preview comment updated" in second.stdout

    closed = Event(name="pull_request", pr_number=41, sha="b" * 40, action="closed")
    delete_inputs = comment_inputs(mode="delete", **{"delete-image-tag": "true"})
    deleted = run_action(event=closed, inputs=delete_inputs)
    again = run_action(event=closed, inputs=delete_inputs)

    assert deleted.exit_code == 0, deleted.stdout
    assert deleted.outputs["state"] == "Deleted"
    assert "/iris-api:pr-41 (sha256:" in deleted.stdout  # the PR's image tag is gone
    assert again.exit_code == 0, again.stdout
    assert again.outputs["state"] == "NotFound"
    assert "iris-api:pr-41 was already gone" in again.stdout
    (removed,) = our_comments(azure, 41, name)
    assert removed.id == comment.id
    assert "removed" in removed.body
    assert len(azure.services["github"].comments(REPO, 41)) == 105 + 1
    assert_token_hidden(deleted)


def test_an_unchanged_rerun_stays_a_noop_despite_run_tags(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app,
    cleanup_groups: list[str],
) -> None:
    cleanup_groups.append("iris-api-pr-44")
    built = run_action(inputs={"mode": "build", "tags": "noop-44"}, workspace=hello_app)
    assert built.exit_code == 0, built.stdout
    image = {"image": f"{azure.login_server(REGISTRY)}/iris-api:noop-44", "build-args": ""}
    event = Event(name="pull_request", pr_number=44)
    assert run_action(event=event, inputs=image).exit_code == 0
    created = tags_of(azure, "iris-api-pr-44")[TAG_CREATED]
    puts = azure.count("PUT", "/containerGroups/iris-api-pr-44")

    # Another workflow run (new run id and URL), same image and settings: nothing to update.
    rerun = run_action(event=event, inputs=image, env_overrides={"GITHUB_RUN_ID": "4343"})

    assert rerun.exit_code == 0, rerun.stdout
    assert "plan: noop" in rerun.stdout
    assert azure.count("PUT", "/containerGroups/iris-api-pr-44") == puts
    assert tags_of(azure, "iris-api-pr-44")[TAG_CREATED] == created
    assert tags_of(azure, "iris-api-pr-44")[TAG_RUN] == "4242/1"  # the run that last changed it


def test_two_runs_at_once_on_one_pull_request_leave_one_comment(
    azure: Emulator, github, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    name = "iris-api-pr-43"
    cleanup_groups.append(name)
    github.add_pull(REPO, 43)
    event = Event(name="pull_request", pr_number=43)
    runs: list[Run] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            runs.append(run_action(event=event, inputs=comment_inputs(), workspace=hello_app))
        except BaseException as exc:  # an assertion in the fixture's leak detector
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert not errors, errors
    assert len(runs) == 2
    assert any(run.exit_code == 0 for run in runs), [run.stdout[-2000:] for run in runs]
    assert len(our_comments(azure, 43, name)) == 1
    # The group ends up deployed and running the pushed image.
    settle = run_action(event=event, inputs=comment_inputs(), workspace=hello_app)
    assert settle.exit_code == 0, settle.stdout
    assert settle.outputs["state"] == "Running"
    assert len(our_comments(azure, 43, name)) == 1


# --------------------------------------------------------------------------- forks


@pytest.mark.parametrize(
    ("on_fork", "exit_code", "text"),
    [
        pytest.param("notice", 0, "::notice", id="fork-notice-skips"),
        pytest.param("fail", 1, "pull requests from forks do not get one", id="fork-fails"),
    ],
)
def test_fork_pull_request_follows_on_fork(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app,
    on_fork: str,
    exit_code: int,
    text: str,
) -> None:
    before = len(azure.requests)
    event = Event(name="pull_request", pr_number=45, fork=True)

    run = run_action(event=event, inputs={"on-fork": on_fork}, workspace=hello_app, oidc=False)

    assert run.exit_code == exit_code, run.stdout
    assert text in run.stdout
    assert "pull_request_target" in run.stdout  # the warning never to use it with the fork's code
    assert len(azure.requests) == before  # decided before any network call
    if exit_code == 0:
        assert run.outputs["state"] == "Skipped"


def test_same_repository_pull_request_is_not_treated_as_a_fork(
    run_action: Callable[..., Run], hello_app
) -> None:
    event = Event(name="pull_request", pr_number=46)

    run = run_action(event=event, inputs={"on-fork": "fail", "mode": "delete"})

    assert run.exit_code == 0, run.stdout
    assert run.outputs["state"] == "NotFound"


# --------------------------------------------------------------------------- names and limits


def test_preview_group_of_another_repository_is_left_alone(
    azure: Emulator, run_action: Callable[..., Run], hello_app, placed
) -> None:
    name = placed("iris-api-pr-50", 50, repository="someone-else/iris-api")
    event = Event(name="pull_request", pr_number=50)

    run = run_action(event=event, workspace=hello_app)

    assert run.exit_code == 1
    assert "belongs to someone-else/iris-api" in run.stdout
    assert azure.count("PUT", f"/containerGroups/{name}") == 0


def test_max_previews_fails_or_evicts_the_oldest(
    azure: Emulator, run_action: Callable[..., Run], hello_app, placed, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("iris-api-pr-61")
    placed("limit-old-pr-58", 58, age_days=3)
    placed("limit-new-pr-59", 59, age_days=1)
    placed("limit-other-pr-1", 1, age_days=9, repository="octo-org/other")
    event = Event(name="pull_request", pr_number=61)

    refused = run_action(event=event, inputs={"max-previews": "3"}, workspace=hello_app)
    evicted = run_action(
        event=event,
        inputs={"max-previews": "3", "on-max-previews": "evict-oldest"},
        workspace=hello_app,
    )

    assert refused.exit_code == 1
    assert "Preview limit reached" in refused.stdout
    assert azure.count("PUT", "/containerGroups/iris-api-pr-61") == 1  # only the second run
    assert evicted.exit_code == 0, evicted.stdout
    assert group(azure, "limit-old-pr-58") is None  # this repository's oldest went
    assert group(azure, "limit-new-pr-59") is not None
    assert group(azure, "limit-other-pr-1") is not None  # never another repository's


# --------------------------------------------------------------------------- sweep


def test_sweep_deletes_closed_and_stale_previews_and_reports_the_failure(
    azure: Emulator, github, run_action: Callable[..., Run], placed
) -> None:
    for number in (71, 72, 73, 77):
        github.add_pull(REPO, number, state="closed", merged=number == 72)
    for number in (74, 75, 76):
        github.add_pull(REPO, number)
    closed = [placed(f"sweep-pr-{n}", n, age_days=1) for n in (71, 72, 73)]
    kept = [placed(f"sweep-pr-{n}", n, age_days=1) for n in (74, 75)]
    stale = placed("sweep-pr-76", 76, age_days=30)
    failing = placed("sweep-pr-77", 77, age_days=2)
    foreign = placed("sweep-other-pr-71", 71, age_days=40, repository="octo-org/other")
    azure.faults.add(method="DELETE", path=rf".*/containerGroups/{failing}", status=500, times=None)
    aci = azure.services["aci"]
    page_size, aci.page_size = aci.page_size, 3  # the list spans several pages
    try:
        run = run_action(
            event=Event(name="schedule"),
            inputs=comment_inputs(mode="sweep", **{"max-age": "7d", "sweep-concurrency": "4"}),
        )
    finally:
        aci.page_size = page_size

    assert run.exit_code == 1, run.stdout
    for name in [*closed, stale]:
        assert group(azure, name) is None, name
    for name in [*kept, failing, foreign]:
        assert group(azure, name) is not None, name
    assert "| group | PR | age | decision | reason |" in run.summary
    assert "| sweep-pr-72 | #72 |" in run.summary
    assert "PR #72 is closed or merged" in run.summary
    assert "older than max-age 7d" in run.summary
    assert "PR #74 is open" in run.summary
    assert "belongs to octo-org/other" in run.summary
    assert "could not be deleted" in run.stdout
    assert failing in run.stdout.split("::error", 1)[1]
    assert "removed" in our_comments(azure, 71, "sweep-pr-71")[0].body
    assert_token_hidden(run)


def test_sweep_dry_run_deletes_nothing(
    azure: Emulator, github, run_action: Callable[..., Run], placed
) -> None:
    github.add_pull(REPO, 81, state="closed")
    name = placed("dry-pr-81", 81, age_days=1)
    deletes = azure.count("DELETE", "/containerGroups/")

    run = run_action(
        event=Event(name="schedule"),
        inputs={"mode": "sweep", "github-token": TOKEN, "dry-run": "true"},
    )

    assert run.exit_code == 0, run.stdout
    assert group(azure, name) is not None
    assert azure.count("DELETE", "/containerGroups/") == deletes
    assert "| dry-pr-81 | #81 |" in run.summary
    assert "would delete" in run.summary


# --------------------------------------------------------------------------- GitHub deployments


def deployments_of(azure: Emulator, environment: str) -> list[list[str]]:
    """The states of each deployment to `environment`, oldest deployment and status first."""
    found = azure.services["github"].deployments.of(REPO, environment)
    return [[status.state for status in deployment.statuses] for deployment in found]


def test_a_preview_is_a_github_deployment_from_in_progress_to_inactive(
    azure: Emulator, github, run_action: Callable[..., Run], hello_app
) -> None:
    github.add_pull(REPO, 243, head_sha="c" * 40)
    pushed = Event(name="pull_request", pr_number=243, sha="d" * 40, head_sha="c" * 40)
    inputs = {"github-token": TOKEN}

    first = run_action(event=pushed, inputs=inputs, workspace=hello_app)
    second = run_action(event=pushed, inputs=inputs, workspace=hello_app)

    assert first.exit_code == 0, first.stdout
    assert second.exit_code == 0, second.stdout
    # The second deploy's success retires the first (GitHub's auto_inactive spares transient
    # environments, so the action does it).
    assert deployments_of(azure, "pr-243") == [
        ["in_progress", "success", "inactive"],
        ["in_progress", "success"],
    ]
    (_older, newer) = azure.services["github"].deployments.of(REPO, "pr-243")
    assert newer.sha == "c" * 40  # the pull request's head commit, not the merge commit
    assert newer.transient
    assert not newer.production
    assert newer.request["auto_merge"] is False
    assert newer.request["required_contexts"] == []
    assert newer.statuses[-1].environment_url == second.outputs["url"]
    assert newer.statuses[-1].log_url.endswith("/octo-org/iris-api/actions/runs/4242")
    assert_token_hidden(second)

    closed = Event(name="pull_request", pr_number=243, sha="d" * 40, action="closed")
    deleted = run_action(event=closed, inputs={"mode": "delete", **inputs})

    assert deleted.exit_code == 0, deleted.stdout
    assert [states[-1] for states in deployments_of(azure, "pr-243")] == ["inactive", "inactive"]
    assert "GitHub deployments of pr-243: 1 marked inactive" in deleted.stdout


def test_a_failed_deploy_shows_as_failed_in_the_deployment_and_the_comment(
    azure: Emulator, github, run_action: Callable[..., Run], hello_app
) -> None:
    github.add_pull(REPO, 244)
    event = Event(name="pull_request", pr_number=244, sha="e" * 40)
    refusal = {"error": {"code": "InvalidRequestContent", "message": "The request is invalid."}}
    azure.faults.add(
        method="PUT", path=r".*/containerGroups/.*", status=400, body=refusal, times=None
    )
    try:
        run = run_action(event=event, inputs=comment_inputs(), workspace=hello_app)
    finally:
        azure.faults.clear()

    assert run.exit_code != 0, run.stdout
    assert deployments_of(azure, "pr-244") == [["in_progress", "failure"]]
    (failure,) = [
        s
        for s in azure.services["github"].deployments.of(REPO, "pr-244")[0].statuses
        if s.state == "failure"
    ]
    assert failure.log_url.endswith("/actions/runs/4242")
    (comment,) = our_comments(azure, 244, "iris-api-pr-244")
    assert "deploy failed" in comment.body
    assert "/actions/runs/4242" in comment.body


def test_a_token_without_deployments_permission_only_warns(
    azure: Emulator, github, run_action: Callable[..., Run], hello_app
) -> None:
    token = "ghs_noDeploymentsPermission000001"
    github.add_token(token, REPO, without=("deployments",))
    github.add_pull(REPO, 245)
    event = Event(name="pull_request", pr_number=245, sha="f" * 40)

    run = run_action(event=event, inputs={"github-token": token}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout
    assert deployments_of(azure, "pr-245") == []
    (warning,) = [
        a for a in run.seen.annotations if a.kind == "warning" and "deployment" in a.message
    ]
    assert "deployments: write" in warning.message


# --------------------------------------------------------------------------- require-label


def test_require_label_deploys_labelled_pull_requests_and_sweeps_those_that_lost_it(
    azure: Emulator, github, run_action: Callable[..., Run], hello_app, placed
) -> None:
    without = Event(name="pull_request", pr_number=251, labels=("bug",))
    before = len(azure.requests)
    skipped = run_action(event=without, inputs={"require-label": "preview"}, workspace=hello_app)

    assert skipped.exit_code == 0, skipped.stdout
    assert skipped.outputs["state"] == "Skipped"
    assert group(azure, "iris-api-pr-251") is None
    (notice,) = [a for a in skipped.seen.annotations if a.kind == "notice"]
    assert "no label `preview`" in notice.message
    assert azure.requests[before:] == []  # skipped before signing in: nothing asked of Azure

    github.add_pull(REPO, 252, labels=["Preview"])  # labels match without regard to case
    github.add_pull(REPO, 253, labels=["bug"])  # the label was removed after its deploy
    kept, lost = placed("label-pr-252", 252, age_days=1), placed("label-pr-253", 253, age_days=1)
    swept = run_action(
        event=Event(name="schedule"),
        inputs={"mode": "sweep", "github-token": TOKEN, "require-label": "preview"},
    )

    assert swept.exit_code == 0, swept.stdout
    assert group(azure, kept) is not None
    assert group(azure, lost) is None
    assert "PR #253 lacks the label preview" in swept.summary
