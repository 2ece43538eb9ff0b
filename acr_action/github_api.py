"""The GitHub REST calls the action makes: pull requests, issue comments and deployments.

The base URL is `GITHUB_API_URL` (`https://api.github.com`, `https://HOST/api/v3` on GitHub
Enterprise Server, the emulator in tests), never assumed. Lists follow the `Link: rel="next"`
header (https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api) until
the last page. Every call goes through the one retry rule (`retry.Retrier`: 408, 429, 5xx and
dropped connections, `Retry-After` honoured); what is left is turned into our error by
`failures.translate`. The token is masked by the caller before this module ever sees it and
never appears in an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypedDict

from .errors import GitHubCallFailed
from .failures import GITHUB_API, translate
from .retry import Retrier, http_verdict

API_VERSION = "2022-11-28"  # https://docs.github.com/rest/about-the-rest-api/api-versions
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')
_MAX_PAGES = 50  # 5000 items at 100 a page: far beyond any real preview or comment count


class CommentJson(TypedDict, total=False):
    """An issue comment as the REST API returns it (the fields used here)."""

    id: int
    body: str
    html_url: str


class PullJson(TypedDict, total=False):
    """A pull request as the REST API returns it (the fields used here)."""

    number: int
    state: str
    merged: bool
    merged_at: str | None


@dataclass(frozen=True)
class PullState:
    """Whether a pull request is still open, and how it ended if not."""

    number: int
    state: str  # "open" or "closed"
    merged: bool

    @property
    def open(self) -> bool:
        """True while the pull request is open."""
        return self.state == "open"


@dataclass(frozen=True)
class DeploymentRequest:
    """What a new deployment says: the commit, the environment and how GitHub should show it."""

    ref: str  # a commit SHA, branch or tag
    environment: str
    description: str
    transient: bool  # a preview: "destroyed" once inactive
    production: bool
    payload: dict[str, str]


class GitHub:
    """A small client for one repository on one GitHub (github.com, GHES or the emulator)."""

    def __init__(
        self,
        api_url: str,
        token: str,
        repository: str,
        *,
        timeout: float = 20,
        retrier: Retrier | None = None,
    ) -> None:
        import requests

        self._api = api_url.rstrip("/")
        self._repo = repository
        self._timeout = timeout
        self._retrier = retrier or Retrier()
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "acr-action",
            }
        )

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        import requests

        def attempt() -> requests.Response:
            timeout = (5, self._retrier.read_timeout(self._timeout))
            return self._session.request(method, url, timeout=timeout, **kwargs)

        try:
            answer = self._retrier.call(GITHUB_API.name, attempt, http_verdict)
        except requests.RequestException as exc:
            raise translate(GITHUB_API, exc, where=what) from exc
        if answer.status_code >= 400:
            raise translate(GITHUB_API, answer, where=what)
        return answer

    def _pages(self, path: str, what: str, params: dict[str, str]) -> Iterator[Any]:
        url: str | None = f"{self._api}{path}"
        query: dict[str, str] | None = {**params, "per_page": "100"}
        for _ in range(_MAX_PAGES):
            if url is None:
                return
            answer = self._call("GET", url, what, params=query)
            yield from answer.json()
            match = _NEXT.search(answer.headers.get("Link", ""))
            # The next link already carries every query parameter.
            url, query = (match.group(1), None) if match else (None, None)

    # -- pull requests ----------------------------------------------------------------------

    def pull(self, number: int) -> PullState:
        """One pull request's state."""
        data: PullJson = self._call(
            "GET", f"{self._api}/repos/{self._repo}/pulls/{number}", f"GET pull request #{number}"
        ).json()
        return PullState(number, str(data.get("state")), bool(data.get("merged")))

    def open_pulls(self) -> dict[int, frozenset[str]]:
        """Every open pull request (all pages): number -> its label names, case-folded.

        GitHub treats label names without regard to case (one repository cannot have both
        `Preview` and `preview`), so they are compared folded.
        """
        pulls = self._pages(
            f"/repos/{self._repo}/pulls", "list open pull requests", {"state": "open"}
        )
        return {
            int(pull["number"]): frozenset(
                str(label.get("name", "")).casefold() for label in pull.get("labels") or []
            )
            for pull in pulls
        }

    # -- issue comments ---------------------------------------------------------------------

    def comments(self, number: int) -> list[CommentJson]:
        """Every comment of an issue or pull request, oldest first (all pages)."""
        return list(
            self._pages(
                f"/repos/{self._repo}/issues/{number}/comments", f"list comments of #{number}", {}
            )
        )

    def create_comment(self, number: int, body: str) -> CommentJson:
        """Add a comment to an issue or pull request."""
        path = f"issues/{number}/comments"
        return self._send_comment("POST", path, f"comment on #{number}", body)

    def update_comment(self, comment_id: int, body: str) -> CommentJson:
        """Replace a comment's body."""
        path = f"issues/comments/{comment_id}"
        return self._send_comment("PATCH", path, f"update comment {comment_id}", body)

    def _send_comment(self, method: str, path: str, what: str, body: str) -> CommentJson:
        url = f"{self._api}/repos/{self._repo}/{path}"
        answer: CommentJson = self._call(method, url, what, json={"body": body}).json()
        return answer

    def delete_comment(self, comment_id: int) -> None:
        """Delete a comment; already gone is fine."""
        url = f"{self._api}/repos/{self._repo}/issues/comments/{comment_id}"
        try:
            self._call("DELETE", url, f"delete comment {comment_id}")
        except GitHubCallFailed as exc:
            if exc.status != 404:
                raise

    # -- deployments ------------------------------------------------------------------------

    def create_deployment(self, request: DeploymentRequest) -> int:
        """Create a deployment of `request.ref`; returns its id.

        `auto_merge` is off (on by default, GitHub would merge the default branch into the ref
        and answer 202 without a deployment) and `required_contexts` is empty (by default every
        commit status must be `success`, and this job's own checks are still running: 409).
        docs.github.com/rest/deployments/deployments#create-a-deployment
        """
        body = {
            "ref": request.ref,
            "environment": request.environment,
            "description": request.description[:140],
            "transient_environment": request.transient,
            "production_environment": request.production,
            "auto_merge": False,
            "required_contexts": [],
            "payload": request.payload,
        }
        url = f"{self._api}/repos/{self._repo}/deployments"
        what = f"create a deployment to {request.environment}"
        return int(self._call("POST", url, what, json=body).json()["id"])

    def set_deployment_status(
        self,
        deployment: int,
        state: str,
        *,
        description: str = "",
        environment_url: str = "",
        log_url: str = "",
    ) -> None:
        """Add a status (`in_progress`, `success`, `failure`, `inactive`, ...) to a deployment."""
        body: dict[str, Any] = {"state": state, "description": description[:140]}
        if environment_url:
            body["environment_url"] = environment_url
        if log_url:
            body["log_url"] = log_url
        url = f"{self._api}/repos/{self._repo}/deployments/{deployment}/statuses"
        self._call("POST", url, f"set deployment {deployment} {state}", json=body)

    def deployments(self, environment: str) -> list[tuple[int, str]]:
        """(id, latest state) of every deployment to `environment`, newest first.

        The state of a deployment without a status is `pending`.
        """
        found = self._pages(
            f"/repos/{self._repo}/deployments",
            f"list deployments to {environment}",
            {"environment": environment},
        )
        listed = []
        for deployment in found:
            number = int(deployment["id"])
            latest = self._call(
                "GET",
                f"{self._api}/repos/{self._repo}/deployments/{number}/statuses",
                f"read the status of deployment {number}",
                params={"per_page": "1"},
            ).json()
            listed.append((number, str(latest[0]["state"]) if latest else "pending"))
        return listed
