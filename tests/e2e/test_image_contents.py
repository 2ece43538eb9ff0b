"""The action image: the action and what it runs, nothing of the tests and demo, within its budget.

What the image must hold and where (actions/runner runs it with the runner's Docker socket): the
Docker CLI at /usr/local/bin/docker, first on PATH, and its buildx plugin in
/usr/local/libexec/docker/cli-plugins, one of the CLI's system plugin directories (docker/cli
`cli-plugins/manager/manager_unix.go`, defaultSystemPluginDirs) and where docker:27-cli keeps it
(its Dockerfile as docker-library/repo-info records it under repos/docker/remote/:
plugin='/usr/local/libexec/docker/cli-plugins/docker-buildx').
A CLI from 23.0 on runs `docker build` as `docker buildx build` and refuses
`DOCKER_BUILDKIT=1 docker build` without the plugin ("BuildKit is enabled but the buildx component
is missing or broken"). The local stand-in holds the same two files from Debian trixie's
docker-cli (26.1) and docker-buildx (0.13) packages, so the e2e builds go through buildx as on a
runner.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.harness.container_action import DOCKER

pytestmark = pytest.mark.docker

# What the image's Python can import and what /app holds, printed as JSON from inside it.
PROBE = (
    "import importlib.util, json, os;"
    "print(json.dumps({'app': sorted(os.listdir('/app')),"
    " 'found': {m: str(importlib.util.find_spec(m).submodule_search_locations or"
    " importlib.util.find_spec(m).origin)"
    " for m in ('localazure', 'tests', 'bench', 'aiohttp', 'trustme', 'actions_toolkit', 'github')"
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


# Uncompressed, as `docker image inspect --format '{{.Size}}'` reports it, built with the local
# stand-ins (scripts/base-images.sh): 248 MB, of which the Docker CLI and the buildx plugin are
# 97 MB (two Go binaries; Debian's builds, 31 and 66 MB) and the python:3.11-slim stand-in 124 MB.
# Those two alone are 221 MB, so the 200 MB first asked for cannot hold with buildx in the image;
# this budget keeps what the action adds (venv and /app, 27 MB) from growing unnoticed.
SIZE_BUDGET_BYTES = 250_000_000


def inside(image: str, *argv: str, entrypoint: str = "python") -> str:
    """Run `argv` in the image (no network) and return its stdout."""
    done = subprocess.run(
        [DOCKER, "run", "--rm", "--network", "none", "--entrypoint", entrypoint, image, *argv],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return done.stdout


def test_the_image_stays_within_its_size_budget(action_image: str) -> None:
    size = int(
        subprocess.run(
            [DOCKER, "image", "inspect", "--format", "{{.Size}}", action_image],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip

    assert size <= SIZE_BUDGET_BYTES, f"the action image is {size / 1e6:.1f} MB"


PATHS = (
    "import json, os, shutil;"
    "d = '/usr/local/libexec/docker/cli-plugins';"
    "print(json.dumps({'docker': shutil.which('docker'),"
    " 'plugins': sorted(os.listdir(d)) if os.path.isdir(d) else None}))"
)


def test_docker_and_its_buildx_plugin_are_where_the_action_looks(action_image: str) -> None:
    seen = json.loads(inside(action_image, "-c", PATHS))
    version = inside(action_image, "--version", entrypoint="docker")  # no daemon: client only

    assert seen["docker"] == "/usr/local/bin/docker"  # orchestrate.py: shutil.which("docker")
    assert seen["plugins"] is not None, "no /usr/local/libexec/docker/cli-plugins"
    assert set(seen["plugins"]) <= {"docker-buildx"}, "only the buildx plugin, not compose"
    major = int(re.search(r"version (\d+)\.", version)[1])  # type: ignore[index]  # "Docker version 26.1.5+dfsg1, ..."
    assert major >= 23, f"a CLI that builds without buildx: {version}"
    assert seen["plugins"] == ["docker-buildx"]
    assert "buildx" in inside(action_image, "buildx", "version", entrypoint="docker")


# Imports every module of every package in the image's site-packages and of acr_action: a module
# the Dockerfile pruned that a kept one still imports fails here. Printed as JSON.
IMPORT_ALL = """
import contextlib, importlib, importlib.machinery, io, json, os, sys, sysconfig
site = sysconfig.get_paths()["purelib"]
sys.path.insert(0, "/app")
suffixes = sorted(importlib.machinery.all_suffixes(), key=len, reverse=True)
names = set()
# Every module file, walked by hand: pkgutil skips namespace packages such as azure/.
for root in (site, "/app/acr_action"):
    base = os.path.dirname(root) if root.endswith("acr_action") else root
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.endswith((".dist-info", ".libs"))]
        for file in files:
            suffix = next((x for x in suffixes if file.endswith(x)), None)
            if suffix is None:
                continue
            parts = os.path.relpath(os.path.join(folder, file[: -len(suffix)]), base).split(os.sep)
            if parts[-1] == "__init__":
                parts.pop()
            if parts and parts[-1] != "__main__" and all(p.isidentifier() for p in parts):
                names.add(".".join(parts))  # __main__ runs a program (msal's asks on stdin)
failed = {}
quiet = contextlib.redirect_stdout(io.StringIO())  # what a module prints on import
quiet.__enter__()
for name in sorted(names):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        failed[name] = ["missing", exc.name]
    except Exception as exc:
        failed[name] = ["error", repr(exc)[:300]]
quiet.__exit__(None, None, None)
print(json.dumps({"names": sorted(names), "failed": failed}))
"""
# Modules that fail to import in any build of this image, pruned or not: they need an extra that
# the lock does not install, or another operating system.
OTHER_PLATFORMS_OR_EXTRAS = {
    "azure.common.client_factory": "msrest, the runtime of the Azure SDKs before azure-core",
    "azure.common.credentials": "msrest",
    "azure.common.exceptions": "msrest",
    "msal.broker": "msal[broker], the Windows/macOS authentication broker",
    "msal_extensions.libsecret": "PyGObject (Linux desktop keyring)",
    "msal_extensions.osx": "macOS Security framework",
    "msal_extensions.windows": "Windows DPAPI (ctypes.windll)",
}


def test_every_module_left_in_the_image_imports(action_image: str) -> None:
    seen = json.loads(inside(action_image, "-c", IMPORT_ALL))
    tops = {name.split(".")[0] for name in seen["names"]}

    # A module that is not there: only an optional dependency the lock does not install
    # (paramiko, PySocks, h2, ...), never one of the packages the image holds.
    pruned = {
        name: missing
        for name, (kind, missing) in seen["failed"].items()
        if kind == "missing" and (missing or "").split(".")[0] in tops
    }
    assert pruned == {}
    errors = {n: e for n, (kind, e) in seen["failed"].items() if kind == "error"}
    assert set(errors) <= set(OTHER_PLATFORMS_OR_EXTRAS), errors
    for module in (
        "acr_action.orchestrate",
        "azure.identity",
        "azure.keyvault.secrets",
        "azure.mgmt.containerinstance.operations",
        "azure.mgmt.containerregistry.models",
        "docker.api.build",
        "dulwich.repo",
        "msal.application",
        "acr_action.specfile",
        "yaml.composer",  # spec-file's reader, without the pruned libyaml binding
    ):
        assert module in seen["names"], module
        assert module not in seen["failed"], module
