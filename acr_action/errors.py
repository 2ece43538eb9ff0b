"""The one error hierarchy of the action: every failure a user can act on.

::

    ActionError                         base; exit_code, title, details, render()
    ├── InputError                      one or more invalid inputs, all reported at once
    │   └── OptionError                 the same for the options of `setup` and `doctor`
    ├── AuthError                       signing in to Microsoft Entra ID failed
    │   ├── OidcUnavailable             no GitHub OIDC token: missing `id-token: write`
    │   ├── OidcTokenRefused            the runner's token service answered without a token
    │   ├── ForkPullRequest             pull requests from forks get no OIDC token
    │   ├── FederatedCredentialMismatch Entra found no federated credential for the token
    │   └── EntraRefused                any other AADSTS refusal
    ├── AzureServiceError               an Azure control- or data-plane call failed
    │   ├── PermissionDenied            the signed-in principal lacks a role
    │   ├── ResourceMissing             resource group, registry, vault ... not found
    │   ├── KeyVaultSecretMissing       a secret named in the inputs is not in the vault
    │   ├── KeyVaultForbidden           the principal may not read the vault's secrets
    │   └── AzureCallFailed             any other failed call
    ├── RegistryError                   building, pushing or pulling the image failed
    │   ├── RegistryNetworkDenied       the registry's firewall keeps the runner out (403 DENIED)
    │   ├── RegistryTokenRefused        `/oauth2/exchange` took none of the Entra tokens
    │   ├── BuildFailed                 `docker build` (BuildKit) failed
    │   ├── PushFailed                  the registry refused the push
    │   └── ImagePullRefused            Container Instances could not pull the image
    ├── DeployError                     the container group did not come up
    │   ├── DnsLabelTaken               the DNS name label is in use in the region
    │   ├── SubnetNotDelegated          the subnet is not delegated to Container Instances
    │   ├── ImmutableChange             a property ACI cannot update in place changed
    │   ├── CannotKeep                  the group holds secrets a GET never returns
    │   ├── TooManyTags                 the group would carry more than ARM's 50 tags
    │   ├── RecreateFailed              the old group was deleted, the new one not created
    │   ├── ContainerFailed             a container terminated or keeps restarting
    │   └── NotReady                    the HTTP readiness check never passed
    ├── PreviewError                    a pull-request preview rule stopped the run
    │   ├── PreviewLimitReached         `max-previews` reached and `on-max-previews: fail`
    │   ├── PreviewNameTaken            the preview's group belongs to another repository
    │   ├── GitHubCallFailed            a GitHub REST call (pull request state) failed
    │   └── SweepFailed                 some previews could not be deleted by `mode: sweep`
    ├── CloudLacksService               the cloud does not offer what the inputs need
    ├── DependencyUnavailable           a service kept failing transiently until retries ran out
    └── StepTimeout                     the `timeout` input ran out

Every error carries a one-line ``title`` (what failed and why) and a markdown ``details`` body
(what it usually means, the exact fix as a YAML or ``az`` snippet, non-secret context).
``render()`` joins them; ``__main__`` prints it and the runner module turns it into an annotation
and a step-summary section.

Exit codes: every class exits with 1. The issue asks for 1 on bad input, GitHub shows any non-zero
code the same way (a failed step), and the cause is in the message, so distinct codes would only
be an API nobody reads. ``exit_code`` stays a class attribute so a subclass can change it if a
caller ever needs to tell failures apart.

No secret may reach these texts: constructors take names, ids, claims and messages, never tokens
or passwords. Text that comes from outside (Entra messages, build output, container logs) is passed
through :func:`untrusted_text`, which stops it from acting as a GitHub workflow command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from .runner import inert_line

__all__ = [
    "MISSING",
    "ActionError",
    "AuthError",
    "AzureCallFailed",
    "AzureServiceError",
    "BuildFailed",
    "ContainerFailed",
    "DependencyUnavailable",
    "DeployError",
    "DnsLabelTaken",
    "EntraRefused",
    "FederatedCredentialMismatch",
    "ForkPullRequest",
    "GitHubCallFailed",
    "ImagePullRefused",
    "ImmutableChange",
    "InputError",
    "InputProblem",
    "KeyVaultForbidden",
    "KeyVaultSecretMissing",
    "NotReady",
    "OidcTokenRefused",
    "OidcUnavailable",
    "OptionError",
    "PermissionDenied",
    "PreviewError",
    "PreviewLimitReached",
    "PreviewNameTaken",
    "PushFailed",
    "RecreateFailed",
    "RegistryError",
    "RegistryNetworkDenied",
    "RegistryTokenRefused",
    "ResourceMissing",
    "StepTimeout",
    "SubnetNotDelegated",
    "SweepFailed",
    "TooManyTags",
    "display_value",
    "registry_role",
    "untrusted_text",
]

MISSING = "MISSING"
"""Shown in place of a claim or value that was not present."""

# The claims of a GitHub OIDC token that identify the workflow and are not secret.
OIDC_CLAIMS = ("sub", "aud", "iss", "repository", "ref", "environment", "job_workflow_ref")

_GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
_DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MAX_SHOWN = 120


# --------------------------------------------------------------------------- text helpers


def untrusted_text(text: str) -> str:
    """Make text from outside the action safe to print: no ANSI codes, no workflow commands."""
    text = _ANSI.sub("", text.replace("\r\n", "\n"))
    text = _CONTROL.sub("", text.replace("\r", "\n"))
    lines = []
    for line in text.split("\n"):
        # Build logs and container output must not be able to set outputs or masks: a line
        # that the runner could read as a workflow command is made inert.
        lines.append(inert_line(line))
    return "\n".join(lines)


def display_value(value: str) -> str:
    """Render one user-given value on a single line: escaped, shortened, inert."""
    shown = json.dumps(value, ensure_ascii=False)[1:-1]  # escapes quotes, newlines and controls
    # A shown value is never at the start of a line, but break "::" anyway so that no copy of
    # the text can ever be read as a workflow command; the legacy "##[" counts anywhere.
    shown = shown.replace("::", ": :").replace("##[", "# #[")
    if len(shown) > _MAX_SHOWN:
        shown = shown[: _MAX_SHOWN - 1] + "…"
    return shown


def _code(text: str) -> str:
    """Inline markdown code that survives backticks inside the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _block(text: str, lang: str = "") -> str:
    """A fenced markdown code block that survives backtick runs inside the text."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def _shell_quote(text: str) -> str:
    """Quote for a POSIX shell with single quotes."""
    return "'" + text.replace("'", "'\\''") + "'"


def _duration(seconds: float) -> str:
    """Human-readable duration in the syntax the `timeout` input accepts."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"


def _principal(principal: str | None) -> str:
    return f"the principal {principal}" if principal else "the signed-in principal"


def _said(who: str, text: str) -> str:
    """What another service answered, whole and inert, as a code block."""
    return f"{who} said:\n\n" + _block(untrusted_text(text).strip() or "(nothing)")


