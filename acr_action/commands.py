"""The laptop commands: `python -m acr_action setup [--dry-run|--check]` and `... doctor`.

Both sign in as the person at the keyboard (environment credentials, else the Azure CLI's login:
`auth.laptop_credential`), talk to ARM through `arm_rest.ArmRest`, and print through the
`Runner`. They share one option parser; `setup` adds what it writes.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ActionError, InputProblem, OptionError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from .arm_rest import ArmRest
    from .cloud import Endpoints
    from .runner import Runner
    from .setup import Observed, SetupConfig

COMMANDS = ("setup", "doctor")
# Subscriptions_List (Azure/azure-rest-api-specs, Microsoft.Resources subscriptions 2020-01-01).
SUBSCRIPTIONS_API_VERSION = "2020-01-01"
_EXAMPLE = "python -m acr_action setup --repo octo-org/iris-api --resource-group demo-rg --registry irisacr --location westeurope"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as an `InputError` instead of exiting."""

    def error(self, message: str) -> Any:
        """Raise the problem the way every bad input is reported."""
        raise OptionError([InputProblem(self.prog, message, _EXAMPLE)])


def parser(command: str) -> argparse.ArgumentParser:
    """The options of `setup` or `doctor`."""
    described = {
        "setup": "Create what a deploy needs, with no secret anywhere; a rerun changes nothing.",
        "doctor": "Check an existing setup against the workflow files; exit 0 only when ready.",
    }
    p = _Parser(
        prog=f"python -m acr_action {command}", description=described[command], add_help=False
    )
    p.add_argument("--help", "-h", action="store_true", help="show this help and exit")
    p.add_argument("--repo", required=True, help="the GitHub repository, OWNER/NAME")
    p.add_argument("--resource-group", required=True, help="resource group of the app")
    p.add_argument("--registry", required=True, help="container registry name (global)")
    p.add_argument("--location", help="region for what is created (default: the group's)")
    p.add_argument("--identity", help="deployer identity (default: github-<repo>-deployer)")
    p.add_argument("--key-vault", help="vault of the pull credentials (default: <registry>-kv)")
    p.add_argument(
        "--pull-credentials",
        choices=("key-vault", "identity"),
        default="key-vault",
        help="how Container Instances pulls: Key Vault credentials, or a pull identity with "
        "AcrPull (give its resource ID as the action's registry-identity)",
    )
    p.add_argument("--subscription-id", help="default: AZURE_SUBSCRIPTION_ID, or the only one")
    p.add_argument("--tenant-id", help="default: the signed-in tenant")
    p.add_argument("--cloud", default="AzureCloud", help="AzureCloud, AzureChinaCloud, ...")
    p.add_argument("--resource-manager-endpoint", help="a custom cloud's ARM URL")
    p.add_argument("--oidc-issuer", help="default https://token.actions.githubusercontent.com")
    p.add_argument("--audience", default="api://AzureADTokenExchange")
    if command == "doctor":
        p.add_argument("--workflows", default=".github/workflows", help="the workflow files")
        p.add_argument("--client-id", help="find the identity by the workflows' AZURE_CLIENT_ID")
        p.add_argument("--branch", default="main", help="the default branch")
        return p
    p.add_argument(
        "--environment",
        action="append",
        help="GitHub environment of the deploy job (repeatable; default: production)",
    )
    p.add_argument("--no-environment", action="store_true", help="deploy job without one")
    p.add_argument("--branch", default="main", help="the branch that deploys")
    p.add_argument("--no-preview", action="store_true", help="no pull-request previews")
    p.add_argument("--pull-principal-id", help="object id of the vault's pull principal")
    p.add_argument("--write-workflows", metavar="DIR", help="write the two workflows there")
    p.add_argument("--action", default="acr-action/acr-action@v1", help="`uses:` of the action")
    p.add_argument(
        "--set-variables",
        action="store_true",
        help="set the repository variables (token in GH_TOKEN or GITHUB_TOKEN)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--check", action="store_true", help="run doctor instead")
    p.add_argument("--workflows", default=".github/workflows", help="(with --check)")
    return p


