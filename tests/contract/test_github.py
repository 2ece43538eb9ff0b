"""Contract tests of the GitHub REST subset used by pull-request previews (docs.github.com/rest)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from localazure.server import Emulator

pytestmark = pytest.mark.emulator


@pytest.fixture
def repo(azure_http: Emulator) -> dict[str, Any]:
    """A fresh repository with a write token, a read-only token and PR #7."""
    name = f"octo-org/preview-{uuid.uuid4().hex[:8]}"
    github = azure_http.services["github"]
    github.add_token(f"ghs_{name}", name)
    github.add_token(f"ghs_ro_{name}", name, write=False)
    github.add_pull(name, 7, head_sha="c0ffee" + "0" * 34)
    return {"name": name, "token": f"ghs_{name}", "read_only": f"ghs_ro_{name}"}


def call(
    azure: Emulator, method: str, path: str, token: str | None, scheme: str = "Bearer", **kw: Any
) -> requests.Response:
    headers = {"Authorization": f"{scheme} {token}"} if token else {}
    return requests.request(
        method,
        azure.github_api_url + path,
        headers=headers,
        verify=str(azure.ca_path),
        timeout=30,
        **kw,
    )


@pytest.mark.parametrize(
    "scheme", [pytest.param("Bearer", id="bearer"), pytest.param("token", id="token")]
)
def test_pull_request(azure_http: Emulator, repo: dict[str, Any], scheme: str) -> None:
    response = call(azure_http, "GET", f"/repos/{repo['name']}/pulls/7", repo["token"], scheme)

    assert response.status_code == 200
    pull = response.json()
    assert (pull["number"], pull["state"], pull["merged"]) == (7, "open", False)
    assert pull["head"]["sha"] == "c0ffee" + "0" * 34
    assert pull["head"]["repo"]["fork"] is False


def test_closed_merged_fork_pull(azure_http: Emulator, repo: dict[str, Any]) -> None:
    azure_http.services["github"].add_pull(repo["name"], 8, state="closed", merged=True, fork=True)

    pull = call(azure_http, "GET", f"/repos/{repo['name']}/pulls/8", repo["token"]).json()

    assert (pull["state"], pull["merged"], pull["head"]["repo"]["fork"]) == ("closed", True, True)


def test_comment_lifecycle(azure_http: Emulator, repo: dict[str, Any]) -> None:
    base = f"/repos/{repo['name']}/issues"
    created = call(
        azure_http, "POST", f"{base}/7/comments", repo["token"], json={"body": "Preview: x"}
    )
    assert created.status_code == 201
    comment = created.json()
    assert {"id", "node_id", "body", "user", "created_at", "updated_at", "html_url"} <= set(comment)
    assert comment["user"]["login"] == "github-actions[bot]"

    edited = call(
        azure_http, "PATCH", f"{base}/comments/{comment['id']}", repo["token"], json={"body": "y"}
    )
    assert (edited.status_code, edited.json()["body"]) == (200, "y")

    deleted = call(azure_http, "DELETE", f"{base}/comments/{comment['id']}", repo["token"])
    assert deleted.status_code == 204
    assert call(azure_http, "GET", f"{base}/7/comments", repo["token"]).json() == []


def test_comments_are_paged_with_link_headers(azure_http: Emulator, repo: dict[str, Any]) -> None:
    path = f"/repos/{repo['name']}/issues/7/comments"
    for n in range(5):
        call(azure_http, "POST", path, repo["token"], json={"body": f"c{n}"})

    first = call(azure_http, "GET", path, repo["token"], params={"per_page": 2})
    last = call(azure_http, "GET", path, repo["token"], params={"per_page": 2, "page": 3})

    assert [c["body"] for c in first.json()] == ["c0", "c1"]
    assert first.links["next"]["url"].endswith("per_page=2&page=2")
    assert first.links["last"]["url"].endswith("per_page=2&page=3")
    assert [c["body"] for c in last.json()] == ["c4"]
    assert "next" not in last.links
    assert "prev" in last.links


