"""`spec-file`: a container group as `az container create --file` reads it, merged with the inputs.

## The format
azure-cli (`command_modules/container/custom.py`, `_create_update_from_file`, 2.91.0) reads the
file with `yaml.safe_load` and PUTs the mapping as it is through the generic resources API: the
file *is* the ARM resource body. Its top-level keys are those of the YAML reference
(learn.microsoft.com/azure/container-instances/container-instances-reference-yaml): `apiVersion`,
`location`, `name`, `tags`, `identity`, `properties`, plus `type` and `zones` (the multi-container
tutorial, container-instances-multi-container-yaml, writes `type:
Microsoft.ContainerInstance/containerGroups`). The same object in JSON (an ARM containerGroups
resource), or its `properties` alone, is accepted too.

ARM reads the body the way JSON.NET does, and the tutorial relies on it: `memoryInGb` for
`memoryInGB` (property names match ignoring case), `port: '80'` (a number as a string), `protocol:
tcp` (enums ignoring case), `apiVersion: 2018-06-01` unquoted (PyYAML reads a date). So here too.

Every key is checked against the models of azure-mgmt-containerinstance, which the action PUTs
with (generated from containerInstance.json of the api-version in `cloud.ApiVersions`): a key the
model does not know would be dropped without a word, so it is refused, with its line and column.

## Who owns what
The action always owns, in the app container (`container-name`, default the file's first
container): the image (by digest), the environment it injects (`environment-variables`,
`secure-environment-variables`, `secrets-from-key-vault`: they win over the file's variables of
the same name), its own tags, and the login of the registry it pulls from. For `cpu`, `memory`,
`ports`, `protocol`, `restart-policy`, `dns-name-label`, `command-line`, `os-type`, `location` and
the app's `volume-mounts`: an input that is given wins, then the file, then the existing group,
then the new-group default.
What the file states replaces the existing group's value: each container and init container it
defines (by name) as a whole, each volume (by name), each group property it names. What it does
not state stays as the existing group has it (keep.py): sidecars made by other tools survive.

Secrets (`secureValue`, registry `password`, `storageAccountKey`, `workspaceKey`, secret volume
contents) are refused in the file: it lives in the repository, readable by everyone who can read
the code. Those come from inputs, which are masked.

Pure, apart from reading the file: no network.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from azure.mgmt.containerinstance.models import ContainerGroup


class _Spec(Protocol):
    """What is read here of a `spec._Spec` (spec.py imports this module, not the reverse)."""

    @property
    def spec_file(self) -> str: ...

    @property
    def container_name(self) -> str: ...


_S = TypeVar("_S")

__all__ = [
    "FileProblem",
    "SpecFile",
    "defines",
    "differs",
    "load",
    "overlay",
    "read_input",
    "settle",
    "volume_names",
]

RESOURCE_TYPE = "Microsoft.ContainerInstance/containerGroups"
# The container name rule as ACI words it (MicrosoftDocs/azure-docs#15546).
_CONTAINER_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# Images copied from the reference's schema (`image: string`) or left as a template.
_PLACEHOLDER = re.compile(
    r"^(string|image|<.*>|.*\$\{.*\}.*|.*\{\{.*\}\}.*|TODO.*|CHANGEME.*)$", re.I
)
# At most 59 init containers (container-instances-init-container, "Order of execution").
MAX_INIT_CONTAINERS = 59

EXAMPLE = (
    "# spec-file: aci.yaml, in the format of `az container create --file`\n"
    "properties:\n"
    "  containers:\n"
    "  - name: app            # the action sets its image, environment and ports\n"
    "    properties: {}\n"
    "  - name: sidecar\n"
    "    properties:\n"
    "      image: mcr.microsoft.com/azurelinux/busybox:1.36\n"
    "      command: [sh, -c, 'while true; do sleep 30; done']\n"
    "      resources:\n"
    "        requests: {cpu: 0.1, memoryInGB: 0.1}\n"
    "  initContainers:\n"
    "  - name: migrate\n"
    "    properties:\n"
    "      image: mcr.microsoft.com/azurelinux/busybox:1.36\n"
    "      command: [sh, -c, 'echo ready']"
)

# (model, attribute) -> the SDK enum whose values the property takes, matched ignoring case.
_ENUMS = {
    ("ContainerGroup", "restart_policy"): "ContainerGroupRestartPolicy",
    ("ContainerGroup", "os_type"): "OperatingSystemTypes",
    ("ContainerGroup", "sku"): "ContainerGroupSku",
    ("ContainerGroup", "priority"): "ContainerGroupPriority",
    ("IpAddress", "type"): "ContainerGroupIpAddressType",
    ("IpAddress", "auto_generated_domain_name_label_scope"): "DnsNameLabelReusePolicy",
    ("Port", "protocol"): "ContainerGroupNetworkProtocol",
    ("ContainerPort", "protocol"): "ContainerNetworkProtocol",
    ("ContainerHttpGet", "scheme"): "Scheme",
    ("GpuResource", "sku"): "GpuSku",
    ("LogAnalytics", "log_type"): "LogAnalyticsLogType",
    ("ContainerGroupIdentity", "type"): "ResourceIdentityType",
}

# Where a secret would sit: (model, attribute), and what to use instead.
_SECRETS = {
    ("EnvironmentVariable", "secure_value"): "the `secure-environment-variables` or "
    "`secrets-from-key-vault` input (for the app container)",
    ("ImageRegistryCredential", "password"): "a registry login by `identity`, or the action's "
    "own pull credentials (`key-vault`)",
    ("AzureFileVolume", "storage_account_key"): "an input that reads it from Key Vault",
    ("Volume", "secret"): "an input that reads it from Key Vault",
    ("LogAnalytics", "workspace_key"): "an input that reads it from Azure",
    ("DeploymentExtensionSpec", "protected_settings"): "an input that reads it from Key Vault",
}

# Top-level keys of the file that the models do not hold: read and checked here.
_FILE_ONLY = {"apiversion": "apiVersion"}


@dataclass(frozen=True)
class FileProblem:
    """One thing wrong in the file: where, what, and the text found there (never a secret)."""

    message: str
    line: int | None = None
    column: int | None = None
    shown: str | None = None

    def where(self, path: str) -> str:
        """`aci.yaml line 12 column 7` (or just the path when the place is not known)."""
        if self.line is None:
            return path
        column = f" column {self.column}" if self.column is not None else ""
        return f"{path} line {self.line}{column}"


@dataclass(frozen=True)
class SpecFile:
    """The file, checked: its body in canonical ARM JSON, and the app container's name."""

    path: str
    body: str  # canonical JSON (sorted keys): hashable, so a _Spec can carry it
    app: str  # the app container: `container-name`, else the file's first container
    location: str | None = None
    api_version: str | None = None
    # Names of the containers and init containers the file defines (the app's included).
    defines: tuple[str, ...] = field(default=())

    def document(self) -> dict[str, Any]:
        """The body as a fresh mapping (callers may change it)."""
        value: dict[str, Any] = json.loads(self.body)
        return value


