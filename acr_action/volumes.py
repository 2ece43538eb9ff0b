"""Volumes the app container mounts: the `volumes` and `volume-mounts` inputs, and their ACI form.

## The syntax
`volumes`, one volume a line, `NAME: KIND OPTIONS`:

    data: azure-file account=mystorage share=app-data       # key read through ARM (listKeys)
    logs: azure-file account=mystorage share=logs key-secret=storage-key read-only
    cache: empty-dir
    config: secret key-vault-secrets=app-config,tls.crt=tls-cert

`volume-mounts`, one mount of the app container a line, `NAME:PATH` with `:ro` or `:rw` after it:

    data:/mnt/data
    config:/etc/app:ro

## What ACI says of them
* The 2023-05-01 REST spec (Azure/azure-rest-api-specs, containerInstance.json, as the SDK's
  models carry it): `Volume` has `name` (required) and one of `azureFile` (`shareName` and
  `storageAccountName` required, `readOnly`, `storageAccountKey` marked `x-ms-secret`),
  `emptyDir` (an empty object), `secret` (file name -> value, base64) or `gitRepo`;
  `VolumeMount` has `name` and `mountPath` (required) and `readOnly`.
* Microsoft Learn: Azure Files, emptyDir and secret volumes "are currently restricted to Linux
  containers"; "All secret volumes are backed by tmpfs, a RAM-backed filesystem; their contents
  are never written to non-volatile storage" (container-instances-volume-secret); an emptyDir is
  "a writable directory accessible to each container in a container group", kept through
  container crashes but not promised across restarts (container-instances-volume-emptydir); the
  Azure Files limitations: Linux only, the container runs as root, CIFS only
  (container-instances-volume-azure-files, "Limitations").
* azure-cli (`container/_validators.py`): "The volume mount path cannot contain ':'", and
  `--secrets key=value` values are sent base64-encoded.

The storage key never comes from an input in clear: it is read through ARM
(`POST .../Microsoft.Storage/storageAccounts/{name}/listKeys`, azure-rest-api-specs storage
`StorageAccounts_ListKeys`: `{"keys": [{"keyName", "value", "permissions"}]}`, the first key
used, as the Learn page's `az storage account keys list --query "[0].value"`) or from a Key Vault
secret (`key-secret=`). Every key and every secret file's value is masked on arrival, goes to ACI
in `storageAccountKey` / `secret` only, and enters the fingerprint's secret document.

## What a deploy keeps
A volume the inputs name is the action's: it is sent, secrets included, on every deploy that
names it, so `keep.lost_secrets` does not count it. Every other volume of the group stays as it
was (and one with a secret the GET hides stops the deploy, as before). Without `volume-mounts`
the app container keeps the mounts it has; with it, its mounts are exactly those listed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from azure.mgmt.containerinstance.models import Container, ContainerGroup
    from azure.mgmt.containerinstance.models import Volume as SdkVolume
    from azure.mgmt.containerinstance.models import VolumeMount as SdkVolumeMount

    from .cloud import Endpoints
    from .retry import Retrier

Kind = Literal["azure-file", "empty-dir", "secret"]
KINDS: tuple[Kind, ...] = ("azure-file", "empty-dir", "secret")

# A volume's name: what ACI accepts for names inside a group (its container names, the rule
# MicrosoftDocs/azure-docs#15546 quotes), 1-63 characters [inferred for volumes].
VOLUME_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
VOLUME_NAME_RULE = (
    "1-63 lower-case letters, digits and `-`, starting and ending with a letter or digit"
)
# Storage account names: 3-24 lower-case letters and digits (Learn, resource-name-rules).
ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")
# File share names: 3-63 lower-case letters, digits and single `-`, starting and ending with a
# letter or digit (Learn, "Naming and referencing shares, directories, files, and metadata").
SHARE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]")
SECRET_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
# A secret volume's file name: one path component (Kubernetes' secret key rule, which ACI's
# secret volumes follow [inferred]).
FILE_NAME = re.compile(r"[-._A-Za-z0-9]{1,253}")
RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]")
# The volume `tls-storage` gives the TLS proxy (tls.py): not a name for `volumes`.
TLS_STORAGE_VOLUME = "tls-proxy-storage"

EXAMPLE = (
    "volumes: |\n"
    "  data: azure-file account=mystorage share=app-data\n"
    "  cache: empty-dir\n"
    "  config: secret key-vault-secrets=app-config,tls.crt=tls-cert"
)
MOUNT_EXAMPLE = "volume-mounts: |\n  data:/mnt/data\n  config:/etc/app:ro"


@dataclass(frozen=True)
class VolumeInput:
    """One line of `volumes`, as written: what to mount, and where its secrets come from."""

    name: str
    kind: Kind
    account: str = ""
    share: str = ""
    account_resource_group: str | None = None  # None: the deployment's resource group
    key_secret: str | None = None  # the Key Vault secret with the storage key; None: listKeys
    read_only: bool = False
    files: tuple[tuple[str, str], ...] = ()  # secret volume: file name -> Key Vault secret name


@dataclass(frozen=True)
class Mount:
    """One mount of the app container."""

    name: str
    path: str
    read_only: bool = False


@dataclass(frozen=True)
class Volume:
    """A volume as the group gets it: secrets resolved (the storage key, the files' values)."""

    name: str
    kind: Kind
    account: str = ""
    share: str = ""
    read_only: bool = False
    key: str = field(default="", repr=False)
    files: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # file name -> value


# -- parsing -----------------------------------------------------------------------------------

Problem = tuple[str, str]  # (message, the line as shown)


def parse_volumes(raw: str | None) -> tuple[tuple[VolumeInput, ...], list[Problem]]:
    """`volumes`: one `NAME: KIND OPTIONS` a line (blank and `#` lines skipped)."""
    volumes: list[VolumeInput] = []
    problems: list[Problem] = []
    for number, line in _lines(raw):
        name, sep, rest = line.partition(":")
        name, words = name.strip(), rest.split()
        where = f"line {number}"
        if not sep or not words:
            problems.append((f"{where} is not `NAME: KIND OPTIONS` (KIND: {_kinds()})", line))
            continue
        if not VOLUME_NAME.fullmatch(name):
            problems.append((f"{where}: the volume name must be {VOLUME_NAME_RULE}", line))
            continue
        if any(v.name == name for v in volumes):
            problems.append((f"{where}: volume `{name}` is declared twice", line))
            continue
        if name == TLS_STORAGE_VOLUME:
            problems.append((f"{where}: the name `{name}` is the proxy's (tls-storage)", line))
            continue
        kind, options = words[0].lower(), words[1:]
        parsed = _volume(name, kind, options)
        if isinstance(parsed, str):
            problems.append((f"{where} ({name}): {parsed}", line))
        else:
            volumes.append(parsed)
    return tuple(volumes), problems


def _volume(name: str, kind: str, words: list[str]) -> VolumeInput | str:
    """One volume from its kind and options, or what is wrong with them."""
    flags = {w.lower() for w in words if "=" not in w}
    options: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            if key.lower() in options:
                return f"`{key}` is given twice"
            options[key.lower()] = value
    if kind == "empty-dir":
        extra = sorted(flags | set(options))
        return (
            f"empty-dir takes no options, not {', '.join(extra)}"
            if extra
            else VolumeInput(name, "empty-dir")
        )
    if kind == "azure-file":
        return _azure_file(name, flags, options)
    if kind == "secret":
        return _secret(name, flags, options)
    return f"the kind must be one of {_kinds()}, not `{kind}`"


def _azure_file(name: str, flags: set[str], options: dict[str, str]) -> VolumeInput | str:
    unknown = sorted(
        (flags - {"read-only"})
        | (set(options) - {"account", "share", "key-secret", "resource-group"})
    )
    if unknown:
        return (
            f"azure-file takes account=, share=, key-secret=, resource-group= and read-only, "
            f"not {', '.join(unknown)}"
        )
    account, share = options.get("account", ""), options.get("share", "")
    if not ACCOUNT_NAME.fullmatch(account):
        return "account= must be the storage account's name: 3-24 lower-case letters and digits"
    if not SHARE_NAME.fullmatch(share):
        return (
            "share= must be the file share's name: 3-63 lower-case letters, digits and single "
            "`-`, starting and ending with a letter or digit"
        )
    key_secret = options.get("key-secret")
    if key_secret is not None and not SECRET_NAME.fullmatch(key_secret):
        return "key-secret= must be the Key Vault secret's name: 1-127 letters, digits and `-`"
    group = options.get("resource-group")
    if group is not None and not RESOURCE_GROUP.fullmatch(group):
        return "resource-group= must be the storage account's resource group"
    return VolumeInput(
        name,
        "azure-file",
        account=account,
        share=share,
        account_resource_group=group,
        key_secret=key_secret,
        read_only="read-only" in flags,
    )


def _secret(name: str, flags: set[str], options: dict[str, str]) -> VolumeInput | str:
    unknown = sorted(flags | (set(options) - {"key-vault-secrets"}))
    if unknown:
        return f"secret takes key-vault-secrets= only, not {', '.join(unknown)}"
    files: list[tuple[str, str]] = []
    for item in options.get("key-vault-secrets", "").split(","):
        if not item:
            continue
        file_name, sep, secret = item.partition("=")
        if not sep:
            secret = file_name  # the file is named after the secret
        if not SECRET_NAME.fullmatch(secret):
            return f"`{secret}` is not a Key Vault secret name (1-127 letters, digits and `-`)"
        if not FILE_NAME.fullmatch(file_name) or file_name in (".", ".."):
            return f"`{file_name}` is not a file name (letters, digits, `.`, `_` and `-`)"
        if any(f == file_name for f, _ in files):
            return f"file `{file_name}` is listed twice"
        files.append((file_name, secret))
    if not files:
        return "secret needs key-vault-secrets=NAME[,FILE=NAME...]: the files' Key Vault secrets"
    return VolumeInput(name, "secret", files=tuple(files))


def parse_mounts(raw: str | None) -> tuple[tuple[Mount, ...] | None, list[Problem]]:
    """`volume-mounts`: one `NAME:PATH[:ro|:rw]` a line; None when not given."""
    if raw is None:
        return None, []
    mounts: list[Mount] = []
    problems: list[Problem] = []
    for number, line in _lines(raw):
        parts = line.strip().split(":")
        where = f"line {number}"
        mode = parts.pop().lower() if len(parts) == 3 else "rw"
        if len(parts) != 2 or mode not in ("ro", "rw"):
            # ACI refuses a ':' in a mount path (azure-cli: "The volume mount path cannot
            # contain ':'"), so the only ':' are the separators.
            problems.append((f"{where} is not `NAME:PATH`, `NAME:PATH:ro` or `NAME:PATH:rw`", line))
            continue
        name, path = parts[0].strip(), parts[1].strip()
        reason = _mount_path_problem(path)
        if not VOLUME_NAME.fullmatch(name):
            problems.append((f"{where}: the volume name must be {VOLUME_NAME_RULE}", line))
        elif reason:
            problems.append((f"{where} ({name}): the mount path {reason}", line))
        elif any(m.path.rstrip("/") == path.rstrip("/") for m in mounts):
            problems.append((f"{where} ({name}): {path} is already a mount path", line))
        else:
            mounts.append(Mount(name, path, read_only=mode == "ro"))
    return tuple(mounts), problems


def _mount_path_problem(path: str) -> str | None:
    if not path.startswith("/"):
        return "must be absolute, starting with `/`"
    if path.rstrip("/") == "":
        return "cannot be `/`, the container's root"
    if any(part in (".", "..") for part in path.split("/")) or re.search(r"\s", path):
        return "must not contain `.` or `..` components or spaces"
    return None


def check(
    volumes: tuple[VolumeInput, ...],
    *,
    key_vault: bool,
    os_type: str,
) -> list[tuple[str, str, str]]:
    """The rules that span lines and inputs, as (input, message, shown)."""
    problems: list[tuple[str, str, str]] = []
    if volumes and os_type.lower() != "linux":
        problems.append(
            ("volumes", "needs os-type: Linux: ACI mounts volumes in Linux containers only", "")
        )
    for volume in volumes:
        needs_vault = volume.kind == "secret" or volume.key_secret is not None
        if needs_vault and not key_vault:
            what = "its files" if volume.kind == "secret" else "its storage key (key-secret=)"
            problems.append(
                (
                    "volumes",
                    f"volume `{volume.name}` reads {what} from Key Vault: give `key-vault`",
                    "",
                )
            )
    # A mount may name a volume the group already has: `undeclared` checks it at deploy.
    return problems


def undeclared(
    mounts: tuple[Mount, ...] | None,
    volumes: tuple[Volume, ...],
    existing: ContainerGroup | None,
    from_file: tuple[str, ...] = (),
) -> list[str]:
    """The mounts naming a volume neither the inputs, the spec file (`from_file`, its volume
    names) nor the existing group declares."""
    declared = (
        {v.name for v in volumes}
        | set(from_file)
        | {v.name for v in (existing.volumes if existing is not None else None) or []}
    )
    return [m.name for m in mounts or () if m.name not in declared]


def hidden_keys(
    existing: ContainerGroup | None, ours: tuple[Volume, ...]
) -> tuple[VolumeInput, ...]:
    """The existing group's Azure Files volumes the inputs do not name, whose key the GET hides.

    Their key can be read again through listKeys (the account in the deployment's resource
    group), so they survive a deploy that does not mention them; where it cannot, they stay
    lost secrets and the deploy stops (keep.py).
    """
    named = {v.name for v in ours}
    found = []
    for volume in (existing.volumes if existing is not None else None) or []:
        share = volume.azure_file
        if volume.name in named or share is None or share.storage_account_key:
            continue
        if ACCOUNT_NAME.fullmatch(share.storage_account_name or "") and share.share_name:
            found.append(
                VolumeInput(
                    volume.name,
                    "azure-file",
                    account=share.storage_account_name,
                    share=share.share_name,
                    read_only=bool(share.read_only),
                )
            )
    return tuple(found)


def _lines(raw: str | None) -> list[tuple[int, str]]:
    return [
        (number, line.removesuffix("\r"))
        for number, line in enumerate((raw or "").split("\n"), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _kinds() -> str:
    return ", ".join(KINDS)


# -- what is read before the deploy ------------------------------------------------------------


def vault_names(volumes: tuple[VolumeInput, ...]) -> dict[str, str]:
    """The Key Vault secrets the volumes need: {our key: secret name}."""
    names: dict[str, str] = {}
    for volume in volumes:
        if volume.key_secret is not None:
            names[f"volume/{volume.name}/key"] = volume.key_secret
        for file_name, secret in volume.files:
            names[f"volume/{volume.name}/file/{file_name}"] = secret
    return names


def resolve(
    volumes: tuple[VolumeInput, ...], secrets: Mapping[str, str], keys: Mapping[str, str]
) -> tuple[Volume, ...]:
    """The volumes with their secrets: from the vault reads and the storage keys (listKeys)."""
    resolved = []
    for v in volumes:
        key = secrets.get(f"volume/{v.name}/key") or keys.get(v.name, "")
        files = tuple((f, secrets[f"volume/{v.name}/file/{f}"]) for f, _ in v.files)
        resolved.append(Volume(v.name, v.kind, v.account, v.share, v.read_only, key, files))
    return tuple(resolved)


LIST_KEYS_API_VERSION = "2023-05-01"


def storage_keys(
    token: str,
    endpoints: Endpoints,
    subscription: str,
    resource_group: str,
    volumes: tuple[VolumeInput, ...],
    mask: Callable[[str], None],
    retrier: Retrier,
) -> dict[str, str]:
    """{volume name: storage key} for the Azure Files volumes without `key-secret=` (listKeys)."""
    keys: dict[str, str] = {}
    for volume in volumes:
        if volume.kind == "azure-file" and volume.key_secret is None:
            group = volume.account_resource_group or resource_group
            keys[volume.name] = _list_keys(
                token, endpoints, subscription, group, volume.account, retrier
            )
            if keys[volume.name]:
                mask(keys[volume.name])
    return keys


def _list_keys(
    token: str,
    endpoints: Endpoints,
    subscription: str,
    group: str,
    account: str,
    retrier: Retrier,
) -> str:
    """The storage account's first key, from `StorageAccounts_ListKeys`."""
    from .arm import bearer_call
    from .failures import ARM_STORAGE

    url = (
        f"{endpoints.resource_manager}/subscriptions/{subscription}/resourceGroups/{group}"
        f"/providers/Microsoft.Storage/storageAccounts/{account}/listKeys"
        f"?api-version={LIST_KEYS_API_VERSION}"
    )
    answer = bearer_call(ARM_STORAGE, "POST", url, token, retrier, name=account, group=group)
    listed = answer.json().get("keys") or []
    return str(listed[0].get("value") or "") if listed else ""


# -- the ACI model -----------------------------------------------------------------------------


def models(volumes: tuple[Volume, ...]) -> list[SdkVolume]:
    """The SDK volumes to PUT (secret values base64, as ACI takes them)."""
    from azure.mgmt.containerinstance.models import AzureFileVolume
    from azure.mgmt.containerinstance.models import Volume as SdkVolume

    out = []
    for v in volumes:
        if v.kind == "azure-file":
            share = AzureFileVolume(
                share_name=v.share,
                storage_account_name=v.account,
                storage_account_key=v.key or None,
                read_only=v.read_only or None,
            )
            out.append(SdkVolume(name=v.name, azure_file=share))
        elif v.kind == "empty-dir":
            out.append(SdkVolume(name=v.name, empty_dir={}))
        else:
            encoded = {f: base64.b64encode(value.encode()).decode("ascii") for f, value in v.files}
            out.append(SdkVolume(name=v.name, secret=encoded))
    return out


def merged(existing: list[SdkVolume] | None, ours: tuple[Volume, ...]) -> list[SdkVolume] | None:
    """The group's volumes: the existing ones the inputs do not name, then ours."""
    names = {v.name for v in ours}
    kept = [v for v in existing or [] if v.name not in names]
    return kept + models(ours) or None


def mount_models(mounts: tuple[Mount, ...]) -> list[SdkVolumeMount] | None:
    """The app container's volume mounts."""
    from azure.mgmt.containerinstance.models import VolumeMount

    return [
        VolumeMount(name=m.name, mount_path=m.path, read_only=m.read_only or None) for m in mounts
    ] or None


def differences(
    existing: ContainerGroup,
    container: Container | None,
    volumes: tuple[Volume, ...],
    mounts: tuple[Mount, ...] | None,
) -> list[str]:
    """Which of "volumes" and "volume mounts" differ from the GET (secrets: the fingerprint)."""
    changed = []
    shown = {v.name: v for v in existing.volumes or []}
    for volume in volumes:
        found = shown.get(volume.name)
        if found is None or _public(volume) != _shown(found):
            changed.append("volumes")
            break
    if mounts is not None and container is not None:
        have = {
            (m.name, m.mount_path.rstrip("/") or "/", bool(m.read_only))
            for m in container.volume_mounts or []
        }
        want = {(m.name, m.path.rstrip("/") or "/", m.read_only) for m in mounts}
        if have != want:
            changed.append("volume mounts")
    return changed


def _public(volume: Volume) -> tuple[str, str, str, bool]:
    return (volume.kind, volume.account.lower(), volume.share, volume.read_only)


def _shown(volume: SdkVolume) -> tuple[str, str, str, bool]:
    share = volume.azure_file
    if share is not None:
        account = (share.storage_account_name or "").lower()
        return ("azure-file", account, share.share_name or "", bool(share.read_only))
    if volume.secret is not None:
        return ("secret", "", "", False)
    if volume.empty_dir is not None:
        return ("empty-dir", "", "", False)
    return ("other", "", "", False)


def public_document(volumes: tuple[Volume, ...], mounts: tuple[Mount, ...] | None) -> object:
    """What the fingerprint's public document holds of the volumes and mounts."""
    return {
        "volumes": sorted([*_public(v), sorted(f for f, _ in v.files)] for v in volumes),
        "mounts": None if mounts is None else sorted([m.name, m.path, m.read_only] for m in mounts),
    }


def secret_document(volumes: tuple[Volume, ...]) -> object:
    """The storage keys and secret files' values, for the fingerprint's secret document."""
    return sorted([v.name, v.key, sorted(v.files)] for v in volumes if v.key or v.files)
