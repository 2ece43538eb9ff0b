"""Every dependency x every transient fault: the run succeeds; persistent faults fail in time.

One table of dependencies (how to fault each one, which log name its retries carry) and one of
fault kinds. A transient run schedules the kind on *every* dependency at once, so six runs cover
the matrix; a persistent run faults one dependency forever and must fail within its `timeout`,
naming the dependency. The readiness probe cannot be faulted by the emulator (the app is a real
container), so the app answers the fault itself: a busybox httpd CGI (`PROBE_CGI`) answers the
status kinds for its first requests, and busybox `nc` drops or delays the first connection.

The matrix is printed at the end of the module (`pytest -s` or the terminal summary).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from acr_action import deploy, failures
from localazure.faults import FaultRule
from localazure.server import Emulator, RequestRecord

from .steps import Run

pytestmark = pytest.mark.docker


@dataclass(frozen=True)
class Dependency:
    """One thing the action talks to, how to fault it, and what its retry log lines say."""

    name: str
    match: dict[str, str]  # FaultRule method/host/path
    log: str | None  # the dependency's name in retry lines (None: retried by the Docker daemon)
    retry_after: bool = True  # does the client see the header (not so behind the daemon)


DEPENDENCIES = [
    Dependency(
        "GitHub OIDC",
        {"method": "GET", "host": r"token\.actions\..*", "path": r".*/idtoken"},
        failures.GITHUB_OIDC.name,
    ),
    Dependency(
        "Entra token",
        {"method": "POST", "host": r"login\..*", "path": r".*/oauth2/v2\.0/token"},
        "Microsoft Entra ID",
    ),
    Dependency(
        "cloud metadata",
        {"method": "GET", "host": r"management\..*", "path": r"/metadata/endpoints"},
        failures.CLOUD_METADATA.name,
    ),
    Dependency(
        "ARM GET registry",
        {"method": "GET", "host": r"management\..*", "path": r"(?i).*/registries/acractiondemo"},
        failures.ARM_REGISTRY.name,
    ),
    Dependency(
        "ARM GET resource group",
        {
            "method": "GET",
            "host": r"management\..*",
            "path": r"(?i)/subscriptions/[^/]+/resourcegroups/demo-rg",
        },
        failures.ARM_RESOURCE_GROUP.name,
    ),
    Dependency(
        "ARM GET container group",
        {"method": "GET", "host": r"management\..*", "path": r".*/containerGroups/{name}"},
        deploy.DEPENDENCY,
    ),
    Dependency(
        "ARM PUT container group",
        {"method": "PUT", "host": r"management\..*", "path": r".*/containerGroups/{name}"},
        deploy.DEPENDENCY,
    ),
    Dependency(
        "LRO poll",
        {"method": "GET", "host": r"management\..*", "path": r".*/operations/.*"},
        deploy.DEPENDENCY,
    ),
    Dependency(
        "Key Vault",
        {"method": "GET", "host": r".*\.vault\..*", "path": r"/secrets/.*"},
        failures.KEY_VAULT.name,
    ),
    Dependency(
        "ACR token exchange",
        {"method": "POST", "host": r".*\.azurecr\..*", "path": r"/oauth2/exchange"},
        failures.ACR_EXCHANGE.name,
    ),
    Dependency(
        "registry blob upload (Docker push)",
        {"method": "POST", "host": r".*\.azurecr\..*", "path": r"/v2/.+/blobs/uploads/"},
        None,
        retry_after=False,
    ),
    Dependency(
        "registry manifest put (Docker push)",
        {"method": "PUT", "host": r".*\.azurecr\..*", "path": r"/v2/.+/manifests/.+"},
        None,
        retry_after=False,
    ),
]
PROBE = "HTTP readiness probe"


@dataclass(frozen=True)
class Kind:
    """A transient fault: the rule's answer, and the probe app's version of it."""

    name: str
    rule: dict[str, Any]
    app: str | None  # shell snippet: what the app does with its first connection (None: not run)
    retried: bool = True  # a slow answer is not retried, only waited for
    health: dict[str, str] | None = None  # PROBE_CGI's settings: the app answers the status


# The readiness route of the probe app: answers FAIL_STATUS (with Retry-After FAIL_RETRY_AFTER)
# to its first FAIL_TIMES requests, counting them in a file, then 200. Shell builtins only: the
# image is FROM scratch with /bin/busybox alone (no applet links).
PROBE_CGI = """#!/bin/busybox sh
n=0
[ -f /www/.health-count ] && read -r n < /www/.health-count
n=$((n + 1))
echo "$n" > /www/.health-count
if [ "$n" -le "${FAIL_TIMES:-0}" ]; then
  printf 'Status: %s\\r\\n' "${FAIL_STATUS:-503 Service Unavailable}"
  [ -n "$FAIL_RETRY_AFTER" ] && printf 'Retry-After: %s\\r\\n' "$FAIL_RETRY_AFTER"
  printf 'Content-Type: text/plain\\r\\n\\r\\nnot ready (%s)\\n' "$n"
