"""GitHub deployments and their statuses, as the REST API serves them (part of `github.Service`).

docs.github.com/rest/deployments/deployments and /rest/deployments/statuses (API version
2022-11-28): `POST /repos/{o}/{r}/deployments` creates one for a `ref` (201; the `environment`
defaults to `production`), `GET` lists them newest first, filtered by `sha`, `ref`, `task` and
`environment`; `POST .../deployments/{id}/statuses` adds a status (`error`, `failure`,
`inactive`, `in_progress`, `queued`, `pending`, `success`; `description` at most 140
characters), `GET` lists them newest first. A status with `auto_inactive` (default true) marks
the earlier deployments of the same environment that had a `success` status `inactive`, but
only for environments that are neither transient nor production. Writes need the token's
`deployments: write` permission: without it GitHub answers 403 "Resource not accessible by
integration".
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .web import Router, json_response

if TYPE_CHECKING:
    from .github import Service, Token

STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
DESCRIPTION_MAX = 140
PERMISSION = "deployments"


@dataclass
class Status:
    """One status of a deployment."""

    id: int
    state: str
    description: str
    environment: str
    environment_url: str
    log_url: str
    created_at: str


@dataclass
class Deployment:
    """One deployment of a repository."""

    id: int
    repository: str
    ref: str
    sha: str
    environment: str
    description: str
    transient: bool
    production: bool
    payload: Any
    creator: str
    created_at: str
    # As sent: the real API merges the default branch in by default (`auto_merge`, a 202
    # without a deployment) and waits for every commit status (`required_contexts`, 409).
    request: dict[str, Any] = field(default_factory=dict)
    statuses: list[Status] = field(default_factory=list)  # oldest first

    @property
    def state(self) -> str:
        """The latest status's state, or `pending` before the first."""
        return self.statuses[-1].state if self.statuses else "pending"


def _invalid(message: str) -> web.Response:
    from .github import DOCS

    return json_response({"message": message, "documentation_url": DOCS, "status": "422"}, 422)


