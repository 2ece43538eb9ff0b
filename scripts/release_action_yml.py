#!/usr/bin/env python3
"""Point a release's action.yml at the published action image, by digest, after checking it exists.

The runner builds `image: Dockerfile` in a "Build OWNER/REPO@REF" step of every job, and pulls
`image: docker://...` instead (actions/runner `src/Runner.Worker/ActionManager.cs`,
`PrepareRepositoryActionAsync`). The release workflow (.github/workflows/release.yml) pushes the
image, then runs this on the release commit's action.yml; the default branch keeps
`image: Dockerfile`.

    release_action_yml.py write ghcr.io/OWNER/REPO@sha256:HEX [--platform linux/amd64 ...]
    release_action_yml.py check [--platform linux/amd64 ...]

`write` replaces `image: Dockerfile` with `image: docker://REF`; `check` reads the `image:` that
action.yml names. Both first ask the registry for the manifest by digest and refuse (exit 1,
action.yml untouched) when the reference has no digest, the registry does not hold it, or it
lacks a platform asked for. Only the standard library: it runs on the runner's own python3.

Registry credentials, when the package is not public: REGISTRY_USERNAME and REGISTRY_PASSWORD in
the environment (never on the command line), sent only to the token service the registry names.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# `name@sha256:<64 hex>`; the name may carry a registry host with a port.
REFERENCE = re.compile(
    r"^(?P<host>[^/@]+)/(?P<repository>[a-z0-9._/-]+)@(?P<digest>sha256:[0-9a-f]{64})$"
)
# The one `image:` line under `runs:` (action.yml has no other key of that name).
IMAGE_LINE = re.compile(r"^(?P<indent>[ \t]+)image:[ \t]*(?P<value>\S.*?)[ \t]*$", re.MULTILINE)
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
TIMEOUT_SECONDS = 30


class RefusedError(Exception):
    """The release must not name this image: what is wrong, in words a maintainer can act on."""


@dataclass(frozen=True)
class ImageRef:
    """An image named by digest."""

    host: str
    repository: str
    digest: str

    def __str__(self) -> str:
        """The reference as action.yml names it after `docker://`."""
        return f"{self.host}/{self.repository}@{self.digest}"

    @property
    def base_url(self) -> str:
        """The registry's API root: plain http only for loopback, as Docker treats 127.0.0.0/8
        and ::1 as insecure registries by default (Engine API, RegistryServiceConfig)."""
        hostname = urllib.parse.urlsplit(f"//{self.host}").hostname or ""
        loopback = hostname == "localhost" or hostname.startswith("127.") or hostname == "::1"
        return f"{'http' if loopback else 'https'}://{self.host}/v2/{self.repository}"


def parse_reference(text: str) -> ImageRef:
    """`host/repository@sha256:...`, or RefusedError: a tag can be moved, a digest cannot."""
    text = text.removeprefix("docker://")
    match = REFERENCE.match(text)
    if not match:
        raise RefusedError(
            f"{text!r} is not an image named by digest (HOST/REPOSITORY@sha256:<64 hex>); a "
            "release's action.yml must name the image by digest so that a commit pin covers it"
        )
    return ImageRef(match["host"], match["repository"], match["digest"])


Opener = Callable[[urllib.request.Request], Any]


def _request(url: str, headers: Mapping[str, str] | None = None) -> urllib.request.Request:
    """A request to an http(s) URL only: the token realm comes from the registry's answer."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise RefusedError(f"the registry sent a URL that is not http(s): {url}")
    return urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 - checked above


def _open(request: urllib.request.Request) -> Any:
    return urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)  # noqa: S310 - see _request


def _bearer_token(challenge: str, env: Mapping[str, str], opener: Opener) -> str:
    """The token a `WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge asks for
    (Distribution's token authentication specification), with Basic credentials if given."""
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    if not challenge.lower().startswith("bearer ") or "realm" not in params:
        raise RefusedError(
            f"the registry asks for an authentication it does not describe: {challenge}"
        )
    query = urllib.parse.urlencode({k: v for k, v in params.items() if k in ("service", "scope")})
    request = _request(f"{params['realm']}?{query}")
    user, password = env.get("REGISTRY_USERNAME", ""), env.get("REGISTRY_PASSWORD", "")
    if password:
        basic = base64.b64encode(f"{user or 'token'}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {basic}")
    with opener(request) as response:
        answer = json.loads(response.read())
    return str(answer.get("token") or answer.get("access_token") or "")


