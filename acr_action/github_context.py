"""What GitHub tells the action about the run, read once from ``GITHUB_*`` and the event payload.

The variables are the runner's default environment
(https://docs.github.com/actions/reference/variables-reference); the payload at ``GITHUB_EVENT_PATH``
is the webhook event that started the workflow
(https://docs.github.com/webhooks/webhook-events-and-payloads): ``pull_request.number``,
``pull_request.head.{sha,repo}`` and, on a push, ``head_commit.timestamp``. Outside GitHub Actions
every field is empty. Its own module, so that ``naming`` and ``inputs`` both use it without
importing each other.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GitHubContext", "github_context"]

_PR_EVENTS = frozenset({"pull_request", "pull_request_target"})


@dataclass(frozen=True)
class GitHubContext:
    """What GitHub tells the action about the run; empty strings outside GitHub Actions."""

    # The event and the commit it is about.
    event_name: str = ""
    ref: str = ""
    ref_name: str = ""
    sha: str = ""
    head_ref: str = ""
    base_ref: str = ""  # a pull request's base branch (GITHUB_BASE_REF)
    # The pushed head commit's time: only `push` events carry one (`head_commit.timestamp`).
    head_commit_time: dt.datetime | None = None
    # The repository and the GitHub that hosts it.
    repository: str = ""
    repository_owner: str = ""
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    # The pull request, on pull_request and pull_request_target events.
    pr_number: int | None = None
    pr_head_repo_fork: bool = False
    pr_head_repository: str = ""  # owner/name of the pull request's head repository
    pr_head_sha: str = ""  # the pull request's head commit (GITHUB_SHA is the merge commit)
    pr_labels: tuple[str, ...] = ()  # the pull request's label names when the event was sent
    # The run.
    run_id: str = ""
    run_attempt: str = ""
    workspace: str = ""
    actor: str = ""

    @property
    def run_url(self) -> str:
        """The link to this workflow run ("" outside a workflow)."""
        if not self.run_id or not self.repository:
            return ""
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def is_pull_request(self) -> bool:
        """True for a pull_request or pull_request_target run with a known number."""
        return self.event_name in _PR_EVENTS and self.pr_number is not None


def _read_event(path: str | None) -> dict[str, object]:
    """The event payload, or {} when there is none (e.g. outside GitHub Actions)."""
    if not path:
        return {}
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _labels(pull_request: object) -> tuple[str, ...]:
    """The names in `pull_request.labels` (each a label object with a `name`)."""
    labels = pull_request.get("labels") if isinstance(pull_request, dict) else None
    if not isinstance(labels, list):
        return ()
    return tuple(
        label["name"]
        for label in labels
        if isinstance(label, dict) and isinstance(label.get("name"), str)
    )


def github_context(env: Mapping[str, str]) -> GitHubContext:
    """Build the GitHub context from ``GITHUB_*`` variables and the event payload."""
    payload = _read_event(env.get("GITHUB_EVENT_PATH"))
    repository = env.get("GITHUB_REPOSITORY", "")
    ref = env.get("GITHUB_REF", "")
    pull_request = payload.get("pull_request")
    pr_number: int | None = None
    fork = False
    head_repository = ""
    head_sha = ""
    if isinstance(pull_request, dict):
        number = pull_request.get("number")
        pr_number = number if isinstance(number, int) and not isinstance(number, bool) else None
        head = pull_request.get("head")
        if isinstance(head, dict) and isinstance(head.get("sha"), str):
            head_sha = head["sha"]
        if isinstance(head, dict) and "repo" in head:
            head_repo = head["repo"]
            if head_repo is None:
                fork = True  # the fork was deleted; it certainly is not this repository
            elif isinstance(head_repo, dict):
                full_name = head_repo.get("full_name")
                head_repository = full_name if isinstance(full_name, str) else ""
                # `head.repo.fork` is also true for a same-repository PR when this repository is
                # itself a fork, so compare names and use the flag only when a name is missing.
                if isinstance(full_name, str) and repository:
                    fork = full_name.lower() != repository.lower()
                else:
                    fork = bool(head_repo.get("fork"))
    if pr_number is None:
        match = re.fullmatch(r"refs/pull/(\d+)/(?:merge|head)", ref)
        pr_number = int(match.group(1)) if match else None
    return GitHubContext(
        event_name=env.get("GITHUB_EVENT_NAME", ""),
        ref=ref,
        ref_name=env.get("GITHUB_REF_NAME", ""),
        sha=env.get("GITHUB_SHA", ""),
        repository=repository,
        repository_owner=env.get("GITHUB_REPOSITORY_OWNER", repository.partition("/")[0]),
        pr_number=pr_number,
        pr_head_repo_fork=fork,
        pr_head_repository=head_repository,
        pr_head_sha=head_sha,
        pr_labels=_labels(pull_request),
        head_ref=env.get("GITHUB_HEAD_REF", ""),
        base_ref=env.get("GITHUB_BASE_REF", ""),
        run_id=env.get("GITHUB_RUN_ID", ""),
        run_attempt=env.get("GITHUB_RUN_ATTEMPT", ""),
        server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
        api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
        workspace=env.get("GITHUB_WORKSPACE", ""),
        actor=env.get("GITHUB_ACTOR", ""),
        head_commit_time=_head_commit_time(payload),
    )


def _head_commit_time(payload: Mapping[str, object]) -> dt.datetime | None:
    """``head_commit.timestamp`` of a push (ISO 8601 with an offset), or None."""
    head = payload.get("head_commit")
    stamp = head.get("timestamp") if isinstance(head, dict) else None
    if not isinstance(stamp, str):
        return None
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
