"""What the integration tests share: a step's result (`Run`) and what a step leaves behind.

The fixtures that run the step live in conftest.py, under the names both step suites use
(tests/shared.py).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from localazure.auth import issue_access_token
from localazure.server import Emulator
from tests.harness.workflow import DEPLOYER
from tests.shared import CONFIG_PREFIX, StepResult


class DeployerCredential:
    """The seed deployer's ARM token minted directly: the "other tool" a test acts as."""

    def __init__(self, azure: Emulator) -> None:
        self.azure = azure

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        app = self.azure.state.app(DEPLOYER)
        assert app is not None
        token, expires_in = issue_access_token(self.azure, app, self.azure.arm_url + "/")
        return AccessToken(token, int(time.time()) + expires_in)


def deployer_aci(azure: Emulator) -> ContainerInstanceManagementClient:
    """The real ACI client, signed in as the deployer, talking to the local Azure."""
    return ContainerInstanceManagementClient(
        DeployerCredential(azure),  # type: ignore[arg-type]  # a token credential by shape
        azure.state.subscription_id,
        base_url=azure.arm_url,
        credential_scopes=[azure.arm_url + "/.default"],
        connection_verify=str(azure.ca_path),
    )


def leftover_docker_configs(runner_temp: str) -> set[str]:
    """Temporary Docker config folders of the action (they hold a registry token).

    The action keeps them in the job's RUNNER_TEMP, so this looks only at the run's own
    folder: other runs on the machine cannot make a test fail or pass.
    """
    return {p.name for p in Path(runner_temp).glob(CONFIG_PREFIX + "*")}


@dataclass
class Run(StepResult):
    """What one in-process run of the action left behind."""

    stdout: str


def mount_app(folder: Path, run: str, *, base: str = "BUSYBOX_IMAGE") -> Path:
    """`folder` made a build context whose Dockerfile is one `RUN` step (with its `--mount`s) on
    the stand-in image that the build argument `base` names (run_action passes BUSYBOX_IMAGE)."""
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(
        f"ARG {base}\nFROM ${{{base}}}\nRUN {run}\n", encoding="utf-8"
    )
    return folder


def forget_the_build(docker_engine: Any, tag: str, nonce: str) -> None:
    """What a fresh runner lacks: the images tagged `tag` and the cache records of the build."""
    for image in docker_engine.images.list():
        for ref in image.tags:
            if ref.endswith(":" + tag):
                docker_engine.images.remove(ref, force=True)
    records = docker_engine.api.df().get("BuildCache") or []
    for record in records:
        if nonce in (record.get("Description") or ""):
            subprocess.run(
                ["/usr/bin/docker", "builder", "prune", "-af", "--filter", f"id={record['ID']}"],
                check=True,
                capture_output=True,
            )
    left = [r for r in docker_engine.api.df().get("BuildCache") or [] if nonce in r["Description"]]
    assert not left, left
