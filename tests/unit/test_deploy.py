"""The pure parts of deploying to Container Instances."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from acr_action.deploy import ImageRef, check_pullable, parse_image, raise_if_stuck
from acr_action.errors import DependencyUnavailable, ImagePullRefused
from acr_action.retry import Retrier
from acr_action.spec import GroupSpec, RegistryCredential

DIGEST = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("image", "expected", "api_host"),
    [
        pytest.param(
            f"myreg.azurecr.io/team/app@{DIGEST}",
            ImageRef("myreg.azurecr.io", "team/app", DIGEST),
            "myreg.azurecr.io",
            id="acr-by-digest",
        ),
        pytest.param(
            "myreg.azurecr.io:443/app:1.2",
            ImageRef("myreg.azurecr.io:443", "app", "1.2"),
            "myreg.azurecr.io:443",
            id="host-with-port-and-tag",
        ),
        pytest.param(
            "nginx",
            ImageRef("index.docker.io", "library/nginx", "latest"),
            "registry-1.docker.io",
            id="docker-hub-official-untagged",
        ),
        pytest.param(
            "bitnami/redis:7",
            ImageRef("index.docker.io", "bitnami/redis", "7"),
            "registry-1.docker.io",
            id="docker-hub-user-repository",
        ),
        pytest.param(
            "localhost/app:dev",
            ImageRef("localhost", "app", "dev"),
            "localhost",
            id="localhost",
        ),
    ],
)
def test_parse_image(image: str, expected: ImageRef, api_host: str) -> None:
    assert parse_image(image) == expected
    assert parse_image(image).api_host == api_host


def _group(state: str, events: list[dict[str, str]]) -> Any:
    from azure.mgmt.containerinstance.models import ContainerGroup

    body = {
        "name": "app",
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "provisioningState": "Creating",
            "containers": [
                {
                    "name": "app",
                    "properties": {
                        "image": "myreg.azurecr.io/app:1",
                        "resources": {"requests": {"cpu": 1, "memoryInGB": 1}},
                        "instanceView": {
                            "restartCount": 0,
                            "currentState": {"state": state, "detailStatus": ""},
                            "events": [{"count": 1, **e} for e in events],
                        },
                    },
                }
            ],
        },
    }
    return ContainerGroup.deserialize(body)


PULL_FAILED = {
    "name": "Failed",
    "type": "Warning",
    "message": 'Failed to pull image "myreg.azurecr.io/app:1": manifest unknown',
}
BACK_OFF = {"name": "BackOff", "type": "Warning", "message": 'Back-off pulling image "x"'}
PULLING = {"name": "Pulling", "type": "Normal", "message": 'pulling image "x"'}
CRASH_LOOP = {
    "name": "BackOff",
    "type": "Warning",
    "message": "Back-off restarting failed container",
}


def test_a_container_waiting_on_a_failing_pull_fails_fast_with_the_events() -> None:
    with pytest.raises(ImagePullRefused) as caught:
        raise_if_stuck(_group("Waiting", [PULLING, PULL_FAILED, BACK_OFF]))

    assert caught.value.image == "myreg.azurecr.io/app:1"
    assert "manifest unknown" in caught.value.detail
    assert "Back-off pulling image" in caught.value.detail


@pytest.mark.parametrize(
    ("state", "events"),
    [
        pytest.param("Waiting", [PULLING], id="still-pulling"),
        pytest.param("Waiting", [CRASH_LOOP], id="crash-loop-is-not-a-pull"),
        pytest.param("Running", [PULL_FAILED, BACK_OFF], id="running-after-a-retry"),
    ],
)
def test_other_waits_are_not_pull_failures(state: str, events: list[dict[str, str]]) -> None:
    raise_if_stuck(_group(state, events))


# -- the pull check before a delete ------------------------------------------------------------

SPEC = GroupSpec(
    name="app",
    location="westeurope",
    image_ref=f"myreg.azurecr.io/app@{DIGEST}",
    cpu=1.0,
    memory=1.5,
    ports=(80,),
    registry_credentials=(RegistryCredential("myreg.azurecr.io", "puller", "pull-secret-0042"),),
)
CHALLENGE = {
    "WWW-Authenticate": 'Bearer realm="https://myreg.azurecr.io/oauth2/token",'
    'service="myreg.azurecr.io"'
}


def _answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = json.dumps(body).encode() if body is not None else b""
    return response


class Registry:
    """A scripted registry: answers in order, remembers what was asked."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, method: str, url: str, **kwargs: Any) -> Any:
        self.asked.append((method, url, kwargs))
        return self.answers.pop(0)


def test_pull_check_answers_the_challenge_with_the_group_login(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = Registry(
        _answer(401, headers=CHALLENGE),
        _answer(200, {"access_token": "acr-access"}),
        _answer(200),
    )
    monkeypatch.setattr(requests, "request", registry)

    check_pullable(SPEC)

    (m1, u1, _), (m2, u2, k2), (m3, u3, k3) = registry.asked
    assert (m1, u1) == ("HEAD", f"https://myreg.azurecr.io/v2/app/manifests/{DIGEST}")
    assert (m2, u2) == ("GET", "https://myreg.azurecr.io/oauth2/token")
    assert k2["params"] == {"scope": "repository:app:pull", "service": "myreg.azurecr.io"}
    assert k2["auth"] == ("puller", "pull-secret-0042")
    assert (m3, u3, k3["headers"]["Authorization"]) == ("HEAD", u1, "Bearer acr-access")
    assert "application/vnd.oci.image.index.v1+json" in k3["headers"]["Accept"]


def test_pull_check_refusal_names_the_login_and_keeps_the_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    denied = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
    monkeypatch.setattr(
        requests, "request", Registry(_answer(401, headers=CHALLENGE), _answer(401, denied))
    )

    with pytest.raises(ImagePullRefused) as caught:
        check_pullable(SPEC)

    text = caught.value.render()
    assert "as puller answered HTTP 401 (UNAUTHORIZED)" in text
    assert "the existing group was left as it is" in text
    assert "pull-secret-0042" not in text


def test_pull_check_gives_up_on_a_registry_that_keeps_failing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(requests, "request", Registry(*[_answer(503)] * 10))

    with pytest.raises(DependencyUnavailable) as caught:
        check_pullable(SPEC, retrier=Retrier(sleep=lambda _: None))

    assert caught.value.dependency == "the registry myreg.azurecr.io"
