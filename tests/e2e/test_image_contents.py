"""The action image holds the action and nothing of its test and demo infrastructure."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.harness.container_action import DOCKER

pytestmark = pytest.mark.docker

# What the image's Python can import and what /app holds, printed as JSON from inside it.
# (`tests` is not probed by import: actions-toolkit's wheel installs a top-level `tests`
# package of its own into site-packages.)
PROBE = (
    "import importlib.util, json, os;"
    "print(json.dumps({'app': sorted(os.listdir('/app')),"
    " 'found': {m: str(importlib.util.find_spec(m).submodule_search_locations or"
    " importlib.util.find_spec(m).origin)"
    " for m in ('localazure', 'bench', 'aiohttp', 'trustme')"
    " if importlib.util.find_spec(m)}}))"
)


def test_the_local_azure_never_enters_the_action_image(action_image: str) -> None:
    probe = subprocess.run(
        [DOCKER, "run", "--rm", "--network", "none", "--workdir", "/app",
         "--entrypoint", "python", action_image, "-c", PROBE],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip

    seen = json.loads(probe.stdout)
    assert seen["found"] == {}
    assert not {"localazure", "tests", "bench"} & set(seen["app"])
    assert "acr_action" in seen["app"]