def _get(
    url: str, accept: Sequence[str], env: Mapping[str, str], opener: Opener
) -> tuple[bytes, str]:
    """GET with the registry's token flow: the body and its Content-Type."""
    headers = {"Accept": ", ".join(accept)}
    for attempt in range(2):
        try:
            with opener(_request(url, headers)) as response:
                return response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            if exc.code == 401 and attempt == 0:
                token = _bearer_token(exc.headers.get("WWW-Authenticate", ""), env, opener)
                headers["Authorization"] = f"Bearer {token}"
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def platforms(ref: ImageRef, env: Mapping[str, str], opener: Opener = _open) -> set[str]:
    """The platforms (`os/architecture`) of the image the registry holds under `ref`'s digest."""
    try:
        body, content_type = _get(
            f"{ref.base_url}/manifests/{ref.digest}", INDEX_TYPES + MANIFEST_TYPES, env, opener
        )
    except urllib.error.HTTPError as exc:
        raise RefusedError(
            f"{ref} is not in the registry (HTTP {exc.code} for its manifest): push the image "
            "first; a release that names an image nobody can pull fails every job at "
            '"Pull down action image"'
        ) from exc
    except OSError as exc:
        raise RefusedError(f"the registry of {ref} did not answer: {exc}") from exc
    if "sha256:" + hashlib.sha256(body).hexdigest() != ref.digest:
        raise RefusedError(f"the registry answered for {ref} with a manifest of another digest")
    manifest = json.loads(body)
    media_type = manifest.get("mediaType") or content_type.split(";")[0]
    if media_type in INDEX_TYPES:
        return {
            f"{entry['platform']['os']}/{entry['platform']['architecture']}"
            for entry in manifest.get("manifests", [])
            if entry.get("platform", {}).get("os") not in (None, "unknown")
        }
    config_digest = manifest["config"]["digest"]
    config, _ = _get(f"{ref.base_url}/blobs/{config_digest}", ["*/*"], env, opener)
    image = json.loads(config)
    return {f"{image['os']}/{image['architecture']}"}


def verify(
    ref: ImageRef, wanted: Sequence[str], env: Mapping[str, str], opener: Opener = _open
) -> None:
    """RefusedError unless the registry holds `ref` with every platform in `wanted`."""
    found = platforms(ref, env, opener)
    missing = sorted(set(wanted) - found)
    if missing:
        raise RefusedError(
            f"{ref} has no image for {', '.join(missing)} (it has {', '.join(sorted(found))}); "
            "build it with `docker buildx build --platform` naming each"
        )


def image_value(action_yml: str) -> str:
    """The value of action.yml's one `image:` line, or RefusedError."""
    found = IMAGE_LINE.findall(action_yml)
    if len(found) != 1:
        raise RefusedError(
            f"action.yml has {len(found)} `image:` lines; expected one, under `runs:`"
        )
    return str(found[0][1]).strip("'\"")


def rewrite(action_yml: str, ref: ImageRef) -> str:
    """action.yml with `image: Dockerfile` replaced by `image: docker://REF`."""
    value = image_value(action_yml)
    if value != "Dockerfile":
        raise RefusedError(
            f"action.yml says `image: {value}`, not `image: Dockerfile`: only the default "
            "branch's action.yml is rewritten, once, for a release commit"
        )
    return IMAGE_LINE.sub(lambda m: f"{m['indent']}image: docker://{ref}", action_yml, count=1)


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    opener: Opener = _open,
) -> int:
    """Run `write` or `check`; 0 when action.yml names an image that exists, 1 when refused."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("reference", nargs="?", help="HOST/REPOSITORY@sha256:... (write only)")
    parser.add_argument("--action-yml", type=Path, default=Path("action.yml"))
    parser.add_argument("--platform", action="append", default=[], help="e.g. linux/arm64")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    text = args.action_yml.read_text(encoding="utf-8")
    try:
        if args.command == "write":
            if not args.reference:
                raise RefusedError("`write` needs the image reference, HOST/REPOSITORY@sha256:...")
            ref = parse_reference(args.reference)
            new_text = rewrite(text, ref)
            verify(ref, args.platform, env, opener)
            args.action_yml.write_text(new_text, encoding="utf-8")
        else:
            value = image_value(text)
            if not value.startswith("docker://"):
                raise RefusedError(
                    f"action.yml says `image: {value}`: a release tag must name the published "
                    "image (`image: docker://HOST/REPOSITORY@sha256:...`), not build one"
                )
            ref = parse_reference(value)
            verify(ref, args.platform, env, opener)
    except RefusedError as exc:
        sys.stderr.write(f"::error::refused: {exc}\n")
        return 1
    sys.stdout.write(
        f"{args.action_yml}: image: docker://{ref} ({args.command}: the registry has it)\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
