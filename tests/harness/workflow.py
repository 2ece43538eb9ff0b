"""A workflow step's environment on the local Azure: `GITHUB_*`, the OIDC request pair, inputs.

It is what the runner hands a container action: the event payload file, the runner's file
commands (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_ENV`), and inputs as `INPUT_<NAME>`
with the name upper-cased and hyphens kept.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localazure.server import Emulator

DEPLOYER = "2d0e7c4a-9b1f-4c3e-8a5d-6f7e8d9c0b1a"  # the seed's OIDC-only app
RESOURCE_GROUP = "demo-rg"
REGISTRY = "acractiondemo"
VAULT = "acr-action-demo-kv"
WORKFLOW = ".github/workflows/deploy.yml"


@dataclass
class Event:
    """The triggering event of a workflow run."""

    name: str = "push"
    repository: str = "octo-org/iris-api"
    ref: str = "refs/heads/main"
    sha: str = field(default_factory=lambda: hashlib.sha1(b"main").hexdigest())
    pr_number: int | None = None
    action: str = "opened"
    head_ref: str = "feature/predict-v2"
    # On a pull request, GITHUB_SHA (`sha`) is the merge commit of refs/pull/N/merge and the
    # payload's `pull_request.head.sha` is the branch's own commit; None: the same as `sha`.
    head_sha: str | None = None
    labels: tuple[str, ...] = ()  # the pull request's label names
    fork: bool = False
    environment: str | None = None

    def payload(self) -> dict[str, object]:
        """The event payload GitHub writes to `GITHUB_EVENT_PATH`."""
        owner, name = self.repository.split("/")
        repo = {
            "full_name": self.repository,
            "name": name,
            "owner": {"login": owner},
            "fork": False,
        }
        # Only `push` carries the commit (`head_commit`, with its timestamp). A manual or
        # scheduled run names no commit at all: github/rest-api-description's
        # webhook-workflow-dispatch has inputs, ref, repository, sender and workflow; a schedule
        # run's payload holds its cron line (docs.github.com, "Events that trigger workflows").
        if self.name == "workflow_dispatch":
            return {"inputs": {}, "ref": self.ref, "repository": repo, "workflow": WORKFLOW}
        if self.name == "schedule":
            return {"schedule": "30 5 * * 1", "repository": repo, "workflow": WORKFLOW}
        if self.name != "pull_request":
            head_commit = {
                "id": self.sha,
                "timestamp": "2026-11-27T09:30:00Z",
                "message": "Predict v2",
            }
            return {
                "ref": self.ref,
                "after": self.sha,
                "head_commit": head_commit,
                "repository": repo,
            }
        head_repo = (
            {**repo, "full_name": f"contributor/{name}", "fork": True} if self.fork else repo
        )
        return {
            "action": self.action,
            "number": self.pr_number,
            "pull_request": {
                "number": self.pr_number,
                "state": "closed" if self.action == "closed" else "open",
                "title": "Predict v2",
                "labels": [{"name": name, "color": "0e8a16"} for name in self.labels],
                "head": {"sha": self.head_sha or self.sha, "ref": self.head_ref, "repo": head_repo},
                "base": {"ref": "main", "repo": repo},
            },
            "repository": repo,
        }


def default_inputs(emulator: Emulator) -> dict[str, str]:
    """Inputs of the demo workflow step against this emulator."""
    return {
        "client-id": DEPLOYER,
        "tenant-id": emulator.state.tenant_id,
        "subscription-id": emulator.state.subscription_id,
        "resource-manager-endpoint": emulator.arm_url,
        "resource-group": RESOURCE_GROUP,
        "registry": REGISTRY,
        "key-vault": VAULT,
    }


def step_env(
    emulator: Emulator,
    runner_dir: Path,
    *,
    event: Event | None = None,
    inputs: dict[str, str] | None = None,
    workspace: Path | None = None,
    oidc: bool = True,
    in_container: bool = False,
) -> dict[str, str]:
    """The environment of one action step; runner files are created under `runner_dir`.

    `in_container=True` gives the paths the runner mounts into a container action
    (`/github/workspace`, `/github/file_commands`, `/github/workflow`), `runner_dir` being mounted
    at `/github`.
    """
    event = event or Event()
    for sub in ("workspace", "file_commands", "workflow", "home"):
        (runner_dir / sub).mkdir(parents=True, exist_ok=True)
    (runner_dir / "workflow" / "event.json").write_text(
        json.dumps(event.payload()), encoding="utf-8"
    )
    for name in ("output", "step_summary", "env"):
        (runner_dir / "file_commands" / name).touch()
    root = "/github" if in_container else str(runner_dir)
    ws = "/github/workspace" if in_container else str(workspace or runner_dir / "workspace")
    ref = event.ref if event.name != "pull_request" else f"refs/pull/{event.pr_number}/merge"
    env = {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": event.repository,
        "GITHUB_REPOSITORY_OWNER": event.repository.split("/")[0],
        "GITHUB_EVENT_NAME": event.name,
        "GITHUB_EVENT_PATH": f"{root}/workflow/event.json",
        "GITHUB_SHA": event.sha,
        "GITHUB_REF": ref,
        "GITHUB_REF_NAME": ref.split("/", 2)[-1],
        "GITHUB_HEAD_REF": event.head_ref if event.name == "pull_request" else "",
        "GITHUB_BASE_REF": "main" if event.name == "pull_request" else "",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_WORKFLOW": "deploy",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": emulator.github_api_url,
        "GITHUB_WORKSPACE": ws,
        "GITHUB_OUTPUT": f"{root}/file_commands/output",
        "GITHUB_STEP_SUMMARY": f"{root}/file_commands/step_summary",
        "GITHUB_ENV": f"{root}/file_commands/env",
        "RUNNER_TEMP": f"{root}/home" if in_container else str(runner_dir / "home"),
        "HOME": f"{root}/home" if in_container else str(runner_dir / "home"),
    }
    if oidc:
        env.update(
            emulator.services["oidc"].start_job(
                repository=event.repository,
                ref=ref,
                event_name=event.name,
                sha=event.sha,
                environment=event.environment,
                pr_number=event.pr_number,
                head_ref=event.head_ref if event.name == "pull_request" else None,
            )
        )
    for name, value in {**default_inputs(emulator), **(inputs or {})}.items():
        env[f"INPUT_{name.upper()}"] = value
    return env


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a `GITHUB_OUTPUT` file (both `k=v` and `k<<DELIM` forms)."""
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value_lines = []
            i += 1
            while lines[i] != delimiter:
                value_lines.append(lines[i])
                i += 1
            outputs[name] = "\n".join(value_lines)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
        i += 1
    return outputs
