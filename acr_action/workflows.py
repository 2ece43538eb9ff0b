"""Workflow files: which OIDC subjects their jobs present, and the two workflows `setup` writes.

GitHub's rules for the `sub` claim of a job's ID token (docs.github.com, "OpenID Connect
reference", *Example subject claims*):

* "The subject claim includes the environment name when the job references an environment":
  `repo:ORG/REPO:environment:NAME`, whatever the event;
* otherwise a `pull_request` event gives `repo:ORG/REPO:pull_request`;
* otherwise "the branch name of the workflow" (or the tag): `repo:ORG/REPO:ref:refs/heads/BRANCH`,
  `repo:ORG/REPO:ref:refs/tags/TAG`;
* "Any `:` within the metadata values will be replaced with `%3A`" (an environment `Prod:V1`
  is `environment:Prod%3AV1`).

A repository or organization can replace this format with a customised template (the REST API's
`/repos/OWNER/REPO/actions/oidc/customization/sub`); `subjects_of` reads only the default
format, and `doctor` says so. Only jobs that may ask for an ID token count: those with
`id-token: write` in their own or the workflow's `permissions`.

Reading needs PyYAML, which the action image does not ship: `doctor` runs on a laptop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "api://AzureADTokenExchange"

_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


@dataclass(frozen=True)
class Presented:
    """One subject a job presents: the `sub` claim, and where it comes from."""

    subject: str
    workflow: str  # file name
    job: str
    why: str  # "environment production", "push to main", ...


@dataclass(frozen=True)
class Unknown:
    """A job whose subject cannot be known from the file (an expression, a branch pattern)."""

    workflow: str
    job: str
    why: str


def escape(value: str) -> str:
    """A claim value as the `sub` claim carries it: `:` becomes `%3A`."""
    return value.replace(":", "%3A")


def subject(repo: str, kind: str, value: str = "") -> str:
    """`repo:OWNER/REPO:environment:NAME`, `...:pull_request`, `...:ref:refs/heads/main`."""
    if kind == "pull_request":
        return f"repo:{repo}:pull_request"
    return f"repo:{repo}:{kind}:{escape(value)}"


def _triggers(document: Mapping[Any, Any]) -> dict[str, Any]:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    raw = document.get("on", document.get(True))
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return {str(event): None for event in raw}
    return {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def may_request_token(job: Mapping[str, Any], document: Mapping[Any, Any]) -> bool:
    """Does the job get an ID token (`id-token: write` in its or the workflow's permissions)?"""
    permissions = job["permissions"] if "permissions" in job else document.get("permissions")
    if permissions == "write-all":
        return True
    return isinstance(permissions, dict) and permissions.get("id-token") == "write"


def _environment(job: Mapping[str, Any]) -> str | None:
    raw = job.get("environment")
    if isinstance(raw, dict):
        raw = raw.get("name")
    return None if raw is None else str(raw)


def _refs(triggers: Mapping[str, Any], default_branch: str) -> Iterator[tuple[str, str, str]]:
    """(kind, value, why) of the refs the non-pull-request events of a workflow run on."""
    push = triggers.get("push")
    if "push" in triggers:
        spec = push if isinstance(push, dict) else {}
        for branch in spec.get("branches") or ([] if spec.get("tags") else ["*"]):
            yield "ref", f"refs/heads/{branch}", f"push to {branch}"
        for tag in spec.get("tags") or []:
            yield "ref", f"refs/tags/{tag}", f"push of tag {tag}"
    for event in ("workflow_dispatch", "schedule", "pull_request_target", "release"):
        if event in triggers:
            # These run on the default branch (or a ref chosen at run time for dispatch).
            yield "ref", f"refs/heads/{default_branch}", f"{event} on {default_branch}"


def _job_subjects(
    repo: str, name: str, job: Mapping[str, Any], triggers: Mapping[str, Any], default: str
) -> Iterator[tuple[str, str] | str]:
    """(subject, why) pairs of one job, or the reason text when one cannot be known."""
    environment = _environment(job)
    if environment is not None:
        if _EXPRESSION.search(environment):
            yield f"its environment is an expression ({environment})"
            return
        yield subject(repo, "environment", environment), f"environment {environment}"
        return
    if "pull_request" in triggers:
        yield subject(repo, "pull_request"), "pull_request event"
    for kind, value, why in _refs(triggers, default):
        if any(char in value for char in "*?[]!"):
            yield f"it runs on a branch pattern ({value}): one credential per branch"
            continue
        yield subject(repo, kind, value), why


def subjects_of(
    repo: str, name: str, document: Mapping[Any, Any], default_branch: str = "main"
) -> tuple[list[Presented], list[Unknown]]:
    """The subjects the jobs of one workflow present, and the jobs whose subject is unknowable."""
    presented: list[Presented] = []
    unknown: list[Unknown] = []
    triggers = _triggers(document)
    jobs = document.get("jobs") or {}
    for job_name, job in jobs.items() if isinstance(jobs, dict) else ():
        if not isinstance(job, dict) or not may_request_token(job, document):
            continue
        for found in _job_subjects(repo, job_name, job, triggers, default_branch):
            if isinstance(found, str):
                unknown.append(Unknown(name, str(job_name), found))
            else:
                presented.append(Presented(found[0], name, str(job_name), found[1]))
    return presented, unknown


def read_workflows(folder: Path) -> dict[str, Any]:
    """The parsed workflow files of a folder (`.yml` and `.yaml`), by file name."""
    import yaml  # laptop-only: the action image does not need PyYAML

    documents: dict[str, Any] = {}
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        documents[path.name] = loaded if isinstance(loaded, dict) else {}
    return documents


def presented_by(
    repo: str, documents: Mapping[str, Any], default_branch: str = "main"
) -> tuple[list[Presented], list[Unknown]]:
    """Every subject the workflows present (once each, with its first job), and the unknowns."""
    seen: dict[str, Presented] = {}
    unknown: list[Unknown] = []
    for name, document in documents.items():
        found, unknowable = subjects_of(repo, name, document, default_branch)
        unknown += unknowable
        for item in found:
            seen.setdefault(item.subject, item)
    return list(seen.values()), unknown


# --------------------------------------------------------------------------- writing workflows


@dataclass(frozen=True)
class WorkflowSettings:
    """What `setup --write-workflows` fills in."""

    action: str = "acr-action/acr-action@v1"
    branch: str = "main"
    environment: str | None = "production"  # None: the deploy job has no environment
    preview: bool = True


def deploy_on_merge(settings: WorkflowSettings) -> str:
    """The deploy-on-merge workflow (examples/workflows/deploy-on-merge.yml with the defaults)."""
    name = settings.environment
    block = (
        ""
        if name is None
        else _ENVIRONMENT_BLOCK.replace("NAME", name).replace("ESCAPED", escape(name))
    )
    group = "main" if name is None else _slug(name)
    return (
        DEPLOY_ON_MERGE.replace("@ENVIRONMENT@\n", block)
        .replace("@GROUP@", group)
        .replace("@BRANCH@", settings.branch)
        .replace("@STEPS@\n", _WITH)
        .replace("acr-action/acr-action@v1", settings.action)
    )


def pr_preview(settings: WorkflowSettings) -> str:
    """The pull-request preview workflow (examples/workflows/pr-preview.yml with the defaults)."""
    return PR_PREVIEW.replace("@STEPS@\n", _WITH).replace(
        "acr-action/acr-action@v1", settings.action
    )


def rendered(settings: WorkflowSettings) -> dict[str, str]:
    """File name -> text of the workflows `setup` writes."""
    files = {"deploy-on-merge.yml": deploy_on_merge(settings)}
    if settings.preview:
        files["pr-preview.yml"] = pr_preview(settings)
    return files


def subjects_for(repo: str, settings: WorkflowSettings) -> list[Presented]:
    """The subjects the workflows `setup` writes will present (read back with `subjects_of`)."""
    import yaml

    documents = {name: yaml.safe_load(text) for name, text in rendered(settings).items()}
    return presented_by(repo, documents, settings.branch)[0]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower() or "deploy"


def write(folder: Path, files: Mapping[str, str]) -> Iterable[tuple[Path, str]]:
    """Write the files into `folder`; yields (path, "created" / "unchanged" / "updated")."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            yield path, "unchanged"
            continue
        path.write_text(text, encoding="utf-8")
        yield path, "created" if old is None else "updated"


# The checkout and deploy steps, the same in both workflows: every value from a repository variable.
_WITH = """\
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - id: deploy
        uses: acr-action/acr-action@v1
        with:
          client-id: ${{ vars.AZURE_CLIENT_ID }}
          tenant-id: ${{ vars.AZURE_TENANT_ID }}
          subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}
          resource-group: ${{ vars.AZURE_RESOURCE_GROUP }}
          registry: ${{ vars.AZURE_REGISTRY }}
          key-vault: ${{ vars.AZURE_KEY_VAULT }}