def _one_line(text: str) -> str:
    """Outside text on one line (for list items), without workflow commands or ANSI codes."""
    return " ".join(untrusted_text(text).split())


def _first_line(text: str) -> str:
    for line in untrusted_text(text).splitlines():
        if line.strip():
            return line.strip()
    return ""


def _vault_name(vault: str) -> str:
    """The vault's name, also when the input gave its URL (https://NAME.vault.azure.net)."""
    match = re.match(r"^https://([^./:]+)", vault.strip(), re.IGNORECASE)
    return match.group(1) if match else vault


def _id_or_placeholder(value: str | None) -> str:
    """An id for an `az` command line, quoted; `<client-id>` only when the run never knew it."""
    return _shell_quote(value) if value else "<client-id>"


def _aadsts(code: str | int) -> str:
    digits = re.sub(r"\D", "", str(code))
    return f"AADSTS{digits}" if digits else str(code)


# --------------------------------------------------------------------------- base


class ActionError(Exception):
    """A failure the user can act on; ``render()`` gives the full text."""

    exit_code: ClassVar[int] = 1

    def __init__(self, title: str, details: str = "") -> None:
        # Titles become `::error` annotations and summary headings: keep them one inert line
        # even when a caller splices in text from elsewhere.
        title = _one_line(title)
        super().__init__(title)
        self.title = title
        self.details = details

    def render(self) -> str:
        """The full message: title line, a blank line, then the markdown details."""
        if not self.details:
            return self.title
        return f"{self.title}\n\n{self.details.strip()}"

    def __str__(self) -> str:
        return self.title


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with one input; ``shown`` is None when the value must not be echoed."""

    input: str
    message: str
    example: str
    shown: str | None = None

    def render(self) -> str:
        """This problem as a markdown list item with a YAML example."""
        got = f"; got {_code(display_value(self.shown))}" if self.shown is not None else ""
        example = "\n".join("  " + line for line in _block(self.example, "yaml").splitlines())
        return f"- {_code(self.input)}: {self.message.rstrip('.')}{got}.\n  Example:\n{example}"


# What a run has done when it finds a problem only the existing group shows (InputError).
EXISTING_GROUP_READ = "reading the existing container group"


class InputError(ActionError):
    """One or more inputs are missing, malformed or contradict each other."""

    def __init__(self, problems: Sequence[InputProblem], *, shown_by: str | None = None) -> None:
        """`shown_by`: what the run had to do to see the problem (for the few an input alone
        cannot show, such as a mount of a volume the existing group may declare)."""
        self.problems = tuple(problems)
        names = list(dict.fromkeys(p.input for p in self.problems))
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        title = f"Invalid inputs: {count} {noun} in {', '.join(names)}"
        when = (
            "Nothing was sent to Azure: every input is checked before the first network call.\n"
            if shown_by is None
            else f"Nothing was changed in Azure: this shows only after {shown_by}, and was "
            "checked before any change.\n"
        )
        details = (
            when
            + "Fix these in the `with:` block of the step:\n\n"
            + "\n".join(p.render() for p in self.problems)
        )
        super().__init__(title, details)


class OptionError(InputError):
    """An option of `setup` or `doctor` is missing or malformed (they run on a laptop, not a step)."""

    def __init__(self, problems: Sequence[InputProblem]) -> None:
        super().__init__(problems)
        details = self.details.replace(
            "Fix these in the `with:` block of the step:", "Fix these options of the command:"
        ).replace("every input is checked", "every option is checked")
        ActionError.__init__(self, self.title.replace("Invalid inputs", "Invalid options"), details)


# --------------------------------------------------------------------------- auth


class AuthError(ActionError):
    """Signing in to Microsoft Entra ID failed."""


class OidcUnavailable(AuthError):
    """The job cannot request a GitHub OIDC token: `permissions: id-token: write` is missing."""

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        title = "Cannot get a GitHub OIDC token: the job lacks `permissions: id-token: write`"
        details = (
            "GitHub only gives a job the `ACTIONS_ID_TOKEN_REQUEST_URL` and "
            "`ACTIONS_ID_TOKEN_REQUEST_TOKEN` it needs to request an OIDC token when the workflow "
            "or the job grants `id-token: write`. Setting any `permissions:` block drops every "
            "permission not listed, so it is easy to lose.\n\n"
            "Fix: grant it on the job that runs this action:\n\n"
            + _block(
                "jobs:\n"
                "  deploy:\n"
                "    permissions:\n"
                "      id-token: write   # lets the job sign in to Azure without a stored secret\n"
                "      contents: read    # for actions/checkout",
                "yaml",
            )
            + "\n\nOn a runner without OIDC (e.g. GitHub Enterprise Server without it enabled), "
            "pass a service principal as `creds` instead. Outside GitHub Actions, omit the auth "
            "inputs and sign in with `az login`."
        )
        if detail:
            details += f"\n\nDetail: {untrusted_text(detail)}"
        super().__init__(title, details)


class OidcTokenRefused(AuthError):
    """The runner's token service answered the ID-token request, but gave no token."""

    def __init__(self, status: int, audience: str, detail: str = "") -> None:
        self.status = status
        self.audience = audience
        self.detail = detail
        got = "a body without `value`" if status == 200 else f"HTTP {status}"
        title = f"The GitHub OIDC token request answered {got}: no ID token for this job"
        details = (
            "The action asks `ACTIONS_ID_TOKEN_REQUEST_URL` for an ID token with the job's "
            "`ACTIONS_ID_TOKEN_REQUEST_TOKEN`, and the answer's JSON `value` is the token (as "
            "`@actions/core` `getIDToken` reads it). A refusal (401, 403) usually means the job "
            "was not granted `id-token: write`, or the request token expired in a very long job; "
            "another answer means the runner's token service is not what it should be.\n\n"
            "Fix: grant the permission on the job, and re-run it:\n\n"
            + _block(
                "jobs:\n  deploy:\n    permissions:\n      id-token: write\n      contents: read",
                "yaml",
            )
            + f"\n\nContext: audience {_code(display_value(audience))}."
        )
        if detail:
            details += "\n\n" + _said("The token service", detail)
        super().__init__(title, details)


class ForkPullRequest(AuthError):
    """The run is a pull request from a fork, and GitHub gives those no OIDC token."""

    def __init__(self, repository: str | None = None, head_repository: str | None = None) -> None:
        self.repository = repository
        self.head_repository = head_repository
        title = "No GitHub OIDC token: pull requests from forks do not get one"
        details = (
            "GitHub withholds OIDC tokens and secrets from `pull_request` runs whose head branch "
            "lives in a fork, so untrusted code cannot reach your Azure subscription. A fork's "
            "pull request cannot be deployed by this workflow, and that is by design.\n\n"
            "Fix: skip the deploy for forks with an `if:` condition:\n\n"
            + _block(
                "jobs:\n"
                "  preview:\n"
                "    if: github.event.pull_request.head.repo.full_name == github.repository",
                "yaml",
            )
            + "\n\nDo **not** switch to `pull_request_target` and check out the pull request's "
            "code: that runs untrusted code with your repository's credentials and Azure access."
            f"\n\nContext: repository {_code(repository or MISSING)}, "
            f"pull request from {_code(head_repository or MISSING)}."
        )
        super().__init__(title, details)


