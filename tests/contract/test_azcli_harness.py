"""The Azure CLI harness (`tests/azcli.py`) itself: its install key, a failed install, the trap.

No network: the failing install reads no index (PIP_NO_INDEX), and the trap is a loopback proxy
that refuses what it receives.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.azcli import (
    LOCK,
    InstallFailed,
    OutsideTrap,
    ensure_installed,
    install_dir,
    pinned_version,
)


def test_the_lock_pins_azure_cli() -> None:
    assert pinned_version(LOCK) == "2.91.0"
    assert "--hash=sha256:" in LOCK.read_text(encoding="utf-8")


def test_install_dir_is_keyed_by_version_and_lock_content(tmp_path: Path) -> None:
    lock = tmp_path / "azcli.lock"
    lock.write_text("azure-cli==2.91.0 \\\n    --hash=sha256:aa\n", encoding="utf-8")
    first = install_dir(lock, tmp_path)
    lock.write_text("azure-cli==2.91.0 \\\n    --hash=sha256:bb\n", encoding="utf-8")

    assert first.name.startswith("azure-cli-2.91.0-")
    assert install_dir(lock, tmp_path) != first


def test_a_failed_install_raises_and_leaves_nothing_that_looks_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # the failure must come from the lock, offline
    lock = tmp_path / "azcli.lock"
    lock.write_text(
        "./missing/azure_cli-2.91.0-py3-none-any.whl --hash=sha256:00\n"
        "azure-cli==2.91.0 \\\n    --hash=sha256:00\n",
        encoding="utf-8",
    )
    said: list[str] = []

    with pytest.raises(InstallFailed, match="pip install"):
        ensure_installed(said.append, lock=lock, cache=tmp_path / "cache")

    assert len(said) == 1
    assert "installing azure-cli 2.91.0" in said[0]
    assert not (install_dir(lock, tmp_path / "cache") / ".installed").exists()


def test_the_trap_records_and_refuses_a_request_for_an_outside_host() -> None:
    trap = OutsideTrap()
    try:
        proxies = {"https": trap.url, "http": trap.url}
        with pytest.raises(requests.exceptions.ProxyError):
            requests.get("https://outside.invalid/path", proxies=proxies, timeout=10)
    finally:
        trap.close()

    assert [line.rsplit(" ", 1)[0] for line in trap.requests] == ["CONNECT outside.invalid:443"]


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [
        pytest.param("true", "1 error", id="ci-fails"),
        pytest.param("", "1 skipped", id="laptop-skips"),
    ],
)
def test_an_uninstallable_cli_fails_the_contract_suite_in_ci(
    repo_root: Path, tmp_path: Path, ci: str, outcome: str
) -> None:
    # The cache path lies under a file: the install cannot even start, and nothing else runs
    # (the `az` fixture is resolved before any emulator).
    env = {**os.environ, "CI": ci, "ACR_ACTION_CACHE": str(tmp_path / "file" / "cache")}
    (tmp_path / "file").write_text("not a directory", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         "tests/contract/test_azcli.py", "-k", "test_keyvault_secret_list"],
        cwd=repo_root, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip

    assert outcome in done.stdout, done.stdout[-2000:]
    assert done.returncode == (1 if ci else 0)
    assert "the Azure CLI could not be installed from requirements/azcli.lock" in done.stdout