@dataclass(frozen=True)
class Context:
    """A signed-in laptop session: the cloud, ARM, the subscription and who you are."""

    endpoints: Endpoints
    credential: TokenCredential
    arm: ArmRest
    subscription: str
    tenant: str
    you: str | None  # your object id (`oid`)


def connect(args: argparse.Namespace, env: Mapping[str, str], runner: Runner) -> Context:
    """Sign in (environment credentials, else the Azure CLI) and find the subscription."""
    from . import cloud
    from .arm_rest import ArmRest
    from .auth import MaskingCredential, laptop_credential, unverified_claims
    from .retry import Retrier

    retrier = Retrier(log=runner.info)
    if args.resource_manager_endpoint:
        endpoints = cloud.from_metadata(args.resource_manager_endpoint, retrier=retrier)
    else:
        endpoints = cloud.for_environment(args.cloud)
    # On a runner, tokens are masked as always; on a laptop, scrubbed from what is printed.
    hide = runner.mask if env.get("GITHUB_ACTIONS") == "true" else runner.hide
    credential = MaskingCredential(laptop_credential(args.tenant_id, endpoints), hide)
    token = credential.get_token(endpoints.arm_scope)
    claims = unverified_claims(token.token)

    def fresh() -> str:
        return credential.get_token(endpoints.arm_scope).token

    arm = ArmRest(endpoints.resource_manager, fresh, retrier)
    subscription = args.subscription_id or env.get("AZURE_SUBSCRIPTION_ID") or _only(arm)
    tenant = args.tenant_id or str(claims.get("tid") or "")
    you = claims.get("oid")
    return Context(endpoints, credential, arm, subscription, tenant, str(you) if you else None)


def _only(arm: ArmRest) -> str:
    """The one subscription you can see, or the error that asks you to name one."""
    found = [
        str(s.get("subscriptionId")) for s in arm.list("/subscriptions", SUBSCRIPTIONS_API_VERSION)
    ]
    if len(found) == 1:
        return found[0]
    message = f"is needed: you can see {len(found)} subscriptions ({', '.join(found) or 'none'})"
    raise OptionError([InputProblem("--subscription-id", message, "--subscription-id 0b1f...")])


def config_of(args: argparse.Namespace, context: Context, subjects: Sequence[Any]) -> SetupConfig:
    """The `SetupConfig` the options describe."""
    from .setup import SetupConfig
    from .workflows import ISSUER

    repo_name = args.repo.rsplit("/", 1)[-1].lower()
    return SetupConfig(
        repo=args.repo,
        subscription=context.subscription,
        tenant=context.tenant,
        resource_group=args.resource_group,
        location=args.location,
        registry=args.registry,
        identity=args.identity or f"github-{repo_name}-deployer",
        subjects=tuple(subjects),
        pull=args.pull_credentials,
        key_vault=(args.key_vault or f"{args.registry}-kv"[:24])
        if args.pull_credentials == "key-vault"
        else None,
        pull_identity=f"{args.registry}-pull" if args.pull_credentials == "identity" else None,
        signed_in=context.you,
        pull_principal=getattr(args, "pull_principal_id", None),
        issuer=args.oidc_issuer or ISSUER,
        audience=args.audience,
    )


def _validate(args: argparse.Namespace) -> None:
    import re

    problems = []
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", args.repo):
        problems.append(InputProblem("--repo", "is OWNER/NAME", "--repo octo-org/iris-api"))
    if not re.fullmatch(r"[A-Za-z0-9]{5,50}", args.registry):
        problems.append(
            InputProblem("--registry", "is 5-50 letters and digits", "--registry irisacr")
        )
    if problems:
        raise OptionError(problems)