_FIC_MEANINGS = {
    "AADSTS700211": (
        "the token's issuer (`iss`)",
        "No federated credential of the app has this token's issuer. The issuer must match "
        "exactly; GitHub.com uses `https://token.actions.githubusercontent.com` (no trailing "
        "slash), GitHub Enterprise Server and enterprises with a custom issuer use their own.",
    ),
    "AADSTS700212": (
        "the token's audience (`aud`)",
        "No federated credential of the app lists this token's audience. The `audience` input "
        "and the credential's `audiences` must be the same (default `api://AzureADTokenExchange`).",
    ),
    "AADSTS700213": (
        "the token's subject (`sub`)",
        "No federated credential of the app has this token's subject. The subject depends on the "
        "trigger: `repo:OWNER/REPO:ref:refs/heads/BRANCH` for a push, "
        "`repo:OWNER/REPO:pull_request` for a pull request, `repo:OWNER/REPO:environment:NAME` "
        "when the job uses an `environment:` (which replaces the `ref` form), "
        "`repo:OWNER/REPO:ref:refs/tags/TAG` for a tag.",
    ),
    "AADSTS7002138": (
        "the case of the token's subject (`sub`)",
        "A federated credential matches the subject only when case is ignored, and Entra compares "
        "subjects case-sensitively. The owner, repository, branch or environment name in the "
        "credential is spelled with different capitals than GitHub sends.",
    ),
    "AADSTS70021": (
        "the token's issuer, subject and audience",
        "No federated credential of the app matches the token's issuer, subject and audience. "
        "All three must match exactly.",
    ),
}


# The codes `auth.explain_refusal` routes to `FederatedCredentialMismatch`: every code explained
# above, so a code given a meaning here can never fall through to the generic refusal.
FEDERATION_CODES = frozenset(_FIC_MEANINGS)


class FederatedCredentialMismatch(AuthError):
    """Entra refused the GitHub token: no federated credential matches its issuer or subject."""

    def __init__(
        self,
        code: str | int,
        entra_message: str,
        claims: Mapping[str, object],
        client_id: str | None = None,
    ) -> None:
        self.code = _aadsts(code)
        self.entra_message = entra_message
        self.claims = {key: claims.get(key) for key in OIDC_CLAIMS}
        self.client_id = client_id
        what, meaning = _FIC_MEANINGS.get(self.code, _FIC_MEANINGS["AADSTS70021"])
        title = (
            f"Entra ID refused the GitHub token ({self.code}): "
            f"no federated credential matches {what}"
        )

        def claim(key: str) -> str:
            value = self.claims.get(key)
            if value is None or value == "":
                return MISSING
            if isinstance(value, list):
                return ", ".join(str(v) for v in value)
            return str(value)

        rows = "\n".join(f"| `{key}` | {_code(display_value(claim(key)))} |" for key in OIDC_CLAIMS)
        issuer = claim("iss") if claim("iss") != MISSING else _GITHUB_ISSUER
        subject = claim("sub") if claim("sub") != MISSING else "<subject>"
        audience = claim("aud") if claim("aud") != MISSING else _DEFAULT_AUDIENCE
        # Credential names allow letters, digits, '-' and '_', and start with a letter or digit.
        cred_name = "github-" + re.sub(r"[^A-Za-z0-9_-]+", "-", subject).strip("-_")
        parameters = json.dumps(
            {"name": cred_name[:120], "issuer": issuer, "subject": subject, "audiences": [audience]}
        )
        details = (
            f"{meaning}\n\n"
            "The token GitHub issued for this job (non-secret claims):\n\n"
            "| claim | value |\n|---|---|\n"
            f"{rows}\n\n"
            "The app's federated credential must contain exactly:\n\n"
            + _block(f"issuer:    {issuer}\nsubject:   {subject}\naudiences: [{audience}]")
            + "\n\nFix: add a federated credential for this subject "
            "(one per branch, environment or `pull_request`):\n\n"
            + _block(
                f"az ad app federated-credential create --id {_id_or_placeholder(client_id)} \\\n"
                f"  --parameters {_shell_quote(parameters)}",
                "sh",
            )
            + "\n\n"
            + _said("Entra ID", entra_message)
        )
        super().__init__(title, details)


_ENTRA_HINTS = {
    "AADSTS7000215": (
        "the client secret is wrong",
        "The `clientSecret` in `creds` is not a valid secret of the app (often the secret's *ID* "
        "was copied instead of its *value*). Create a new one and update the repository secret:",
        "az ad app credential reset --id {client_id} --append --display-name github-actions",
    ),
    "AADSTS7000222": (
        "the client secret has expired",
        "The `clientSecret` in `creds` has expired. Create a new one and update the repository "
        "secret, or switch to OIDC (`client-id`, `tenant-id`, `subscription-id`), which needs "
        "none:",
        "az ad app credential reset --id {client_id} --append --display-name github-actions",
    ),
    "AADSTS700016": (
        "the application is not in the tenant",
        "No app with this `client-id` exists in the tenant `tenant-id`. Check both values (use "
        "the app's *Application (client) ID*, not its object id); a new app can take a minute "
        "to appear.",
        "az ad app show --id {client_id} --query '{{appId: appId, name: displayName}}'",
    ),
    "AADSTS700024": (
        "the GitHub token has expired",
        "The client assertion (the GitHub OIDC token) was outside its validity window. The action "
        "requests a fresh token for every sign-in, so this usually means the runner's clock is "
        "wrong or a step held one token for too long. Re-run the job; on a self-hosted runner, "
        "check its time synchronisation:",
        "timedatectl status",
    ),
    "AADSTS70025": (
        "the app has no federated credentials",
        "The app has no federated identity credentials at all, so Entra cannot trust any GitHub "
        "token for it. Add one for this repository and trigger:",
        "az ad app federated-credential create --id {client_id} --parameters "
        '\'{{"name": "github-main", "issuer": "https://token.actions.githubusercontent.com", '
        '"subject": "repo:OWNER/REPO:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]}}\'',
    ),
    "AADSTS90002": (
        "the tenant does not exist",
        "No tenant has this `tenant-id`. Use the *Directory (tenant) ID* shown by:",
        "az account show --query tenantId --output tsv",
    ),
}


