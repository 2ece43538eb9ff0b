"""The pure parts of deploying to Container Instances."""

from __future__ import annotations

import pytest

from acr_action.deploy import ImageRef, parse_image

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
