"""Pull-request previews: provenance tags, the sticky comment, forks, limits, cleanup and sweep.

A preview is a container group the action deployed for a pull request. It carries tags under the
`acr-action.` prefix (repository, pull request, commits, ref, run, created time), which is how
`mode: sweep` finds the previews of its repository and decides which to delete, and how a deploy
refuses a group another repository made. Every ACI write goes through `deploy` (`deploy.delete`,
`deploy.apply`, handed in by the orchestrator), so their retries (ARM 409 "another operation is
in progress", throttling) apply to previews, evictions and sweeps as well.

The comment is found by a hidden first line `<!-- acr-action:preview:<group> -->`: one comment per
preview, created on the first deploy and edited afterwards. Two runs at once can both find no
comment and both create one; each run lists again after creating and keeps only the oldest, so
they converge on one comment.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from . import deploy, expiry
from .errors import (
    ActionError,
    ForkPullRequest,
    PreviewLimitReached,
    PreviewNameTaken,
    SweepFailed,
)
from .github_api import GitHub
from .github_deployment import client, retire
from .retry import Pacer
from .spec import OWN_TAG_PREFIX, RUN_TAGS

if TYPE_CHECKING:
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient
    from azure.mgmt.containerinstance.models import ContainerGroup

    from .github_context import GitHubContext
    from .inputs import PreviewSettings
    from .registry import RegistryAccess
    from .runner import Runner
    from .spec import GroupSpec

TAG_PREFIX = OWN_TAG_PREFIX
TAG_REPOSITORY = "acr-action.repository"
TAG_PR = "acr-action.pr"
TAG_HEAD_SHA = "acr-action.head-sha"
TAG_SHA = "acr-action.sha"
TAG_REF = "acr-action.ref"
TAG_CREATED = "acr-action.created"
# Tags that describe a run rather than the group (spec.RUN_TAGS): when nothing else changed they
# keep the values of the run that last changed the group, so an unchanged rerun stays a no-op (no
# PUT). The deployed tag is when a deploy last changed the group: `max-idle` counts from it
# (`max-age` from the created tag).
TAG_RUN, TAG_RUN_URL, TAG_DEPLOYED = RUN_TAGS
# Previews made after the open pull requests were listed are never swept for "closed": their pull
# request may be newer than the list.
_LIST_GRACE = dt.timedelta(minutes=10)
_PR_EVENTS = ("pull_request", "pull_request_target")

RegistrySession = Callable[[], "RegistryAccess"]  # signs in to the registry once, when needed
# Deletes one group by name through `deploy.delete` (with the run's deadline and retries); True if
# it existed. Passed in so that previews, evictions and sweeps share the one delete path.
Remove = Callable[[str], bool]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stamp(when: dt.datetime) -> str:
    """RFC 3339 UTC to the second, as the created tag stores it."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str | None) -> dt.datetime | None:
    """The time in a created tag, or None when missing or unreadable."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# --------------------------------------------------------------------------- tags


def provenance_tags(github: GitHubContext, created: dt.datetime) -> tuple[tuple[str, str], ...]:
    """Tags recording where the group came from, so it can be found, audited and swept."""
    tags: list[tuple[str, str]] = []
    if github.repository:
        tags.append((TAG_REPOSITORY, github.repository))
    if github.pr_number is not None and github.event_name in _PR_EVENTS:
        tags.append((TAG_PR, str(github.pr_number)))
        if github.pr_head_sha:
            tags.append((TAG_HEAD_SHA, github.pr_head_sha))
    if github.sha:
        tags.append((TAG_SHA, github.sha))
    if github.ref:
        tags.append((TAG_REF, github.ref[:256]))
    if github.run_id:
        tags.append((TAG_RUN, f"{github.run_id}/{github.run_attempt or '1'}"))
        if github.repository:
            url = (
                f"{github.server_url.rstrip('/')}/{github.repository}/actions/runs/{github.run_id}"
            )
            if github.run_attempt:
                url += f"/attempts/{github.run_attempt}"
            tags.append((TAG_RUN_URL, url[:256]))
    tags.append((TAG_CREATED, stamp(created)))
    tags.append((TAG_DEPLOYED, stamp(created)))
    return tuple(tags)


def settle_tags(spec: GroupSpec, existing: ContainerGroup | None) -> GroupSpec:
    """Carry the created time over from `existing`, and the run tags too if nothing else changed.

    Without this every run would change the tags, so every run would be an update.
    """
    from .spec import diff

    if existing is None:
        return spec
    old = dict(existing.tags or {})
    tags = dict(spec.tags)
    if TAG_CREATED in tags and TAG_CREATED in old:
        tags[TAG_CREATED] = old[TAG_CREATED]
    settled = replace(spec, tags=tuple(tags.items()))
    if all(name in old for name in RUN_TAGS if name in tags):
        quiet = replace(
            spec, tags=tuple((k, old[k] if k in RUN_TAGS else v) for k, v in tags.items())
        )
        if diff(existing, quiet).action == "noop":
            return quiet
    return settled


def check_owner(github: GitHubContext, name: str, existing: ContainerGroup | None) -> None:
    """Refuse to deploy the preview `name` over a group whose tags name another repository."""
    if existing is None or not github.is_pull_request or not github.repository:
        return
    owner = (existing.tags or {}).get(TAG_REPOSITORY)
    if owner and owner.lower() != github.repository.lower():
        raise PreviewNameTaken(name, owner, github.repository)


# --------------------------------------------------------------------------- forks


def skip_unlabelled(settings: PreviewSettings, github: GitHubContext, runner: Runner) -> bool:
    """True when `require-label` names a label this pull request does not have (a notice says so).

    Read from the event payload, so it costs no call; a `labeled` event carries the new label.
    """
    label = settings.require_label
    if not label or github.event_name not in _PR_EVENTS:
        return False
    if label.casefold() in {name.casefold() for name in github.pr_labels}:
        return False
    runner.notice(
        f"Preview skipped: pull request #{github.pr_number} has no label `{label}` "
        "(require-label). Add the label to deploy a preview; with `labeled` among the "
        "workflow's pull_request types, adding it starts the deploy.",
        title="acr-action: no preview without its label",
    )
    return True


def skip_fork(settings: PreviewSettings, github: GitHubContext, runner: Runner) -> bool:
    """True when the run is a fork's pull request and `on-fork: notice` says to skip it.

    With `on-fork: fail` it raises `ForkPullRequest`. Checked before any network call, also for
    `pull_request_target` runs, which do get a token: building a fork's code with it is exactly
    what must not happen.
    """
    if github.event_name not in _PR_EVENTS or not github.pr_head_repo_fork:
        return False
    if settings.on_fork == "fail":
        raise ForkPullRequest(github.repository or None, github.pr_head_repository or None)
    runner.notice(
        f"Preview skipped: pull request #{github.pr_number} comes from the fork "
        f"{github.pr_head_repository or 'of another repository'}. GitHub gives pull requests "
        "from forks no OIDC token and no secrets, so they cannot sign in to Azure; that protects "
        "your subscription from code you have not reviewed. Skip such jobs with `if: "
        "github.event.pull_request.head.repo.full_name == github.repository`; never use "
        "pull_request_target with a checkout of the fork's code.",
        title="acr-action: no preview for a fork's pull request",
    )
    return True


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class Preview:
    """A preview container group, as its tags describe it."""

    name: str
    repository: str
    pr: int | None
    created: dt.datetime | None
    deployed: dt.datetime | None = None  # the last deploy that changed it; None: never recorded

    @property
    def last_deploy(self) -> dt.datetime | None:
        """When it was last deployed: the deployed tag, else (groups from before it) created."""
        return self.deployed or self.created


def list_previews(aci: ContainerInstanceManagementClient, resource_group: str) -> list[Preview]:
    """Every group of the resource group with a pull-request tag (all pages of the list)."""
    from azure.core.exceptions import AzureError

    found: list[Preview] = []
    try:
        for group in aci.container_groups.list_by_resource_group(resource_group):
            tags = group.tags or {}
            if TAG_PR not in tags:
                continue
            number = tags[TAG_PR]
            found.append(
                Preview(
                    name=str(group.name),
                    repository=tags.get(TAG_REPOSITORY, ""),
                    pr=int(number) if number.isdigit() else None,
                    created=parse_stamp(tags.get(TAG_CREATED)),
                    deployed=parse_stamp(tags.get(TAG_DEPLOYED)),
                )
            )
    except AzureError as exc:
        raise deploy.failure(exc, group=resource_group) from exc
    return found


def pr_of(group: ContainerGroup | None) -> int | None:
    """The pull request number a group's tags record, if any."""
    number = ((group.tags or {}) if group is not None else {}).get(TAG_PR, "")
    return int(number) if number.isdigit() else None


