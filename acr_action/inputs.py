"""Parse and validate every input of the action into a frozen :class:`Inputs`.

The runner passes each input as ``INPUT_<NAME>`` with the name upper-cased and its hyphens kept
(``INPUT_RESOURCE-GROUP``); an empty value counts as unset. GitHub's own context comes from the
``GITHUB_*`` variables and the event payload at ``GITHUB_EVENT_PATH``.

Each group of the input table (``inputs_table.GROUPS``) is parsed by its own function into its own
frozen dataclass (``inputs.auth``, ``inputs.acr``, ``inputs.build``, ``inputs.secrets``,
``inputs.container``, ``inputs.waiting``, ``inputs.preview``); ``_cross_group_checks`` then holds
the rules that span groups. Every problem is collected and raised together as one
:class:`~acr_action.errors.InputError` before any network call. Secret values (``creds``' client secret, ``registry-password``,
``secure-environment-variables``, ``dns-label-salt``) never appear in a message; values that could
act as workflow commands (line breaks, ``::``) are described rather than echoed.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, TypeVar

from acr_action import naming, probes, sshforward, tls
from acr_action import volumes as vol
from acr_action.buildcache import CacheEntry, parse_cache_line
from acr_action.errors import InputError, InputProblem
from acr_action.github_context import GitHubContext, github_context
from acr_action.identity import AppIdentity
from acr_action.identity import parse as parse_identity
from acr_action.inputs_rules import (
    ACR_ID,
    DOMAIN_NAME,
    GUID,
    SECRET_NAME,
    SECRET_RULE,
    TAG,
    parse_age,
    parse_duration,
)
from acr_action.inputs_table import (
    CLOUDS,
    GITHUB_DEPLOYMENTS,
    IDLE_ACTIONS,
    INPUTS,
    MODES,
    NETWORKS,
    ON_FORK,
    ON_IMMUTABLE_CHANGE,
    ON_MAX_PREVIEWS,
    OS_TYPES,
    PRIORITIES,
    PROTOCOLS,
    RESTART_POLICIES,
    SPECS,
    Cloud,
    GitHubDeployment,
    IdleAction,
    Mode,
    OnFork,
    OnImmutableChange,
    OnMaxPreviews,
    OsType,
    Priority,
    Protocol,
    RestartPolicy,
    env_key,
)
from acr_action.network import NetworkInputs, parse_network
from acr_action.probes import Probe, ProbeKind
from acr_action.specfile import SpecFile, read_input

__all__ = [
    "AcrInputs",
    "AuthInputs",
    "BuildInputs",
    "Cloud",
    "ContainerInputs",
    "Creds",
    "Inputs",
    "Mode",
    "OnFork",
    "OnImmutableChange",
    "OnMaxPreviews",
    "OsType",
    "Pairs",
    "PreviewSettings",
    "Protocol",
    "RestartPolicy",
    "SecretInputs",
    "WaitInputs",
    "env_key",
    "parse_inputs",
    "secret_values",
]

Pairs = tuple[tuple[str, str], ...]

_OIDC_EXAMPLE = (
    "client-id: ${{ vars.AZURE_CLIENT_ID }}\n"
    "tenant-id: ${{ vars.AZURE_TENANT_ID }}\n"
    "subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}"
)


# Limits of Azure Container Instances for Linux container groups:
# https://learn.microsoft.com/azure/container-instances/container-instances-resource-and-quota-limits
CPU_MIN, CPU_MAX = 0.1, 4.0
MEMORY_MIN, MEMORY_MAX = 0.1, 16.0

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LABEL_KEY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?")
_DECIMAL = re.compile(r"[0-9]*\.?[0-9]+")
_AZURE_TAG_NAME = re.compile(r"[^<>%&\\?/]{1,512}")
_ENV_RULE = "letters, digits and `_`, not starting with a digit"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_T = TypeVar("_T", bound=str)


def _unsafe_reason(text: str) -> str | None:
    """Why a single-line value is unsafe to use or to echo, or None."""
    if "\n" in text or "\r" in text:
        return "contains a line break"
    if _CONTROL.search(text):
        return "contains control characters"
    if "::" in text:
        return "contains `::`, which could inject a workflow command"
    return None


# --------------------------------------------------------------------------- the inputs


@dataclass(frozen=True)
class Creds:
    """A service principal from the ``creds`` JSON (Azure/login's format)."""

    client_id: str
    client_secret: str = field(repr=False)
    tenant_id: str
    subscription_id: str


@dataclass(frozen=True)
class AuthInputs:
    """How to sign in, and to which cloud (group ``auth`` of the table)."""

    client_id: str | None
    tenant_id: str | None
    subscription_id: str | None
    creds: Creds | None
    environment: Cloud
    resource_manager_endpoint: str | None
    audience: str

    @property
    def auth_mode(self) -> Literal["oidc", "creds", "ambient"]:
        """How to sign in: GitHub OIDC, the ``creds`` secret, or the CLI/environment ("ambient")."""
        if self.creds is not None:
            return "creds"
        if self.client_id is not None:
            return "oidc"
        return "ambient"

    @property
    def effective_subscription_id(self) -> str | None:
        """The subscription from ``subscription-id`` or ``creds``; None means the CLI's default."""
        if self.creds is not None:
            return self.creds.subscription_id
        return self.subscription_id


@dataclass(frozen=True)
class AcrInputs:
    """The Azure Container Registry and where it is (group ``acr``)."""

    name: str | None
    # Where the registry is when it is not in `resource-group` / `subscription-id`.
    resource_group: str | None = None
    subscription_id: str | None = None


@dataclass(frozen=True)
class BuildInputs:
    """The image: built from the context and pushed, or an existing ``image`` (group ``build``)."""

    image_name: str | None  # None when nothing is built (`image` given, or mode delete)
    tags: tuple[str, ...]
    context: str
    dockerfile: str | None
    build_args: Pairs
    cache_from: tuple[CacheEntry, ...]
    cache_to: tuple[CacheEntry, ...]
    build_secrets: Pairs = field(repr=False)
    target: str | None
    labels: Pairs
    platform: str
    network: str | None
    image: str | None
    build_secrets_from_key_vault: Pairs = ()  # (id, Key Vault secret name)
    # `ssh` and `ssh-keys-from-key-vault`: for `RUN --mount=type=ssh,id=<id>` (sshforward.py).
    ssh: tuple[sshforward.SshForward, ...] = ()
    ssh_keys_from_key_vault: tuple[sshforward.KeyFromVault, ...] = ()


@dataclass(frozen=True)
class SecretInputs:
    """Registry pull credentials and app secrets: from Key Vault or given (group ``secrets``)."""

    key_vault: str | None
    registry_username_secret: str | None
    registry_password_secret: str | None
    secrets_from_key_vault: Pairs
    registry_username: str | None
    registry_password: str | None = field(repr=False)
    # A user-assigned identity ACI pulls with (`registry-identity`): then no pull credentials.
    registry_identity: str | None = None


@dataclass(frozen=True)
class ContainerInputs:
    """The container group to create or update (group ``container``)."""

    name: str
    dns_name_label: str
    dns_label_salt: str | None = field(repr=False)
    cpu: float
    memory: float
    ports: tuple[int, ...]
    protocol: Protocol  # of the ports without a suffix
    environment_variables: Pairs
    secure_environment_variables: Pairs = field(repr=False)
    command_line: tuple[str, ...]
    restart_policy: RestartPolicy
    os_type: OsType
    resource_tags: Pairs
    on_immutable_change: OnImmutableChange
    # The inputs of `spec.KEEPABLE` not given (as GroupSpec names): the existing group's stay.
    unset: frozenset[str] = frozenset()
    volumes: tuple[vol.VolumeInput, ...] = ()
    volume_mounts: tuple[vol.Mount, ...] | None = None  # None: not given, the mounts stay
    # The ports written with a protocol (`53/udp`): (port, protocol); the others use `protocol`.
    port_protocols: tuple[tuple[int, Protocol], ...] = ()
    # None: not given, the existing group's stay (probes.REMOVE: `none`, removed).
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    priority: Priority | None = None  # None: the existing group's, Regular for a new one
    log_analytics_workspace: str | None = None  # the workspace's resource ID
    identity: AppIdentity | None = None  # `identity`; None: the group's identity is left as it is
    # `spec-file`, read and checked (None without one); `container-name` is its `app`.
    spec_file: SpecFile | None = None
    container_name: str | None = None
    command_given: bool = False
    os_type_given: bool = False


@dataclass(frozen=True)
class WaitInputs:
    """How long the run may take and what "ready" means (group ``waiting``)."""

    wait: bool
    timeout: float  # seconds
    health_check_path: str | None  # None: no HTTP readiness check


@dataclass(frozen=True)
class PreviewSettings:
    """The pull-request preview inputs: comment, limits, forks, image cleanup and sweep."""

    comment_on_pr: bool = False
    github_token: str | None = field(default=None, repr=False)
    delete_image_tag: bool = False
    image_repository: str | None = None  # the image whose `pr-<N>` tag delete-image-tag removes
    max_previews: int | None = None
    on_max_previews: OnMaxPreviews = "fail"
    on_fork: OnFork = "fail"
    max_age: float | None = None  # seconds; sweep only
    max_idle: float | None = None  # seconds since the last deploy; sweep only
    idle_action: IdleAction = "delete"  # what the sweep does to a preview idle past max_idle
    dry_run: bool = False
    sweep_concurrency: int = 8
    require_label: str | None = None  # previews only for pull requests with this label
    github_deployment: GitHubDeployment = "auto"
    deployment_environment: str | None = None  # None: pr-<N> on a pull request, else production

    def deployment_wanted(self, pull_request: bool) -> bool:
        """Does this run record a GitHub deployment (`github-deployment`, with a token)?"""
        if self.github_deployment == "false" or not self.github_token:
            return False
        return pull_request or self.github_deployment == "true"


@dataclass(frozen=True)
class Inputs:
    """Every input, parsed and validated, one frozen group per concern of the table.

    The inputs of the table's ``target`` group, which every concern needs, sit at the top.
    """

    mode: Mode
    resource_group: str
    location: str | None
    github: GitHubContext
    auth: AuthInputs
    acr: AcrInputs
    build: BuildInputs
    secrets: SecretInputs
    container: ContainerInputs
    waiting: WaitInputs
    preview: PreviewSettings = field(default_factory=PreviewSettings)
    network: NetworkInputs = field(default_factory=NetworkInputs)
    tls: tls.TlsInputs = field(default_factory=tls.TlsInputs)


class _Reader:
    """Reads inputs from the environment and collects every problem instead of stopping."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.problems: list[InputProblem] = []
        self.reported: set[str] = set()  # inputs with a problem already
        self.given: set[str] = set()  # inputs with a non-blank value

    def add(
        self, name: str, message: str, shown: str | None = None, example: str | None = None
    ) -> None:
        """Record a problem; secret inputs and dangerous text are never shown."""
        spec = SPECS[name]
        if spec.secret:
            shown = None
        elif shown is not None and (reason := _unsafe_reason(shown)):
            shown = None
            message += f" (the value is not shown: it {reason})"
        self.reported.add(name)
        self.problems.append(InputProblem(name, message, example or spec.example, shown))

    def require(self, names: Iterable[str], message: str, example: str | None = None) -> None:
        """Report each of names that is neither given nor already reported as missing."""
        for name in names:
            if name not in self.given and name not in self.reported:
                self.add(name, message, example=example)

    def conflict(self, names: Iterable[str], message: str, example: str | None = None) -> None:
        """Report each of names that is given, where giving it makes no sense."""
        for name in names:
            if name in self.given:
                self.add(name, message, example=example)

    def raw(self, name: str) -> str | None:
        """The value as the runner passed it, None when unset or blank."""
        if name not in SPECS:
            raise KeyError(f"undeclared input {name!r}")  # a bug here, not a user error
        value = self._env.get(env_key(name))
        if value is None or not value.strip():
            return None
        self.given.add(name)
        return value

    def explicitly_empty(self, name: str) -> bool:
        """True when the input is present but blank (which `raw` treats as unset)."""
        key = env_key(name)
        return key in self._env and not self._env[key].strip()

    def line(self, name: str) -> str | None:
        """A single-line value, stripped; the static default when unset; None if unusable."""
        _expect(name, multiline=False)
        raw = self.raw(name)
        if raw is None:
            return SPECS[name].default
        text = raw.strip()
        if reason := _unsafe_reason(text):
            self.add(name, f"must be a single line of plain text, but the value {reason}")
            return None
        return text

    def secret_line(self, name: str) -> str | None:
        """Like `line` for a secret: never shown, and no default."""
        _expect(name, multiline=False)
        raw = self.raw(name)
        if raw is None:
            return None
        if _unsafe_reason(raw.strip()):
            self.add(name, "must be a single line without control characters")
            return None
        return raw.strip()

    def valid(self, name: str) -> str | None:
        """The value (normalized) if the table's rule for the input accepts it; else reported."""
        rule = SPECS[name].rule
        if rule is None:
            raise KeyError(f"input {name!r} has no rule in the table")  # a bug here
        given = self.line(name)
        if given is None:
            return None
        value = rule.normalize(given) if rule.normalize is not None else given
        if rule.check(value):
            return value
        self.add(name, rule.says, shown=given)  # as written: the normalized form hides the typo
        return None

    def optional_choice(self, name: str, options: tuple[_T, ...]) -> _T | None:
        """One of options (matched ignoring case), or None when unset or not an option."""
        if options != SPECS[name].choices:
            raise KeyError(f"input {name!r} has other choices in the table")  # a bug here
        text = self.line(name)
        if text is None:
            return None
        for option in options:
            if option.lower() == text.lower():
                return option
        self.add(name, f"must be one of {', '.join(options)}", shown=text)
        return None

    def choice(self, name: str, options: tuple[_T, ...]) -> _T:
        """One of options; the first (the default) when the value is not one."""
        return self.optional_choice(name, options) or options[0]

    def number(
        self, name: str, low: float, high: float, unit: str, step: float | None = None
    ) -> float:
        """A decimal number within [low, high], optionally a multiple of step."""
        text = self.line(name) or _default(name)
        limits = f"a number from {low:g} to {high:g}{unit}"
        # float() would also take "1_0", "inf" and non-ASCII digits; an input is plain decimal.
        if not _DECIMAL.fullmatch(text):
            self.add(name, f"must be {limits}", shown=text)
            return float(_default(name))
        value = float(text)
        if not low <= value <= high:
            self.add(name, f"must be {limits}", shown=text)
        elif step is not None and abs(value / step - round(value / step)) > 1e-9:
            self.add(name, f"must be {limits} in steps of {step:g}", shown=text)
        return value

    def boolean(self, name: str) -> bool:
        """true or false, in the spellings GitHub's toolkit accepts."""
        text = self.line(name) or _default(name)
        if text in ("true", "True", "TRUE"):
            return True
        if text in ("false", "False", "FALSE"):
            return False
        self.add(name, "must be true or false", shown=text)
        return _default(name) == "true"

    def pairs(
        self, name: str, key_rule: re.Pattern[str], key_hint: str, strip: bool = False
    ) -> Pairs:
        """Multiline ``KEY=VALUE``: split on the first ``=``, the value kept exactly as written.

        Blank lines and lines starting with ``#`` are skipped (YAML comments cannot go inside a
        block scalar); a ``#`` anywhere else is part of the value. ``strip`` trims values.
        """
        _expect(name, multiline=True)
        raw = self.raw(name)
        if raw is None:
            return ()
        secret = SPECS[name].secret
        pairs: list[tuple[str, str]] = []
        for number, line in enumerate(raw.split("\n"), start=1):
            line = line.removesuffix("\r")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition("=")
            key = key.strip()
            # In a secret input even the "name" may be a piece of a secret: only line numbers.
            # A name that could start a workflow command is described by `add`, never echoed here.
            safe_key = not secret and key and _unsafe_reason(key) is None
            where = f"line {number} ({key})" if safe_key else f"line {number}"
            # The whole line is shown, so the person finds it in the block as they wrote it.
            if not sep:
                self.add(name, f"line {number} is not KEY=VALUE: it has no `=`", shown=line.strip())
            elif not key_rule.fullmatch(key):
                self.add(name, f"{where}: the name is not valid ({key_hint})", shown=line.strip())
            elif any(key == seen for seen, _ in pairs):
                self.add(name, f"{where}: the name is set twice", shown=line.strip())
            else:
                pairs.append((key, value.strip() if strip else value))
        return tuple(pairs)


def _expect(name: str, multiline: bool) -> None:
    """Refuse to read an input in a way its spec does not allow (a bug here, not a user error)."""
    if SPECS[name].multiline is not multiline:
        kind = "multi-line" if SPECS[name].multiline else "single-line"
        raise KeyError(f"input {name!r} is {kind} in the table")


def _default(name: str) -> str:
    """The static default of an input that has one, or its value for a new group."""
    value = SPECS[name].default or SPECS[name].new_group
    if value is None:
        raise KeyError(f"input {name!r} has no static default")  # a bug here, not a user error
    return value


def _parse_creds(reader: _Reader) -> Creds | None:
    """The ``creds`` JSON; problems never quote it, because it holds the client secret."""
    raw = reader.raw("creds")
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        # JSONDecodeError's msg/position say where, never what; the text itself stays hidden.
        where = (
            f" ({exc.msg}, line {exc.lineno} column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        reader.add("creds", f"is not valid JSON{where}")
        return None
    if not isinstance(data, dict):
        reader.add("creds", "must be a JSON object")
        return None
    keys = ("clientId", "clientSecret", "tenantId", "subscriptionId")
    missing = [key for key in keys if not isinstance(data.get(key), str) or not data[key].strip()]
    if missing:
        reader.add("creds", f"is missing {', '.join(missing)}")
        return None
    values = {key: str(data[key]).strip() for key in keys}
    wrong = [key for key in ("clientId", "subscriptionId") if not GUID.fullmatch(values[key])]
    if not (GUID.fullmatch(values["tenantId"]) or DOMAIN_NAME.fullmatch(values["tenantId"])):
        wrong.append("tenantId")
    if wrong:
        reader.add("creds", f"has {', '.join(wrong)} that are not GUIDs")
        return None
    return Creds(
        values["clientId"], values["clientSecret"], values["tenantId"], values["subscriptionId"]
    )


def _parse_tags(reader: _Reader) -> tuple[str, ...]:
    raw = reader.raw("tags")
    if raw is None:
        return ()
    tags: list[str] = []
    for tag in re.split(r"[\n,]", raw):
        tag = tag.strip()
        if not tag:
            continue
        if not TAG.fullmatch(tag):
            reader.add(
                "tags",
                "each tag must be 1-128 letters, digits, `_`, `.` or `-`, "
                "not starting with `.` or `-`",
                shown=tag,
            )
            continue
        tags.append(tag)
    return tuple(dict.fromkeys(tags))


def _parse_ports(reader: _Reader) -> tuple[tuple[int, ...], tuple[tuple[int, Protocol], ...]]:
    """The ports, and the protocol of those written with a suffix (`53/udp`)."""
    raw = reader.raw("ports") or _default("ports")
    given = raw.strip()  # shown whole: a duplicate is only visible next to its twin
    ports: list[int] = []
    suffixed: list[tuple[int, Protocol]] = []
    for item in re.split(r"[\s,]+", given):
        if not item:
            continue
        number, slash, suffix = item.partition("/")
        protocol = next((p for p in PROTOCOLS if p.lower() == suffix.lower()), None)
        if slash and protocol is None:
            message = f"`{item}`: the protocol after `/` must be tcp or udp"
            reader.add("ports", message, shown=given, example="ports: 80, 53/udp")
        elif not re.fullmatch(r"[0-9]+", number):
            message = f"each port must be a whole number from 1 to 65535, and `{item}` is not"
            reader.add("ports", message, shown=given)
        elif not 1 <= int(number) <= 65535:
            reader.add(
                "ports", f"each port must be from 1 to 65535, and {number} is not", shown=given
            )
        elif int(number) in ports:
            # ACI keys a group's ports by number: one port cannot be both TCP and UDP.
            reader.add("ports", f"lists port {number} twice", shown=given)
        else:
            ports.append(int(number))
            if protocol is not None:
                suffixed.append((int(number), protocol))
    return tuple(ports), tuple(suffixed)


def _parse_command_line(reader: _Reader) -> tuple[str, ...]:
    raw = reader.raw("command-line")
    if raw is None:
        return ()
    text = raw.strip()
    if text.startswith("["):
        try:
            words = json.loads(text)
        except ValueError:
            reader.add("command-line", "starts with `[` but is not a valid JSON array", shown=text)
            return ()
        if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
            reader.add("command-line", "must be a JSON array of strings", shown=text)
            return ()
        return tuple(words)
    try:
        return tuple(shlex.split(text))
    except ValueError as exc:  # e.g. "No closing quotation"
        reader.add("command-line", f"is not valid shell words ({exc})", shown=text)
        return ()


def _default_name(ctx: GitHubContext, image_name: str | None, image: str | None) -> str | None:
    """The container group name when ``name`` is not given; None if nothing to derive it from."""
    if ctx.repository:
        return naming.default_group_name(
            ctx.repository, ctx.pr_number if ctx.is_pull_request else None
        )
    # Outside GitHub Actions there is no repository; fall back to the image's last path component.
    source = image_name or (image.rsplit("@", 1)[0] if image else None)
    if not source:
        return None
    last = source.rsplit("/", 1)[-1].split(":", 1)[0]
    return naming.sanitize_group_name(last)


def parse_inputs(env: Mapping[str, str]) -> Inputs:
    """Parse and validate every input; raise one InputError listing all problems.

    Each group of the table has its own parser, in action.yml's order (a later group may use
    what an earlier one found); `_cross_group_checks` then applies the rules that span groups.
    """
    ctx = github_context(env)
    r = _Reader(env)
    mode = r.choice("mode", MODES)
    auth = _parse_auth(r)
    resource_group, location = _parse_target(r)
    acr = _parse_acr(r)
    build, repository = _parse_build(r, mode, ctx)
    secrets = _parse_secrets(r, acr.name)
    container = _parse_container(r, mode, ctx, repository, build.image)
    waiting = _parse_waiting(r)
    preview = _parse_preview(r, mode, ctx, acr.name, repository)
    network = parse_network(r, auth.effective_subscription_id, "dns-name-label" in r.given)
    _refuse_outside_mode(r, mode, ["subnet-ids", "ip-address", "dns-config", "health-check-url"])
    private = network.ip_address == "Private" or bool(network.subnet_ids)
    ports = container.ports if "ports" in r.given else ()
    https = tls.parse(r, ports, private, container.priority == "Spot", bool(secrets.key_vault))
    _refuse_outside_mode(r, mode, [spec.name for spec in INPUTS if spec.group == "tls"])
    _cross_group_checks(r, mode, build, secrets, container)
    if r.problems:
        raise InputError(r.problems)
    # Every required value was checked above; this assert only narrows the type for mypy.
    assert resource_group is not None
    groups = (auth, acr, build, secrets, container, waiting, preview)
    return Inputs(mode, resource_group, location, ctx, *groups, network=network, tls=https)


def _parse_auth(r: _Reader) -> AuthInputs:
    """OIDC (all three ids), or `creds`, or neither (Azure CLI / environment credentials)."""
    client_id = r.valid("client-id")
    tenant_id = r.valid("tenant-id")
    subscription_id = r.valid("subscription-id")
    creds = _parse_creds(r)
    oidc = ("client-id", "tenant-id", "subscription-id")
    oidc_given = [input_name for input_name in oidc if input_name in r.given]
    if "creds" in r.given and oidc_given:
        r.add(
            "creds",
            f"cannot be combined with {', '.join(oidc_given)}: sign in either with OIDC "
            "(client-id, tenant-id, subscription-id) or with a service principal secret (creds)",
            example=_OIDC_EXAMPLE,
        )
    elif "client-id" in r.given or "tenant-id" in r.given:
        # subscription-id alone is the laptop path: `az login` (or AZURE_* variables) signs in.
        r.require(
            [input_name for input_name in oidc if input_name not in r.given],
            f"is required with {', '.join(oidc_given)}: signing in with OIDC needs client-id, "
            "tenant-id and subscription-id",
            example=_OIDC_EXAMPLE,
        )
    environment = r.choice("environment", CLOUDS)
    endpoint = r.valid("resource-manager-endpoint")
    return AuthInputs(
        client_id=client_id,
        tenant_id=tenant_id,
        subscription_id=subscription_id,
        creds=creds,
        environment=environment,
        resource_manager_endpoint=endpoint.rstrip("/") if endpoint else None,
        audience=r.line("audience") or _default("audience"),
    )


def _parse_target(r: _Reader) -> tuple[str | None, str | None]:
    """The resource group (required) and the region of the container group."""
    resource_group = r.valid("resource-group")
    r.require(["resource-group"], "is required")
    location = r.valid("location")
    return resource_group, location


def _parse_acr(r: _Reader) -> AcrInputs:
    """The registry by name (with where it is) or by resource ID."""
    registry = r.valid("registry")
    resource_group = r.valid("registry-resource-group")
    subscription_id = r.valid("registry-subscription-id")
    if "registry" not in r.given:
        r.conflict(
            ["registry-resource-group", "registry-subscription-id"],
            "says where the registry is, so it needs `registry` (the registry's name) as well",
        )
    if registry is not None and (resource_id := ACR_ID.fullmatch(registry)):
        # A resource ID says where the registry is; the other two inputs would only contradict it.
        r.conflict(
            ["registry-resource-group", "registry-subscription-id"],
            "cannot be combined with a resource ID in `registry`, which already says where the "
            "registry is",
        )
        return AcrInputs(resource_id["name"], resource_id["group"], resource_id["subscription"])
    return AcrInputs(registry, resource_group, subscription_id)


# The inputs that only mean something when the action builds the image.
_BUILD_ONLY = ["image-name", "tags", "dockerfile", "build-args", "target", "labels", "network"]
_BUILD_ONLY += ["cache-from", "cache-to", "build-secrets", "ssh", "ssh-keys-from-key-vault"]
# A BuildKit secret's id: what `RUN --mount=type=secret,id=...` names.
_SECRET_ID = re.compile(r"[A-Za-z0-9_.-]+")


def _builds(r: _Reader, mode: Mode) -> bool:
    """Whether this run builds and pushes an image (rather than deploying `image`, or none)."""
    return mode not in ("delete", "sweep") and "image" not in r.given


def _parse_build(r: _Reader, mode: Mode, ctx: GitHubContext) -> tuple[BuildInputs, str | None]:
    """The image inputs, and the image's repository as given or derived (also when not built)."""
    image = r.valid("image")
    _refuse_outside_mode(r, mode, ["image"])
    builds = _builds(r, mode)
    if builds:
        r.require(["registry"], "is required to push the image (or give `image` to deploy one)")
    image_name, tags = _parse_image_name_and_tags(r, ctx, builds)
    build_secrets = r.pairs("build-secrets", _SECRET_ID, "letters, digits, `.`, `_` and `-`")
    ssh, ssh_keys = _parse_ssh(r)
    build = BuildInputs(
        image_name=image_name if builds else None,
        tags=tags if builds else (),
        context=r.line("context") or _default("context"),
        dockerfile=r.line("dockerfile"),
        build_args=r.pairs("build-args", _ENV_NAME, _ENV_RULE),
        cache_from=_parse_cache(r, "cache-from", "from"),
        cache_to=_parse_cache(r, "cache-to", "to"),
        build_secrets=build_secrets,
        build_secrets_from_key_vault=_parse_build_secrets_from_vault(r, build_secrets),
        ssh=ssh,
        ssh_keys_from_key_vault=ssh_keys,
        target=r.valid("target"),
        labels=r.pairs("labels", _LABEL_KEY, "letters, digits, `.`, `_`, `-` and `/`"),
        platform=r.valid("platform") or _default("platform"),
        network=r.optional_choice("network", NETWORKS),
        image=image,
    )
    if "image" in r.given:
        r.conflict(
            _BUILD_ONLY,
            "cannot be combined with `image`, which deploys an existing image without building",
            example=SPECS["image"].example,
        )
    return build, image_name


def _parse_cache(r: _Reader, name: str, direction: str) -> tuple[CacheEntry, ...]:
    """`cache-from` / `cache-to`: one cache a line (blank and `#` lines skipped)."""
    entries: list[CacheEntry] = []
    for number, line in enumerate((r.raw(name) or "").split("\n"), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        entry = parse_cache_line(line, direction)
        if isinstance(entry, str):
            r.add(name, f"line {number} {entry}", shown=line.strip())
        else:
            entries.append(entry)
    return tuple(entries)


def _parse_image_name_and_tags(
    r: _Reader, ctx: GitHubContext, builds: bool
) -> tuple[str | None, tuple[str, ...]]:
    """`image-name` and `tags`, derived from the repository and event when a build needs them."""
    image_name = r.valid("image-name")
    tags = _parse_tags(r)
    if builds and ctx.repository:
        image_name = image_name or naming.default_image_name(ctx.repository)
    if builds and not tags:
        tags = naming.default_tags(ctx)
    if builds and not image_name:
        r.require(["image-name"], "is required outside GitHub Actions (no GITHUB_REPOSITORY)")
    if builds and not tags:
        r.require(["tags"], "is required outside GitHub Actions (no GITHUB_SHA)")
    return image_name, tags


def _parse_build_secrets_from_vault(r: _Reader, build_secrets: Pairs) -> Pairs:
    """`build-secrets-from-key-vault`: `id=secret-name`, ids not also in `build-secrets`."""
    name = "build-secrets-from-key-vault"
    pairs = r.pairs(name, _SECRET_ID, "letters, digits, `.`, `_` and `-`", strip=True)
    given = {sid for sid, _ in build_secrets}
    for sid, secret in pairs:
        if not SECRET_NAME.fullmatch(secret):
            r.add(
                name,
                f"{sid}: the secret name after `=` must be {SECRET_RULE}",
                shown=f"{sid}={secret}",
            )
        elif sid in given:
            r.add(name, f"{sid}: `build-secrets` already gives this id", shown=f"{sid}={secret}")
    return pairs


def _parse_ssh(
    r: _Reader,
) -> tuple[tuple[sshforward.SshForward, ...], tuple[sshforward.KeyFromVault, ...]]:
    """`ssh` and `ssh-keys-from-key-vault`, one id a line, no id twice (BuildKit refuses it)."""
    forwards: list[sshforward.SshForward] = []
    keys: list[sshforward.KeyFromVault] = []
    seen: set[str] = set()
    for name in ("ssh", "ssh-keys-from-key-vault"):
        for line in (r.raw(name) or "").split("\n"):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            value: sshforward.SshForward | sshforward.KeyFromVault | str
            if name == "ssh":
                value = sshforward.parse_line(line)
            else:
                value = sshforward.parse_vault_line(line, SECRET_NAME, SECRET_RULE)
            if isinstance(value, str):
                r.add(name, value, shown=line.strip())
            elif value.id in seen:
                r.add(name, f"`{value.id}` is given twice: one line per id", shown=line.strip())
            elif isinstance(value, sshforward.SshForward):
                seen.add(value.id)
                forwards.append(value)
            else:
                seen.add(value.id)
                keys.append(value)
    return tuple(forwards), tuple(keys)


def _parse_secrets(r: _Reader, registry: str | None) -> SecretInputs:
    """Pull credentials and app secrets: from Key Vault, or given directly (aci-deploy style)."""
    key_vault = r.valid("key-vault")
    username_secret = r.valid("registry-username-secret")
    password_secret = r.valid("registry-password-secret")
    registry_identity = r.valid("registry-identity")
    if key_vault is not None and registry is not None and "registry-identity" not in r.given:
        # The names the usual ACR setup stores for its AcrPull service principal.
        username_secret = username_secret or f"{registry}-pull-usr"
        password_secret = password_secret or f"{registry}-pull-pwd"
    from_vault = r.pairs(
        "secrets-from-key-vault", _ENV_NAME, f"the ENV_NAME before `=`: {_ENV_RULE}", strip=True
    )
    for env_name, secret in from_vault:
        if not SECRET_NAME.fullmatch(secret):
            r.add(
                "secrets-from-key-vault",
                f"{env_name}: the secret name after `=` must be {SECRET_RULE}",
                shown=f"{env_name}={secret}",
            )
    secrets = SecretInputs(
        key_vault=key_vault,
        registry_username_secret=username_secret,
        registry_password_secret=password_secret,
        secrets_from_key_vault=from_vault,
        registry_username=r.line("registry-username"),
        registry_password=r.secret_line("registry-password"),
        registry_identity=registry_identity.rstrip("/") if registry_identity else None,
    )
    _check_credential_sources(r)
    return secrets


def _check_credential_sources(r: _Reader) -> None:
    """The vault's inputs need the vault; given credentials come in pairs and not beside it."""
    if "registry-identity" in r.given:
        # The group pulls with the identity: a login beside it would be a second, unused path.
        r.conflict(
            [
                "registry-username",
                "registry-password",
                "registry-username-secret",
                "registry-password-secret",
            ],
            "cannot be combined with `registry-identity`: Container Instances pulls with the "
            "identity, so no pull credentials are read or given (`key-vault` still serves "
            "`secrets-from-key-vault`)",
            example=SPECS["registry-identity"].example,
        )
    if "key-vault" in r.given:
        r.conflict(
            ["registry-username", "registry-password"],
            "cannot be combined with `key-vault`: the pull credentials come from the vault "
            "(registry-username-secret, registry-password-secret)",
            example=SPECS["key-vault"].example,
        )
        return
    r.conflict(
        [
            "registry-username-secret",
            "registry-password-secret",
            "secrets-from-key-vault",
            "build-secrets-from-key-vault",
            "ssh-keys-from-key-vault",
        ],
        "needs `key-vault`, the vault to read it from",
        example=SPECS["key-vault"].example,
    )
    if "registry-username" in r.given:
        r.require(["registry-password"], "is required with `registry-username`")
    if "registry-password" in r.given:
        r.require(["registry-username"], "is required with `registry-password`")


def _parse_container(
    r: _Reader, mode: Mode, ctx: GitHubContext, image_name: str | None, image: str | None
) -> ContainerInputs:
    """The container group; its name and DNS label derived from the repository when not given."""
    name, label, salt = _parse_names(r, mode, ctx, image_name, image)
    volumes, mounts = _parse_volumes(r)
    ports, port_protocols = _parse_ports(r)
    container = ContainerInputs(
        name=name,
        dns_name_label=label,
        dns_label_salt=salt,
        cpu=r.number("cpu", CPU_MIN, CPU_MAX, " cores"),
        memory=r.number("memory", MEMORY_MIN, MEMORY_MAX, " GB", step=0.1),
        ports=ports,
        port_protocols=port_protocols,
        protocol=r.choice("protocol", PROTOCOLS),
        environment_variables=r.pairs("environment-variables", _ENV_NAME, _ENV_RULE),
        secure_environment_variables=r.pairs("secure-environment-variables", _ENV_NAME, _ENV_RULE),
        command_line=_parse_command_line(r),
        restart_policy=r.choice("restart-policy", RESTART_POLICIES),
        os_type=r.choice("os-type", OS_TYPES),
        resource_tags=_parse_resource_tags(r),
        on_immutable_change=r.choice("on-immutable-change", ON_IMMUTABLE_CHANGE),
        volumes=volumes,
        volume_mounts=mounts,
        liveness_probe=_parse_probe(r, "liveness"),
        readiness_probe=_parse_probe(r, "readiness"),
        priority=_parse_priority(r),
        log_analytics_workspace=r.valid("log-analytics-workspace"),
        identity=_parse_identity(r),
        unset=frozenset(
            name.replace("-", "_")
            for name in ("cpu", "memory", "ports", "protocol", "restart-policy", "dns-name-label")
            if name not in r.given
        ),
        container_name=r.valid("container-name"),
        command_given="command-line" in r.given,
        os_type_given=bool(_set(r, ["os-type"])),
    )
    raw = r.line("spec-file")
    _refuse_outside_mode(r, mode, ["spec-file", "container-name"])
    if raw is None or mode != "deploy":
        return container
    found = read_input(raw, ctx.workspace or None, name, container.container_name)
    for problem in found if isinstance(found, list) else []:
        r.add("spec-file", problem[0], shown=problem[1], example=problem[2])
    return replace(container, spec_file=found if isinstance(found, SpecFile) else None)


def _parse_volumes(
    r: _Reader,
) -> tuple[tuple[vol.VolumeInput, ...], tuple[vol.Mount, ...] | None]:
    """`volumes` and `volume-mounts` (volumes.py has the syntax); each bad line reported."""
    found, problems = vol.parse_volumes(r.raw("volumes"))
    for message, line in problems:
        r.add("volumes", message, shown=line.strip())
    mounts, problems = vol.parse_mounts(r.raw("volume-mounts"))
    for message, line in problems:
        r.add("volume-mounts", message, shown=line.strip())
    return found, mounts


def _parse_probe(r: _Reader, kind: ProbeKind) -> Probe | None:
    """`liveness-probe` or `readiness-probe` (probes.py has the syntax)."""
    name = f"{kind}-probe"
    text = r.line(name)
    if text is None:
        return None
    probe, problems = probes.parse(kind, text)
    for problem in problems:
        r.add(name, problem, shown=text)
    return probe


def _parse_priority(r: _Reader) -> Priority | None:
    """`priority`; Spot refuses what needs an IP address, which a Spot group cannot have."""
    priority = r.optional_choice("priority", PRIORITIES)
    if priority == "Spot":
        # "ACI Spot container groups won't be assigned a public IP endpoint" and "can't be
        # deployed behind a virtual network" (container-instances-spot-containers-overview);
        # ACI refuses either with SpotPriorityContainerGroupNotSupportedForInboundConnectivity.
        r.conflict(
            ["dns-name-label", "dns-label-salt"],
            "cannot be used with `priority: Spot`: a Spot group has no IP address, so no DNS name",
            example="priority: Regular  # a preview that must answer at a URL needs Regular",
        )
    return priority


def _parse_identity(r: _Reader) -> AppIdentity | None:
    """`identity`: `system` and/or user-assigned identities' resource IDs; None when not given."""
    raw = r.raw("identity")
    if raw is None:
        return None
    found, problems = parse_identity(raw)
    for item in problems:
        r.add(
            "identity",
            "each item must be `system` or the resource ID of a user-assigned managed identity "
            "(/subscriptions/<subscription id>/resourceGroups/<group>/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/<name>)",
            shown=item,
        )
    return found


def _parse_names(
    r: _Reader, mode: Mode, ctx: GitHubContext, image_name: str | None, image: str | None
) -> tuple[str, str, str | None]:
    """`name`, `dns-name-label` and the salt; "" when unknown (then reported, or a sweep)."""
    name = r.valid("name")
    name = name or _default_name(ctx, image_name, image)
    # Without a repository the name comes from image-name, whose problem already covers this.
    if "image-name" not in r.reported and mode != "sweep":
        r.require([] if name else ["name"], "is required outside GitHub Actions")
    label = r.valid("dns-name-label")
    salt = r.secret_line("dns-label-salt")
    if "dns-name-label" in r.given:
        r.conflict(
            ["dns-label-salt"], "has no effect with `dns-name-label`: it salts the derived one"
        )
    if label is None and name is not None:
        label = naming.default_dns_label(name, ctx.repository, salt)
    # A sweep acts on many groups, never on `name`; otherwise a missing one is reported above.
    return name or "", label or "", salt


def _parse_waiting(r: _Reader) -> WaitInputs:
    """Whether to wait for the group, the run's time limit and the readiness path."""
    wait = r.boolean("wait")
    timeout = r.valid("timeout")
    return WaitInputs(
        wait=wait,
        timeout=parse_duration(timeout or _default("timeout")) or 600.0,
        health_check_path=_parse_health_check_path(r),
    )


def _cross_group_checks(
    r: _Reader, mode: Mode, build: BuildInputs, secrets: SecretInputs, container: ContainerInputs
) -> None:
    """The rules that span groups: pull credentials, platform and OS, one owner per variable."""
    if (
        mode == "deploy"
        and build.image is None
        and "key-vault" not in r.given
        and "registry-username" not in r.given
        and "registry-identity" not in r.given
    ):
        # ACI pulls the image itself, later and on its own: without credentials the group
        # would fail with InaccessibleImage after the build and push have already happened.
        r.add(
            "key-vault",
            "is required to deploy from the registry: Azure Container Instances needs pull "
            "credentials, read from the vault (`<registry>-pull-usr` / `<registry>-pull-pwd`) "
            "or given as `registry-username` / `registry-password`; or give `registry-identity`, "
            "a managed identity with AcrPull that it pulls with",
        )
    for name, message, shown in vol.check(
        container.volumes, key_vault="key-vault" in r.given, os_type=container.os_type
    ):
        r.add(name, message, shown=shown or None)
    _refuse_outside_mode(r, mode, ["registry-identity", "identity"])
    if container.priority == "Spot":
        # "can't be deployed behind a virtual network" (container-instances-spot-containers-
        # overview): ACI answers SpotPriorityContainerGroupNotSupportedForInboundConnectivity.
        r.conflict(
            ["subnet-ids", "ip-address"],
            "cannot be used with `priority: Spot`: a Spot group has no IP address, public or"
            " private, and cannot be deployed into a virtual network",
            example="priority: Regular",
        )
    os_prefix = f"{container.os_type.lower()}/"
    if (
        _builds(r, mode)
        and "platform" not in r.reported
        and not build.platform.startswith(os_prefix)
    ):
        r.add(
            "platform",
            f"must be {os_prefix}… when os-type is {container.os_type}",
            shown=build.platform,
        )
    # One name in two inputs would make the container's value depend on merge order.
    owners: dict[str, str] = {}
    for source, pairs in (
        ("environment-variables", container.environment_variables),
        ("secure-environment-variables", container.secure_environment_variables),
        ("secrets-from-key-vault", secrets.secrets_from_key_vault),
    ):
        for key, value in pairs:
            if key in owners:
                r.add(
                    source,
                    f"sets {key}, which `{owners[key]}` already sets",
                    shown=f"{key}={value}",
                )
            owners.setdefault(key, source)


def _parse_resource_tags(r: _Reader) -> Pairs:
    """Azure resource tags: names up to 512 characters without ``<>%&\\?/``, values up to 256."""
    tags = r.pairs("resource-tags", _AZURE_TAG_NAME, "at most 512 characters, none of <>%&\\?/")
    for key, value in tags:
        if len(value) > 256:
            r.add(
                "resource-tags",
                f"{key}: the value must be at most 256 characters ({len(value)} given)",
                shown=f"{key}={value}",
            )
    if len(tags) > 50:
        r.add("resource-tags", "Azure allows at most 50 tags on a resource")
    return tags


def _parse_health_check_path(r: _Reader) -> str | None:
    """The readiness path. Unlike other inputs, an explicit empty value means "no check"."""
    # Inside Actions the runner passes action.yml's default "/" when the input is omitted, so an
    # empty value can only come from `health-check-path: ''`: the documented way to turn it off.
    if r.explicitly_empty("health-check-path"):
        return None
    return r.valid("health-check-path")


def _integer(r: _Reader, name: str, low: int, high: int) -> int | None:
    """A whole number within [low, high]; None when unset or invalid (then reported)."""
    text = r.line(name)
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]+", text) or not low <= int(text) <= high:
        r.add(name, f"must be a whole number from {low} to {high}", shown=text)
        return None
    return int(text)


def _set(r: _Reader, names: Iterable[str]) -> list[str]:
    """Those of names given with a value other than their static default.

    The runner passes action.yml's default as if the user had written it, so an input that is
    only refused in some modes may be refused only when it says something else.
    """
    found = []
    for name in names:
        default = SPECS[name].default
        value = (r._env.get(env_key(name)) or "").strip()
        if name in r.given and (default is None or value.lower() != default.lower()):
            found.append(name)
    return found


def _refuse_outside_mode(r: _Reader, mode: Mode, names: Iterable[str]) -> None:
    """Refuse each of names set (to other than its default) in a mode its spec does not list."""
    for name in _set(r, [name for name in names if mode not in SPECS[name].modes]):
        r.add(name, SPECS[name].refusal(mode))


def _parse_preview(
    r: _Reader, mode: Mode, ctx: GitHubContext, registry: str | None, image_name: str | None
) -> PreviewSettings:
    """The preview inputs: comment, limits, forks, image cleanup and sweep."""
    repository = image_name or (
        naming.default_image_name(ctx.repository) if ctx.repository else None
    )
    settings = PreviewSettings(
        comment_on_pr=r.boolean("comment-on-pr"),
        github_token=r.secret_line("github-token"),
        delete_image_tag=r.boolean("delete-image-tag"),
        image_repository=repository,
        max_previews=_integer(r, "max-previews", 1, 1000),
        on_max_previews=r.choice("on-max-previews", ON_MAX_PREVIEWS),
        on_fork=r.choice("on-fork", ON_FORK),
        max_age=_parse_max_age(r),
        max_idle=_parse_age_input(r, "max-idle"),
        idle_action=r.choice("idle-action", IDLE_ACTIONS),
        dry_run=r.boolean("dry-run"),
        sweep_concurrency=_integer(r, "sweep-concurrency", 1, 32)
        or int(_default("sweep-concurrency")),
        require_label=r.line("require-label") or None,
        github_deployment=r.choice("github-deployment", GITHUB_DEPLOYMENTS),
        deployment_environment=r.line("deployment-environment") or None,  # GitHub checks it
    )
    _check_preview(r, mode, ctx, settings, registry)
    return settings


def _parse_max_age(r: _Reader) -> float | None:
    """`max-age` in seconds; None when unset or invalid (then reported)."""
    text = r.valid("max-age")
    return parse_age(text) if text else None


def _parse_age_input(r: _Reader, name: str) -> float | None:
    """An age input in seconds; None when unset or invalid (then reported)."""
    text = r.valid(name)
    return parse_age(text) if text else None


def _check_preview(
    r: _Reader, mode: Mode, ctx: GitHubContext, settings: PreviewSettings, registry: str | None
) -> None:
    """Refuse each preview input in the modes where it would silently do nothing."""

    def refuse(names: Iterable[str], message: str) -> None:
        for name in _set(r, names):
            r.add(name, message)

    if settings.comment_on_pr:
        r.require(
            ["github-token"],
            "is required with `comment-on-pr: true`: the comment is written with it",
        )
    elif settings.github_deployment == "true" and mode != "build":
        r.require(
            ["github-token"],
            "is required with `github-deployment: true`: the deployment is recorded with it",
        )
    elif mode != "sweep" and not (ctx.is_pull_request and settings.github_deployment == "auto"):
        refuse(
            ["github-token"],
            "has no effect here: it writes the preview comment (`comment-on-pr: true`) and "
            "the GitHub deployment (`github-deployment: true`, or auto on pull requests)",
        )
    _refuse_outside_mode(r, mode, ["github-deployment", "deployment-environment", "require-label"])
    if mode == "sweep" and settings.require_label:
        r.require(
            ["github-token"],
            "is required with `require-label` in mode: sweep: the pull requests' labels are "
            "read with it",
        )
    _refuse_outside_mode(r, mode, ["comment-on-pr", "max-previews", "on-max-previews"])
    if mode == "deploy" and "max-previews" not in r.given:
        refuse(["on-max-previews"], "has no effect without `max-previews`")
    _refuse_outside_mode(r, mode, ["on-fork", "max-age", "dry-run", "sweep-concurrency"])
    _refuse_outside_mode(r, mode, ["max-idle", "idle-action"])
    if mode == "sweep" and "max-idle" not in r.given:
        refuse(["idle-action"], "has no effect without `max-idle`")
    _refuse_outside_mode(r, mode, ["delete-image-tag"])
    if mode == "sweep":
        if "github-token" not in r.given and not {"max-age", "max-idle"} & set(r.given):
            r.add(
                "github-token",
                "is required with mode: sweep unless `max-age` or `max-idle` is given: without "
                "it the sweep "
                "cannot tell closed pull requests from open ones",
            )
        if not ctx.repository:
            r.add(
                "mode",
                "sweep needs GITHUB_REPOSITORY (run it in a workflow): it only sweeps previews "
                "of the repository it runs in",
                shown=mode,
            )
    if (
        mode in SPECS["delete-image-tag"].modes
        and settings.delete_image_tag
        and registry is None
        and "registry" not in r.reported
    ):
        r.add("registry", "is required with `delete-image-tag: true`: the tag is deleted there")


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Every secret-bearing input value, one line each, for ``::add-mask::`` before anything else.

    Every input the table marks secret is masked. Deliberately lenient: it runs before
    validation, so it also finds secrets in inputs that turn out to be malformed.
    """
    found: list[str] = []
    for spec in INPUTS:
        value = env.get(spec.env_key, "")
        if not spec.secret or not value:
            continue
        if spec.name == "creds":
            found.extend(_creds_secrets(value))
        elif spec.multiline:
            found.extend(_pair_secrets(value))
        else:
            found.append(value)
    lines: list[str] = []
    for value in found:
        for line in value.splitlines():
            # Masking a scrap such as "{" or "==" would blank every one in the log and protect
            # nothing; any value with a letter or digit, or of 4+ characters, is masked.
            if line.strip() and (len(line.strip()) >= 4 or re.search(r"[^\W_]", line)):
                lines.extend((line, line.strip()))
    return list(dict.fromkeys(lines))


def _creds_secrets(creds: str) -> list[str]:
    """The client secret in the ``creds`` JSON, or all of it when it is too broken to tell."""
    if not creds.strip():
        return []
    secret: object = None
    try:
        data = json.loads(creds)
        secret = data.get("clientSecret") if isinstance(data, dict) else None
    except ValueError:
        match = re.search(r'"clientSecret"\s*:\s*"((?:[^"\\]|\\.)*)"', creds)
        if not match:
            return [creds]  # cannot tell where the secret is in broken JSON: mask all of it
        secret = match.group(1)
    return [secret] if isinstance(secret, str) else []


def _pair_secrets(text: str) -> list[str]:
    """The values of a secret ``KEY=VALUE`` block; both halves and the whole of any other line."""
    found: list[str] = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        key, sep, value = line.partition("=")
        if sep and _ENV_NAME.fullmatch(key.strip()):
            found.append(value)
        else:
            # Not KEY=VALUE: perhaps a line of a multi-line secret pasted by mistake, whose
            # "name" is a piece of the secret too. Mask the line and both halves.
            found.extend((line, key, value))
    return found
