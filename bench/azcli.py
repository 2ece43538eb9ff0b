"""The tutorial's `az`/`docker` sequence against the same local Azure, timed command by command.

The Azure CLI is `tests/azcli.py`'s: azure-cli from `requirements/azcli.lock`, installed once into
the cache (about a minute), never into the development venv, and pointed at the local Azure as a
custom cloud with its outbound calls off and a loopback trap for any that are left (the contract
suite, `tests/contract/test_azcli.py`, uses the same). It signs in as the seed's pull principal
(the one app with a client secret), which the benchmark grants the roles the sequence needs.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.azcli import AzureCli, CliFailed, OutsideTrap, ensure_installed
from tests.harness.workflow import REGISTRY, RESOURCE_GROUP, VAULT

from .harness import DOCKER, PULL_SP, PULL_SP_SECRET, Bench


@dataclass
class CliResult:
    """Per-command wall times of the sequence, and what could not run."""

    steps: list[tuple[str, float]] = field(default_factory=list)
    login_seconds: float = 0.0
    container_seconds: float = 0.0
    failed: list[str] = field(default_factory=list)
    start_up: float = 0.0  # `az version`: the CLI's start-up alone

    @property
    def total(self) -> float:
        """Wall time of the tutorial's commands (sign-in not included)."""
        return sum(seconds for _, seconds in self.steps)


class Cli:
    """Runs `az` and `docker` with one throw-away configuration, timing each command."""

    def __init__(self, az: AzureCli) -> None:
        self.az = az
        self.env = az.env

    def run(self, *argv: str, check: bool = True) -> tuple[float, str]:
        """Run `az ARGS` (argv[0] == "az") or another command; its wall time and stdout."""
        if argv[0] == "az":
            try:
                done = self.az.run(*argv[1:], check=check)
            except CliFailed as exc:
                raise RuntimeError(str(exc)) from exc
            return done.seconds, done.stdout.strip()
        started = time.monotonic()
        ran = subprocess.run(  # noqa: S603 - fixed argv
            list(argv), env=self.env, capture_output=True, text=True, check=False
        )
        seconds = time.monotonic() - started
        if check and ran.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:3])} failed: {ran.stderr.strip()[-600:]}")
        return seconds, ran.stdout.strip()


def run_sequence(
    bench: Bench, image: str, group: str, *, build: Sequence[str] = (), docker_host: str = ""
) -> CliResult:
    """Sign in, then time the tutorial's sequence: push `image`, read two secrets, create, show.

    `build` (a `docker build` argv that tags `image`) is timed after `az acr login`; `docker_host`
    points every `docker` command, `az acr login`'s included, at another engine.
    """
    azure = bench.azure
    state = azure.state
    rg_scope = f"/subscriptions/{state.subscription_id}/resourceGroups/{RESOURCE_GROUP}"
    state.grant(PULL_SP, "Contributor", rg_scope)
    state.grant(
        PULL_SP,
        "AcrPush",
        f"{rg_scope}/providers/Microsoft.ContainerRegistry/registries/{REGISTRY}",
    )
    state.grant(
        PULL_SP, "Key Vault Secrets User", f"{rg_scope}/providers/Microsoft.KeyVault/vaults/{VAULT}"
    )
    trap = OutsideTrap()
    try:
        return _timed_sequence(bench, image, group, trap, build, docker_host)
    except CliFailed as exc:  # the benchmark reports a failed az path and carries on
        raise RuntimeError(str(exc)) from exc
    finally:
        trap.close()


def _timed_sequence(
    bench: Bench, image: str, group: str, trap: OutsideTrap, build: Sequence[str], docker_host: str
) -> CliResult:
    azure = bench.azure
    state = azure.state
    cli = Cli(AzureCli(ensure_installed(), azure, bench.workdir / "az-home", trap))
    if docker_host:
        cli.env.update(DOCKER_HOST=docker_host, DOCKER_BUILDKIT="1")
    az = "az"
    result = CliResult()
    result.start_up = min(cli.run(az, "version", "--output", "none")[0] for _ in range(3))
    cli.az.use_local_cloud()
    started = time.monotonic()
    cli.az.login_secret(PULL_SP, PULL_SP_SECRET)
    result.login_seconds = time.monotonic() - started
    login_server = azure.login_server(REGISTRY)
    target = f"{login_server}/{group}:v1"
    started = time.monotonic()

    def step(name: str, *argv: str) -> str:
        seconds, out = cli.run(*argv)
        result.steps.append((name, seconds))
        return out

    try:
        step(
            "az acr login",
            az,
            "acr",
            "login",
            "--name",
            REGISTRY,
            "--resource-group",
            RESOURCE_GROUP,
        )
    except RuntimeError as exc:
        result.failed.append(f"az acr login ({str(exc).splitlines()[-1][:120]})")
        _acr_login_stand_in(cli, az, login_server, state.tenant_id, result)
    if build:
        step("docker build", *build)
    step("docker tag", DOCKER, "tag", image, target)
    step("docker push", DOCKER, "push", target)
    user = step(
        "az keyvault secret show (user)", az, "keyvault", "secret", "show", "--vault-name", VAULT,
        "--name", f"{REGISTRY}-pull-usr", "--query", "value", "--output", "tsv",
    )  # fmt: skip
    password = step(
        "az keyvault secret show (password)", az, "keyvault", "secret", "show", "--vault-name",
        VAULT, "--name", f"{REGISTRY}-pull-pwd", "--query", "value", "--output", "tsv",
    )  # fmt: skip
    step(
        "az container create", az, "container", "create", "--resource-group", RESOURCE_GROUP,
        "--name", group, "--image", target, "--registry-login-server", login_server,
        "--registry-username", user, "--registry-password", password, "--dns-name-label", group,
        "--ports", "80", "--cpu", "1", "--memory", "1.5", "--os-type", "Linux",
        "--location", "westeurope", "--output", "none",
    )  # fmt: skip
    step(
        "az container show", az, "container", "show", "--resource-group", RESOURCE_GROUP,
        "--name", group, "--query", "ipAddress.fqdn", "--output", "tsv",
    )  # fmt: skip
    result.container_seconds = bench.clock.seconds_between(started, time.monotonic())
    result.failed.extend(f"left the machine: {line}" for line in trap.requests)
    return result


def _acr_login_stand_in(
    cli: Cli, az: str, login_server: str, tenant: str, result: CliResult
) -> None:
    """What `az acr login` does, when it cannot run here: its start-up plus the same HTTP work.

    `az acr show` (the CLI's start-up, sign-in from its cache and the registry's ARM read), the
    challenge and token exchange that `az acr login` makes (timed here through the action's own
    implementation of the same two requests), and `docker login` with the refresh token on stdin.
    """
    from acr_action.registry import NULL_GUID, exchange_token

    _, arm_token = cli.run(
        az, "account", "get-access-token", "--query", "accessToken", "--output", "tsv"
    )
    started = time.monotonic()
    cli.run(az, "acr", "show", "--name", REGISTRY, "--resource-group", RESOURCE_GROUP,
            "--query", "loginServer", "--output", "tsv")  # fmt: skip
    token = exchange_token(login_server, arm_token, tenant)
    subprocess.run(  # noqa: S603 - fixed argv
        [DOCKER, "login", "--username", NULL_GUID, "--password-stdin", login_server],
        input=token, env=cli.env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result.steps.append(
        (
            "az acr login (stand-in: az acr show + exchange + docker login)",
            time.monotonic() - started,
        )
    )