def run(command: str, argv: Sequence[str], env: Mapping[str, str], runner: Runner) -> int:
    """Run `setup` or `doctor`; on a runner, errors are raised for `main` to annotate, on a
    laptop they are printed as plain text (an `::error` line means nothing in a terminal)."""
    if env.get("GITHUB_ACTIONS") == "true":
        return _run(command, argv, env, runner)
    try:
        return _run(command, argv, env, runner)
    except ActionError as exc:
        runner.info(f"Error: {exc.render()}")
        return exc.exit_code


def _run(command: str, argv: Sequence[str], env: Mapping[str, str], runner: Runner) -> int:
    p = parser(command)
    if {"--help", "-h"} & set(argv):
        runner.info(p.format_help())
        return 0
    args = p.parse_args(list(argv))
    _validate(args)
    if getattr(args, "set_variables", False):
        from .repo_variables import token_of

        token_of(env)  # before any network call
    try:
        import yaml  # noqa: F401 - both read workflow YAML
    except ModuleNotFoundError:
        message = "needs PyYAML to read workflow files: `pip install pyyaml`"
        raise OptionError([InputProblem(command, message, "pip install pyyaml")]) from None
    if command == "doctor" or args.check:
        return doctor(args, env, runner)
    return setup(args, env, runner)


def setup(args: argparse.Namespace, env: Mapping[str, str], runner: Runner) -> int:
    """`setup`: observe, plan, print; unless `--dry-run`, apply and say what to set on GitHub."""
    from . import provision, workflows
    from .setup import plan, summary

    settings = workflows.WorkflowSettings(
        action=args.action,
        branch=args.branch,
        environment=None if args.no_environment else (args.environment or ["production"])[0],
        preview=not args.no_preview,
    )
    subjects = workflows.subjects_for(args.repo, settings)
    for extra in (args.environment or [])[1:]:
        value = workflows.subject(args.repo, "environment", extra)
        subjects.append(workflows.Presented(value, "(--environment)", "-", f"environment {extra}"))
    context = connect(args, env, runner)
    config = config_of(args, context, subjects)
    versions = context.endpoints.api_versions
    observed = provision.observe(context.arm, versions, config)
    steps = plan(config, observed)
    runner.info(f"Plan for {config.repo} in subscription {config.subscription}:")
    runner.info(summary(steps))
    if any(step.state == "blocked" for step in steps):
        return 1
    if args.dry_run:
        runner.info("Dry run: nothing was changed.")
        return 0
    observed = provision.apply(context.arm, versions, config, observed, steps, runner.info)
    _after_apply(args, env, context, config, observed, runner, settings)
    return 0


def _after_apply(
    args: argparse.Namespace,
    env: Mapping[str, str],
    context: Context,
    config: SetupConfig,
    observed: Observed,
    runner: Runner,
    settings: Any,
) -> None:
    from . import workflows
    from .setup import DEPLOYER

    if config.pull == "key-vault" and config.key_vault:
        from .pull_secrets import ensure_pull_secrets

        ensure_pull_secrets(context.credential, context.endpoints, config, observed, runner, env)
    client_id = ((observed.identities.get(DEPLOYER) or {}).get("properties") or {}).get("clientId")
    variables = {
        "AZURE_CLIENT_ID": str(client_id),
        "AZURE_TENANT_ID": config.tenant,
        "AZURE_SUBSCRIPTION_ID": config.subscription,
        "AZURE_RESOURCE_GROUP": config.resource_group,
        "AZURE_REGISTRY": config.registry,
    }
    if config.key_vault:
        variables["AZURE_KEY_VAULT"] = config.key_vault
    if args.set_variables:
        from .repo_variables import set_variables, token_of

        token = token_of(env)
        runner.hide(token)
        api = env.get("GITHUB_API_URL") or "https://api.github.com"
        for name, state in set_variables(config.repo, variables, token, api_url=api):
            runner.info(f"  {state:<9} variable {name}")
    else:
        runner.info("Set these repository variables (none of them is a secret):")
        for name, value in variables.items():
            runner.info(f"  gh variable set {name} --repo {config.repo} --body {value}")
    runner.info(
        "The deployer's new role assignments can take minutes to count (Azure Resource Manager "
        "caches them: Learn, troubleshooting Azure RBAC); a first run refused with "
        "AuthorizationFailed before then passes when rerun. `python -m acr_action doctor` "
        "checks the whole setup."
    )
    if args.write_workflows:
        for path, state in workflows.write(
            Path(args.write_workflows), workflows.rendered(settings)
        ):
            runner.info(f"  {state}: {path}")