else
  printf 'Content-Type: text/plain\\r\\n\\r\\nready (%s)\\n' "$n"
fi
"""
PROBE_PATH = "/cgi-bin/health"


def add_probe_cgi(workspace: Path) -> Path:
    """Put PROBE_CGI into the app's web root (busybox httpd runs files under /www/cgi-bin)."""
    script = workspace / "www" / "cgi-bin" / "health"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(PROBE_CGI, encoding="utf-8")
    script.chmod(0o755)  # COPY keeps the mode
    return workspace


def probe_inputs(kind: Kind) -> dict[str, str]:
    """The inputs that make the app answer `kind` to the readiness probe once."""
    if kind.health is None:
        return {"command-line": app_command(kind.app)} if kind.app else {}
    settings = {"FAIL_TIMES": "1", **kind.health}
    return {
        "health-check-path": PROBE_PATH,
        "environment-variables": "\n".join(f"{k}={v}" for k, v in settings.items()),
    }


KINDS = [
    Kind(
        "429+Retry-After",
        {"status": 429, "headers": {"Retry-After": "1"}},
        None,
        health={"FAIL_STATUS": "429 Too Many Requests", "FAIL_RETRY_AFTER": "1"},
    ),
    Kind("500", {"status": 500}, None, health={"FAIL_STATUS": "500 Internal Server Error"}),
    Kind("502", {"status": 502}, None, health={"FAIL_STATUS": "502 Bad Gateway"}),
    Kind("503", {"status": 503}, None, health={"FAIL_STATUS": "503 Service Unavailable"}),
    Kind("dropped", {"drop": True}, "/bin/busybox nc -l -p 80 </dev/null >/dev/null"),
    Kind(
        "slow (2 s)",
        {"delay": 2.0},
        "{ /bin/busybox sleep 2; printf 'HTTP/1.0 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n'; }"
        " | /bin/busybox nc -l -p 80 >/dev/null",
        retried=False,
    ),
]


@pytest.fixture
def probe_app(hello_app: Path) -> Path:
    """The hello app with PROBE_CGI as its readiness route."""
    return add_probe_cgi(hello_app)


def app_command(first: str) -> str:
    """The hello app, after answering its first connection with `first`."""
    script = f"{first}; exec /bin/busybox httpd -f -p 80 -h /www"
    return json.dumps(["/bin/busybox", "sh", "-c", script])


@dataclass
class Matrix:
    """Results for the closing table: (dependency, kind) -> mark."""

    cells: dict[tuple[str, str], str] = field(default_factory=dict)
    persistent: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def matrix(request: pytest.FixtureRequest) -> Iterator[Matrix]:
    """Collects the results and prints the matrix when the module is done."""
    found = Matrix()
    yield found
    names = [d.name for d in DEPENDENCIES] + [PROBE]
    lines = ["", "Fault matrix (ok: run succeeded, fault hit, retries logged once each)"]
    lines.append("| dependency | " + " | ".join(k.name for k in KINDS) + " | persistent |")
    lines.append("|---" * (len(KINDS) + 2) + "|")
    for name in names:
        row = [found.cells.get((name, k.name), "-") for k in KINDS]
        lines.append(f"| {name} | " + " | ".join(row) + f" | {found.persistent.get(name, '-')} |")
    survived = sum(1 for mark in found.cells.values() if mark.startswith("ok"))
    lines.append(f"survived: {survived} of {len(names) * len(KINDS)} (kind x dependency)")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for line in lines:
            reporter.write_line(line)


