"""The GitHub REST subset that pull-request previews use: pull requests, comments, deployments.

Served at `emulator.github_api_url` (the action reads it from `GITHUB_API_URL`): get a pull request,
list pull requests (`state`, paged), list/create/get/edit/delete issue comments, and deployments
with their statuses (`github_deployments.py`). A test registers
the job's token and the pull requests:

    gh = azure.services["github"]
    gh.add_token("ghs_test", "octo-org/iris-api")
    gh.add_pull("octo-org/iris-api", 7, head_sha="abc123")

Answers follow docs.github.com/rest: `Authorization: Bearer|token <t>`, 401 "Bad credentials",
403 "Resource not accessible by integration" for a token of another repository or a read-only one
(a fork's `GITHUB_TOKEN`), 404 "Not Found", `per_page`/`page` pagination with a `Link` header.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from aiohttp import web

from .github_deployments import Deployments
from .service import ServiceBase
from .state import GITHUB_API_HOST
from .web import Router, json_response

if TYPE_CHECKING:
    from .server import Emulator

DOCS = "https://docs.github.com/rest"
BOT_LOGIN, BOT_ID = "github-actions[bot]", 41898282  # the user GITHUB_TOKEN writes as


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(kind: str, number: int) -> str:
    return kind + "_" + base64.urlsafe_b64encode(f"{kind}{number}".encode()).decode().rstrip("=")


def _gh_error(status: int, message: str) -> web.Response:
    return json_response(
        {"message": message, "documentation_url": DOCS, "status": str(status)}, status
    )


@dataclass
class Token:
    """A job token: the repository it belongs to, whether it can write, who it writes as."""

    repository: str
    write: bool = True
    login: str = BOT_LOGIN
    user_id: int = BOT_ID
    # The `permissions:` the job did not grant (write refused: 403), e.g. {"deployments"}.
    without: frozenset[str] = frozenset()


@dataclass
class Pull:
    """A pull request of a repository."""

    number: int
    state: str = "open"
    merged: bool = False
    head_sha: str = "0" * 40
    head_ref: str = "feature"
    base_ref: str = "main"
    fork: bool = False
    title: str = "A change"
    labels: list[str] = field(default_factory=list)
    id: int = 0
    created_at: str = field(default_factory=_now)


@dataclass
class Comment:
    """An issue comment."""

    id: int
    repository: str
    number: int
    body: str
    login: str
    user_id: int
    created_at: str = field(default_factory=_now)
    updated_at: str = ""


class Service(ServiceBase):
    """The GitHub REST subset of one emulator."""

    HOSTS: ClassVar[dict[str, str]] = {"github": re.escape(GITHUB_API_HOST)}

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.lock = threading.Lock()
        self.tokens: dict[str, Token] = {}
        self.pulls: dict[tuple[str, int], Pull] = {}
        self.issue_comments: dict[int, Comment] = {}
        self._ids = itertools.count(1_900_000_001)
        self.deployments = Deployments(self)

    def register(self, router: Router) -> None:
        """Add the REST routes."""
        repo = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        self.deployments.register(router, repo)
        router.add("github", "GET", repo + r"/pulls/(?P<number>\d+)", self.get_pull)
        router.add("github", "GET", repo + r"/pulls", self.list_pulls)
        router.add("github", "GET", repo + r"/issues/(?P<number>\d+)/comments", self.list_comments)
        router.add(
            "github", "POST", repo + r"/issues/(?P<number>\d+)/comments", self.create_comment
        )
        router.add("github", "GET", repo + r"/issues/comments/(?P<comment>\d+)", self.get_comment)
        router.add(
            "github", "PATCH", repo + r"/issues/comments/(?P<comment>\d+)", self.update_comment
        )
        router.add(
            "github", "DELETE", repo + r"/issues/comments/(?P<comment>\d+)", self.delete_comment
        )

    # --- hooks for tests -------------------------------------------------------------------
    def add_token(
        self,
        token: str,
        repository: str,
        *,
        write: bool = True,
        login: str | None = None,
        without: tuple[str, ...] = (),
    ) -> None:
        """Accept `token` for `repository` (read-only with `write=False`, like a fork's token;
        `without`: permissions the job did not grant, such as `deployments`)."""
        self.tokens[token] = Token(
            repository.lower(), write, login or BOT_LOGIN, without=frozenset(without)
        )

    def add_pull(
        self,
        repository: str,
        number: int,
        state: str = "open",
        merged: bool = False,
        head_sha: str | None = None,
        fork: bool = False,
        **fields: Any,
    ) -> Pull:
        """Create or replace a pull request (extra fields: head_ref, base_ref, title, labels)."""
        pull = Pull(number, state, merged, head_sha or f"{number:040x}", fork=fork, **fields)
        pull.id = next(self._ids)
        with self.lock:
            self.pulls[(repository.lower(), number)] = pull
        return pull

    def comments(self, repository: str, number: int) -> list[Comment]:
        """The comments of an issue or pull request, oldest first."""
        with self.lock:
            return [
                c
                for c in self.issue_comments.values()
                if c.repository == repository.lower() and c.number == number
            ]

    # --- request helpers -------------------------------------------------------------------
    def _caller(
        self,
        request: web.Request,
        owner: str,
        repo: str,
        *,
        write: bool,
        permission: str = "pull-requests",
    ) -> Token | web.Response:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = self.tokens.get(value.strip()) if scheme.lower() in ("bearer", "token") else None
        if token is None:
            return _gh_error(401, "Bad credentials")
        granted = token.write and permission not in token.without
        if token.repository != f"{owner}/{repo}".lower() or (write and not granted):
            return _gh_error(403, "Resource not accessible by integration")
        return token

    def _labels_json(self, repository: str, pull: Pull) -> list[dict[str, Any]]:
        """A pull request's labels as GitHub lists them (`id`, `name`, `color`, ...)."""
        api = f"{self.emulator.github_api_url}/repos/{repository}"
        return [
            {
                "id": 4_000_000 + index,
                "name": name,
                "url": f"{api}/labels/{name}",
                "color": "0e8a16",
                "default": False,
                "description": None,
            }
            for index, name in enumerate(pull.labels)
        ]

    def _comment_json(self, comment: Comment) -> dict[str, Any]:
        api = f"{self.emulator.github_api_url}/repos/{comment.repository}"
        return {
            "url": f"{api}/issues/comments/{comment.id}",
            "html_url": f"https://github.com/{comment.repository}/pull/{comment.number}#issuecomment-{comment.id}",
            "issue_url": f"{api}/issues/{comment.number}",
            "id": comment.id,
            "node_id": _node_id("IC", comment.id),
            "user": {"login": comment.login, "id": comment.user_id, "type": "Bot"},
            "created_at": comment.created_at,
            "updated_at": comment.updated_at or comment.created_at,
            "author_association": "NONE",
            "body": comment.body,
        }

    async def _body(self, request: web.Request) -> str | web.Response:
        try:
            data = json.loads(await request.text() or "{}")
        except json.JSONDecodeError:
            return _gh_error(400, "Problems parsing JSON")
        if not isinstance(data, dict) or not isinstance(data.get("body"), str):
            return json_response(
                {
                    "message": 'Invalid request.\n\n"body" wasn\'t supplied.',
                    "documentation_url": DOCS,
                    "status": "422",
                },
                422,
            )
        return data["body"]

    # --- handlers --------------------------------------------------------------------------
    async def get_pull(
        self, request: web.Request, owner: str, repo: str, number: str
    ) -> web.Response:
        """`GET /repos/{owner}/{repo}/pulls/{n}`."""
        caller = self._caller(request, owner, repo, write=False)
        if isinstance(caller, web.Response):
            return caller
        full = f"{owner}/{repo}"
        pull = self.pulls.get((full.lower(), int(number)))
        if pull is None:
            return _gh_error(404, "Not Found")
        head_owner = f"{owner}-fork-user" if pull.fork else owner
        head_repo = f"{head_owner}/{repo}"
        return json_response(
            {
                "url": f"{self.emulator.github_api_url}/repos/{full}/pulls/{pull.number}",
                "id": pull.id,
                "node_id": _node_id("PR", pull.id),
                "html_url": f"https://github.com/{full}/pull/{pull.number}",
                "number": pull.number,
                "state": pull.state,
                "locked": False,
                "title": pull.title,
                "user": {"login": "octocat", "id": 583231, "type": "User"},
                "created_at": pull.created_at,
                "updated_at": pull.created_at,
                "closed_at": None if pull.state == "open" else pull.created_at,
                "merged_at": pull.created_at if pull.merged else None,
                "draft": False,
                "labels": self._labels_json(full, pull),
                "merged": pull.merged,
                "head": {
                    "label": f"{head_owner}:{pull.head_ref}",
                    "ref": pull.head_ref,
                    "sha": pull.head_sha,
                    "repo": {
                        "full_name": head_repo,
                        "name": repo,
                        "fork": pull.fork,
                        "owner": {"login": head_owner},
                    },
                },
                "base": {
                    "label": f"{owner}:{pull.base_ref}",
                    "ref": pull.base_ref,
                    "repo": {
                        "full_name": full,
                        "name": repo,
                        "fork": False,
                        "owner": {"login": owner},
                    },
                },
            }
        )

    async def list_pulls(self, request: web.Request, owner: str, repo: str) -> web.Response:
        """`GET /repos/{owner}/{repo}/pulls?state=open|closed|all`, paged like the comments.

        Items carry `number`, `state`, `merged_at` and `head.sha` (the list omits `merged`).
        """
        caller = self._caller(request, owner, repo, write=False)
        if isinstance(caller, web.Response):
            return caller
        wanted = request.query.get("state", "open")
        with self.lock:
            pulls = sorted(
                (
                    p
                    for (full, _), p in self.pulls.items()
                    if full == f"{owner}/{repo}".lower() and wanted in ("all", p.state)
                ),
                key=lambda p: -p.number,  # GitHub's default: newest first
            )
        items = [
            {
                "number": p.number,
                "state": p.state,
                "merged_at": p.created_at if p.merged else None,
                "labels": self._labels_json(f"{owner}/{repo}", p),
                "head": {"sha": p.head_sha, "ref": p.head_ref},
            }
            for p in pulls
        ]
        return self._paged(request, items)

    def _paged(self, request: web.Request, everything: list[Any]) -> web.Response:
        try:
            per_page = max(1, min(int(request.query.get("per_page", 30)), 100))
            page = max(1, int(request.query.get("page", 1)))
        except ValueError:
            per_page, page = 30, 1
        chunk = everything[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(everything) // per_page))
        links = []
        base = f"{self.emulator.github_api_url}{request.path}"
        extra = {k: v for k, v in request.query.items() if k not in ("per_page", "page")}

        def link(target: int, rel: str) -> str:
            query = urlencode({**extra, "per_page": per_page, "page": target})
            return f'<{base}?{query}>; rel="{rel}"'

        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links.append(link(1, "first"))
        headers = {"Link": ", ".join(links)} if links else {}
        return json_response(chunk, 200, headers)

    async def list_comments(
        self, request: web.Request, owner: str, repo: str, number: str
    ) -> web.Response:
        """`GET /repos/{owner}/{repo}/issues/{n}/comments`, paged (`per_page` <= 100, `page`)."""
        caller = self._caller(request, owner, repo, write=False)
        if isinstance(caller, web.Response):
            return caller
        if (f"{owner}/{repo}".lower(), int(number)) not in self.pulls:
            return _gh_error(404, "Not Found")
        comments = self.comments(f"{owner}/{repo}", int(number))
        return self._paged(request, [self._comment_json(c) for c in comments])

    async def create_comment(
        self, request: web.Request, owner: str, repo: str, number: str
    ) -> web.Response:
        """`POST /repos/{owner}/{repo}/issues/{n}/comments` -> 201 with the comment."""
        caller = self._caller(request, owner, repo, write=True)
        if isinstance(caller, web.Response):
            return caller
        full = f"{owner}/{repo}".lower()
        if (full, int(number)) not in self.pulls:
            return _gh_error(404, "Not Found")
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        comment = Comment(next(self._ids), full, int(number), body, caller.login, caller.user_id)
        with self.lock:
            self.issue_comments[comment.id] = comment
        data = self._comment_json(comment)
        return json_response(data, 201, {"Location": data["url"]})

    def _comment(
        self, request: web.Request, owner: str, repo: str, comment: str, *, write: bool
    ) -> Comment | web.Response:
        """The caller-visible comment `comment` of `owner/repo`, or GitHub's refusal or 404."""
        caller = self._caller(request, owner, repo, write=write)
        if isinstance(caller, web.Response):
            return caller
        found = self.issue_comments.get(int(comment))
        if found is None or found.repository != f"{owner}/{repo}".lower():
            return _gh_error(404, "Not Found")
        return found

    async def get_comment(
        self, request: web.Request, owner: str, repo: str, comment: str
    ) -> web.Response:
        """`GET /repos/{owner}/{repo}/issues/comments/{id}`."""
        found = self._comment(request, owner, repo, comment, write=False)
        if isinstance(found, web.Response):
            return found
        return json_response(self._comment_json(found))

    async def update_comment(
        self, request: web.Request, owner: str, repo: str, comment: str
    ) -> web.Response:
        """`PATCH /repos/{owner}/{repo}/issues/comments/{id}` with a new body."""
        found = self._comment(request, owner, repo, comment, write=True)
        if isinstance(found, web.Response):
            return found
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        with self.lock:
            found.body = body
            found.updated_at = _now()
        return json_response(self._comment_json(found))

    async def delete_comment(
        self, request: web.Request, owner: str, repo: str, comment: str
    ) -> web.Response:
        """`DELETE /repos/{owner}/{repo}/issues/comments/{id}` -> 204."""
        found = self._comment(request, owner, repo, comment, write=True)
        if isinstance(found, web.Response):
            return found
        with self.lock:
            del self.issue_comments[found.id]
        return web.Response(status=204)
