"""`python -m acr_action doctor` (also `setup --check`): is an existing setup ready for a deploy?

`diagnose` is pure: it takes what ARM answered (`setup.Observed`), the subjects the workflow files
present (`workflows.presented_by`) and the vault's secret names, and returns one `Finding` per
check, each with its cause and the exact fix. Exit code 0 only when no finding is an error.

Federated credentials are compared the way Entra compares them: issuer, subject and audience
exactly, case included ("the subject ... is case-sensitive", learn.microsoft.com/entra/
workload-id/workload-identity-federation-create-trust#important-considerations-and-restrictions).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .roles import ABAC_PUSH, holds
from .setup import (
    DEPLOYER,
    PROVIDERS,
    Observed,
    SetupConfig,
    credential_name,
    principal_of,
    push_role,
)
from .workflows import Presented, Unknown

ERROR, WARNING, OK, NOTE = "error", "warning", "ok", "note"


@dataclass(frozen=True)
class Finding:
    """One check's result: what, why, and the exact fix (a command or YAML)."""

    check: str
    severity: str  # error, warning, ok, note
    what: str
    cause: str = ""
    fix: str = ""


@dataclass(frozen=True)
class Facts:
    """What `doctor` read beyond `Observed`."""

    presented: tuple[Presented, ...] = ()
    unknown: tuple[Unknown, ...] = ()
    secrets: frozenset[str] | None = None  # the vault's secret names; None: not readable
    secret_names: tuple[str, ...] = ()  # the names the workflow will read
    usage: tuple[int, int] | None = None  # container groups (current, limit) in the region
    no_token_jobs: tuple[str, ...] = ()  # "file: job" using the action without id-token: write


def diagnose(config: SetupConfig, observed: Observed, facts: Facts) -> list[Finding]:
    """Every check, in the order a deploy meets them."""
    return [
        *_providers(observed),
        *_group_and_registry(config, observed),
        *_identity(config, observed),
        *_credentials(config, observed, facts),
        *_roles(config, observed),
        *_vault(config, observed, facts),
        *_capacity(config, facts),
    ]


def failed(findings: Sequence[Finding]) -> bool:
    """Would a deploy fail (any error)?"""
    return any(finding.severity == ERROR for finding in findings)


def _providers(observed: Observed) -> Iterator[Finding]:
    for namespace in PROVIDERS:
        state = observed.providers.get(namespace.lower(), "NotRegistered")
        if state == "Registered":
            yield Finding("provider", OK, f"{namespace} is registered")
            continue
        yield Finding(
            "provider",
            ERROR,
            f"resource provider {namespace} is {state}",
            "A subscription can create a resource type only once its provider is registered; "
            "ARM refuses the first create with MissingSubscriptionRegistration.",
            f"az provider register --namespace {namespace} --wait",
        )


def _group_and_registry(config: SetupConfig, observed: Observed) -> Iterator[Finding]:
    rg = config.resource_group
    if observed.group is None:
        yield Finding(
            "resource group",
            ERROR,
            f"resource group {rg} does not exist",
            "The deploy creates the container group in it.",
            f"az group create --name {rg} --location {config.location or 'westeurope'}",
        )
        return
    yield Finding("resource group", OK, f"resource group {rg} exists")
    if observed.registry is None:
        yield Finding(
            "registry",
            ERROR,
            f"registry {config.registry} is not in {rg}",
            "The action pushes the image there (`registry` input).",
            f"az acr create --resource-group {rg} --name {config.registry} --sku Basic",
        )
        return
    yield from _registry_access(config, observed.registry.get("properties") or {})


def _registry_access(config: SetupConfig, properties: dict[str, object]) -> Iterator[Finding]:
    name = config.registry
    mode = properties.get("roleAssignmentMode") or "LegacyRegistryPermissions"
    yield Finding("registry", OK, f"registry {name} exists (role mode {mode})")
    if str(properties.get("publicNetworkAccess", "Enabled")).lower() == "disabled":
        yield Finding(
            "registry network",
            ERROR,
            f"registry {name} has public network access disabled",
            "GitHub-hosted runners reach the registry over the internet; the push is refused "
            "with 403 DENIED. Use a self-hosted runner inside the registry's network, or:",
            f"az acr update --name {name} --public-network-enabled true",
        )
    rules = properties.get("networkRuleSet")
    if isinstance(rules, dict) and str(rules.get("defaultAction", "Allow")).lower() == "deny":
        yield Finding(
            "registry network",
            WARNING,
            f"registry {name} denies networks not in its IP rules",
            "GitHub-hosted runners' addresses change and are rarely in the rules; pushes from "
            "them are refused with 403 DENIED.",
            f"az acr update --name {name} --default-action Allow",
        )