def rules_for(
    azure: Emulator, name: str, kind_rule: dict[str, Any], times: int | None
) -> dict[str, FaultRule]:
    """Schedule the fault on every dependency; returns the rule per dependency."""
    rules = {}
    for dependency in DEPENDENCIES:
        match = {k: v.replace("{name}", name) for k, v in dependency.match.items()}
        rules[dependency.name] = azure.faults.add(**match, **kind_rule, times=times)
    return rules  # fmt: skip


def retry_lines(run: Run, log: str) -> list[str]:
    """The run's retry log lines for a dependency."""
    return [
        line
        for line in run.stdout.splitlines()
        if line.startswith(log) and re.search(r"; retr(y|ied)", line)
    ]


def honours_retry_after(records: list[RequestRecord], dependency: Dependency, name: str) -> bool:
    """The request after each 429 of this dependency came at least 1 s later."""
    match = {k: v.replace("{name}", name) for k, v in dependency.match.items()}

    def matches(record: RequestRecord) -> bool:
        return bool(
            re.fullmatch(match["method"], record.method, re.IGNORECASE)
            and re.fullmatch(match["host"], record.host, re.IGNORECASE)
            and re.fullmatch(match["path"], record.path)
        )

    mine = [r for r in records if matches(r)]
    throttled = [i for i, r in enumerate(mine) if r.status == 429]

    def retry_of(i: int) -> RequestRecord | None:
        # The retry is the next request for the same URL: another long-running operation (one a
        # failed earlier test left its poller on, in this process) is polled on its own clock.
        return next((r for r in mine[i + 1 :] if r.path == mine[i].path), None)

    return bool(throttled) and all(
        (retry := retry_of(i)) is not None and retry.at - (mine[i].at + mine[i].seconds) >= 0.95
        for i in throttled
    )


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_transient_fault_on_every_dependency_is_survived(
    kind: Kind,
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app,
    cleanup_groups: list[str],
    matrix: Matrix,
    probe_app: Path,
) -> None:
    name = "faults-" + re.sub(r"[^a-z0-9]+", "-", kind.name.lower()).strip("-")
    cleanup_groups.append(name)
    rules = rules_for(azure, name, kind.rule, times=1)
    before = len(azure.requests)

    run = run_action(
        inputs={
            "name": name,
            # A new config blob each run, so the push really uploads (and meets the fault).
            "labels": f"test.fault-run={uuid.uuid4()}",
            **probe_inputs(kind),
            "timeout": "2m",
        },
        workspace=probe_app,
    )

    assert run.exit_code == 0, run.stdout[-4000:]
    records = azure.requests[before:]
    problems = []
    for dependency in DEPENDENCIES:
        rule = rules[dependency.name]
        mark = "ok"
        if rule.hits != 1:
            problems.append(f"{dependency.name}: fault not hit")
            mark = "not hit"
        elif (
            kind.name.startswith("429")
            and dependency.retry_after
            and not honours_retry_after(records, dependency, name)
        ):
            problems.append(f"{dependency.name}: Retry-After not honoured")
            mark = "no Retry-After"
        matrix.cells[(dependency.name, kind.name)] = mark
    # Each retry is logged once: one line per fault hit, per log name (several dependencies
    # share ACI's name).
    for log in {d.log for d in DEPENDENCIES if d.log}:
        hits = sum(rules[d.name].hits for d in DEPENDENCIES if d.log == log)
        lines = retry_lines(run, log)
        expected = hits if kind.retried else 0
        if len(lines) != expected:
            problems.append(f"{log}: {len(lines)} retry line(s) for {expected} retried fault(s)")
            for dependency in DEPENDENCIES:
                if dependency.log == log:
                    matrix.cells[(dependency.name, kind.name)] = "log count"
    probe_lines = retry_lines(run, "Readiness probe")
    if kind.health is not None:
        # The app answered the status once: exactly one retry line says so (a refused connection
        # while httpd starts may add its own line).
        status = kind.name.split("+")[0]
        said = [line for line in probe_lines if f"answered HTTP {status}" in line]
        mark = "ok"
        if len(said) != 1:
            problems.append(f"readiness probe: {len(said)} retry line(s) for one HTTP {status}")
            mark = "log count"
        elif kind.rule.get("headers", {}).get("Retry-After") and "retrying in 1.0 s" not in said[0]:
            problems.append(f"readiness probe: Retry-After not honoured: {said[0]}")
            mark = "no Retry-After"
        matrix.cells[(PROBE, kind.name)] = mark
    elif kind.app is not None:
        mark = "ok"
        if kind.retried and not any("did not answer" in line for line in probe_lines):
            problems.append(f"readiness probe: no retry line for {kind.name}")
            mark = "no log"
        matrix.cells[(PROBE, kind.name)] = mark
    assert not problems, "\n".join(problems) + "\n" + run.stdout[-3000:]


