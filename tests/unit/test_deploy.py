"""The pure parts of deploying to Container Instances."""

from __future__ import annotations

from typing import Any

import pytest

from acr_action.deploy import ImageRef, parse_image, raise_if_stuck
from acr_action.errors import ImagePullRefused

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