"""

_ENVIRONMENT_BLOCK = """\
    # With an environment, the OIDC token's subject is repo:OWNER/REPO:environment:ESCAPED.
    environment:
      name: NAME
      url: ${{ steps.deploy.outputs.url }}
"""

DEPLOY_ON_MERGE = """\
# Build the image, push it to Azure Container Registry and deploy it to Azure Container Instances
# on every push to @BRANCH@. One-time setup: README.md, "One-time Azure setup".
name: deploy

on:
  push:
    branches: [@BRANCH@]

permissions: {}

# One deployment at a time. A newer push waits for the running one instead of cancelling it
# halfway through an update.
concurrency:
  group: deploy-@GROUP@
  cancel-in-progress: false

jobs:
  deploy:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    permissions:
      id-token: write # sign in to Azure with GitHub OIDC: no stored Azure secret
      contents: read # actions/checkout
@ENVIRONMENT@
    steps:
@STEPS@
"""

PR_PREVIEW = """\
# A preview deployment per pull request: the container group <repo>-pr-<N> is deployed when the
# pull request is opened or updated, and deleted when it is closed or merged.
# Pull requests from forks are skipped: GitHub gives them no OIDC token, by design. Never switch
# to pull_request_target with a checkout of the pull request's code to get around that.
name: pr-preview