class Deployments:
    """The deployments of every repository of one emulated GitHub."""

    def __init__(self, github: Service) -> None:
        self.github = github
        self.items: dict[int, Deployment] = {}
        self._ids = itertools.count(2_100_000_001)

    def register(self, router: Router, repo: str) -> None:
        """Add the routes below `repo` (the `/repos/{owner}/{repo}` pattern)."""
        one = repo + r"/deployments/(?P<deployment>\d+)"
        router.add("github", "POST", repo + r"/deployments", self.create)
        router.add("github", "GET", repo + r"/deployments", self.list)
        router.add("github", "GET", one, self.get)
        router.add("github", "POST", one + r"/statuses", self.create_status)
        router.add("github", "GET", one + r"/statuses", self.list_statuses)

    def of(self, repository: str, environment: str | None = None) -> list[Deployment]:
        """The deployments of `repository` (in `environment`), oldest first."""
        with self.github.lock:
            return [
                d
                for d in self.items.values()
                if d.repository == repository.lower() and environment in (None, d.environment)
            ]

    # --- wire shapes -------------------------------------------------------------------
    def _url(self, deployment: Deployment) -> str:
        api = self.github.emulator.github_api_url
        return f"{api}/repos/{deployment.repository}/deployments/{deployment.id}"

    def _json(self, deployment: Deployment) -> dict[str, Any]:
        from .github import _node_id

        url = self._url(deployment)
        return {
            "url": url,
            "id": deployment.id,
            "node_id": _node_id("DE", deployment.id),
            "sha": deployment.sha,
            "ref": deployment.ref,
            "task": "deploy",
            "payload": deployment.payload,
            "original_environment": deployment.environment,
            "environment": deployment.environment,
            "description": deployment.description,
            "creator": {"login": deployment.creator, "type": "Bot"},
            "created_at": deployment.created_at,
            "updated_at": deployment.created_at,
            "statuses_url": f"{url}/statuses",
            "repository_url": url.rsplit("/deployments/", 1)[0],
            "transient_environment": deployment.transient,
            "production_environment": deployment.production,
        }

    def _status_json(self, deployment: Deployment, status: Status) -> dict[str, Any]:
        from .github import _node_id

        url = self._url(deployment)
        return {
            "url": f"{url}/statuses/{status.id}",
            "id": status.id,
            "node_id": _node_id("DES", status.id),
            "state": status.state,
            "description": status.description,
            "environment": status.environment,
            "target_url": status.log_url,
            "log_url": status.log_url,
            "environment_url": status.environment_url,
            "created_at": status.created_at,
            "updated_at": status.created_at,
            "deployment_url": url,
            "repository_url": url.rsplit("/deployments/", 1)[0],
        }

    # --- handlers ----------------------------------------------------------------------
    def _caller(
        self, request: web.Request, owner: str, repo: str, *, write: bool
    ) -> Token | web.Response:
        return self.github._caller(request, owner, repo, write=write, permission=PERMISSION)

    async def _fields(self, request: web.Request) -> dict[str, Any] | web.Response:
        from .github import _gh_error

        try:
            data = json.loads(await request.text() or "{}")
        except json.JSONDecodeError:
            return _gh_error(400, "Problems parsing JSON")
        if not isinstance(data, dict):
            return _gh_error(400, "Problems parsing JSON")
        return data

    async def create(self, request: web.Request, owner: str, repo: str) -> web.Response:
        """`POST /repos/{owner}/{repo}/deployments` -> 201 with the deployment."""
        from .github import _now

        caller = self._caller(request, owner, repo, write=True)
        if isinstance(caller, web.Response):
            return caller
        data = await self._fields(request)
        if isinstance(data, web.Response):
            return data
        ref = data.get("ref")
        if not isinstance(ref, str) or not ref:
            return _invalid('Invalid request.\n\n"ref" wasn\'t supplied.')
        environment = str(data.get("environment") or "production")
        deployment = Deployment(
            id=next(self._ids),
            repository=f"{owner}/{repo}".lower(),
            ref=ref,
            sha=ref if len(ref) == 40 else "0" * 40,
            environment=environment,
            description=str(data.get("description") or ""),
            transient=bool(data.get("transient_environment", False)),
            production=bool(data.get("production_environment", environment == "production")),
            payload=data.get("payload", {}),
            creator=caller.login,
            created_at=_now(),
            request=data,
        )
        with self.github.lock:
            self.items[deployment.id] = deployment
        return json_response(self._json(deployment), 201)

    async def list(self, request: web.Request, owner: str, repo: str) -> web.Response:
        """`GET /repos/{owner}/{repo}/deployments`, newest first, filtered and paged."""
        caller = self._caller(request, owner, repo, write=False)
        if isinstance(caller, web.Response):
            return caller
        wanted = {k: request.query[k] for k in ("sha", "ref", "environment") if k in request.query}
        found = [
            d
            for d in reversed(self.of(f"{owner}/{repo}"))
            if all(getattr(d, key) == value for key, value in wanted.items())
        ]
        return self.github._paged(request, [self._json(d) for d in found])

    def _deployment(
        self, request: web.Request, owner: str, repo: str, deployment: str, *, write: bool
    ) -> Deployment | web.Response:
        from .github import _gh_error

        caller = self._caller(request, owner, repo, write=write)
        if isinstance(caller, web.Response):
            return caller
        found = self.items.get(int(deployment))
        if found is None or found.repository != f"{owner}/{repo}".lower():
            return _gh_error(404, "Not Found")
        return found

    async def get(
        self, request: web.Request, owner: str, repo: str, deployment: str
    ) -> web.Response:
        """`GET /repos/{owner}/{repo}/deployments/{id}`."""
        found = self._deployment(request, owner, repo, deployment, write=False)
        if isinstance(found, web.Response):
            return found
        return json_response(self._json(found))

    async def create_status(
        self, request: web.Request, owner: str, repo: str, deployment: str
    ) -> web.Response:
        """`POST .../deployments/{id}/statuses` -> 201 with the status."""
        found = self._deployment(request, owner, repo, deployment, write=True)
        if isinstance(found, web.Response):
            return found
        data = await self._fields(request)
        if isinstance(data, web.Response):
            return data
        status = self._status(found, data)
        if isinstance(status, web.Response):
            return status
        with self.github.lock:
            found.statuses.append(status)
            if status.state == "success" and data.get("auto_inactive", True):
                self._inactivate_earlier(found)
        return json_response(self._status_json(found, status), 201)

    def _status(self, deployment: Deployment, data: dict[str, Any]) -> Status | web.Response:
        from .github import _now

        state = data.get("state")
        if state not in STATES:
            return _invalid(f"state is not included in the list: {state!r}")
        description = str(data.get("description") or "")
        if len(description) > DESCRIPTION_MAX:
            return _invalid("description is too long (maximum is 140 characters)")
        environment = str(data.get("environment") or deployment.environment)
        return Status(
            id=next(self._ids),
            state=str(state),
            description=description,
            environment=environment,
            environment_url=str(data.get("environment_url") or ""),
            log_url=str(data.get("log_url") or data.get("target_url") or ""),
            created_at=_now(),
        )

    def _inactivate_earlier(self, deployment: Deployment) -> None:
        """`auto_inactive`: earlier successful deployments of a non-transient, non-production
        environment get an `inactive` status (called with the lock held)."""
        from .github import _now

        if deployment.transient or deployment.production:
            return
        for other in self.items.values():
            same = (other.repository, other.environment) == (
                deployment.repository,
                deployment.environment,
            )
            if same and other.id < deployment.id and other.state == "success":
                other.statuses.append(
                    Status(next(self._ids), "inactive", "", other.environment, "", "", _now())
                )

    async def list_statuses(
        self, request: web.Request, owner: str, repo: str, deployment: str
    ) -> web.Response:
        """`GET .../deployments/{id}/statuses`, newest first, paged."""
        found = self._deployment(request, owner, repo, deployment, write=False)
        if isinstance(found, web.Response):
            return found
        statuses = [self._status_json(found, s) for s in reversed(found.statuses)]
        return self.github._paged(request, statuses)