class EntraRefused(AuthError):
    """Entra ID refused the sign-in for a reason other than a federated-credential mismatch."""

    def __init__(self, code: str | int, entra_message: str, client_id: str | None = None) -> None:
        self.code = _aadsts(code)
        self.entra_message = entra_message
        self.client_id = client_id
        digits = self.code.removeprefix("AADSTS")
        lookup = f"https://login.microsoftonline.com/error?code={digits}"
        hint = _ENTRA_HINTS.get(self.code)
        if hint:
            cause, meaning, fix = hint
            title = f"Entra ID refused the sign-in ({self.code}): {cause}"
            details = f"{meaning}\n\n" + _block(
                fix.format(client_id=_id_or_placeholder(client_id)), "sh"
            )
        else:
            title = f"Entra ID refused the sign-in ({self.code})"
            details = (
                "Entra ID rejected the credentials the action presented. Its message below names "
                f"the reason; {lookup} explains the code."
            )
        details += "\n\n" + _said("Entra ID", entra_message)
        details += f"\n\nMore: {lookup}"
        super().__init__(title, details)


# --------------------------------------------------------------------------- azure


class AzureServiceError(ActionError):
    """An Azure Resource Manager or Key Vault call failed (not azure-core's `AzureError`)."""


class PermissionDenied(AzureServiceError):
    """The signed-in principal has no role that allows an operation."""

    def __init__(
        self, action: str, scope: str, principal: str | None, role_hint: str | None = None
    ) -> None:
        self.action = action
        self.scope = scope
        self.principal = principal
        self.role_hint = role_hint
        role = role_hint or "Contributor"
        who = principal or "<client-id>"
        title = f"Azure denied `{action}` on {scope}: {_principal(principal)} lacks a role"
        details = (
            "The identity this action signs in as has no role assignment that allows this "
            f"operation at this scope. The smallest built-in role that allows it is **{role}**. "
            "New role assignments can take a few minutes to apply; re-run the job after "
            "granting.\n\n"
            "Fix:\n\n"
            + _block(
                f"az role assignment create --assignee {_shell_quote(who)} \\\n"
                f"  --role {_shell_quote(role)} \\\n"
                f"  --scope {_shell_quote(scope)}",
                "sh",
            )
            + f"\n\nContext: action {_code(action)}, scope {_code(scope)}, "
            f"principal {_code(principal or MISSING)}."
        )
        super().__init__(title, details)


_CREATE_HINTS = {
    "resource group": "az group create --name {name} --location <region>",
    "container registry": "az acr create --resource-group <group> --name {name} --sku Basic",
    "registry": "az acr create --resource-group <group> --name {name} --sku Basic",
    "key vault": (
        "az keyvault create --resource-group <resource-group> --name {name} "
        "--enable-rbac-authorization true"
    ),
    "subscription": "az account list --query '[].{{name: name, id: id}}' --output table",
}


class ResourceMissing(AzureServiceError):
    """An Azure resource the inputs name does not exist (or is not visible to the principal)."""

    def __init__(self, kind: str, name: str, detail: str = "") -> None:
        self.kind = kind
        self.name = name
        self.detail = detail
        title = f"The {kind} `{name}` was not found"
        details = (
            f"Azure has no {kind} called `{name}` that the signed-in principal can see. Check the "
            "spelling and that `subscription-id` is the subscription that holds it; a principal "
            "without any role on a resource also gets *not found*."
        )
        if kind.lower() == "container registry":
            details += (
                " A registry in another resource group or subscription than `resource-group` "
                "needs `registry-resource-group` (and `registry-subscription-id`), or its resource "
                "ID as `registry`:\n\n"
                + _block(
                    f"registry: ${{{{ vars.AZURE_REGISTRY_ID }}}}  # az acr show --name {name} "
                    "--query id --output tsv",
                    "yaml",
                )
            )
        template = _CREATE_HINTS.get(kind.lower())
        if template:
            details += "\n\nIf it really does not exist yet, create it:\n\n" + _block(
                template.format(name=name), "sh"
            )
        if detail:
            details += "\n\n" + _said("Azure", detail)
        super().__init__(title, details)


class KeyVaultSecretMissing(AzureServiceError):
    """A secret the inputs name is not in the Key Vault."""

    def __init__(self, vault: str, secret: str) -> None:
        self.vault = vault
        self.secret = secret
        name = _vault_name(vault)
        title = f"Key Vault `{name}` has no secret `{secret}`"
        details = (
            "The secret is named by `registry-username-secret`, `registry-password-secret` or "
            "`secrets-from-key-vault` (the pull-credential names default to `<registry>-pull-usr` "
            "and `<registry>-pull-pwd`). Either the name is misspelt, or the secret was never "
            "stored, or it is disabled.\n\n"
            "Fix: store it (read the value from a file or variable so it stays out of the shell "
            "history):\n\n"
            + _block(
                f"az keyvault secret set --vault-name {name} --name {secret} --file ./{secret}.txt",
                "sh",
            )
        )
        super().__init__(title, details)


class KeyVaultForbidden(AzureServiceError):
    """The signed-in principal may not read secrets from the Key Vault."""

    def __init__(
        self, vault: str, client_id: str | None = None, *, object_id: str | None = None
    ) -> None:
        self.vault = vault
        self.client_id = client_id
        self.object_id = object_id
        principal = object_id or client_id
        name = _vault_name(vault)
        # `az role assignment create --assignee` takes an object id or a service principal name;
        # `az keyvault set-policy` takes the object id as `--object-id`, an app id as `--spn`
        # (azure-cli's role and keyvault `_params.py`).
        who = _id_or_placeholder(principal)
        grantee = f"--object-id {who}" if object_id else f"--spn {who}"
        title = f"Key Vault `{name}` refused to give secrets to {_principal(principal)}"
        details = (
            "The identity this action signs in as needs **Key Vault Secrets User** on the vault "
            "(vaults using Azure RBAC), or a `get` secret permission (vaults using access "
            "policies). A vault firewall that does not admit GitHub's runners also answers 403.\n\n"
            "Fix (RBAC vault):\n\n"
            + _block(
                f"az role assignment create --assignee {who} \\\n"
                "  --role 'Key Vault Secrets User' \\\n"
                f'  --scope "$(az keyvault show --name {name} --query id --output tsv)"',
                "sh",
            )
            + "\n\nFix (access-policy vault):\n\n"
            + _block(
                f"az keyvault set-policy --name {name} {grantee} --secret-permissions get", "sh"
            )
            + f"\n\nContext: object id {_code(object_id or MISSING)}, "
            f"client id {_code(client_id or MISSING)}."
        )
        super().__init__(title, details)


class AzureCallFailed(AzureServiceError):
    """An Azure call failed for a reason without a more specific error class."""

    def __init__(self, dependency: str, status: int | None, code: str | None, message: str) -> None:
        self.dependency = dependency
        self.status = status
        self.code = code
        self.message = message
        status_text = f"HTTP {status}" if status is not None else "no response"
        code_text = f" {code}" if code else ""
        title = f"{dependency} call failed: {status_text}{code_text}"
        if status is not None and (status == 429 or status >= 500):
            meaning = (
                "Azure had a transient problem or throttled the request. Re-running the job "
                "usually works; if it keeps failing, check https://status.azure.com."
            )
        elif status is None:
            meaning = (
                "No answer arrived: a network problem, a proxy, or a wrong custom cloud endpoint "
                "(`resource-manager-endpoint`)."
            )
        elif status in (401, 403):
            meaning = (
                "Azure refused the signed-in principal. List the roles it has and compare them "
                "with what the operation needs:\n\n"
                + _block(
                    "az role assignment list --assignee <client-id> --all --output table", "sh"
                )
            )
        else:
            meaning = "Azure rejected the request; its message below says why."
        details = f"{meaning}\n\n" + _said(dependency, message)
        super().__init__(title, details)