def _identity(config: SetupConfig, observed: Observed) -> Iterator[Finding]:
    if DEPLOYER in observed.identities:
        client = (observed.identities[DEPLOYER].get("properties") or {}).get("clientId")
        yield Finding("identity", OK, f"identity {config.identity} exists (client id {client})")
        return
    if observed.group is None:
        return
    yield Finding(
        "identity",
        ERROR,
        f"user-assigned identity {config.identity} is not in {config.resource_group}",
        "The workflow signs in as it (`client-id`). An app registration instead cannot be read "
        "through ARM; check its credentials with `az ad app federated-credential list --id APP`.",
        f"az identity create --resource-group {config.resource_group} --name {config.identity}",
    )


def _credentials(config: SetupConfig, observed: Observed, facts: Facts) -> Iterator[Finding]:
    for item in facts.unknown:
        yield Finding(
            "workflow",
            WARNING,
            f"{item.workflow}: job {item.job}: subject unknown: {item.why}",
            "doctor reads GitHub's default subject format; a repository with a customised OIDC "
            "subject template presents another one (`gh api repos/OWNER/REPO/actions/oidc/"
            "customization/sub`).",
        )
    for job in facts.no_token_jobs:
        yield Finding(
            "workflow",
            ERROR,
            f"{job} uses the action without `id-token: write`",
            "Without it the runner gives the job no OIDC token and sign-in fails.",
            "permissions:\n  id-token: write\n  contents: read",
        )
    if DEPLOYER not in observed.identities:
        return
    if not facts.presented:
        yield Finding(
            "workflow",
            WARNING,
            "no workflow job asks for an OIDC token (`id-token: write`)",
            "Point `--workflows` at the repository's .github/workflows.",
        )
    credentials = [c.get("properties") or {} for c in observed.credentials.values()]
    for presented in facts.presented:
        yield _credential(config, credentials, presented)


def _credential(
    config: SetupConfig, credentials: list[dict[str, object]], presented: Presented
) -> Finding:
    subject = presented.subject
    where = f"{presented.workflow}: job {presented.job} ({presented.why})"
    fix = (
        f"az identity federated-credential create --resource-group {config.resource_group} "
        f"--identity-name {config.identity} --name {credential_name(presented)} "
        f"--issuer {config.issuer} --subject '{subject}' --audiences {config.audience}"
    )
    same = [c for c in credentials if c.get("subject") == subject]
    for credential in same:
        audiences = list(credential.get("audiences") or [])  # type: ignore[call-overload]
        if credential.get("issuer") == config.issuer and config.audience in audiences:
            return Finding("federated credential", OK, f"{subject} is trusted ({where})")
    if same:
        issuer, audiences = same[0].get("issuer"), same[0].get("audiences")
        if issuer != config.issuer:
            cause = f"Its issuer is {issuer}; GitHub's tokens come from {config.issuer}."
            return Finding("federated credential", ERROR, f"{subject}: wrong issuer", cause, fix)
        cause = f"Its audiences are {audiences}; the action asks for {config.audience}."
        return Finding("federated credential", ERROR, f"{subject}: wrong audience", cause, fix)
    near = [c for c in credentials if str(c.get("subject", "")).lower() == subject.lower()]
    if near:
        cause = (
            f"A credential has the subject {near[0].get('subject')}: Entra compares subjects "
            "case-sensitively, and GitHub sends the names as written on GitHub. Sign-in fails "
            "with AADSTS700213."
        )
        return Finding("federated credential", ERROR, f"{subject}: wrong case", cause, fix)
    kind = "environment " if ":environment:" in subject else ""
    cause = f"{where} presents it and no federated credential matches: AADSTS700213 at sign-in."
    return Finding("federated credential", ERROR, f"no {kind}credential for {subject}", cause, fix)