PERSISTENT = [pytest.param(d, id=d.name) for d in DEPENDENCIES]


@pytest.mark.parametrize("dependency", PERSISTENT)
def test_persistent_fault_fails_within_the_timeout_naming_the_dependency(
    dependency: Dependency,
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app,
    cleanup_groups: list[str],
    matrix: Matrix,
) -> None:
    name = "persist-" + re.sub(r"[^a-z0-9]+", "-", dependency.name.lower()).strip("-")[:40]
    cleanup_groups.append(name)
    match = {k: v.replace("{name}", name) for k, v in dependency.match.items()}
    azure.faults.add(**match, status=503, headers={"Retry-After": "1"}, times=None)
    timeout = 20
    started = time.monotonic()

    run = run_action(
        inputs={"name": name, "labels": f"test.fault-run={uuid.uuid4()}", "timeout": f"{timeout}s"},
        workspace=hello_app,
    )
    azure.faults.clear()  # the cleanup delete must get through
    elapsed = time.monotonic() - started

    matrix.persistent[dependency.name] = f"exit {run.exit_code} in {elapsed:.1f} s"
    assert run.exit_code == 1, run.stdout[-3000:]
    assert elapsed < timeout + 10, f"took {elapsed:.1f} s with timeout {timeout} s"
    error = next(line for line in run.stdout.splitlines() if line.startswith("::error"))
    named = dependency.log or "registry"
    assert named.lower() in error.lower() or "push" in error.lower(), error
    assert "503" in error or "Timed out" in error, error
    assert "Traceback" not in run.stdout


def test_persistent_probe_failure_fails_within_the_timeout(
    run_action: Callable[..., Run], probe_app: Path, cleanup_groups: list[str], matrix: Matrix
) -> None:
    cleanup_groups.append("persist-probe")
    started = time.monotonic()

    run = run_action(
        inputs={
            "name": "persist-probe",
            "health-check-path": PROBE_PATH,
            "environment-variables": "FAIL_TIMES=1000000",  # 503 for ever
            "timeout": "20s",
        },
        workspace=probe_app,
    )
    elapsed = time.monotonic() - started

    matrix.persistent[PROBE] = f"exit {run.exit_code} in {elapsed:.1f} s"
    assert run.exit_code == 1, run.stdout[-3000:]
    assert elapsed < 30
    assert "never answered below HTTP 500" in run.stdout
    assert "(last: 503)" in run.stdout
    # A retry every 0.5 s for the whole wait, logged when the answer changes or every ~5 s.
    assert len(retry_lines(run, "Readiness probe")) <= 8


def test_aci_conflict_while_another_operation_runs_is_waited_out(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("faults-conflict")
    body = {
        "error": {
            "code": "ContainerGroupTransitioning",
            "message": "The container group 'faults-conflict' is still transitioning, please retry later.",
        }
    }
    rule = azure.faults.add(
        method="PUT", path=r".*/containerGroups/faults-conflict", status=409, body=body, times=2
    )

    run = run_action(inputs={"name": "faults-conflict"}, workspace=hello_app)

    assert run.exit_code == 0, run.stdout[-3000:]
    assert rule.hits == 2
    lines = [line for line in run.stdout.splitlines() if "409 ContainerGroupTransitioning" in line]
    assert len(lines) == 2, lines