# -- reading ---------------------------------------------------------------------------------


class _Marks:
    """Line and column (1-based) of each value and key, by path in the document."""

    def __init__(self) -> None:
        self.value: dict[tuple[Any, ...], tuple[int, int]] = {}
        self.key: dict[tuple[Any, ...], tuple[int, int]] = {}

    def at(self, path: tuple[Any, ...], key: bool = False) -> tuple[int | None, int | None]:
        """The place of the value at `path` (or of its key), else of the nearest parent."""
        table = self.key if key else self.value
        probe = path
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.value:
                return self.value[probe]
            probe = probe[:-1]
        return self.value.get((), (None, None))


def _read_yaml(text: str) -> tuple[Any, _Marks, list[FileProblem]]:
    """The document as `yaml.safe_load` reads it, with the place of every value and key."""
    import yaml

    marks = _Marks()
    problems: list[FileProblem] = []
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, marks, problems

        def build(node: Any, path: tuple[Any, ...]) -> Any:
            marks.value[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
            if isinstance(node, yaml.MappingNode):
                loader.flatten_mapping(node)  # `<<: *anchor` merge keys, as safe_load does
                mapping: dict[str, Any] = {}
                for key_node, value_node in node.value:
                    key = loader.construct_object(key_node, deep=True)
                    where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                    if not isinstance(key, str):
                        key = str(key)
                    if key in mapping:
                        problems.append(
                            FileProblem(f"the key `{key}` is given twice", *where, shown=key)
                        )
                    marks.key[(*path, key)] = where
                    mapping[key] = build(value_node, (*path, key))
                return mapping
            if isinstance(node, yaml.SequenceNode):
                return [build(item, (*path, index)) for index, item in enumerate(node.value)]
            return loader.construct_object(node, deep=True)

        return build(node, ()), marks, problems
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        problems.append(FileProblem(f"is not valid YAML: {what}", line, column))
        return None, marks, problems
    finally:
        loader.dispose()


def _read(text: str, path: str) -> tuple[Any, _Marks, list[FileProblem]]:
    """YAML (with places); JSON that PyYAML refuses (a tab, say) through `json`."""
    document, marks, problems = _read_yaml(text)
    if problems and (path.lower().endswith(".json") or text.lstrip().startswith("{")):
        try:
            return json.loads(text), _Marks(), []
        except json.JSONDecodeError as exc:
            return (
                None,
                _Marks(),
                [FileProblem(f"is not valid JSON: {exc.msg}", exc.lineno, exc.colno)],
            )
    return document, marks, problems


# -- checking against the SDK's models -------------------------------------------------------


def _tree(model: type[Any]) -> dict[str, Any]:
    """The model's JSON keys as a tree: flattened keys (`properties.image`) become levels."""
    tree: dict[str, Any] = {}
    readonly = {name for name, rule in model._validation.items() if rule.get("readonly")}
    for name, spec in model._attribute_map.items():
        parts = spec["key"].split(".")
        level = tree
        for part in parts[:-1]:
            level = level.setdefault(part, {})
        level[parts[-1]] = (name, spec["type"], name in readonly)
    return tree


def _models() -> Any:
    from azure.mgmt.containerinstance import models

    return models


class _Checker:
    """Walks the document along the models; collects problems, returns canonical ARM JSON."""

    def __init__(self, marks: _Marks) -> None:
        self.marks = marks
        self.problems: list[FileProblem] = []
        self.models = _models()

    def problem(
        self, path: tuple[Any, ...], message: str, shown: str | None = None, key: bool = False
    ) -> None:
        line, column = self.marks.at(path, key=key)
        self.problems.append(FileProblem(message, line, column, shown))

    def model(self, value: Any, model: type[Any], path: tuple[Any, ...]) -> dict[str, Any] | None:
        return self.level(value, model, _tree(model), path)

    def level(
        self, value: Any, model: type[Any], tree: dict[str, Any], path: tuple[Any, ...]
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(
                path, f"{_name(path)} must be a mapping of keys, not {_kind(value)}", _show(value)
            )
            return None
        known = {key.lower(): key for key in tree}
        out: dict[str, Any] = {}
        for key, item in value.items():
            canonical = known.get(key.lower())
            where = (*path, key)
            if canonical is None:
                choices = ", ".join(sorted(tree))
                self.problem(
                    where,
                    f"unknown key `{key}` in {_name(path)} (it takes: {choices})",
                    key,
                    key=True,
                )
                continue
            entry = tree[canonical]
            if isinstance(entry, dict):
                nested = self.level(item, model, entry, where)
                if nested is not None:
                    out[canonical] = nested
                continue
            attribute, kind, readonly = entry
            if readonly:
                continue  # set by the service (an export holds them): not sent
            secret = _SECRETS.get((model.__name__, attribute))
            if secret is not None and item not in (None, {}, ""):
                self.problem(
                    where,
                    f"`{canonical}` holds a secret, and this file is in the repository, readable by "
                    f"everyone who can read the code: use {secret} instead",
                    key=True,
                )
                continue
            enum = _ENUMS.get((model.__name__, attribute))
            checked = self.value(item, kind, where, enum)
            if checked is not _BAD:
                out[canonical] = checked
        return out

    def value(self, item: Any, kind: str, path: tuple[Any, ...], enum: str | None = None) -> Any:
        if item is None:
            return None
        if kind.startswith("[") and kind.endswith("]"):
            if not isinstance(item, list):
                self.problem(path, f"{_name(path)} must be a list, not {_kind(item)}", _show(item))
                return _BAD
            values = [self.value(x, kind[1:-1], (*path, i), enum) for i, x in enumerate(item)]
            return [x for x in values if x is not _BAD]
        if kind.startswith("{") and kind.endswith("}"):
            if not isinstance(item, dict):
                self.problem(
                    path, f"{_name(path)} must be a mapping, not {_kind(item)}", _show(item)
                )
                return _BAD
            mapping = {k: self.value(v, kind[1:-1], (*path, k)) for k, v in item.items()}
            return {k: v for k, v in mapping.items() if v is not _BAD}
        scalar = _SCALARS.get(kind)
        if scalar is not None:
            converted = scalar(item)
            if converted is _BAD:
                self.problem(
                    path, f"{_name(path)} must be {_ARTICLE[kind]}, not {_kind(item)}", _show(item)
                )
                return _BAD
            if enum is not None:
                return self.enum(converted, enum, path)
            return converted
        if kind == "object":
            return item
        model = getattr(self.models, kind, None)
        if model is None:  # a type this walker does not know: sent as written
            return item
        checked = self.model(item, model, path)
        return _BAD if checked is None else checked

    def enum(self, value: Any, enum: str, path: tuple[Any, ...]) -> Any:
        allowed = [member.value for member in getattr(self.models, enum)]
        for option in allowed:
            if isinstance(value, str) and value.lower() == option.lower():
                return option
        self.problem(path, f"{_name(path)} must be one of {', '.join(allowed)}", _show(value))
        return _BAD


class _Bad:
    """A value that was refused (a problem is recorded)."""


_BAD: Any = _Bad()


def _to_str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return _BAD  # JSON.NET would write True: quote it to say what you mean
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()  # `apiVersion: 2018-06-01` unquoted
    return _BAD


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        return _BAD
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value):
        return int(value)  # `port: '80'`, as the multi-container tutorial writes it
    return _BAD


def _to_float(value: Any) -> Any:
    if isinstance(value, bool):
        return _BAD
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]*\.?[0-9]+\s*", value):
        return float(value)
    return _BAD


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return _BAD