# --------------------------------------------------------------------------- registry


class RegistryError(ActionError):
    """Building, pushing or pulling the container image failed."""


# The smallest built-in role for each need, by the registry's role assignment mode (ARM's
# `roleAssignmentMode`). A registry in "RBAC Registry + ABAC Repository Permissions" mode does not
# honour AcrPull/AcrPush/AcrDelete, nor Owner/Contributor's data access
# (https://learn.microsoft.com/azure/container-registry/container-registry-rbac-abac-repository-permissions).
_LEGACY_ROLES = {"pull": "AcrPull", "push": "AcrPush", "delete": "AcrDelete"}
_ABAC_ROLES = {
    "pull": "Container Registry Repository Reader",
    "push": "Container Registry Repository Writer",
    "delete": "Container Registry Repository Contributor",
}


def registry_role(need: str, *, abac: bool) -> str:
    """The built-in role that grants `need` (pull, push, delete) on a registry in its mode."""
    return (_ABAC_ROLES if abac else _LEGACY_ROLES)[need]


def _abac_note(abac: bool) -> str:
    if not abac:
        return ""
    return (
        " This registry is in *RBAC Registry + ABAC Repository Permissions* mode (ARM's "
        "`roleAssignmentMode: AbacRepositoryPermissions`): it ignores AcrPull, AcrPush and "
        "AcrDelete, and Owner/Contributor give no access to its repositories."
    )


def _acr_scope(registry: str) -> str:
    return f'"$(az acr show --name {registry} --query id --output tsv)"'


class RegistryNetworkDenied(RegistryError):
    """The registry's network rules (firewall, public access disabled) keep the runner out."""

    def __init__(
        self,
        login: str,
        message: str,
        *,
        registry: str | None = None,
        public_network_access: str | None = None,
        default_action: str | None = None,
    ) -> None:
        self.login = login
        self.message = message
        reg = registry or "<registry>"
        title = (
            f"The registry {login} refused this runner's network address (HTTP 403 DENIED): "
            "its firewall or disabled public network access keeps the runner out"
        )
        if (public_network_access or "").lower() == "disabled":
            setting = (
                "Public network access is **disabled** on this registry: only private endpoints "
                "reach it, so no IP rule helps until public access is enabled for selected "
                "networks."
            )
        elif (default_action or "").lower() == "deny":
            setting = (
                "The registry's network rules deny by default (`networkRuleSet.defaultAction: "
                "Deny`) and none allows this runner's address."
            )
        else:
            setting = "The registry's network settings keep this runner's address out."
        details = (
            f"{setting} This is not about roles: the registry refuses the connection before it "
            "looks at any credential. "
            "GitHub-hosted runners connect from a large, changing set of Azure addresses, which "
            "a registry's IP rules rarely allow.\n\n"
            "Fix, one of:\n\n"
            "1. Run the job on a self-hosted runner inside the registry's virtual network (or one "
            "that reaches its private endpoint): `runs-on: [self-hosted]`.\n"
            "2. Allow the runner's public address for the job, and remove the rule afterwards:\n\n"
            + _block(
                f"az acr update --name {reg} --public-network-access Enabled --default-action Deny\n"
                f"az acr network-rule add --name {reg} --ip-address <runner-ip>\n"
                f"az acr network-rule remove --name {reg} --ip-address <runner-ip>  # afterwards",
                "sh",
            )
            + f"\n\nSee the registry's settings with `az acr show --name {reg} "
            "--query '{publicNetworkAccess: publicNetworkAccess, networkRuleSet: networkRuleSet}'` "
            "and https://aka.ms/acr/firewall.\n\n"
            f"Context: public network access {_code(public_network_access or MISSING)}, default "
            f"action {_code(default_action or MISSING)}.\n\n" + _said("The registry", message)
        )
        super().__init__(title, details)


class RegistryTokenRefused(RegistryError):
    """The registry's `/oauth2/exchange` refused every Entra token the action could get."""

    def __init__(
        self,
        login: str,
        attempts: Sequence[tuple[str, str]],
        *,
        registry: str | None = None,
        arm_tokens_accepted: bool = True,
        abac: bool = False,
    ) -> None:
        self.login = login
        self.attempts = tuple(attempts)
        reg = registry or "<registry>"
        title = f"The registry {login} refused to exchange the Entra token for a registry token"
        tried = "\n".join(f"- {audience}: {_one_line(outcome)}" for audience, outcome in attempts)
        if arm_tokens_accepted:
            policy = (
                "The registry accepts tokens for ACR's own audience and ARM's, so the token "
                "itself was refused: usually it is from another tenant than the registry's "
                "(check `tenant-id`), or the identity was just created and is not known yet."
            )
            fix = _block(f"az acr config authentication-as-arm show --registry {reg}", "sh")
        else:
            policy = (
                "This registry accepts only tokens for ACR's own audience "
                "(`https://containerregistry.azure.net`): its `azureADAuthenticationAsArmPolicy` "
                "is disabled (ARM reported it), Microsoft's recommended setting. The ARM token the "
                "action signs in with cannot work there. Either Entra must issue the ACR-audience "
                "token (the first attempt below says why it did not), or, if you accept broader "
                "tokens, the policy can be enabled again:"
            )
            fix = _block(
                f"az acr config authentication-as-arm update --registry {reg} --status enabled",
                "sh",
            )
        details = (
            f"The action asks Entra for a token with ACR's audience first and, where the registry "
            f"accepts them, falls back to its ARM token. {policy}\n\n{fix}\n\n"
            f"Tried:\n\n{tried}\n\n"
            f"If the exchange is refused although the token is right, check that the identity "
            f"has **{registry_role('push', abac=abac)}** on the registry.{_abac_note(abac)}"
        )
        super().__init__(title, details)


class BuildFailed(RegistryError):
    """The BuildKit build failed."""

    def __init__(self, step: str | None, output_tail: str) -> None:
        self.step = step
        self.output_tail = output_tail
        where = f" at {_code(display_value(step))}" if step else ""
        title = f"Docker build failed{where}"
        details = (
            "The Dockerfile did not build. The failing step and the end of its output are below; "
            "the full log is in the collapsed *Build* group above. Reproduce locally with:\n\n"
            + _block(
                "DOCKER_BUILDKIT=1 docker build --platform linux/amd64 --file Dockerfile .", "sh"
            )
            + "\n\nLast lines of the build output:\n\n"
            + _block(untrusted_text(output_tail) or "(no output)")
        )
        super().__init__(title, details)


