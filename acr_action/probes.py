"""`liveness-probe` and `readiness-probe`: the one-line syntax, its checks and the ACI model.

ACI runs the probes itself (Kubernetes underneath): a liveness probe that keeps failing restarts
the container, a readiness probe that fails marks it not ready. The REST spec
(Azure/azure-rest-api-specs, containerInstance.json, `ContainerProbe`) has `exec` (`command`, a
list of strings) or `httpGet` (`path`, `port` required, `scheme` http/https, `httpHeaders`), and
`initialDelaySeconds`, `periodSeconds`, `failureThreshold`, `successThreshold`,
`timeoutSeconds`; ACI supports neither `tcpSocket` nor `grpc` (MicrosoftDocs/azure-docs#109730).
The azure-cli has no flag for probes (only `az container create --file` YAML carries them).

Syntax, one line::

    http-get /healthz port=8080 scheme=https initial-delay=5 period=10 failure-threshold=3
    exec cat /tmp/ready period=5
    exec ["sh", "-c", "test -f /tmp/ready"] timeout=2
    none

`http-get` takes a path (default `/`); `port` defaults to the group's first port. `exec` takes
the command as shell words or a JSON array; the trailing `key=value` words are the options (so
a command whose last word looks like one needs the JSON form). `none` removes the probe. The
ranges are Kubernetes' (the Probe type of k8s.io/api core/v1): initial delay 0 or more, period,
timeout and thresholds 1 or more, and a liveness probe's success threshold exactly 1.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from azure.mgmt.containerinstance.models import ContainerProbe

ProbeKind = Literal["liveness", "readiness"]

# option word -> (ContainerProbe field, lowest value allowed)
OPTIONS: dict[str, tuple[str, int]] = {
    "initial-delay": ("initial_delay_seconds", 0),
    "period": ("period_seconds", 1),
    "failure-threshold": ("failure_threshold", 1),
    "success-threshold": ("success_threshold", 1),
    "timeout": ("timeout_seconds", 1),
}
# Kubernetes' highest sensible values are not limits; this bounds a typo (a day in seconds).
MAX_SECONDS = 86_400
EXAMPLES = {
    "liveness": "liveness-probe: http-get /healthz port=8080 initial-delay=5 period=10 failure-threshold=3",
    "readiness": "readiness-probe: exec cat /tmp/ready period=5",
}
_OPTION = re.compile(r"(?P<key>[a-z-]+)=(?P<value>\S*)")
_PATH = re.compile(r"/[\x21-\x7e]*")


@dataclass(frozen=True)
class Probe:
    """One probe as the inputs give it; `port` None: the group's first port."""

    command: tuple[str, ...] = ()  # exec
    path: str | None = None  # http-get
    port: int | None = None
    scheme: str | None = None  # "http" or "https"; None: ACI's default (http)
    initial_delay_seconds: int | None = None
    period_seconds: int | None = None
    failure_threshold: int | None = None
    success_threshold: int | None = None
    timeout_seconds: int | None = None

    @property
    def is_http(self) -> bool:
        """An HTTP GET probe (else exec)."""
        return self.path is not None


# What `parse` gives for `none`: remove the probe the group has.
REMOVE = Probe()


