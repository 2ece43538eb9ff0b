"""Expiry and cost of previews against the local Azure: ARM's tag limit, max-idle.

Preview groups that only need to exist are placed with `aci.add_group`, which never runs a
container.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from acr_action.preview import TAG_CREATED, TAG_DEPLOYED, TAG_PR, TAG_REPOSITORY, stamp
from localazure.server import Emulator
from tests.harness.workflow import REGISTRY, RESOURCE_GROUP, Event

from .steps import Run

pytestmark = pytest.mark.docker

REPO = "octo-org/iris-api"


def group(azure: Emulator, name: str) -> object | None:
    with azure.state.lock:
        return next((g for g in azure.state.container_groups.values() if g.name == name), None)


def tags_of(azure: Emulator, name: str) -> dict[str, str]:
    found = group(azure, name)
    assert found is not None, f"no group {name}"
    return dict(found.spec.get("tags") or {})  # type: ignore[attr-defined]


@pytest.fixture
def placed(azure: Emulator) -> Iterator[Callable[..., str]]:
    """Place never-provisioned groups; whatever is left is removed afterwards."""
    names: list[str] = []

    def place(name: str, tags: dict[str, str]) -> str:
        azure.services["aci"].add_group(RESOURCE_GROUP, name, tags=tags)
        names.append(name)
        return name

    yield place
    with azure.state.lock:
        for key in [k for k, g in azure.state.container_groups.items() if g.name in names]:
            del azure.state.container_groups[key]


def test_the_tag_limit_counts_the_tags_kept_from_the_existing_group(
    azure: Emulator, run_action: Callable[..., Run], placed, hello_app
) -> None:
    name = placed("tagged-app", {f"policy-{i}": "kept" for i in range(45)})
    puts = azure.count("PUT", f"/containerGroups/{name}")

    run = run_action(
        inputs={
            "name": name,
            "resource-tags": "team=web\ncost-center=1234",
        },
        workspace=hello_app,
    )

    assert run.exit_code == 1, run.stdout
    assert "2 from `resource-tags`" in run.stdout
    assert "45 kept from the existing group" in run.stdout
    assert "of the action's own (`acr-action.*`)" in run.stdout
    assert azure.count("PUT", f"/containerGroups/{name}") == puts  # refused before the PUT


def preview_tags(pr: int, *, created_days: float, deployed_days: float) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    return {
        TAG_REPOSITORY: REPO,
        TAG_PR: str(pr),
        TAG_CREATED: stamp(now - dt.timedelta(days=created_days)),
        TAG_DEPLOYED: stamp(now - dt.timedelta(days=deployed_days)),
    }


def test_max_idle_sweeps_from_the_last_deploy_not_the_creation(
    azure: Emulator, run_action: Callable[..., Run], placed
) -> None:
    busy = placed("idle-pr-301", preview_tags(301, created_days=30, deployed_days=0.1))
    idle = placed("idle-pr-302", preview_tags(302, created_days=3, deployed_days=3))

    run = run_action(event=Event(name="schedule"), inputs={"mode": "sweep", "max-idle": "2d"})

    assert run.exit_code == 0, run.stdout
    assert group(azure, busy) is not None  # 30 days old, but deployed two hours ago
    assert group(azure, idle) is None
    assert "idle longer than max-idle 2d (last deploy 3d ago)" in run.summary
    assert "deployed within max-idle 2d" in run.summary


def test_a_push_moves_the_deployed_tag_and_an_unchanged_rerun_does_not(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    name = "iris-api-pr-303"
    cleanup_groups.append(name)
    built = run_action(inputs={"mode": "build", "tags": "idle-303"}, workspace=hello_app)
    assert built.exit_code == 0, built.stdout
    image = {"image": f"{azure.login_server(REGISTRY)}/iris-api:idle-303", "build-args": ""}
    event = Event(name="pull_request", pr_number=303, sha="a" * 40)
    first = run_action(event=event, inputs=image)
    assert first.exit_code == 0, first.stdout
    deployed = tags_of(azure, name)[TAG_DEPLOYED]
    time.sleep(1.1)  # the tag is to the second

    rerun = run_action(event=event, inputs=image, env_overrides={"GITHUB_RUN_ID": "5151"})
    assert rerun.exit_code == 0, rerun.stdout
    assert "plan: noop" in rerun.stdout
    assert tags_of(azure, name)[TAG_DEPLOYED] == deployed  # writing nothing, it moved nothing

    pushed = run_action(
        event=Event(name="pull_request", pr_number=303, sha="b" * 40, action="synchronize"),
        inputs=image,
    )
    assert pushed.exit_code == 0, pushed.stdout
    moved = tags_of(azure, name)
    assert moved[TAG_DEPLOYED] > deployed
    assert moved[TAG_CREATED] <= deployed  # max-age still counts from the creation


def previews_of_repo(azure: Emulator) -> list[str]:
    with azure.state.lock:
        return sorted(
            g.name
            for g in azure.state.container_groups.values()
            if (g.spec.get("tags") or {}).get(TAG_REPOSITORY) == REPO
            and TAG_PR in (g.spec.get("tags") or {})
        )


def test_several_runs_at_once_never_exceed_max_previews(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    numbers = [311, 312, 313, 314]
    cleanup_groups.extend(f"iris-api-pr-{n}" for n in numbers)
    built = run_action(inputs={"mode": "build", "tags": "race-311"}, workspace=hello_app)
    assert built.exit_code == 0, built.stdout
    image = {
        "image": f"{azure.login_server(REGISTRY)}/iris-api:race-311",
        "build-args": "",
        "max-previews": "2",
    }
    assert previews_of_repo(azure) == []
    start = threading.Barrier(len(numbers))
    runs: dict[int, Run] = {}
    errors: list[BaseException] = []
    peak = [0]
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            peak[0] = max(peak[0], len(previews_of_repo(azure)))
            time.sleep(0.05)

    def one(number: int) -> None:
        try:
            start.wait()
            event = Event(name="pull_request", pr_number=number)
            runs[number] = run_action(event=event, inputs=image)
        except BaseException as exc:  # an assertion in the fixture's leak detector
            errors.append(exc)

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=one, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    watching.set()
    watcher.join()

    assert not errors, errors
    left = previews_of_repo(azure)
    assert len(left) <= 2, left
    succeeded = sorted(f"iris-api-pr-{n}" for n, run in runs.items() if run.exit_code == 0)
    assert succeeded == left  # every run that succeeded has its preview; no other remains
    failed = [run for run in runs.values() if run.exit_code != 0]
    for run in failed:
        assert "Preview limit reached" in run.stdout, run.stdout[-3000:]
    # Without the recount all four runs count room (none existed yet) and all four stay
    # (checked by taking `on_created` out: 4 groups left). The peak only shows the racers'
    # groups are visible for the moment between their PUT and their recount.
    assert peak[0] <= len(numbers)


def test_idle_action_stop_stops_an_idle_preview_and_a_push_starts_it(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    from localazure.github import Comment

    name = "iris-api-pr-321"
    cleanup_groups.append(name)
    github = azure.services["github"]
    token = "ghs_expiryStopTokenForTheEmulator01"
    github.add_token(token, REPO)
    github.add_pull(REPO, 321)
    built = run_action(inputs={"mode": "build", "tags": "stop-321"}, workspace=hello_app)
    assert built.exit_code == 0, built.stdout
    inputs = {
        "image": f"{azure.login_server(REGISTRY)}/iris-api:stop-321",
        "build-args": "",
        "comment-on-pr": "true",
        "github-token": token,
    }
    first = run_action(event=Event(name="pull_request", pr_number=321, sha="a" * 40), inputs=inputs)
    assert first.exit_code == 0, first.stdout
    with azure.state.lock:  # its last deploy was three days ago
        found = group(azure, name)
        found.spec["tags"][TAG_DEPLOYED] = stamp(  # type: ignore[attr-defined]
            dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        )
    sweep = {"mode": "sweep", "max-idle": "2d", "idle-action": "stop", "github-token": token}
    sweep["comment-on-pr"] = "true"

    swept = run_action(event=Event(name="schedule"), inputs=sweep)

    assert swept.exit_code == 0, swept.stdout
    view = azure.services["aci"]._view(group(azure, name))  # still there, only stopped
    assert group(azure, name).stopped  # type: ignore[attr-defined]
    assert view["properties"]["provisioningState"] == "Succeeded"
    assert "| stopped | idle longer than max-idle 2d" in swept.summary
    comments: list[Comment] = [c for c in github.comments(REPO, 321) if name in c.body]
    assert "stopped" in comments[0].body
    assert "no longer billed" in comments[0].body
    states = [d.statuses[-1].state for d in github.deployments.of(REPO, "pr-321")]
    assert states
    assert set(states) == {"inactive"}

    again = run_action(event=Event(name="schedule"), inputs=sweep)
    assert again.exit_code == 0, again.stdout
    assert "already stopped" in again.summary

    pushed = run_action(
        event=Event(name="pull_request", pr_number=321, sha="b" * 40, action="synchronize"),
        inputs=inputs,
    )

    assert pushed.exit_code == 0, pushed.stdout
    assert pushed.outputs["state"] == "Running"
    assert not group(azure, name).stopped  # type: ignore[attr-defined]
    assert "stopped" not in next(c for c in github.comments(REPO, 321) if name in c.body).body