class PushFailed(RegistryError):
    """The registry refused or failed the push."""

    def __init__(
        self,
        image: str,
        detail: str,
        registry: str | None = None,
        *,
        abac: bool = False,
        client_id: str | None = None,
    ) -> None:
        self.image = image
        self.detail = detail
        self.registry = registry
        self.client_id = client_id
        reg = registry or "<registry>"
        role = registry_role("push", abac=abac)
        title = f"Pushing {image} failed: {_first_line(detail) or 'no reason given'}"
        details = (
            f"The signed-in principal needs the **{role}** role on the registry (the token "
            "exchanged at `/oauth2/exchange` only carries the rights of its roles)."
            f"{_abac_note(abac)} A registry with a firewall, a full quota or a locked repository "
            "also refuses pushes.\n\n"
            "Fix:\n\n"
            + _block(
                f"az role assignment create --assignee {_id_or_placeholder(client_id)} "
                f"--role {_shell_quote(role)} \\\n"
                f"  --scope {_acr_scope(reg)}",
                "sh",
            )
            + "\n\n"
            + _said("The registry", detail)
        )
        super().__init__(title, details)


class ImagePullRefused(RegistryError):
    """Container Instances could not pull the image."""

    def __init__(
        self, image: str, detail: str, *, abac: bool = False, identity: str | None = None
    ) -> None:
        self.image = image
        self.detail = detail
        self.abac = abac
        self.identity = identity
        role = registry_role("pull", abac=abac)
        title = f"Container Instances could not pull {image}"
        if identity is not None:
            super().__init__(title, _identity_pull_details(identity, role, abac, detail))
            return
        details = (
            "ACI pulls with the credentials in the group's `imageRegistryCredentials`, which this "
            "action reads from Key Vault (`registry-username-secret` / `registry-password-secret`) "
            "or takes from `registry-username` / `registry-password`. Usually that principal lacks "
            f"**{role}** on the registry, its password has expired, or the image reference is "
            f"wrong.{_abac_note(abac)}\n\n"
            "Fix: create a pull-only service principal and store its credentials in the vault:\n\n"
            + _block(
                'ACR_ID="$(az acr show --name <registry> --query id --output tsv)"\n'
                f"az ad sp create-for-rbac --name <registry>-pull --role {_shell_quote(role)} "
                '--scopes "$ACR_ID" \\\n'
                "  --query '{usr: appId, pwd: password}' --output json > pull.json\n"
                "az keyvault secret set --vault-name <vault> --name <registry>-pull-usr "
                '--value "$(jq -r .usr pull.json)"\n'
                "az keyvault secret set --vault-name <vault> --name <registry>-pull-pwd "
                "--file <(jq -r .pwd pull.json) && rm pull.json",
                "sh",
            )
            + "\n\n"
            + _said("Azure", detail)
        )
        super().__init__(title, details)


def _identity_pull_details(identity: str, role: str, abac: bool, detail: str) -> str:
    """Why a pull by `registry-identity` fails, and the role assignment that fixes it."""
    return (
        f"ACI pulls with the managed identity `{identity}` (`registry-identity`), which the "
        "action attached to the group. Usually that identity lacks "
        f"**{role}** on the registry (a new assignment can take a few minutes to count), the "
        f"identity was deleted, or the image reference is wrong.{_abac_note(abac)}\n\n"
        "Fix: give the identity the pull role on the registry:\n\n"
        + _block(
            'ACR_ID="$(az acr show --name <registry> --query id --output tsv)"\n'
            f'PRINCIPAL_ID="$(az identity show --ids {_shell_quote(identity)} '
            '--query principalId --output tsv)"\n'
            'az role assignment create --assignee-object-id "$PRINCIPAL_ID" '
            f"--assignee-principal-type ServicePrincipal --role {_shell_quote(role)} "
            '--scope "$ACR_ID"',
            "sh",
        )
        + "\n\n"
        + _said("Azure", detail)
    )


# --------------------------------------------------------------------------- deploy


class DeployError(ActionError):
    """The container group could not be deployed or did not come up."""


class DnsLabelTaken(DeployError):
    """The DNS name label is already used by another container group in the region."""

    def __init__(self, label: str, region: str) -> None:
        self.label = label
        self.region = region
        title = f"The DNS name label `{label}` is already in use in {region}"
        details = (
            f"DNS name labels are shared by every Azure customer in a region: "
            f"`{label}.{region}.azurecontainer.io` belongs to another container group, possibly "
            "in another subscription.\n\n"
            "Fix: let the action derive a label (omit `dns-name-label`; the default adds a hash of "
            "the repository and name), or change the salt, or pick another label:\n\n"
            + _block("with:\n  dns-label-salt: ${{ vars.DNS_LABEL_SALT }}", "yaml")
        )
        super().__init__(title, details)


class SubnetNotDelegated(DeployError):
    """A subnet of `subnet-ids` is not delegated to Microsoft.ContainerInstance/containerGroups."""

    def __init__(self, group: str, message: str) -> None:
        self.group = group
        title = f"Container group `{group}` cannot join its subnet: it is not delegated to ACI"
        details = (
            "A container group joins only a subnet delegated to "
            "`Microsoft.ContainerInstance/containerGroups`, holding nothing but container groups "
            "(container-instances-virtual-network-concepts). Azure Container Instances said: "
            f"{untrusted_text(message)}\n\n"
            "Fix: delegate the subnet once (Network Contributor on the virtual network):\n\n"
            + _block(
                "az network vnet subnet update --resource-group <vnet-group> --vnet-name <vnet> \\\n"
                "  --name <subnet> --delegations Microsoft.ContainerInstance/containerGroups",
                "sh",
            )
        )
        super().__init__(title, details)


class TooManyTags(DeployError):
    """The group would carry more tags than ARM allows on one resource (50)."""

    def __init__(
        self, name: str, limit: int, *, user: int, ours: int, foreign: Sequence[str] = ()
    ) -> None:
        self.name = name
        self.limit = limit
        self.user, self.ours, self.foreign = user, ours, tuple(foreign)
        total = user + ours + len(self.foreign)
        title = (
            f"Container group `{name}` would carry {total} tags, more than the {limit} ARM "
            f"allows: {user} from `resource-tags`, {ours} of the action's own (`acr-action.*`)"
            + (f", {len(self.foreign)} kept from the existing group" if self.foreign else "")
        )
        kept = "\n".join(f"- `{key}`" for key in self.foreign[:20])
        details = (
            "Each Azure resource can have at most 50 tag name/value pairs (tag names count "
            "without regard to case). Nothing was sent to Azure. The action needs its "
            f"{ours} provenance tags to find, audit and sweep the group, so shorten "
            "`resource-tags`, or put several values in one tag as JSON:\n\n"
            + _block(
                'with:\n  resource-tags: |\n    team=web\n    meta={"cost-center":"1234"}', "yaml"
            )
            + (
                "\n\nTags set on the group by someone else are kept by every deploy; remove "
                "those no longer needed with `az tag update --operation Delete`:\n\n" + kept
                if self.foreign
                else ""
            )
        )
        super().__init__(title, details)