def parse(kind: ProbeKind, text: str) -> tuple[Probe | None, list[str]]:
    """The probe `text` describes, or None with the problems (phrases for `InputError`)."""
    words = text.split()
    if not words:
        return None, ["is empty"]
    head, rest = words[0].lower(), text.strip()[len(words[0]) :].strip()
    if head == "none" and not rest:
        return REMOVE, []
    if head not in ("http-get", "exec"):
        return None, ["must start with `http-get`, `exec` or be `none`"]
    body, options = _split_options(rest)
    problems: list[str] = []
    values: dict[str, object] = {}
    for key, value in options:
        if key in ("port", "scheme") and head != "http-get":
            problems.append(f"`{key}=` applies to http-get only")
        elif key == "port":
            if not re.fullmatch(r"[0-9]+", value) or not 1 <= int(value) <= 65535:
                problems.append(f"`port={value}`: the port must be from 1 to 65535")
            else:
                values["port"] = int(value)
        elif key == "scheme":
            if value.lower() not in ("http", "https"):
                problems.append(f"`scheme={value}`: the scheme must be http or https")
            else:
                values["scheme"] = value.lower()
        elif key in OPTIONS:
            field, low = OPTIONS[key]
            if not re.fullmatch(r"[0-9]+", value) or not low <= int(value) <= MAX_SECONDS:
                problems.append(
                    f"`{key}={value}` must be a whole number from {low} to {MAX_SECONDS}"
                )
            else:
                values[field] = int(value)
        else:
            known = ", ".join([*OPTIONS, "port", "scheme"])
            problems.append(f"`{key}=` is not an option (known: {known})")
    if kind == "liveness" and values.get("success_threshold", 1) != 1:
        # Kubernetes: "Must be 1 for liveness and startup Probes."
        problems.append("a liveness probe's success-threshold must be 1")
    if head == "http-get":
        path = body or "/"
        if not _PATH.fullmatch(path):
            problems.append(f"`{body}`: the path must start with `/` and have no spaces")
        values["path"] = path
    else:
        command, problem = _command(body)
        if problem:
            problems.append(problem)
        values["command"] = command
    if problems:
        return None, problems
    return Probe(**values), []  # type: ignore[arg-type]  # the keys are Probe fields


def _split_options(rest: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the trailing `key=value` words, and those words in order."""
    words = rest.split(" ")
    options: list[tuple[str, str]] = []
    while words and (match := _OPTION.fullmatch(words[-1])):
        options.insert(0, (match["key"], match["value"]))
        words.pop()
        while words and not words[-1]:
            words.pop()
    return " ".join(words).strip(), options


def _command(body: str) -> tuple[tuple[str, ...], str | None]:
    if not body:
        return (), "`exec` needs a command, e.g. `exec cat /tmp/ready`"
    if body.startswith("["):
        try:
            value = json.loads(body)
        except ValueError:
            return (), "the command is not a valid JSON array of strings"
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            return (), "the command must be a non-empty JSON array of strings"
        return tuple(value), None
    try:
        return tuple(shlex.split(body)), None
    except ValueError as exc:
        return (), f"the command is not valid shell words ({exc})"


def to_model(probe: Probe, default_port: int | None) -> ContainerProbe | None:
    """The SDK model of `probe` (None for `none`): an HTTP probe's port defaults to the group's."""
    from azure.mgmt.containerinstance.models import ContainerExec, ContainerHttpGet, ContainerProbe

    if probe == REMOVE:
        return None
    model = ContainerProbe(
        initial_delay_seconds=probe.initial_delay_seconds,
        period_seconds=probe.period_seconds,
        failure_threshold=probe.failure_threshold,
        success_threshold=probe.success_threshold,
        timeout_seconds=probe.timeout_seconds,
    )
    if probe.is_http:
        model.http_get = ContainerHttpGet(
            path=probe.path, port=probe.port or default_port or 80, scheme=probe.scheme
        )
    else:
        model.exec_property = ContainerExec(command=list(probe.command))
    return model


def same(model: ContainerProbe | None, probe: Probe, default_port: int | None) -> bool:
    """Whether the group's probe (from a GET) is the one the input asks for."""
    wanted = to_model(probe, default_port)
    if model is None or wanted is None:
        return model is None and wanted is None
    mine = wanted.serialize()
    theirs = model.serialize()
    # ACI may echo defaults it filled in (scheme, thresholds); compare what the input set.
    return all(_get(theirs, path) == value for path, value in _leaves(mine))


def _leaves(value: object, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*prefix, k))]
    return [(prefix, value)]


def _get(value: object, path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    if isinstance(value, str) and path and path[-1] == "scheme":
        return value.lower()
    return value
