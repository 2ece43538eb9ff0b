"""The registry module's own calls: deleting a preview's image tag, and the daemon behind a push.

Tag deletion: the registry's challenge, a scoped token, HEAD, DELETE by digest. Every request
goes through the one retry rule (scripted here on `requests.request`; no network), and what is
left becomes our error through `failures`.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from acr_action import registry
from acr_action.errors import AzureCallFailed, DependencyUnavailable
from acr_action.retry import Retrier

LOGIN = "myreg.azurecr.io"
DIGEST = "sha256:" + "a" * 64
CHALLENGE = f'Bearer realm="https://{LOGIN}/oauth2/token",service="{LOGIN}"'


def answer(
    status: int, headers: dict[str, str] | None = None, body: bytes = b"{}"
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = body
    return response


class Registry:
    """A scripted registry: the answers per (method, path suffix), the requests it got."""

    def __init__(self, delete: list[int]) -> None:
        self.delete = delete
        self.seen: list[tuple[str, str]] = []

    def __call__(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.seen.append((method, url))
        if url.endswith("/v2/"):
            return answer(401, {"WWW-Authenticate": CHALLENGE})
        if url.endswith("/oauth2/token"):
            assert kwargs["data"]["scope"] == "repository:app:pull,delete"
            assert kwargs["data"]["service"] == LOGIN
            return answer(200, body=b'{"access_token": "acc3ss"}')
        if method == "HEAD":
            return answer(200, {"Docker-Content-Digest": DIGEST})
        assert url.endswith(f"/manifests/{DIGEST}")
        return answer(self.delete.pop(0) if len(self.delete) > 1 else self.delete[0])


@pytest.fixture
def log() -> list[str]:
    return []


def delete(monkeypatch: pytest.MonkeyPatch, fake: Registry, log: list[str]) -> str | None:
    monkeypatch.setattr(requests, "request", fake)
    retrier = Retrier(log=log.append, sleep=lambda _: None)
    return registry.RegistryAccess(LOGIN, "r3fresh", retrier).delete_tag("app", "pr-7")


def test_the_tag_is_deleted_by_digest_through_the_retry_rule(
    monkeypatch: pytest.MonkeyPatch, log: list[str]
) -> None:
    fake = Registry(delete=[503, 202])

    assert delete(monkeypatch, fake, log) == DIGEST
    assert [m for m, _ in fake.seen] == ["GET", "POST", "HEAD", "DELETE", "DELETE"]
    assert len(log) == 1
    assert log[0].startswith("ACR (delete image tag) answered HTTP 503")


def test_a_registry_that_stays_down_is_named_with_what_to_check(
    monkeypatch: pytest.MonkeyPatch, log: list[str]
) -> None:
    with pytest.raises(DependencyUnavailable) as caught:
        delete(monkeypatch, Registry(delete=[503]), log)

    assert caught.value.dependency == "ACR (delete image tag)"
    assert "az acr check-health --name myreg" in caught.value.render()
    assert caught.value.last.startswith("HTTP 503 from https://myreg.azurecr.io/v2/app/manifests")
    assert "acc3ss" not in caught.value.render()
    assert "r3fresh" not in caught.value.render()


def test_a_refused_delete_names_the_role(monkeypatch: pytest.MonkeyPatch, log: list[str]) -> None:
    with pytest.raises(AzureCallFailed) as caught:
        delete(monkeypatch, Registry(delete=[403]), log)

    assert caught.value.code == "DeleteRefused"
    assert "AcrDelete" in caught.value.message
    assert not log


def test_the_challenge_is_parsed_once_for_every_caller() -> None:
    assert registry.parse_challenge(CHALLENGE) == {
        "realm": f"https://{LOGIN}/oauth2/token",
        "service": LOGIN,
    }


class DeadDaemon:
    """A docker client whose daemon never answers."""

    class api:  # noqa: N801 - mirrors docker.DockerClient.api
        @staticmethod
        def push(*args: Any, **kwargs: Any) -> Any:
            raise requests.ConnectionError("Connection aborted: No such file or directory")


def test_a_docker_daemon_that_stays_away_is_named_not_a_bug(log: list[str]) -> None:
    retrier = Retrier(log=log.append, sleep=lambda _: None)

    with pytest.raises(DependencyUnavailable) as caught:
        registry.push(DeadDaemon(), f"{LOGIN}/app", ["v1"], "r3fresh", log.append, retrier=retrier)

    assert caught.value.dependency == "The Docker daemon"
    assert caught.value.last == "ConnectionError"
    assert "docker info" in caught.value.render()
    assert len(log) == Retrier().backoff.attempts - 1, "each retry logged once"
    assert "r3fresh" not in caught.value.render()