class ImmutableChange(DeployError):
    """A property that ACI cannot update in place changed, and `on-immutable-change` is `fail`."""

    def __init__(self, name: str, properties: Sequence[str]) -> None:
        self.name = name
        self.properties = tuple(properties)
        changed = ", ".join(self.properties) or "an immutable property"
        title = f"Container group `{name}` cannot be updated in place: {changed} changed"
        details = (
            "Azure Container Instances cannot change the OS type, CPU, memory or GPU resources, "
            "restart policy, network profile or availability zone of an existing container group; "
            "the group must be deleted and created again. With "
            "`on-immutable-change: fail` the action stops instead.\n\n"
            "Fix: let the action recreate the group (it keeps the DNS name label; the IP address "
            "changes and the app is down while the new group starts):\n\n"
            + _block("with:\n  on-immutable-change: recreate", "yaml")
        )
        super().__init__(title, details)


class CannotKeep(DeployError):
    """The group holds values a GET never returns, so a PUT that keeps the rest would lose them."""

    def __init__(self, name: str, resource_group: str, lost: Sequence[str]) -> None:
        self.name = name
        self.lost = tuple(lost)
        listed = "\n".join(f"- the {item}" for item in self.lost)
        title = f"Container group `{name}` was not changed: an update would lose secrets it holds"
        details = (
            "An update sends the whole group again, and the action keeps every property it does "
            "not manage by sending back what Azure shows. Azure never shows these (they are "
            "secrets), so they would be sent empty and lost:\n\n"
            f"{listed}\n\n"
            "Fix: give the action a group it can keep whole. Either move these parts out of the "
            "group the action deploys (a sidecar or volume with secrets into a group of its own, "
            "managed by the template that made it), or deploy the app to a group of its own:\n\n"
            + _block("with:\n  name: my-app-web  # a group only the action changes", "yaml")
            + _log_analytics_fix(self.lost)
            + "\n\nTo see what the group holds:\n\n"
            + _block(
                f"az container show --resource-group {resource_group} --name {name} "
                "--query '{volumes: volumes, diagnostics: diagnostics, containers: containers[].name}'",
                "sh",
            )
        )
        super().__init__(title, details)


def _log_analytics_fix(lost: Sequence[str]) -> str:
    """For a lost Log Analytics key: the input that makes the action send it again."""
    if not any("Log Analytics" in item for item in lost):
        return ""
    return (
        "\n\nFor the Log Analytics workspace key: name the workspace, and the action reads its "
        "key through ARM and sends it again:\n\n"
        + _block(
            "with:\n  log-analytics-workspace: /subscriptions/<id>/resourceGroups/<rg>/providers/"
            "Microsoft.OperationalInsights/workspaces/<name>",
            "yaml",
        )
    )


class RecreateFailed(DeployError):
    """The old group was deleted to recreate it, and creating the new one failed."""

    def __init__(self, name: str, cause: ActionError) -> None:
        self.name = name
        self.cause = cause
        title = f"Container group `{name}` was deleted to be recreated, but creating it failed: {cause.title}"
        details = (
            f"Nothing runs under the name `{name}` now: the old group is gone and the new one "
            "was not created. The action checked beforehand that the group's registry "
            "credentials can read the image, so the cause is one that check cannot see (below).\n\n"
            "Fix the cause and run the workflow again: with no group left, the next run creates "
            "it from scratch.\n\n" + cause.details
        )
        super().__init__(title, details)


_EXIT_MEANINGS = {
    0: (
        "the process ended successfully, but with `restart-policy: Always` a container must keep "
        "running; for a one-off job use `restart-policy: Never` or `OnFailure`"
    ),
    1: "the application exited with an error; its log lines are below",
    126: "the command is not executable",
    127: "the command was not found; check `command-line` and the image's PATH",
    137: "the container was killed (SIGKILL), most often for using more than `memory`",
    139: "the process crashed with a segmentation fault",
    143: "the container was stopped (SIGTERM)",
}


class ContainerFailed(DeployError):
    """A container terminated or kept restarting instead of running."""

    def __init__(
        self, container: str, exit_code: int | None, log_tail: str, events: Sequence[str]
    ) -> None:
        self.container = container
        self.container_exit_code = exit_code
        self.log_tail = log_tail
        self.events = tuple(events)
        if exit_code is None:
            title = f"Container `{container}` did not reach Running"
            meaning = "The container never ran steadily; the group's events below say why."
        else:
            title = f"Container `{container}` stopped with exit code {exit_code}"
            meaning = _EXIT_MEANINGS.get(exit_code, "the application exited")
            meaning = meaning[0].upper() + meaning[1:] + "."
        event_lines = "\n".join(f"- {_code(_one_line(event))}" for event in self.events)
        details = (
            f"{meaning}\n\n"
            "Reproduce it locally with the same image and settings:\n\n"
            + _block("docker run --rm -e KEY=VALUE <image> [command-line ...]", "sh")
            + "\n\nLast log lines:\n\n"
            + _block(untrusted_text(log_tail) or "(no output)")
            + "\n\nEvents of the container group:\n\n"
            + (event_lines or "(none)")
        )
        super().__init__(title, details)


class NotReady(DeployError):
    """The container group ran, but the HTTP readiness check never got an answer below 500."""

    def __init__(
        self, url: str, last_status: str | int | None, *, untrusted: str | None = None
    ) -> None:
        self.url = url
        self.last_status = last_status
        last = MISSING if last_status is None else str(last_status)
        title = f"{url} never answered below HTTP 500 (last: {display_value(last)})"
        if untrusted is not None:
            # `tls: auto`: the proxy served a certificate, under a root the runner lacks.
            super().__init__(title, _untrusted_certificate(untrusted))
            return
        details = (
            "Every container is Running, but the readiness check got no usable answer before the "
            "timeout. Usually the app listens on another port than `ports`, binds to 127.0.0.1 "
            "instead of 0.0.0.0, or has no route at `health-check-path`.\n\n"
            "Fix: point the check at a route the app serves, give it more time, or turn it off:\n\n"
            + _block(
                "with:\n  health-check-path: /healthz   # or '' to skip the check\n  timeout: 15m",
                "yaml",
            )
        )
        super().__init__(title, details)


def _untrusted_certificate(reason: str) -> str:
    return (
        f"The TLS proxy serves a certificate the runner does not trust ({display_value(reason)}): "
        "it was issued, but under a root that is not in the trust store. Let's Encrypt's "
        "staging directory and private ACME servers issue under such roots "
        "(letsencrypt.org/docs/staging-environment: not present in client trust stores).\n\n"
        "Fix: let the step trust that root too (a PEM file in the repository; the image's own "
        "roots stay trusted), or skip the check:\n\n"
        + _block(
            "env:\n  SSL_CERT_FILE: ${{ github.workspace }}/acme-root.pem\n"
            "# or\nwith:\n  health-check-path: ''",
            "yaml",
        )
    )


