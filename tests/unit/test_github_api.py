"""GitHub REST calls go through the one retry rule, and what is left becomes our error."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from acr_action.errors import DependencyUnavailable, GitHubCallFailed
from acr_action.github_api import GitHub
from acr_action.retry import Retrier


class Script(BaseAdapter):
    """Answers each request from a script: a status, or an exception to raise."""

    def __init__(self, *script: int | BaseException, body: bytes = b"{}") -> None:
        super().__init__()
        self.script = list(script)
        self.body = body
        self.sent = 0

    def send(self, request: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]  # only what the session passes
        self.sent += 1
        outcome = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(outcome, BaseException):
            raise outcome
        answer = requests.Response()
        answer.status_code = outcome
        answer._content = self.body
        answer.request = request
        answer.url = request.url
        return answer

    def close(self) -> None:
        pass


def client(script: Script, log: list[str]) -> GitHub:
    retrier = Retrier(log=log.append, sleep=lambda _: None)
    gh = GitHub("https://api.github.test", "t0ken", "octo-org/app", retrier=retrier)
    gh._session.mount("https://", script)
    return gh


def test_a_transient_answer_is_retried_and_logged() -> None:
    log: list[str] = []
    script = Script(503, 200, body=b'{"number": 7, "state": "open", "merged": false}')

    state = client(script, log).pull(7)

    assert state.open
    assert script.sent == 2
    assert len(log) == 1
    assert log[0].startswith("GitHub REST API answered HTTP 503; retrying in")


@pytest.mark.parametrize(
    ("outcome", "last"),
    [
        pytest.param(503, "HTTP 503", id="503"),
        pytest.param(requests.ConnectionError("reset"), "ConnectionError", id="dropped"),
    ],
)
def test_a_persistent_failure_names_github_after_the_retries(
    outcome: int | BaseException, last: str
) -> None:
    log: list[str] = []
    script = Script(outcome)

    with pytest.raises(DependencyUnavailable) as caught:
        client(script, log).pull(7)

    assert script.sent == Retrier().backoff.attempts
    assert caught.value.dependency == "GitHub REST API"
    assert caught.value.last == f"{last} from GET pull request #7"
    assert "githubstatus.com" in caught.value.render()
    assert "t0ken" not in caught.value.render()


def test_a_refusal_is_not_retried_and_says_what_to_grant() -> None:
    log: list[str] = []
    script = Script(403, body=b'{"message": "Resource not accessible by integration"}')

    with pytest.raises(GitHubCallFailed) as caught:
        client(script, log).create_comment(7, "hello")

    assert script.sent == 1
    assert not log
    assert caught.value.status == 403
    assert caught.value.message == "Resource not accessible by integration"
    assert "pull-requests: write" in caught.value.render()


def test_deleting_a_comment_that_is_gone_is_fine() -> None:
    client(Script(404), []).delete_comment(42)
