"""The tutorial's `az`/`docker` sequence against the same local Azure, timed command by command.

The Azure CLI is installed from PyPI into `.cache/bench/azure-cli` (about a minute, once), never
into the development venv. It is pointed at the local Azure as /work/shared/azure-reference says:
`az cloud register` from the emulator's metadata document, MSAL instance discovery off, the CA in
`REQUESTS_CA_BUNDLE`, a throw-away `AZURE_CONFIG_DIR`. It signs in as the seed's pull principal (the
one app with a client secret), which the benchmark grants the roles the sequence needs.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.emulator.workflow import REGISTRY, RESOURCE_GROUP, VAULT

from .harness import CACHE, DOCKER, PULL_SP, PULL_SP_SECRET, Bench, say

AZ_VENV = CACHE / "azure-cli"
AZ = AZ_VENV / "bin" / "az"


def ensure_azure_cli() -> Path:
    """The `az` of the benchmark's own venv; installed from PyPI on first use."""
    if AZ.exists():
        return AZ
    say(f"installing the Azure CLI into {AZ_VENV} (pip, about a minute; once)")
    started = time.monotonic()
    subprocess.run(["python3", "-m", "venv", str(AZ_VENV)], check=True)  # noqa: S603,S607 - fixed argv, any python3
    subprocess.run(  # noqa: S603 - fixed argv
        [
            str(AZ_VENV / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "azure-cli",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    say(f"Azure CLI installed in {time.monotonic() - started:.0f} s")
    return AZ


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
    """Runs `az` and `docker` with one throw-away configuration."""

    def __init__(self, bench: Bench, home: Path) -> None:
        self.bench = bench
        home.mkdir(parents=True, exist_ok=True)
        (home / "docker").mkdir(exist_ok=True)
        self.env = {
            "PATH": f"{AZ_VENV / 'bin'}:/usr/bin:/bin",
            "HOME": str(home),
            "AZURE_CONFIG_DIR": str(home / "azure"),
            "DOCKER_CONFIG": str(home / "docker"),
            "REQUESTS_CA_BUNDLE": str(bench.azure.ca_path),
            "AZURE_CORE_COLLECT_TELEMETRY": "no",
            "AZURE_CORE_NO_COLOR": "1",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "1",
            "LANG": "C.UTF-8",
        }

    def run(self, *argv: str, check: bool = True) -> tuple[float, str]:
        """Run one command; its wall time and stdout."""
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 - fixed argv
            list(argv), env=self.env, capture_output=True, text=True, check=False
        )
        seconds = time.monotonic() - started
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:3])} failed: {done.stderr.strip()[-600:]}")
        return seconds, done.stdout.strip()


def run_sequence(bench: Bench, image: str, group: str) -> CliResult:
    """Sign in, then time the tutorial's sequence: push `image`, read two secrets, create, show."""
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
    cli = Cli(bench, bench.workdir / "az-home")
    az = str(ensure_azure_cli())
    result = CliResult()
    result.start_up = min(cli.run(az, "version", "--output", "none")[0] for _ in range(3))
    cli.run(az, "config", "set", "core.instance_discovery=false", "--only-show-errors")
    cli.run(az, "cloud", "register", "-n", "Local", "--endpoint-resource-manager", azure.arm_url)
    cli.run(az, "cloud", "set", "-n", "Local")
    result.login_seconds, _ = cli.run(
        az, "login", "--service-principal", "--username", PULL_SP, "--password", PULL_SP_SECRET,
        "--tenant", state.tenant_id, "--output", "none",
    )  # fmt: skip
    cli.run(az, "account", "set", "--subscription", state.subscription_id)
    login_server = azure.login_server(REGISTRY)
    target = f"{login_server}/hello-cli:v1"
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