class CloudLacksService(ActionError):
    """The cloud does not offer what the inputs need (Azure Stack Hub: no ACI, no vault suffix)."""

    def __init__(self, cloud: str, missing: str, meaning: str, fix: str) -> None:
        self.cloud = cloud
        self.missing = missing
        title = f"The cloud {display_value(cloud)} does not offer {missing}"
        details = (
            f"{meaning}\n\nFix:\n\n"
            + _block(fix, "yaml")
            + f"\n\nContext: cloud {_code(display_value(cloud))}, read from the metadata of "
            "`resource-manager-endpoint`."
        )
        super().__init__(title, details)


class DependencyUnavailable(ActionError):
    """A service kept failing transiently (429, 5xx, dropped, slow) until retries ran out."""

    def __init__(self, dependency: str, last: str, check: str) -> None:
        self.dependency = dependency
        self.last = last
        self.check = check
        title = f"{dependency} kept failing (last: {last}); gave up after retrying"
        details = (
            f"The action retried {dependency} with exponential backoff, honouring `Retry-After`, "
            "until its attempts or the run's `timeout` ran out. Every attempt failed in a way "
            "that is usually brief: throttling (429), a server error (5xx), a dropped connection "
            f"or no answer in time.\n\nCheck: {check}.\n\n"
            "Then rerun the job: a rerun converges from wherever this run stopped. If the "
            "service is only slow, give the run more time:\n\n"
            + _block("with:\n  timeout: 20m", "yaml")
        )
        super().__init__(title, details)


class StepTimeout(ActionError):
    """The run did not finish within the `timeout` input."""

    def __init__(self, phase: str, timeout_seconds: float) -> None:
        self.phase = phase
        self.timeout_seconds = timeout_seconds
        limit = _duration(timeout_seconds)
        title = f"Timed out during {phase}: the whole run may take at most {limit}"
        details = (
            "The `timeout` input limits the whole run (build, push, deploy and readiness check). "
            "Large images and first deployments in a region take longer.\n\n"
            "Fix: raise it:\n\n"
            + _block(f"with:\n  timeout: {_duration(max(timeout_seconds * 2, 60))}", "yaml")
        )
        super().__init__(title, details)


# --------------------------------------------------------------------------- previews


class PreviewError(ActionError):
    """A pull-request preview rule stopped the run."""


class PreviewLimitReached(PreviewError):
    """The resource group already holds `max-previews` previews and `on-max-previews` is `fail`."""

    def __init__(
        self, limit: int, resource_group: str, previews: Sequence[str], *, raced: str = ""
    ) -> None:
        self.limit = limit
        self.resource_group = resource_group
        self.previews = tuple(previews)
        self.raced = raced
        title = (
            f"Preview limit reached: resource group `{resource_group}` already holds "
            f"{len(self.previews)} preview(s), `max-previews` is {limit}"
        )
        if raced:
            title = (
                f"Preview limit reached: another run created a preview in `{resource_group}` at "
                f"the same time, and {len(self.previews)} preview(s) would exceed `max-previews` "
                f"({limit}); this run deleted its own group `{raced}` again"
            )
        listed = "\n".join(f"- `{name}`" for name in self.previews[:20])
        more = f"\n- … and {len(self.previews) - 20} more" if len(self.previews) > 20 else ""
        details = (
            (
                "Runs that create previews at once each count the previews again right after "
                "their create was accepted, and one that sees more than the limit deletes its "
                "own group before its containers are waited for, so the limit holds; when two "
                "race for the last place both may give way. Rerun this job to try again. "
                if raced
                else "No new preview was created, so nothing more is billed. "
            )
            + "Close or merge pull requests "
            "whose previews are no longer needed (their `mode: delete` job removes them), run the "
            "scheduled `mode: sweep`, raise the limit, or let the action make room by removing the "
            "oldest preview of this repository:\n\n"
            + _block("with:\n  max-previews: 10\n  on-max-previews: evict-oldest", "yaml")
            + f"\n\nPreviews in `{resource_group}`:\n\n{listed or '(none)'}{more}"
        )
        super().__init__(title, details)


class PreviewNameTaken(PreviewError):
    """The preview's container group exists but its tags say another repository made it."""

    def __init__(self, name: str, owner: str, repository: str) -> None:
        self.name = name
        self.owner = owner
        self.repository = repository
        title = f"Container group `{name}` belongs to {owner}, not {repository}"
        details = (
            "Its `acr-action.repository` tag names another repository: two repositories whose "
            "names sanitize to the same group name deploy previews into one resource group. The "
            "group was left alone. Give this repository's previews their own names:\n\n"
            + _block(
                "with:\n  name: ${{ github.repository_owner }}-${{ github.event.repository.name }}"
                "-pr-${{ github.event.pull_request.number }}",
                "yaml",
            )
            + "\n\nor use a resource group per repository."
        )
        super().__init__(title, details)


class GitHubCallFailed(PreviewError):
    """A GitHub REST call failed (reading a pull request's state for `mode: sweep`)."""

    def __init__(self, what: str, status: int | None, message: str) -> None:
        self.what = what
        self.status = status
        self.message = message
        status_text = f"HTTP {status}" if status is not None else "no response"
        title = f"GitHub API call failed: {what}: {status_text}"
        if status in (401, 403):
            meaning = (
                "The token was refused. Pass the job's token and grant it read access to pull "
                "requests (write access to comment):\n\n"
                + _block(
                    "permissions:\n  pull-requests: write\n"
                    "steps:\n  - uses: acr-action/acr-action@v1\n    with:\n"
                    "      github-token: ${{ github.token }}",
                    "yaml",
                )
            )
        else:
            meaning = (
                "GitHub (or GitHub Enterprise Server at `GITHUB_API_URL`) did not answer as "
                "expected; re-running the job usually works."
            )
        super().__init__(title, f"{meaning}\n\n" + _said("GitHub", message))


class SweepFailed(PreviewError):
    """`mode: sweep` could not delete some previews; the others were still processed."""

    def __init__(self, failures: Sequence[tuple[str, str]]) -> None:
        self.failures = tuple(failures)
        count = len(self.failures)
        title = f"Sweep: {count} preview(s) could not be deleted"
        lines = "\n".join(f"- `{name}`: {_one_line(reason)}" for name, reason in self.failures)
        details = (
            "Every other preview was processed (see the summary table). The next scheduled sweep "
            "retries these; the reasons below say what Azure answered. To see what a sweep would "
            "do without deleting anything:\n\n"
            + _block("with:\n  mode: sweep\n  dry-run: true", "yaml")
            + "\n\n"
            + lines
        )
        super().__init__(title, details)
