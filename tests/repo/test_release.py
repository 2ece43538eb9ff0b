"""scripts/release_action_yml.py and where the release workflow runs it.

The script's registry answers here come from a scripted opener (the e2e suite runs it against a
real Distribution registry holding the real action image: tests/e2e/test_release.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import release_action_yml as release

ROOT = Path(__file__).resolve().parents[2]
ACTION_YML = (ROOT / "action.yml").read_text(encoding="utf-8")
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text("utf-8"))
INDEX = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"digest": "sha256:" + "1" * 64, "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": "sha256:" + "2" * 64, "platform": {"os": "linux", "architecture": "arm64"}},
            # BuildKit's attestation manifests: platform unknown/unknown.
            {
                "digest": "sha256:" + "3" * 64,
                "platform": {"os": "unknown", "architecture": "unknown"},
            },
        ],
    }
).encode()
DIGEST = "sha256:" + hashlib.sha256(INDEX).hexdigest()
IMAGE = f"ghcr.io/octo-org/acr-action@{DIGEST}"


class Response(io.BytesIO):
    """What urlopen returns, enough for the script: read(), headers, a context manager."""

    def __init__(self, body: bytes, content_type: str = "application/json") -> None:
        super().__init__(body)
        self.headers = Message()
        self.headers["Content-Type"] = content_type


class Registry:
    """GHCR's answers: 401 with a Bearer challenge, a token, then the manifest by digest."""

    def __init__(self, manifests: dict[str, bytes]) -> None:
        self.manifests = manifests
        self.requests: list[urllib.request.Request] = []

    def __call__(self, request: urllib.request.Request) -> Response:
        self.requests.append(request)
        url = request.full_url
        if url.startswith("https://ghcr.io/token?"):
            return Response(json.dumps({"token": "registry-token"}).encode())
        if request.get_header("Authorization") != "Bearer registry-token":
            headers = Message()
            headers["WWW-Authenticate"] = (
                'Bearer realm="https://ghcr.io/token",service="ghcr.io",'
                'scope="repository:octo-org/acr-action:pull"'
            )
            raise urllib.error.HTTPError(url, 401, "Unauthorized", headers, io.BytesIO())
        digest = url.rsplit("/", 1)[-1]
        if digest not in self.manifests:
            raise urllib.error.HTTPError(url, 404, "Not Found", Message(), io.BytesIO())
        return Response(self.manifests[digest], "application/vnd.oci.image.index.v1+json")


def run(tmp_path: Path, *argv: str, registry: Registry, text: str = ACTION_YML) -> tuple[int, str]:
    action_yml = tmp_path / "action.yml"
    action_yml.write_text(text, encoding="utf-8")
    code = release.main([*argv, "--action-yml", str(action_yml)], env={}, opener=registry)
    return code, action_yml.read_text(encoding="utf-8")


def test_write_names_the_image_by_digest_after_the_registry_confirms_it(tmp_path: Path) -> None:
    registry = Registry({DIGEST: INDEX})

    code, written = run(
        tmp_path, "write", IMAGE, "--platform", "linux/amd64", "--platform", "linux/arm64",
        registry=registry,
    )  # fmt: skip

    assert code == 0
    assert yaml.safe_load(written)["runs"]["image"] == f"docker://{IMAGE}"
    # Everything else in action.yml is untouched.
    assert written.replace(f"docker://{IMAGE}", "Dockerfile") == ACTION_YML
    assert (
        registry.requests[-1].full_url
        == f"https://ghcr.io/v2/octo-org/acr-action/manifests/{DIGEST}"
    )


