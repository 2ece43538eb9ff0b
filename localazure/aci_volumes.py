"""The volumes of a container group, made real for its Docker containers.

What each kind becomes (folders under the emulator's workdir, one per group):

* `azureFile`: a bind mount of the share's folder (`storage.Service.share_path`), read-only when
  the volume or the mount says `readOnly`. The storage account must exist and the key must be
  one of its two keys, else nothing is mounted: ACI keeps the container Waiting and reports
  `FailedMountAzureFileVolume` warnings again and again (virtual-kubelet/azure-aci#205: "it will
  hang in a Waiting state, and after a few minutes, you start getting FailedMountAzureFileVolume
  warnings"). The message is the kubelet's CIFS failure as AKS and Container Apps users quote it
  ("mount error(13): Permission denied"; [inferred] that ACI's event carries the same).
* `emptyDir`: one folder per group, shared by its containers, writable by any user (Kubernetes
  makes emptyDir 0777), kept across re-provisioning of the same group ("Data in an emptyDir
  volume is persisted through container crashes", container-instances-volume-emptydir) and
  removed with the group.
* `secret`: a folder of files holding the decoded values, written afresh on every provisioning
  (the values may have changed), the folder 0700 and the files 0600 so no other user of this
  machine can read them; removed with the group. ACI keeps them on tmpfs
  (container-instances-volume-secret); here they are on disk under the test's workdir.
* `gitRepo`: not mounted (nothing is cloned: the network rule).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .aci_validate import AciError, _required

if TYPE_CHECKING:
    from .server import Emulator

# One Docker bind mount: (host folder, path in the container, read-only).
Bind = tuple[str, str, bool]

FAILED_MOUNT_EVENT = "FailedMountAzureFileVolume"


@dataclass(frozen=True)
class MountFailed(Exception):
    """An Azure Files volume that cannot be mounted (no account, no share, a wrong key)."""

    volume: str
    message: str

    def __str__(self) -> str:
        return self.message


# A volume's name: the rule ACI words for container names (MicrosoftDocs/azure-docs#15546),
# [inferred] for volumes.
VOLUME_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SECRET_FILE = re.compile(r"[-._a-zA-Z0-9]{1,253}")
KINDS = ("azureFile", "emptyDir", "secret", "gitRepo")


def validate(name: str, props: dict[str, Any]) -> None:
    """Refuse a group's volumes and mounts as ACI does; `AciError` ([inferred] codes and wording
    where the docstring of each check gives no source)."""
    declared: dict[str, dict[str, Any]] = {}
    for index, volume in enumerate(props.get("volumes") or []):
        path = f"properties.volumes[{index}]"
        vname = _required(volume, "name", path)
        if not isinstance(vname, str) or len(vname) > 63 or not VOLUME_NAME.fullmatch(vname):
            raise AciError(
                400,
                "InvalidVolumeName",
                f"The volume name '{vname}' in container group '{name}' is invalid. The volume name"
                " must contain no more than 63 characters and must match the regex"
                " '[a-z0-9]([-a-z0-9]*[a-z0-9])?' (e.g. 'my-name').",
            )
        if vname in declared:
            raise AciError(
                400,
                "DuplicateVolumeName",
                f"The volume name '{vname}' in container group '{name}' is used more than once.",
            )
        kinds = [kind for kind in KINDS if volume.get(kind) is not None]
        if len(kinds) != 1:
            raise AciError(
                400,
                "InvalidVolume",
                f"The volume '{vname}' in container group '{name}' must have exactly one of"
                f" {', '.join(KINDS)}.",
            )
        if props.get("osType") == "Windows" and kinds[0] != "gitRepo":
            # "Mounting ... is currently restricted to Linux containers" (Learn's pages for
            # Azure Files, emptyDir and secret volumes).
            raise AciError(
                400,
                "UnsupportedVolumeForWindows",
                f"The volume '{vname}' in container group '{name}' is not supported for Windows"
                " containers.",
            )
        if kinds[0] == "azureFile":
            for key in ("shareName", "storageAccountName"):  # the spec's `required`
                _required(volume["azureFile"], key, f"{path}.azureFile")
        if kinds[0] == "gitRepo":
            _required(volume["gitRepo"], "repository", f"{path}.gitRepo")
        if kinds[0] == "secret":
            _check_secret(name, vname, volume["secret"])
        declared[vname] = volume
    containers = [*props["containers"], *(props.get("initContainers") or [])]
    for container in containers:
        paths: set[str] = set()
        for mount in (container.get("properties") or {}).get("volumeMounts") or []:
            if mount.get("name") not in declared:
                raise AciError(
                    400,
                    "InvalidVolumeMount",
                    f"The volume mount '{mount.get('name')}' of container '{container.get('name')}'"
                    f" in container group '{name}' does not match any volume of the group.",
                )
            mount_path = _required(mount, "mountPath", "volumeMounts")
            if not isinstance(mount_path, str) or ":" in mount_path or not mount_path.strip():
                # azure-cli refuses it first with "The volume mount path cannot contain ':'"
                # (container/_validators.py).
                raise AciError(
                    400,
                    "InvalidVolumeMountPath",
                    f"The volume mount path '{mount_path}' of container '{container.get('name')}'"
                    f" in container group '{name}' is invalid. The volume mount path cannot"
                    " contain ':'.",
                )
            normal = mount_path.rstrip("/") or "/"
            if normal in paths:
                raise AciError(
                    400,
                    "DuplicateVolumeMountPath",
                    f"The volume mount path '{mount_path}' of container '{container.get('name')}'"
                    f" in container group '{name}' is used more than once.",
                )
            paths.add(normal)


def _check_secret(name: str, vname: str, files: Any) -> None:
    """A secret volume maps file names to base64 values ("Base64-encoded secrets",
    container-instances-volume-secret)."""
    if not isinstance(files, dict):
        raise AciError(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized: 'Unexpected value for"
            f" 'secret'. Path 'properties.volumes.{vname}.secret''.",
        )
    for file_name, value in files.items():
        # One path component (Kubernetes' rule for secret keys, which ACI's secret volumes are
        # [inferred]); the check also keeps every file inside its folder on this machine.
        if not SECRET_FILE.fullmatch(str(file_name)) or file_name in (".", ".."):
            raise AciError(
                400,
                "InvalidSecretVolumeKey",
                f"The secret name '{file_name}' in volume '{vname}' of container group '{name}'"
                " is invalid. It must match the regex '[-._a-zA-Z0-9]+'.",
            )
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise AciError(
                400,
                "InvalidSecretVolumeValue",
                f"The value of secret '{file_name}' in volume '{vname}' of container group"
                f" '{name}' is not a valid Base64 string.",
            ) from None


def root(emulator: Emulator) -> Path:
    """Where every group's volume folders are."""
    return emulator.workdir / "aci-volumes"