def doctor(args: argparse.Namespace, env: Mapping[str, str], runner: Runner) -> int:
    """`doctor`: read the setup and the workflows, print each finding; 0 only when ready."""
    from . import provision, workflows
    from .doctor import diagnose, failed, render

    documents = workflows.read_workflows(Path(args.workflows))
    presented, unknown = workflows.presented_by(args.repo, documents, args.branch)
    context = connect(args, env, runner)
    if getattr(args, "client_id", None) and not args.identity:
        args.identity = _identity_named(context, args) or f"(client id {args.client_id})"
    config = config_of(args, context, presented)
    observed = provision.observe(context.arm, context.endpoints.api_versions, config)
    facts = _facts(context, config, observed, documents, presented, unknown)
    findings = diagnose(config, observed, facts)
    runner.info(f"doctor: {config.repo}, resource group {config.resource_group}")
    runner.info(render(findings))
    return 1 if failed(findings) else 0


def _identity_named(context: Context, args: argparse.Namespace) -> str | None:
    """The name of the group's user-assigned identity whose client id is `--client-id`."""
    path = (
        f"/subscriptions/{context.subscription}/resourceGroups/{args.resource_group}"
        "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
    )
    try:
        identities = list(context.arm.list(path, context.endpoints.api_versions.managed_identities))
    except ActionError:
        return None  # no group yet: doctor reports that
    for identity in identities:
        if (
            str((identity.get("properties") or {}).get("clientId", "")).lower()
            == args.client_id.lower()
        ):
            return str(identity.get("name"))
    return None


def _facts(
    context: Context,
    config: SetupConfig,
    observed: Observed,
    documents: Mapping[str, Any],
    presented: Sequence[Any],
    unknown: Sequence[Any],
) -> Any:
    from .doctor import Facts
    from .pull_secrets import secret_names, vault_secret_names

    location = config.location or (observed.group or {}).get("location")
    config_location = location or ""
    usage = _usage(context, config.subscription, config_location) if location else None
    secrets = None
    if config.key_vault and observed.vault is not None:
        secrets = vault_secret_names(context.credential, context.endpoints, observed.vault)
    return Facts(
        presented=tuple(presented),
        unknown=tuple(unknown),
        secrets=secrets,
        secret_names=secret_names(config.registry) if config.key_vault else (),
        usage=usage,
        no_token_jobs=tuple(_jobs_without_token(documents)),
    )


def _usage(context: Context, subscription: str, location: str) -> tuple[int, int] | None:
    """(current, limit) of container groups in the region (`Location_ListUsage`), if readable."""
    path = f"/subscriptions/{subscription}/providers/Microsoft.ContainerInstance/locations/{location}/usages"
    try:
        items = list(context.arm.list(path, context.endpoints.api_versions.container_groups))
    except ActionError:
        return None
    for item in items:
        if (item.get("name") or {}).get("value") == "ContainerGroups":
            return int(item.get("currentValue", 0)), int(item.get("limit", 0))
    return None


def _jobs_without_token(documents: Mapping[str, Any]) -> list[str]:
    """Jobs that use acr-action but may not ask for an OIDC token."""
    from .workflows import may_request_token

    found = []
    for name, document in documents.items():
        for job_name, job in (document.get("jobs") or {}).items():
            if not isinstance(job, dict):
                continue
            steps = job.get("steps") or []
            uses = [str(s.get("uses", "")) for s in steps if isinstance(s, dict)]
            if any("acr-action" in use for use in uses) and not may_request_token(job, document):
                found.append(f"{name}: job {job_name}")
    return found
