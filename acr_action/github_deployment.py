"""GitHub deployments: what the pull request's "View deployment" and the environments page show.

A deploy records one deployment (docs.github.com/rest/deployments/deployments) of the commit it
ships: a preview's goes to the transient environment `pr-<N>`, another deploy's (with
`github-deployment: true`) to `deployment-environment` (default `production`). Its statuses
follow the run: `in_progress` when it starts, then `success` with the app's URL or `failure`
with the run's link. A newer success marks the environment's earlier deployments `inactive`
(GitHub's own `auto_inactive` spares transient environments), and `mode: delete` and the sweep
mark every deployment of the preview's environment `inactive`, which GitHub shows as destroyed.
Like the comment, none of this can fail the run: a refusal (most often a job without
`permissions: deployments: write`) is one warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ActionError
from .github_api import DeploymentRequest, GitHub
from .retry import Retrier

if TYPE_CHECKING:
    from .github_context import GitHubContext
    from .inputs import PreviewSettings
    from .runner import Runner

FIX = (
    "grant the job `permissions: deployments: write` (and pass `github-token: "
    "${{ github.token }}`), or set `github-deployment: false`"
)


def environment_of(settings: PreviewSettings, github: GitHubContext, number: int | None) -> str:
    """The environment: `deployment-environment`, else `pr-<N>` for a pull request, else production."""
    if settings.deployment_environment:
        return settings.deployment_environment
    return f"pr-{number}" if number is not None else "production"


def client(token: str | None, github: GitHubContext, runner: Runner) -> GitHub | None:
    """A GitHub client for the run's repository, or None without a token or repository."""
    if not token or not github.repository:
        return None
    retrier = Retrier(log=runner.info)  # the one retry rule; each retry is one log line
    return GitHub(github.api_url, token, github.repository, retrier=retrier)


def _warn(runner: Runner, doing: str, exc: ActionError) -> None:
    runner.warning(
        f"{exc.title}. The GitHub deployment was not {doing}: {FIX}.",
        title="acr-action: GitHub deployment failed",
    )


@dataclass
class Tracker:
    """One deployment of this run, moved along as the run goes; every call only warns."""

    gh: GitHub
    runner: Runner
    environment: str
    log_url: str
    deployment: int | None = None

    def succeeded(self, url: str) -> None:
        """`success` with the app's URL; the environment's earlier deployments go inactive."""
        if self._status("success", "Deployed by acr-action", url):
            self.runner.info(f"GitHub deployment {self.deployment} to {self.environment}: success")
            deactivate(self.gh, self.runner, self.environment, keep=self.deployment)
        self.gh.close()

    def failed(self, reason: str) -> None:
        """`failure` with the run's link."""
        self._status("failure", reason, "")
        self.gh.close()

    def _status(self, state: str, description: str, url: str) -> bool:
        if self.deployment is None:
            return False
        try:
            self.gh.set_deployment_status(
                self.deployment,
                state,
                description=description,
                environment_url=url,
                log_url=self.log_url,
            )
        except ActionError as exc:
            _warn(self.runner, f"marked {state}", exc)
            return False
        return True


def start(
    settings: PreviewSettings, github: GitHubContext, runner: Runner, number: int | None
) -> Tracker | None:
    """Record the deployment as `in_progress`, if `github-deployment` asks for one."""
    if not settings.deployment_wanted(number is not None):
        return None
    gh = client(settings.github_token, github, runner)
    if gh is None:
        return None
    environment = environment_of(settings, github, number)
    tracker = Tracker(gh, runner, environment, github.run_url)
    request = DeploymentRequest(
        # A pull request's GITHUB_SHA is its merge commit; the pull request lists deployments
        # of its head commit.
        ref=github.pr_head_sha or github.sha or github.ref,
        environment=environment,
        description=f"acr-action: {github.repository}" + (f" #{number}" if number else ""),
        transient=number is not None and not settings.deployment_environment,
        production=number is None and environment == "production",
        payload={"run": tracker.log_url},
    )
    try:
        tracker.deployment = gh.create_deployment(request)
        gh.set_deployment_status(tracker.deployment, "in_progress", log_url=tracker.log_url)
    except ActionError as exc:
        _warn(runner, "created", exc)
    return tracker


def deactivate(gh: GitHub, runner: Runner, environment: str, *, keep: int | None = None) -> int:
    """Mark every deployment of `environment` but `keep` inactive; returns how many were."""
    done = 0
    try:
        for deployment, state in gh.deployments(environment):
            if deployment != keep and state != "inactive":
                gh.set_deployment_status(deployment, "inactive")
                done += 1
    except ActionError as exc:
        _warn(runner, "marked inactive", exc)
    return done


def retire(
    settings: PreviewSettings, github: GitHubContext, runner: Runner, number: int | None
) -> None:
    """After a preview is deleted: its environment's deployments go inactive ("destroyed")."""
    if not settings.deployment_wanted(number is not None):
        return
    gh = client(settings.github_token, github, runner)
    if gh is None:
        return
    environment = environment_of(settings, github, number)
    try:
        done = deactivate(gh, runner, environment)
        runner.info(f"GitHub deployments of {environment}: {done} marked inactive")
    finally:
        gh.close()