@pytest.mark.parametrize(
    ("argv", "manifests", "why"),
    [
        pytest.param(["write", IMAGE], {}, "not in the registry", id="digest-not-pushed"),
        pytest.param(
            ["write", "ghcr.io/octo-org/acr-action:v1.2.3"], {DIGEST: INDEX}, "not an image named by digest",
            id="tag-instead-of-digest",
        ),
        pytest.param(
            ["write", IMAGE, "--platform", "linux/s390x"], {DIGEST: INDEX}, "no image for linux/s390x",
            id="platform-missing",
        ),
        pytest.param(
            ["write", IMAGE.replace(DIGEST[-4:], "0000")], {IMAGE.replace(DIGEST[-4:], "0000").split("@")[1]: INDEX},
            "another digest", id="registry-answers-other-bytes",
        ),
        pytest.param(["write"], {}, "needs the image reference", id="no-reference"),
    ],
)  # fmt: skip
def test_write_refuses_and_leaves_action_yml_alone(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    manifests: dict[str, bytes],
    why: str,
) -> None:
    code, written = run(tmp_path, *argv, registry=Registry(manifests))

    assert code == 1
    assert written == ACTION_YML
    assert why in capsys.readouterr().err


def test_write_refuses_an_action_yml_that_already_names_an_image(tmp_path: Path) -> None:
    released = ACTION_YML.replace("image: Dockerfile", f"image: docker://{IMAGE}")

    code, written = run(tmp_path, "write", IMAGE, registry=Registry({DIGEST: INDEX}), text=released)

    assert code == 1
    assert written == released


@pytest.mark.parametrize(
    ("image", "manifests", "expected"),
    [
        pytest.param(f"docker://{IMAGE}", {DIGEST: INDEX}, 0, id="digest-in-registry"),
        pytest.param("Dockerfile", {DIGEST: INDEX}, 1, id="builds-instead-of-pulls"),
        pytest.param(
            "docker://ghcr.io/octo-org/acr-action:v1.2.3", {DIGEST: INDEX}, 1, id="by-tag"
        ),
        pytest.param(f"docker://{IMAGE}", {}, 1, id="digest-not-in-registry"),
    ],
)
def test_check_passes_only_a_digest_the_registry_holds(
    tmp_path: Path, image: str, manifests: dict[str, bytes], expected: int
) -> None:
    text = ACTION_YML.replace("image: Dockerfile", f"image: {image}")

    code, _ = run(tmp_path, "check", registry=Registry(manifests), text=text)

    assert code == expected


def test_credentials_go_only_to_the_token_service_and_never_on_the_command_line() -> None:
    registry = Registry({DIGEST: INDEX})

    release.verify(
        release.parse_reference(IMAGE), [], {"REGISTRY_PASSWORD": "ghs_secret"}, registry
    )

    token_requests = [
        r for r in registry.requests if r.full_url.startswith("https://ghcr.io/token")
    ]
    assert [r.get_header("Authorization", "").startswith("Basic ") for r in token_requests] == [
        True
    ]
    others = [r for r in registry.requests if r not in token_requests]
    assert all("Basic" not in str(r.get_header("Authorization")) for r in others)


def test_loopback_registries_are_plain_http_like_dockers_defaults() -> None:
    assert release.parse_reference(f"127.0.0.1:5000/a@{DIGEST}").base_url.startswith("http://")
    assert release.parse_reference(f"localhost:5000/a@{DIGEST}").base_url.startswith("http://")
    assert release.parse_reference(IMAGE).base_url.startswith("https://")


def test_the_default_branch_action_yml_builds_the_image() -> None:
    assert yaml.safe_load(ACTION_YML)["runs"]["image"] == "Dockerfile"


def steps(job: str) -> list[dict[str, Any]]:
    return list(WORKFLOW["jobs"][job]["steps"])


def test_the_release_workflow_builds_both_platforms_and_hands_on_the_index_digest() -> None:
    build = next(s for s in steps("publish") if "docker buildx build" in s.get("run", ""))
    assert "--platform linux/amd64,linux/arm64" in build["run"]
    assert "--push" in build["run"]
    assert "digest" in WORKFLOW["jobs"]["publish"]["outputs"]


def test_the_tag_is_pushed_and_the_release_published_only_after_the_checks() -> None:
    runs = [s.get("run", "") for s in steps("release")]
    write = next(i for i, r in enumerate(runs) if "release_action_yml.py write" in r)
    check = next(i for i, r in enumerate(runs) if "release_action_yml.py check" in r)
    push = next(i for i, r in enumerate(runs) if "git push" in r)
    publish = next(i for i, r in enumerate(runs) if "gh release create" in r)
    assert write < check < push < publish
    assert "publish" in WORKFLOW["jobs"]["release"]["needs"]