@pytest.mark.parametrize(
    ("token_key", "method", "status", "message"),
    [
        pytest.param(None, "GET", 401, "Bad credentials", id="no-token"),
        pytest.param("bogus", "GET", 401, "Bad credentials", id="unknown-token"),
        pytest.param(
            "read_only", "POST", 403, "Resource not accessible by integration", id="read-only"
        ),
    ],
)
def test_refusals(
    azure_http: Emulator,
    repo: dict[str, Any],
    token_key: str | None,
    method: str,
    status: int,
    message: str,
) -> None:
    token = repo.get(token_key, token_key) if token_key else None
    response = call(
        azure_http, method, f"/repos/{repo['name']}/issues/7/comments", token, json={"body": "x"}
    )

    assert response.status_code == status
    assert response.json()["message"] == message


def test_unknown_pull_and_other_repository(azure_http: Emulator, repo: dict[str, Any]) -> None:
    missing = call(azure_http, "GET", f"/repos/{repo['name']}/pulls/999", repo["token"])
    foreign = call(azure_http, "GET", "/repos/octo-org/other/pulls/7", repo["token"])

    assert (missing.status_code, missing.json()["message"]) == (404, "Not Found")
    assert foreign.status_code == 403


# --- deployments (docs.github.com/rest/deployments/deployments, .../statuses) -----------------


def deploy(azure: Emulator, repo: dict[str, Any], environment: str, **fields: Any) -> int:
    created = call(
        azure,
        "POST",
        f"/repos/{repo['name']}/deployments",
        repo["token"],
        json={"ref": "c0ffee" + "0" * 34, "environment": environment, **fields},
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def status(azure: Emulator, repo: dict[str, Any], deployment: int, **fields: Any) -> Any:
    return call(
        azure,
        "POST",
        f"/repos/{repo['name']}/deployments/{deployment}/statuses",
        repo["token"],
        json=fields,
    )


def statuses(azure: Emulator, repo: dict[str, Any], deployment: int) -> list[str]:
    path = f"/repos/{repo['name']}/deployments/{deployment}/statuses"
    return [s["state"] for s in call(azure, "GET", path, repo["token"]).json()]


def test_a_deployment_and_its_statuses_newest_first(azure_http: Emulator, repo: dict) -> None:
    first = deploy(azure_http, repo, "pr-7", transient_environment=True)
    assert status(azure_http, repo, first, state="in_progress").status_code == 201
    answer = status(azure_http, repo, first, state="success", environment_url="http://x.test")

    assert answer.status_code == 201
    assert answer.json()["environment_url"] == "http://x.test"
    assert statuses(azure_http, repo, first) == ["success", "in_progress"]
    listed = call(
        azure_http,
        "GET",
        f"/repos/{repo['name']}/deployments",
        repo["token"],
        params={"environment": "pr-7"},
    ).json()
    assert [d["id"] for d in listed] == [first]
    assert listed[0]["transient_environment"] is True
    assert listed[0]["production_environment"] is False


def test_auto_inactive_spares_transient_and_production_environments(
    azure_http: Emulator, repo: dict
) -> None:
    kinds = {"qa": {}, "pr-8": {"transient_environment": True}, "production": {}}
    for environment, fields in kinds.items():
        older = deploy(azure_http, repo, environment, **fields)
        status(azure_http, repo, older, state="success")
        newer = deploy(azure_http, repo, environment, **fields)
        status(azure_http, repo, newer, state="success")
        expected = ["inactive", "success"] if environment == "qa" else ["success"]
        assert statuses(azure_http, repo, older) == expected, environment


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"state": "deployed"}, 422), ({"state": "success", "description": "x" * 141}, 422)],
)
def test_a_status_is_validated(azure_http: Emulator, repo: dict, fields: dict, code: int) -> None:
    deployment = deploy(azure_http, repo, "pr-7")
    assert status(azure_http, repo, deployment, **fields).status_code == code


def test_deployments_need_the_deployments_permission(azure_http: Emulator, repo: dict) -> None:
    token = f"ghs_nodeploy_{repo['name']}"
    azure_http.services["github"].add_token(token, repo["name"], without=("deployments",))
    path = f"/repos/{repo['name']}/deployments"

    refused = call(azure_http, "POST", path, token, json={"ref": "main", "environment": "pr-7"})
    comment = call(
        azure_http, "POST", f"/repos/{repo['name']}/issues/7/comments", token, json={"body": "x"}
    )

    assert refused.status_code == 403
    assert refused.json()["message"] == "Resource not accessible by integration"
    assert comment.status_code == 201
    assert call(azure_http, "GET", path, token).status_code == 200