def _roles(config: SetupConfig, observed: Observed) -> Iterator[Finding]:
    principal = principal_of(config, observed, DEPLOYER)
    if not principal or observed.group is None:
        return
    wanted = [("Contributor", config.group_id, "deploys the container group")]
    if observed.registry is not None:
        wanted.append((push_role(observed), config.registry_id, "pushes the image"))
    if config.key_vault and observed.vault is not None:
        wanted.append(("Key Vault Secrets User", config.vault_id, "reads the pull secrets"))
    ids = dict(observed.role_ids)
    for role, scope, why in wanted:
        found = holds(observed.assignments, principal, role, scope, ids)
        where = scope.rsplit("/", 1)[-1]
        if found:
            yield Finding("role", OK, f"{config.identity} has {found} on {where}")
            continue
        cause = f"The identity {why} with it."
        if role == ABAC_PUSH and holds(observed.assignments, principal, "AcrPush", scope):
            cause += " The registry is in ABAC repository-permissions mode, which ignores AcrPush."
        fix = (
            f"az role assignment create --assignee-object-id {principal} "
            f"--assignee-principal-type ServicePrincipal --role '{role}' --scope {scope}"
        )
        yield Finding("role", ERROR, f"{config.identity} lacks {role} on {where}", cause, fix)


def _vault(config: SetupConfig, observed: Observed, facts: Facts) -> Iterator[Finding]:
    name = config.key_vault
    if not name or observed.group is None:
        return
    if observed.vault is None:
        yield Finding(
            "key vault",
            ERROR,
            f"key vault {name} is not in {config.resource_group}",
            "The action reads the registry pull credentials from it (`key-vault`).",
            f"az keyvault create --resource-group {config.resource_group} --name {name} "
            "--enable-rbac-authorization true",
        )
        return
    if not (observed.vault.get("properties") or {}).get("enableRbacAuthorization"):
        yield Finding(
            "key vault",
            ERROR,
            f"key vault {name} uses access policies, not Azure RBAC",
            "Role assignments (Key Vault Secrets User) do not count in an access-policy vault: "
            "the read is refused with 403 even though the role shows as granted.",
            f"az keyvault update --name {name} --enable-rbac-authorization true",
        )
        return
    yield Finding("key vault", OK, f"key vault {name} uses Azure RBAC")
    yield from _secrets(name, facts)


def _secrets(vault: str, facts: Facts) -> Iterator[Finding]:
    if facts.secrets is None:
        yield Finding(
            "key vault secrets",
            NOTE,
            f"could not list the secrets of {vault} as you (Key Vault Secrets User or Officer)",
        )
        return
    for secret in facts.secret_names:
        if secret in facts.secrets:
            yield Finding("key vault secrets", OK, f"secret {secret} exists")
            continue
        yield Finding(
            "key vault secrets",
            ERROR,
            f"secret {secret} is not in {vault}",
            "The action reads the registry pull credentials under this name.",
            f"az keyvault secret set --vault-name {vault} --name {secret} --file /dev/stdin",
        )


def _capacity(config: SetupConfig, facts: Facts) -> Iterator[Finding]:
    if facts.usage is None:
        yield Finding(
            "quota",
            NOTE,
            f"container group quota in {config.location} not readable",
        )
    else:
        current, limit = facts.usage
        if current >= limit:
            yield Finding(
                "quota",
                ERROR,
                f"{current} of {limit} container groups in {config.location} are in use",
                "A new group (a first deploy, a preview) is refused with a quota error.",
                "Delete unused groups, or ask for more: Azure portal > Quotas > Container "
                "Instances.",
            )
        else:
            yield Finding("quota", OK, f"{current} of {limit} container groups in use")
    yield Finding(
        "dns label",
        NOTE,
        "DNS labels are checked by Azure at deploy time; the action's default label (the name "
        "and a hash) is unique per repository, and a taken one fails with its fix",
    )


def render(findings: Sequence[Finding]) -> str:
    """The findings as text: one line each, then the cause and fix of each problem."""
    marks = {ERROR: "FAIL", WARNING: "WARN", OK: "ok", NOTE: "note"}
    lines = []
    for finding in findings:
        lines.append(f"  {marks[finding.severity]:<4}  {finding.check}: {finding.what}")
        if finding.severity in (ERROR, WARNING):
            if finding.cause:
                lines.append(f"        why: {finding.cause}")
            for number, line in enumerate(finding.fix.splitlines()):
                lines.append(f"        {'fix: ' if number == 0 else '     '}{line}")
    errors = sum(finding.severity == ERROR for finding in findings)
    warnings = sum(finding.severity == WARNING for finding in findings)
    if errors:
        lines.append(f"{errors} problem(s) would stop a deploy; {warnings} warning(s).")
    else:
        lines.append(f"Ready to deploy ({warnings} warning(s)).")
    return "\n".join(lines)