def _age(created: dt.datetime | None, now: dt.datetime) -> str:
    if created is None:
        return "?"
    seconds = max(0, int((now - created).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {rest // 60}m"
    return f"{rest // 60}m"


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(parts) or f"{int(seconds)}s"


# --------------------------------------------------------------------------- limits


def enforce_limit(
    aci: ContainerInstanceManagementClient,
    resource_group: str,
    name: str,
    existing: ContainerGroup | None,
    remove: Remove,
    *,
    settings: PreviewSettings,
    github: GitHubContext,
    runner: Runner,
) -> None:
    """Keep `resource_group` within `max-previews` before the new preview `name` is created."""
    limit = settings.max_previews
    if limit is None or existing is not None or not github.is_pull_request:
        return
    others = [p for p in list_previews(aci, resource_group) if p.name != name]
    excess = len(others) - limit + 1
    if excess <= 0:
        return
    names = sorted(p.name for p in others)
    if settings.on_max_previews == "fail":
        raise PreviewLimitReached(limit, resource_group, names)
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)  # no created tag: oldest of all
    own = sorted(
        (p for p in others if p.repository.lower() == github.repository.lower()),
        key=lambda p: (p.created or floor, p.name),
    )
    if len(own) < excess:
        # Only this repository's previews are ours to evict.
        raise PreviewLimitReached(limit, resource_group, names)
    for victim in own[:excess]:
        remove(victim.name)
        runner.warning(
            f"Deleted the oldest preview {victim.name} (pull request #{victim.pr}) to stay within "
            f"max-previews: {limit}.",
            title="acr-action: preview evicted",
        )
        comment(
            settings,
            github,
            runner,
            victim.pr,
            CommentFacts(victim.name, "removed", reason=f"evicted: max-previews is {limit}"),
        )


def recount(
    aci: ContainerInstanceManagementClient,
    resource_group: str,
    name: str,
    remove: Remove,
    *,
    settings: PreviewSettings,
    github: GitHubContext,
    runner: Runner,
) -> None:
    """Count again once the new preview's create was accepted; give way if over `max-previews`.

    ACI has no lock or conditional create, so two runs that both counted room before creating
    would both create (`enforce_limit` alone lets the limit be exceeded by the racers). So each
    run that created a preview lists again right after ARM accepted its PUT: a run that sees
    more than the limit makes room, with `evict-oldest` by deleting the oldest of this
    repository's other previews (the same ones for every racer: oldest created tag, then name),
    else by deleting its own group and failing. Why the limit holds: of the racers, the one
    whose group became visible last lists after every other racer's group is visible, so it
    sees them all and makes room; the others only ever delete. The limit can be passed only in
    the seconds between a racer's PUT and its recount (before its containers are waited for);
    racers for the last place may all give way (then rerun one).
    """
    limit = settings.max_previews
    if limit is None or not github.is_pull_request:
        return
    previews = list_previews(aci, resource_group)
    excess = len(previews) - limit
    if excess <= 0:
        return
    others = [p for p in previews if p.name != name]
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)
    own = sorted(
        (p for p in others if p.repository.lower() == github.repository.lower()),
        key=lambda p: (p.created or floor, p.name),
    )
    if settings.on_max_previews == "evict-oldest" and len(own) >= excess:
        for victim in own[:excess]:
            remove(victim.name)
            runner.warning(
                f"Deleted the oldest preview {victim.name} (pull request #{victim.pr}): another "
                f"run created a preview at the same time, and max-previews is {limit}.",
                title="acr-action: preview evicted",
            )
        return
    remove(name)
    raise PreviewLimitReached(limit, resource_group, sorted(p.name for p in previews), raced=name)


# --------------------------------------------------------------------------- the comment


FAILED = "Failed"  # the state a comment shows for a deploy that failed
STOPPED = "Stopped"  # the state a comment shows for a preview the sweep stopped


def marker(group: str) -> str:
    """The hidden first line that identifies a preview's comment."""
    return f"<!-- acr-action:preview:{group} -->"


@dataclass(frozen=True)
class CommentFacts:
    """What the comment shows; the commit and the run's link come from `github`."""

    group: str
    state: str  # Running, ..., or "removed"
    url: str = ""
    digest: str = ""
    when: dt.datetime | None = None
    reason: str = ""
    github: GitHubContext | None = None


def _inline(text: str) -> str:
    """Inline code that is safe in a comment (no backticks or line breaks from outside)."""
    return "`" + re.sub(r"[`\r\n|<>]", "", text) + "`"


def render_comment(facts: CommentFacts) -> str:
    """The comment's markdown, marker first."""
    when = stamp(facts.when or _now())
    lines = [marker(facts.group)]
    if facts.state == "removed":
        lines += [
            f"### Preview {_inline(facts.group)}: removed",
            "",
            f"The preview's container group was deleted at {when}"
            + (f" ({facts.reason})." if facts.reason else "."),
            "Nothing of it is running or billed any more.",
        ]
    elif facts.state == STOPPED:
        lines += [
            f"### Preview {_inline(facts.group)}: stopped",
            "",
            f"The preview's container group was stopped at {when}"
            + (f" ({facts.reason})." if facts.reason else "."),
            "Its containers are deallocated and its compute is no longer billed. The next push "
            "to this pull request starts it again (its IP address may change; the URL stays).",
        ]
    else:
        github = facts.github
        # A pull request's GITHUB_SHA is its merge commit; the preview shows the head commit.
        sha = (github.pr_head_sha or github.sha) if github else ""
        link = github.run_url if github else ""
        rows = [("State", facts.state)]
        if facts.reason:
            rows.append(("Error", _inline(facts.reason)))
        if facts.url:
            rows.append(("URL", facts.url))
        if sha:
            rows.append(("Commit", _inline(sha[:7])))
        if facts.digest:
            rows.append(("Image digest", _inline(facts.digest)))
        rows.append(("Updated", when))
        if link:
            rows.append(("Run", link))
        failed = ": deploy failed" if facts.state == FAILED else ""
        lines += [
            f"### Preview {_inline(facts.group)}{failed}",
            "",
            "| | |",
            "|---|---|",
            *(f"| {key} | {value} |" for key, value in rows),
            "",
            "Updated on every push to this pull request; removed when it is closed.",
        ]
    lines.append("")
    return "\n".join(lines)


def upsert_comment(gh: GitHub, number: int, group: str, body: str) -> Literal["created", "updated"]:
    """Create the preview's comment or edit the one there is; never leave two."""
    tag = marker(group)

    def ours() -> list[int]:
        return sorted(
            int(c["id"]) for c in gh.comments(number) if str(c.get("body", "")).startswith(tag)
        )

    found = ours() or ours()  # list again right before creating: another run may have just made it
    if found:
        gh.update_comment(found[0], body)
        for extra in found[1:]:
            gh.delete_comment(extra)
        return "updated"
    created = int(gh.create_comment(number, body)["id"])
    # Two runs at once may both have created one: everyone keeps the oldest and drops the rest.
    after = ours()
    if after and after[0] != created:
        gh.update_comment(after[0], body)
    for extra in after[1:]:
        gh.delete_comment(extra)
    return "created"


def comment(
    settings: PreviewSettings,
    github: GitHubContext,
    runner: Runner,
    number: int | None,
    facts: CommentFacts,
) -> None:
    """Write the preview's comment if `comment-on-pr` asks for it; failures only warn."""
    if not settings.comment_on_pr:
        return
    if number is None:
        runner.info(
            "comment-on-pr: not a pull request run, so there is no pull request to comment on"
        )
        return
    gh = client(settings.github_token, github, runner)
    if gh is None:
        return
    try:
        done = upsert_comment(gh, number, facts.group, render_comment(facts))
        runner.info(f"preview comment {done} on pull request #{number}")
    except ActionError as exc:
        # The deploy or delete itself succeeded; a missing comment must not undo that.
        runner.warning(
            f"{exc.title}. The preview comment on #{number} was not written; grant the job "
            "`permissions: pull-requests: write` and pass `github-token: ${{ github.token }}`.",
            title="acr-action: preview comment failed",
        )
    finally:
        gh.close()


# --------------------------------------------------------------------------- delete and sweep


def after_delete(
    settings: PreviewSettings,
    github: GitHubContext,
    runner: Runner,
    name: str,
    existed: bool,
    registry_session: RegistrySession | None,
    number: int | None = None,
) -> None:
    """After `mode: delete` of `name`: remove the pull request's image tag, mark the comment removed."""
    number = number if number is not None else github.pr_number
    if settings.delete_image_tag:
        _delete_tag(settings.image_repository, runner, registry_session, number)
    comment(
        settings,
        github,
        runner,
        number,
        CommentFacts(
            name,
            "removed",
            reason="the pull request was closed" if existed else "it was already gone",
        ),
    )
    retire(settings, github, runner, number)


def _delete_tag(
    repository: str | None,
    runner: Runner,
    registry_session: RegistrySession | None,
    number: int | None,
) -> None:
    if number is None or repository is None or registry_session is None:
        runner.info("delete-image-tag: no pull request number, so no `pr-<N>` tag to delete")
        return
    access = registry_session()
    login = access.login_server
    digest = access.delete_tag(repository, f"pr-{number}")
    runner.info(
        f"deleted image {login}/{repository}:pr-{number} ({digest})"
        if digest
        else f"image {login}/{repository}:pr-{number} was already gone"
    )


@dataclass(frozen=True)
class Decision:
    """What the sweep does with one preview, and why."""

    preview: Preview
    delete: bool
    reason: str
    stop: bool = False  # with delete: stop the group instead (`idle-action: stop`)


def decide(
    previews: Iterable[Preview],
    *,
    repository: str,
    open_pulls: set[int] | None,
    max_age: float | None,
    now: dt.datetime,
    listed_at: dt.datetime | None = None,
    labelled: tuple[str, set[int]] | None = None,
    max_idle: float | None = None,
    idle_action: str = "delete",
) -> list[Decision]:
    """The sweep's decision for each preview (pure: unit-tested with made-up previews).

    `labelled`: `require-label`'s label and the open pull requests that carry it.
    """
    decisions = []
    listed_at = listed_at or now
    for preview in sorted(previews, key=lambda p: p.name):
        age = (now - preview.created).total_seconds() if preview.created else None
        if preview.repository.lower() != repository.lower():
            decision = Decision(
                preview, False, f"belongs to {preview.repository or 'no repository'}"
            )
        elif preview.pr is None:
            decision = Decision(preview, False, "no pull request number in its tags")
        elif open_pulls is not None and preview.pr not in open_pulls:
            if preview.created is not None and preview.created > listed_at - _LIST_GRACE:
                decision = Decision(preview, False, "created after the pull requests were listed")
            else:
                decision = Decision(preview, True, f"PR #{preview.pr} is closed or merged")
        elif labelled is not None and preview.pr not in labelled[1]:
            decision = Decision(preview, True, f"PR #{preview.pr} lacks the label {labelled[0]}")
        elif max_age is not None and age is not None and age > max_age:
            decision = Decision(preview, True, f"older than max-age {_duration(max_age)}")
        elif max_age is not None and age is None:
            decision = Decision(preview, False, "no created tag, so its age is unknown")
        elif (idle := expiry.idle_for(preview.last_deploy, max_idle, now)) is not None:
            reason = f"idle longer than max-idle {_duration(max_idle or 0)}"
            reason = f"{reason} (last deploy {_duration(idle)} ago)"
            decision = Decision(preview, True, reason, stop=idle_action == "stop")
        elif open_pulls is not None:
            decision = Decision(preview, False, f"PR #{preview.pr} is open")
        elif max_age is None:
            decision = Decision(
                preview, False, f"deployed within max-idle {_duration(max_idle or 0)}"
            )
        else:
            decision = Decision(preview, False, f"younger than max-age {_duration(max_age or 0)}")
        decisions.append(decision)
    return decisions


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def sweep_table(rows: Sequence[tuple[str, str, str, str, str]]) -> str:
    """The summary table: group, PR, age, decision, reason."""
    lines = ["| group | PR | age | decision | reason |", "| --- | --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# ARM throttles deletes per subscription and principal with a token bucket of 200 that refills at
# 10 per second (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
# The sweep paces its delete starts with the same bucket, so by itself it never draws ARM's bucket
# dry; `sweep-concurrency` separately bounds how many deletes are in flight. ACI's own quota
# (100 container group deletes per 5 minutes, 300 per hour, per subscription by default:
# https://learn.microsoft.com/azure/container-instances/container-instances-resource-and-quota-limits)
# is stricter; a sweep beyond it gets 429 answers, which the SDK's retry waits out (Retry-After).
DELETE_BURST = 200
DELETES_PER_SECOND = 10.0


@dataclass
class SweepResult:
    """What a sweep did: one row per preview, and the deletes that failed."""

    rows: list[tuple[str, str, str, str, str]]
    failures: list[tuple[str, str]]
    deleted: int


def sweep(
    aci: ContainerInstanceManagementClient,
    resource_group: str,
    remove: Remove,
    registry_session: RegistrySession | None,
    *,
    settings: PreviewSettings,
    github: GitHubContext,
    runner: Runner,
) -> SweepResult:
    """List the previews, decide, delete (bounded concurrency), report; raise if any failed."""
    previews = list_previews(aci, resource_group)
    listed_at = _now()
    pulls = _open_pulls(settings.github_token, github, runner)
    label = settings.require_label
    now = _now()
    decisions = decide(
        previews,
        repository=github.repository,
        open_pulls=set(pulls) if pulls is not None else None,
        max_age=settings.max_age,
        now=now,
        listed_at=listed_at,
        labelled=(
            (label, {n for n, names in pulls.items() if label.casefold() in names})
            if label and pulls is not None
            else None
        ),
        max_idle=settings.max_idle,
        idle_action=settings.idle_action,
    )
    doomed = [d for d in decisions if d.delete]
    outcome: dict[str, str] = {}
    failures: list[tuple[str, str]] = []
    if doomed and not settings.dry_run:

        def delete_one(decision: Decision) -> str:
            if decision.stop:
                return _stop_preview(
                    aci, resource_group, decision, settings=settings, github=github, runner=runner
                )
            return _remove_preview(
                decision, remove, registry_session, settings=settings, github=github, runner=runner
            )

        outcome, failures = _delete_all(doomed, delete_one, settings.sweep_concurrency)
    rows = _sweep_rows(decisions, outcome, dry_run=settings.dry_run, now=now)
    deleted = sum(1 for v in outcome.values() if v.startswith("deleted"))
    return SweepResult(rows, sorted(failures), deleted)


def _open_pulls(
    token: str | None, github: GitHubContext, runner: Runner
) -> dict[int, frozenset[str]] | None:
    """The open pull requests and their labels, or None without a token (none is "closed")."""
    gh = client(token, github, runner)
    if gh is None:
        return None
    try:
        return gh.open_pulls()
    finally:
        gh.close()


def _remove_preview(
    decision: Decision,
    remove: Remove,
    registry_session: RegistrySession | None,
    *,
    settings: PreviewSettings,
    github: GitHubContext,
    runner: Runner,
) -> str:
    """Delete one swept preview, then its image tag and its comment; says what happened."""
    name = decision.preview.name
    remove(name)
    notes = []
    if settings.delete_image_tag:
        try:
            _delete_tag(settings.image_repository, runner, registry_session, decision.preview.pr)
        except ActionError as exc:
            notes.append(f"image tag kept: {exc.title}")
    comment(
        settings,
        github,
        runner,
        decision.preview.pr,
        CommentFacts(name, "removed", reason=f"swept: {decision.reason}"),
    )
    retire(settings, github, runner, decision.preview.pr)
    return "deleted" + (f" ({'; '.join(notes)})" if notes else "")


def _stop_preview(
    aci: ContainerInstanceManagementClient,
    resource_group: str,
    decision: Decision,
    *,
    settings: PreviewSettings,
    github: GitHubContext,
    runner: Runner,
) -> str:
    """Stop one idle preview (`idle-action: stop`), then say so in its comment and deployment.

    "When the containers are recycled, the resources are deallocated and billing stops for the
    container group", and "Starting a container group begins a new deployment with the same
    container configuration" (learn.microsoft.com/azure/container-instances/
    container-instances-stop-start); a stopped group keeps its name, tags and DNS name label,
    but "that IP address can change". The next deploy of a stopped group deploys it anew
    (`spec.diff`), so a push starts it again. Stopping one already stopped "has no effect":
    it is left as it is, and its comment too.
    """
    from azure.core.exceptions import AzureError

    name = decision.preview.name
    group = deploy.get_group(aci, resource_group, name)
    if group is None:
        return "already gone"
    state: str | None = getattr(getattr(group, "instance_view", None), "state", None)
    if (state or "").lower() == "stopped":
        return "already stopped"
    try:
        aci.container_groups.stop(resource_group, name)
    except AzureError as exc:
        raise deploy.failure(exc, name=name, group=resource_group) from exc
    comment(
        settings,
        github,
        runner,
        decision.preview.pr,
        CommentFacts(name, STOPPED, reason=f"swept: {decision.reason}"),
    )
    retire(settings, github, runner, decision.preview.pr)
    return "stopped"


def _delete_all(
    doomed: Sequence[Decision], delete_one: Callable[[Decision], str], concurrency: int
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Run `delete_one` on each decision, paced and `concurrency` at a time.

    Returns what happened to each preview by name, and the (name, reason) of each that failed.
    """
    pacer = Pacer(DELETE_BURST, DELETES_PER_SECOND)

    def paced(decision: Decision) -> str:
        pacer.wait()
        return delete_one(decision)

    outcome: dict[str, str] = {}
    failures: list[tuple[str, str]] = []
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="acr-action-sweep") as pool:
        futures = {pool.submit(paced, d): d.preview.name for d in doomed}
        for future, name in futures.items():
            error = future.exception()
            if error is None:
                outcome[name] = future.result()
                continue
            reason = error.title if isinstance(error, ActionError) else repr(error)
            failures.append((name, reason))
            outcome[name] = f"delete failed: {reason}"
    return outcome, failures


def _sweep_rows(
    decisions: Sequence[Decision], outcome: dict[str, str], *, dry_run: bool, now: dt.datetime
) -> list[tuple[str, str, str, str, str]]:
    """One summary row per preview: name, pull request, age, what happened, why."""
    rows = []
    for d in decisions:
        if not d.delete:
            verdict = "keep"
        elif dry_run:
            verdict = "would stop" if d.stop else "would delete"
        else:
            verdict = outcome.get(d.preview.name, "delete")
        pr = f"#{d.preview.pr}" if d.preview.pr is not None else "?"
        rows.append((d.preview.name, pr, _age(d.preview.created, now), verdict, d.reason))
    return rows


def report_sweep(
    result: SweepResult, resource_group: str, *, dry_run: bool, runner: Runner
) -> None:
    """Print and summarise the sweep of `resource_group`; raise `SweepFailed` when any failed."""
    verb = "would delete" if dry_run else "deleted"
    count = sum(1 for row in result.rows if row[3] == "would delete") if dry_run else result.deleted
    headline = (
        f"{len(result.rows)} preview(s) in {resource_group}: {verb} {count}, "
        f"kept {sum(1 for row in result.rows if row[3] == 'keep')}, failed {len(result.failures)}"
    )
    table = sweep_table(result.rows)
    runner.info(headline)
    runner.untrusted_block(table.splitlines())
    runner.summary(f"\n{headline}\n\n{table}\n")
    if result.failures:
        raise SweepFailed(result.failures)
