"""scripts/fresh-machine.sh: its argument checks, its shell, and where CI and releases run it.

The check itself (a new machine, the README's commands in it) takes half an hour and needs root,
Docker and the package indexes; it runs in .ci/run, weekly and before every release. These
tests cover what can go wrong without running it: bad arguments are refused with the fix
before anything is made, the script is clean under shellcheck, and the workflows keep calling
it the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fresh-machine.sh"
BIN = Path(sys.executable).parent  # the venv's bin/, where the dev.lock tools are installed


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The script with a Docker CLI and a PATH that fail loudly if anything reaches them."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        # A bad argument must be refused before any Docker call: this CLI does not exist.
        "DOCKER": str(tmp_path / "no-docker-here"),
        "ACR_ACTION_CACHE": str(tmp_path / "cache"),
    }
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def load(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def has_git_checkout() -> bool:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", "HEAD"],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["--frobnicate"], "unknown argument: --frobnicate (try --help)", id="unknown-flag"
        ),
        pytest.param(["--ref"], "--ref needs a value (e.g. --ref HEAD)", id="ref-without-value"),
        pytest.param(
            ["--base-image"],
            "--base-image needs a value (e.g. --base-image debian:bookworm)",
            id="base-image-without-value",
        ),
    ],
)
def test_bad_arguments_are_refused_with_an_example(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    done = run(*args, tmp_path=tmp_path)
    assert done.returncode == 1
    assert f"ERROR: {expected}" in done.stderr
    assert not (tmp_path / "cache").exists(), "nothing may be made for a bad argument"


def test_a_ref_that_is_no_commit_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    if not has_git_checkout():
        pytest.fail("this test needs the repository's git history (a clone, not an export)")
    done = run("--ref", "no-such-ref", tmp_path=tmp_path)
    assert done.returncode == 1
    assert (
        "ERROR: --ref: 'no-such-ref' is not a commit of this repository "
        "(e.g. --ref HEAD, --ref v1.2.3)"
    ) in done.stderr
    # Refused before the root and Docker checks, and before any cache or resource exists.
    assert "no Docker CLI" not in done.stderr
    assert not (tmp_path / "cache").exists()


def test_help_is_the_header_comment(tmp_path: Path) -> None:
    done = run("--help", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Run the README's two commands")
    assert "Usage: scripts/fresh-machine.sh [--ref REF]" in done.stdout


def test_script_is_clean_under_shellcheck() -> None:
    shellcheck = BIN / "shellcheck"
    if not shellcheck.is_file():
        pytest.fail(f"shellcheck is not in {BIN}; run scripts/setup.sh")
    done = subprocess.run(
        [str(shellcheck), "-x", str(SCRIPT.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_release_publishes_only_after_the_fresh_machine_check() -> None:
    jobs = load(ROOT / ".github" / "workflows" / "release.yml")["jobs"]
    assert "fresh-machine" in jobs["publish"]["needs"]


def test_weekly_and_release_checks_are_the_same_job() -> None:
    # A job that calls a reusable workflow may not set timeout-minutes (test_workflows requires
    # one on every job), so the job is written twice; this keeps the two copies equal.
    weekly = load(ROOT / ".github" / "workflows" / "fresh-machine.yml")
    release = load(ROOT / ".github" / "workflows" / "release.yml")
    assert weekly[True]["schedule"], "fresh-machine.yml runs on a schedule"  # YAML 1.1: on = True
    assert weekly["jobs"]["fresh-machine"] == release["jobs"]["fresh-machine"]
    runs = [step.get("run", "") for step in weekly["jobs"]["fresh-machine"]["steps"]]
    assert any("scripts/fresh-machine.sh" in run for run in runs)


def test_ci_runs_the_suite_then_the_fresh_machine_check() -> None:
    lines = [
        line
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    suite = next(i for i, line in enumerate(lines) if "scripts/test.sh" in line)
    fresh = next(i for i, line in enumerate(lines) if "scripts/fresh-machine.sh" in line)
    assert suite <= fresh