_SCALARS: dict[str, Callable[[Any], Any]] = {
    "str": _to_str,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
}
_ARTICLE = {
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    if isinstance(value, str):
        return "a string"
    return f"`{value}`"


def _show(value: Any) -> str | None:
    if isinstance(value, (dict, list)):
        return None
    return str(value)[:200]


def _name(path: tuple[Any, ...]) -> str:
    """`properties.containers[1].properties.image`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"`{text}`" if text else "the file"


# -- the file as a whole -------------------------------------------------------------------


def load(
    path: str,
    *,
    workspace: str | None,
    group_name: str,
    container_name: str | None,
) -> SpecFile | list[FileProblem]:
    """Read and check the file: the checked file, or every problem found in it."""
    base = Path(workspace or ".")
    file = base / path
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [FileProblem("is not a file here (give a path relative to the repository)")]
    except (OSError, UnicodeDecodeError) as exc:
        return [FileProblem(f"cannot be read ({type(exc).__name__}: {exc})")]
    document, marks, problems = _read(text, path)
    if problems:
        return problems
    if not isinstance(document, dict):
        return [
            FileProblem(f"must hold a container group (a mapping), not {_kind(document)}", 1, 1)
        ]
    if "properties" not in {key.lower() for key in document} and any(
        key.lower() == "containers" for key in document
    ):
        # The `properties` object alone (ARM JSON's inner part).
        document = {"properties": document}
        marks.value = {("properties", *k): v for k, v in marks.value.items()} | {(): (1, 1)}
        marks.key = {("properties", *k): v for k, v in marks.key.items()}
    checker = _Checker(marks)
    extras = {key: document.pop(key) for key in list(document) if key.lower() in _FILE_ONLY}
    body = checker.model(document, checker.models.ContainerGroup, ()) or {}
    api_version = None
    for key, value in extras.items():
        api_version = _to_str(value)
        if api_version is _BAD or not re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", api_version):
            checker.problem(
                (key,), "`apiVersion` must be an api-version such as 2023-05-01", _show(value)
            )
            api_version = None
    _check_identity_keys(document, body, checker, group_name)
    app = _check_containers(body, checker, container_name)
    if checker.problems:
        return checker.problems
    props = body.get("properties") or {}
    defines = tuple(
        c["name"] for c in [*props.get("containers", []), *props.get("initContainers", [])]
    )
    return SpecFile(
        path=path,
        body=json.dumps(body, sort_keys=True, separators=(",", ":")),
        app=app or container_name or group_name,
        location=body.get("location") or None,
        api_version=api_version,
        defines=defines,
    )


def _check_identity_keys(
    document: dict[str, Any], body: dict[str, Any], checker: _Checker, group_name: str
) -> None:
    """`name` and `type`, which the models hold read-only: checked, then left out."""
    for key, value in document.items():
        if key.lower() == "name" and value is not None and str(value) != group_name:
            # az refuses the same: "The name parameter and name from yaml definition must match."
            checker.problem(
                (key,),
                f"names the group `{value}`, but this deploy is for `{group_name}` (the `name` "
                "input or its default); remove `name` from the file, or make the two match",
                _show(value),
            )
        if (
            key.lower() == "type"
            and value is not None
            and str(value).lower() != RESOURCE_TYPE.lower()
        ):
            checker.problem((key,), f"`type` must be {RESOURCE_TYPE}", _show(value))
    body.pop("name", None)
    body.pop("type", None)
    body.pop("id", None)


def _check_containers(
    body: dict[str, Any], checker: _Checker, container_name: str | None
) -> str | None:
    """Names, images and resources of the containers; the app container's name."""
    props = body.get("properties") or {}
    containers = props.get("containers") or []
    inits = props.get("initContainers") or []
    app = container_name or (containers[0].get("name") if containers else None)
    seen: set[str] = set()
    for kind, items in (("containers", containers), ("initContainers", inits)):
        for index, container in enumerate(items):
            path = ("properties", kind, index)
            name = container.get("name")
            if not name:
                checker.problem(path, f"{_name(path)} needs a `name`")
                continue
            if len(name) > 63 or not _CONTAINER_NAME.fullmatch(name):
                checker.problem(
                    (*path, "name"),
                    "a container name must be 1-63 lower-case letters, digits and `-`, starting "
                    "and ending with a letter or digit",
                    name,
                )
            if name in seen:
                checker.problem((*path, "name"), f"the container name `{name}` is used twice", name)
            seen.add(name)
            cprops = container.get("properties") or {}
            if name == app and kind == "containers":
                continue  # the action sets its image, and its resources when the file has none
            image = cprops.get("image")
            if not image:
                checker.problem(
                    path,
                    f"container `{name}` needs an `image` (only the app container's comes from the action)",
                )
            elif _PLACEHOLDER.match(image.strip()):
                checker.problem(
                    (*path, "properties", "image"),
                    f"the image of container `{name}` is a placeholder: give a real image reference "
                    "such as mcr.microsoft.com/azurelinux/busybox:1.36",
                    image,
                )
            if kind == "containers":
                requests = (cprops.get("resources") or {}).get("requests") or {}
                if requests.get("cpu") is None or requests.get("memoryInGB") is None:
                    checker.problem(
                        (*path, "properties"),
                        f"container `{name}` needs `resources.requests` with `cpu` and `memoryInGB` "
                        "(ACI requires both; only the app container's come from the inputs)",
                    )
    if len(inits) > MAX_INIT_CONTAINERS:
        checker.problem(
            ("properties", "initContainers"),
            f"at most {MAX_INIT_CONTAINERS} init containers are allowed",
        )
    if containers and app not in {c.get("name") for c in containers}:
        names = ", ".join(f"`{c.get('name')}`" for c in containers)
        checker.problem(
            ("properties", "containers"),
            f"has no container `{app}` (the `container-name` input), the app container whose image "
            f"the action deploys; it defines {names}",
            app,
        )
    if app in {i.get("name") for i in inits}:
        checker.problem(
            ("properties", "initContainers"),
            f"`{app}` is the app container and cannot be an init container",
            app,
        )
    return app


# -- merging ---------------------------------------------------------------------------------


def _app(body: dict[str, Any], app: str) -> dict[str, Any]:
    for container in (body.get("properties") or {}).get("containers") or []:
        if container.get("name") == app:
            props: dict[str, Any] = container.get("properties") or {}
            return props
    return {}


def settle(spec: _S, file: SpecFile | None, *, command_given: bool, os_type_given: bool) -> _S:
    """The spec with what the file says for the inputs not given (an input given wins)."""
    if file is None:
        return spec
    given: Any = spec  # a spec.GroupSpec (a frozen dataclass), typed loosely: see _Spec
    body = file.document()
    props = body.get("properties") or {}
    app = _app(body, file.app)
    unset = set(given.unset)
    settled: dict[str, Any] = {"container_name": file.app, "spec_file": file.body}
    requests = (app.get("resources") or {}).get("requests") or {}
    for name, key in (("cpu", "cpu"), ("memory", "memoryInGB")):
        if name in unset and requests.get(key) is not None:
            settled[name] = float(requests[key])
            unset.discard(name)
    ip = props.get("ipAddress") or {}
    ports = ip.get("ports") or app.get("ports") or []
    if "ports" in unset and ports:
        settled["ports"] = tuple(dict.fromkeys(int(p["port"]) for p in ports))
        unset.discard("ports")
    protocols = {str(p.get("protocol") or "TCP").upper() for p in ports}
    if "protocol" in unset and len(protocols) == 1:
        settled["protocol"] = protocols.pop()
        unset.discard("protocol")
    if "restart_policy" in unset and props.get("restartPolicy"):
        settled["restart_policy"] = props["restartPolicy"]
        unset.discard("restart_policy")
    if "dns_name_label" in unset and ip.get("dnsNameLabel"):
        settled["dns_name_label"] = ip["dnsNameLabel"]
        unset.discard("dns_name_label")
    if given.ip_type is None and ip.get("type"):
        settled["ip_type"] = ip["type"]
    if not command_given and app.get("command"):
        settled["command_line"] = tuple(app["command"])
    if not os_type_given and props.get("osType"):
        settled["os_type"] = props["osType"]
    ours = {name for name, _ in (*given.environment_variables, *given.secure_environment_variables)}
    from_file = tuple(
        (v["name"], v.get("value") or "")
        for v in app.get("environmentVariables") or []
        if v["name"] not in ours
    )
    settled["environment_variables"] = from_file + tuple(given.environment_variables)
    settled["unset"] = frozenset(unset)
    settled_spec: _S = replace(given, **settled)
    return settled_spec


def overlay(group: ContainerGroup, spec: _Spec) -> None:
    """Put what the file states on `group` (the existing group's copy, or a new one)."""
    if not spec.spec_file:
        return
    from azure.mgmt.containerinstance.models import ContainerGroup

    body: dict[str, Any] = json.loads(spec.spec_file)
    props = body.get("properties") or {}
    stated = ContainerGroup.deserialize(
        {"properties": {"containers": [], "osType": "Linux"}, **body}
    )
    for key in props:
        attribute = _attribute(ContainerGroup, f"properties.{key}")
        if attribute is None:
            continue
        wanted = getattr(stated, attribute)
        if attribute == "containers":
            before = {c.name: c for c in group.containers or []}
            for container in wanted or []:
                previous = before.get(container.name)
                if container.resources is None and previous is not None:
                    # The app container's sizes come from the inputs, else the group's (GPU too).
                    container.resources = previous.resources
                if (
                    container.name == spec.container_name
                    and container.volume_mounts is None
                    and previous is not None
                ):
                    # The app's mounts: `volume-mounts` (set after this), else the group's.
                    container.volume_mounts = previous.volume_mounts
            group.containers = _by_name(group.containers, wanted)
        elif attribute == "init_containers":
            group.init_containers = _by_name(group.init_containers, wanted) or None
        elif attribute == "volumes":
            group.volumes = _by_name(group.volumes, wanted) or None
        elif attribute != "image_registry_credentials":
            setattr(group, attribute, wanted)
    if props.get("imageRegistryCredentials"):
        stated_logins = {
            (c.server or "").lower(): c for c in stated.image_registry_credentials or []
        }
        logins = [
            c
            for c in group.image_registry_credentials or []
            if (c.server or "").lower() not in stated_logins
        ]
        group.image_registry_credentials = [*stated_logins.values(), *logins]
    if body.get("identity") is not None:
        group.identity = stated.identity
    if body.get("zones") is not None:
        group.zones = stated.zones
    if body.get("tags"):
        group.tags = {**(group.tags or {}), **(stated.tags or {})}


def _attribute(model: type[Any], key: str) -> str | None:
    for name, spec in model._attribute_map.items():
        if spec["key"] == key:
            return str(name)
    return None


def _by_name(existing: list[Any] | None, stated: list[Any] | None) -> list[Any]:
    """The stated items (in the file's order), then the existing ones of other names."""
    names = {item.name for item in stated or []}
    return [*(stated or []), *(item for item in existing or [] if item.name not in names)]


def differs(
    existing: ContainerGroup, spec: _Spec, managed: Callable[[ContainerGroup], None]
) -> tuple[bool, bool]:
    """Whether the file changes `existing`, and whether only a delete and create can do it.

    Both sides get the action's own parts (`managed`) set the same way, so only what the file
    states can differ. Immutable, as container-instances-update lists it: containers added or
    removed, CPU, memory or GPU, availability zones and the network; the SKU too (a
    confidential group is another kind of host) [inferred].
    """
    from . import keep

    if not spec.spec_file:
        return False, False
    before = keep.base(existing)
    after = keep.base(existing)
    overlay(after, spec)
    for group in (before, after):
        managed(group)
    old, new = _plain(before.serialize()), _plain(after.serialize())
    if old == new:
        return False, False
    old_props, new_props = old.get("properties", {}), new.get("properties", {})

    def shape(props: dict[str, Any]) -> Any:
        return sorted(
            (c["name"], json.dumps((c.get("properties") or {}).get("resources"), sort_keys=True))
            for c in props.get("containers", [])
        )

    immutable = (
        shape(old_props) != shape(new_props)
        or old.get("zones") != new.get("zones")
        or old_props.get("sku") != new_props.get("sku")
        or old_props.get("subnetIds") != new_props.get("subnetIds")
    )
    return True, immutable


def _plain(value: Any) -> Any:
    """Without empty values, numbers as floats, so that a GET and the file compare alike."""
    if isinstance(value, dict):
        items = {k: _plain(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


def defines(spec: _Spec) -> tuple[str, ...]:
    """The containers and init containers the spec's file defines, by name."""
    if not spec.spec_file:
        return ()
    props = json.loads(spec.spec_file).get("properties") or {}
    return tuple(
        c["name"] for c in [*props.get("containers", []), *props.get("initContainers", [])]
    )


def volume_names(spec: _Spec) -> tuple[str, ...]:
    """The volumes the spec's file declares, by name (the app's `volume-mounts` may name them)."""
    if not spec.spec_file:
        return ()
    props = json.loads(spec.spec_file).get("properties") or {}
    return tuple(v["name"] for v in props.get("volumes") or [] if v.get("name"))


def read_input(
    path: str, workspace: str | None, group_name: str, container_name: str | None
) -> SpecFile | list[tuple[str, str | None, str]]:
    """`load` for the input parser: the file, or (message, shown, example) per problem."""
    found = load(path, workspace=workspace, group_name=group_name, container_name=container_name)
    if isinstance(found, SpecFile):
        return found
    return [(f"{p.where(path)}: {p.message}", p.shown, EXAMPLE) for p in found]
