"""The leak detector's knowledge, shared by the integration and end-to-end suites.

Every run of the action in those suites is checked against it: no secret value the local Azure
holds and no token may appear anywhere a reader of the job (or an attacker) could see. What a
reader sees is what the runner makes of the step (tests/runner_log.py): masks registered inside
a stop-commands window do not count, and the lines there are shown as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tests.runner_log import Step, read_step

if TYPE_CHECKING:
    from localazure.server import Emulator

# A JWT (GitHub ID token, Entra token, ACR refresh token) anywhere in what a user can read.
JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+")
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def known_secrets(azure: Emulator) -> set[str]:
    """Every secret value the local Azure holds: vault secrets, application secrets and storage
    account keys."""
    with azure.state.lock:
        values = {
            version.value
            for vault in azure.state.vaults.values()
            for versions in vault.secrets.values()
            for version in versions
        }
        values |= {app.secret for app in azure.state.apps.values() if app.secret}
        # Storage account keys (storage.py), which Azure Files volumes read through listKeys.
        values |= {
            key
            for account in azure.state.table("Microsoft.Storage/storageAccounts").values()
            for key in account.keys.values()
        }
    # Client ids stored as pull "usernames" are identifiers, not secrets.
    return {value for value in values if len(value) >= 6 and not GUID.fullmatch(value)}


def as_the_runner_shows(stdout: str, output_file: Path, summary_file: Path) -> Step:
    """The step as the runner reads it: its log as shown, outputs, masks and summary as shown."""
    outputs = output_file.read_text(encoding="utf-8") if output_file.exists() else ""
    summary = summary_file.read_bytes() if summary_file.exists() else b""
    return read_step(stdout, outputs, summary)


def secure_inputs(inputs: Mapping[str, str]) -> set[str]:
    """The values a step passed in `secure-environment-variables` or `build-secrets` (long
    enough to look for)."""
    lines = [inputs.get(name, "") for name in ("secure-environment-variables", "build-secrets")]
    return {
        value
        for line in "\n".join(lines).splitlines()
        for value in [line.partition("=")[2]]
        if len(value) >= 6
    }


def assert_nothing_leaked(shown: str, needles: set[str], where: str) -> None:
    """No value of `needles` and no token (JWT) appears in `shown`, what a reader sees."""
    leaked = sorted(needle for needle in needles if needle in shown)
    assert not leaked, f"{len(leaked)} secret value(s) appear in {where}"
    assert not JWT.search(shown), f"a token (JWT) appears in {where}"