on:
  pull_request:
    types: [opened, synchronize, reopened, closed]

permissions: {}

# One run per pull request at a time, none cancelled: the delete on close waits for a deploy
# that is still running, so no preview is left behind.
concurrency:
  group: pr-preview-${{ github.event.pull_request.number }}
  cancel-in-progress: false

jobs:
  deploy:
    if: >-
      github.event.action != 'closed' &&
      github.event.pull_request.head.repo.full_name == github.repository
    runs-on: ubuntu-latest
    timeout-minutes: 20
    permissions:
      id-token: write # OIDC token subject: repo:OWNER/REPO:pull_request
      contents: read # actions/checkout
      deployments: write # the pr-<N> GitHub deployment: "View deployment" on the PR
    steps:
@STEPS@
          github-token: ${{ github.token }}

  delete:
    if: >-
      github.event.action == 'closed' &&
      github.event.pull_request.head.repo.full_name == github.repository
    runs-on: ubuntu-latest
    timeout-minutes: 15
    permissions:
      id-token: write # OIDC token subject: repo:OWNER/REPO:pull_request
      deployments: write # marks the pr-<N> deployment inactive
    steps:
      - uses: acr-action/acr-action@v1
        with:
          mode: delete
          client-id: ${{ vars.AZURE_CLIENT_ID }}
          tenant-id: ${{ vars.AZURE_TENANT_ID }}
          subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}
          resource-group: ${{ vars.AZURE_RESOURCE_GROUP }}
          github-token: ${{ github.token }}
"""