def group_root(emulator: Emulator, group_id: str) -> Path:
    """The folder of one group's emptyDir and secret volumes."""
    digest = hashlib.sha256(group_id.lower().encode()).hexdigest()[:16]
    return root(emulator) / digest


def prepare(emulator: Emulator, group_id: str, props: dict[str, Any]) -> dict[str, list[Bind]]:
    """The bind mounts of each container (by name); raise `MountFailed` for an unmountable share."""
    folders: dict[str, tuple[str, bool]] = {}
    base = group_root(emulator, group_id)
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o711)  # traversable, not listable: the secret folders inside keep their own mode
    for volume in props.get("volumes") or []:
        name = str(volume["name"])
        if isinstance(volume.get("azureFile"), dict):
            folders[name] = (
                _share(emulator, name, volume["azureFile"]),
                bool(volume["azureFile"].get("readOnly")),
            )
        elif "emptyDir" in volume:
            path = base / f"empty-{name}"
            path.mkdir(exist_ok=True)
            path.chmod(0o777)
            folders[name] = (str(path), False)
        elif isinstance(volume.get("secret"), dict):
            folders[name] = (_secret(base / f"secret-{name}", volume["secret"]), False)
    binds: dict[str, list[Bind]] = {}
    for container in [*props["containers"], *(props.get("initContainers") or [])]:
        for mount in (container.get("properties") or {}).get("volumeMounts") or []:
            found = folders.get(str(mount["name"]))
            if found is None:
                continue  # a gitRepo volume: nothing to mount
            host, read_only = found
            binds.setdefault(container["name"], []).append(
                (host, str(mount["mountPath"]), read_only or bool(mount.get("readOnly")))
            )
    return binds


def _share(emulator: Emulator, volume: str, share: dict[str, Any]) -> str:
    """The folder of an Azure Files share, when the account, the share and the key are right."""
    storage = emulator.services.get("storage")
    account_name = str(share.get("storageAccountName") or "")
    share_name = str(share.get("shareName") or "")
    account = storage.account(account_name) if storage is not None else None
    host = f"//{account_name}.file.core.windows.net/{share_name}"
    if account is None:
        output = f"mount error: could not resolve address for {account_name}.file.core.windows.net"
    elif share.get("storageAccountKey") not in account.keys.values():
        output = "mount error(13): Permission denied"
    elif share_name not in account.shares:
        output = "mount error(2): No such file or directory"
    else:
        assert storage is not None  # an account was found in it
        return str(storage.share_path(account_name, share_name))
    raise MountFailed(
        volume,
        f'MountVolume.SetUp failed for volume "{volume}" : mount failed: exit status 32\n'
        f"Mounting command: mount\nMounting arguments: -t cifs -o <masked> {host}\n"
        f"Output: {output}",
    )


def _secret(path: Path, files: dict[str, Any]) -> str:
    """Write a secret volume's files (decoded), readable by their owner only."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    for file_name, encoded in files.items():
        target = path / str(file_name)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(base64.b64decode(str(encoded)))
    return str(path)


def remove(emulator: Emulator, group_id: str) -> None:
    """Remove a deleted group's emptyDir and secret folders."""
    shutil.rmtree(group_root(emulator, group_id), ignore_errors=True)


def remove_all(emulator: Emulator) -> None:
    """Remove every group's volume folders (the emulator stops)."""
    shutil.rmtree(root(emulator), ignore_errors=True)
