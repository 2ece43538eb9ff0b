"""What a reader of the job log sees when the action's threads race.

Key Vault is read in a background thread while the build log streams inside a stop-commands
window. A throttled vault answers seconds late, so the masks of its secrets (and of the GitHub
ID token the credential fetches for the vault) arrive while the window is open. The runner
ignores, and prints, any command inside a window (actions/runner ActionCommandManager.cs), so
the leak detector, which reads the step through tests/runner_log.py, sees any mask written
there.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from localazure.server import Emulator
from tests.harness.workflow import VAULT
from tests.leaks import known_secrets
from tests.shared import BUSYBOX_IMAGE

from .steps import Run

pytestmark = pytest.mark.docker

# examples/hello with a build stage that prints for about eight seconds.
SLOW_DOCKERFILE = """\
ARG BUSYBOX_IMAGE=busybox:1.36
FROM ${BUSYBOX_IMAGE} AS busybox
ARG NONCE
RUN echo "nonce $NONCE"; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do \
      echo "build step $i"; sleep 0.5; done

FROM scratch
COPY --from=busybox /bin/busybox /bin/busybox
COPY www/ /www/
EXPOSE 80
CMD ["/bin/busybox", "httpd", "-f", "-v", "-p", "80", "-h", "/www"]
"""
VAULT_DELAY = 2.5  # seconds per Key Vault request: the challenge, then the authenticated read


def masks_written_inside_a_window(stdout: str) -> int:
    """How many add-mask lines the action wrote by closing and reopening an open window."""
    lines = stdout.splitlines()
    return sum(
        1
        for before, line, after in zip(lines, lines[1:], lines[2:], strict=False)
        if line.startswith("::add-mask::")
        and re.fullmatch(r"::[0-9a-f]{32}::", before)
        and after.startswith("::stop-commands::")
    )


def test_key_vault_answering_late_during_the_build_leaks_nothing(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app: Path,
    cleanup_groups: list[str],
) -> None:
    cleanup_groups.append("hello-slow-vault")
    (hello_app / "Dockerfile").write_text(SLOW_DOCKERFILE, encoding="utf-8")
    rule = azure.faults.add(
        method="GET", host=r".*\.vault\..*", path=r"/secrets/.*", delay=VAULT_DELAY, times=None
    )
    issued_before = len(azure.access_tokens)
    try:
        run = run_action(
            inputs={
                "name": "hello-slow-vault",
                # A new NONCE each run, so the slow RUN is not taken from the build cache.
                "build-args": f"BUSYBOX_IMAGE={BUSYBOX_IMAGE}\nNONCE={uuid.uuid4()}",
            },
            workspace=hello_app,
        )
    finally:
        azure.faults.clear()

    # The run_action fixture has already checked the log as the runner shows it: no vault
    # secret and no token. Check that the race really happened, and what the runner made of it.
    assert run.exit_code == 0, run.stdout
    assert rule.hits >= 2, "Key Vault was not read"
    assert masks_written_inside_a_window(run.stdout) >= 1, (
        "no mask arrived while the build log was streaming; the test did not race"
    )
    with azure.state.lock:
        vault_values = {
            versions[-1].value for versions in azure.state.vaults[VAULT].secrets.values()
        }
    pull_secrets = vault_values & known_secrets(azure)
    assert pull_secrets, "the vault holds no pull secret to check"
    assert pull_secrets <= run.seen.masks
    # Every Entra access token of the run (ARM, ACR and Key Vault audiences, the SDK's own
    # requests included) was masked outside any window, where the runner registers it.
    access_tokens = set(azure.access_tokens[issued_before:])
    assert len(access_tokens) >= 2, "the run was issued fewer tokens than ARM and Key Vault need"
    assert access_tokens <= run.seen.masks
    assert not [a for a in run.seen.annotations if a.kind == "error"]
    assert any(line.startswith("#") and "build step 16" in line for line in run.seen.log)
