"""Issue 15's e2e scenario: a pull-request preview over HTTPS that is a GitHub deployment.

The README's preview workflow with `tls: auto`, run as the GitHub runner runs the action (the
image built from the Dockerfile, one `docker run` per step): `opened` deploys the app and its
Caddy proxy, pebble (Let's Encrypt's test server) issues the certificate for the group's FQDN,
the group answers over HTTPS on its published address and redirects HTTP, and the local GitHub
holds a transient `pr-<N>` deployment of the pull request's head commit, in_progress then
success with the https URL. `synchronize` deploys the next commit (a new deployment, the older
one inactive), `closed` deletes the group and marks every deployment of `pr-<N>` inactive.

The readiness probe checks the proxy's certificate against the runner's trust store; a private
ACME server's issuing root is not in it, so the step's `env:` points OpenSSL at pebble's root
(`SSL_CERT_FILE`, a file in the workspace), as a workflow using a private CA would. Without
it (the second test) the step fails naming the untrusted certificate, and the deployment says
failure.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from acr_action import naming, tls
from localazure.acme import Pebble
from localazure.server import Emulator
from tests.harness.workflow import Event
from tests.integration.tls_fixtures import DOCKERFILE, dns, https, proxy_logs

from .steps import Run, commit_sha, hello_inputs

pytestmark = [pytest.mark.docker, pytest.mark.emulator]

REPO = "octo-org/iris-api"
PR = 15
NAME = f"iris-api-pr-{PR}"
ENVIRONMENT = f"pr-{PR}"
TOKEN = "ghs_e2eTlsPreviewTokenForTheEmulator01"  # github-token: a test value sought in the log
LOCATION = "westeurope"  # the seed's resource group's
FQDN = tls.fqdn(naming.default_dns_label(NAME, REPO), LOCATION)
URL = f"https://{FQDN}"


@pytest.fixture
def github(azure: Emulator) -> Any:
    """The local GitHub with the job's token (`deployments: write`) and the pull request."""
    service = azure.services["github"]
    service.add_token(TOKEN, REPO)
    return service


def _event(action: str, commit: str, pr: int = PR) -> Event:
    # GITHUB_SHA is the merge commit; the deployment is of the branch's head commit.
    return Event(
        name="pull_request",
        pr_number=pr,
        action=action,
        sha=commit_sha(f"merge-{commit}"),
        head_sha=commit_sha(commit),
    )


def _statuses(github: Any) -> list[list[str]]:
    """The states of each deployment to `pr-<N>`, oldest deployment and status first."""
    return [[s.state for s in d.statuses] for d in github.deployments.of(REPO, ENVIRONMENT)]


def _assert_token_hidden(run: Run) -> None:
    assert TOKEN not in run.shown
    assert TOKEN in run.seen.masks


def _served(run: Run, pebble: Pebble, docker_engine: Any) -> tuple[bytes, dict[str, Any]]:
    """The page over HTTPS at the group's published address, SNI and Host the FQDN, verified
    against pebble's root only; and the certificate."""
    try:
        status, body, cert = https(run.outputs["ip-address"], pebble, FQDN, timeout=90)
    except OSError as exc:
        raise AssertionError(f"{exc!r}\n{proxy_logs(docker_engine, NAME)}") from exc
    assert status == 200, body
    return body, cert


def _redirect(ip: str, path: str) -> tuple[int, str | None]:
    plain = http.client.HTTPConnection(ip, tls.HTTP_PORT, timeout=10)
    try:
        plain.request("GET", path, headers={"Host": FQDN})
        answer = plain.getresponse()
        return answer.status, answer.getheader("Location")
    finally:
        plain.close()


def test_https_preview_is_a_github_deployment_from_in_progress_to_inactive(
    azure: Emulator,
    docker_engine: Any,
    github: Any,
    pebble: Pebble,
    proxy_image: str,
    run_action: Callable[..., Run],
    hello_app: Path,
    cleanup_groups: list[str],
) -> None:
    cleanup_groups.append(NAME)
    (hello_app / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    roots = hello_app / "pebble-roots.pem"
    roots.write_text(pebble.roots(), encoding="utf-8")
    inputs = hello_inputs(
        ports="8080",
        tls="auto",
        **{
            "tls-proxy-image": proxy_image,
            "acme-directory": pebble.directory,
            "acme-ca-root": pebble.ca_pem(),
            "github-token": TOKEN,
        },
    )
    # A host path in the workspace: the runner hands it to the container as /github/workspace/...
    step_vars = {"SSL_CERT_FILE": str(roots)}
    github.add_pull(REPO, PR, head_sha=commit_sha("one"))

    with dns(docker_engine, pebble, NAME, FQDN):
        opened = run_action(
            event=_event("opened", "one"), inputs=inputs, workspace=hello_app, step_vars=step_vars
        )

    assert opened.exit_code == 0, opened.shown[-3000:]
    assert opened.outputs["name"] == NAME
    assert opened.outputs["fqdn"] == FQDN
    assert opened.outputs["url"] == URL
    assert "| time: readiness |" in opened.shown  # probed through the proxy, over HTTPS
    body, cert = _served(opened, pebble, docker_engine)
    assert "hello" in body.decode().lower()
    assert ("DNS", FQDN) in cert["subjectAltName"]
    issuer = dict(part for rdn in cert["issuer"] for part in rdn)
    assert "Pebble" in issuer["commonName"]  # pebble's intermediate, chained to its root
    # The very certificate pebble issued for the FQDN (its serial is in pebble's own log).
    assert cert["serialNumber"].lower().lstrip("0") in {
        serial.lstrip("0") for serial in pebble.issued(FQDN)
    }
    assert _redirect(opened.outputs["ip-address"], "/a/page") in {
        (301, f"{URL}/a/page"),
        (308, f"{URL}/a/page"),
    }
    ((deployment),) = github.deployments.of(REPO, ENVIRONMENT)
    assert deployment.transient
    assert not deployment.production
    assert deployment.sha == commit_sha("one")  # the head commit, not the merge commit
    assert [s.state for s in deployment.statuses] == ["in_progress", "success"]
    assert deployment.statuses[-1].environment_url == URL
    _assert_token_hidden(opened)

    # A new commit on the pull request: the page changes, the group is updated.
    (hello_app / "www" / "index.html").write_text("<h1>hello, second commit</h1>\n", "utf-8")
    github.add_pull(REPO, PR, head_sha=commit_sha("two"))
    with dns(docker_engine, pebble, NAME, FQDN):
        synchronized = run_action(
            event=_event("synchronize", "two"),
            inputs=inputs,
            workspace=hello_app,
            step_vars=step_vars,
        )

    assert synchronized.exit_code == 0, synchronized.shown[-3000:]
    assert synchronized.outputs["url"] == URL
    assert synchronized.outputs["digest"] != opened.outputs["digest"]
    body, cert = _served(synchronized, pebble, docker_engine)
    assert "second commit" in body.decode()
    assert ("DNS", FQDN) in cert["subjectAltName"]
    assert _statuses(github) == [
        ["in_progress", "success", "inactive"],
        ["in_progress", "success"],
    ]
    newer = github.deployments.of(REPO, ENVIRONMENT)[-1]
    assert newer.sha == commit_sha("two")
    assert newer.statuses[-1].environment_url == URL
    _assert_token_hidden(synchronized)

    # Closed: the delete job of the workflow (mode: delete, github-token, deployments: write).
    closed = run_action(
        event=_event("closed", "two"), inputs={"mode": "delete", "github-token": TOKEN}
    )

    assert closed.exit_code == 0, closed.shown[-3000:]
    assert closed.outputs["state"] == "Deleted"
    with azure.state.lock:
        assert not [g for g in azure.state.container_groups.values() if g.name == NAME]
    with pytest.raises(ConnectionError):  # nothing listens there any more
        _redirect(synchronized.outputs["ip-address"], "/")
    assert [states[-1] for states in _statuses(github)] == ["inactive", "inactive"]
    assert f"GitHub deployments of {ENVIRONMENT}: 1 marked inactive" in closed.shown
    _assert_token_hidden(closed)


def test_a_certificate_the_runner_does_not_trust_is_named_as_the_cause(
    docker_engine: Any,
    github: Any,
    pebble: Pebble,
    proxy_image: str,
    run_action: Callable[..., Run],
    hello_app: Path,
    cleanup_groups: list[str],
) -> None:
    # Let's Encrypt's staging directory (which the README suggests for tests) and any private
    # ACME server issue under a root that no trust store holds: the proxy serves, but the
    # probe cannot verify it. The step must say that, not blame the app's port.
    pr = PR + 1
    name = f"iris-api-pr-{pr}"
    fqdn = tls.fqdn(naming.default_dns_label(name, REPO), LOCATION)
    cleanup_groups.append(name)
    (hello_app / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    github.add_pull(REPO, pr, head_sha=commit_sha("one"))
    inputs = hello_inputs(
        ports="8080",
        tls="auto",
        timeout="45s",  # under load the certificate may come late: then only SSLError
        **{
            "tls-proxy-image": proxy_image,
            "acme-directory": pebble.directory,
            "acme-ca-root": pebble.ca_pem(),
            "github-token": TOKEN,
        },
    )

    with dns(docker_engine, pebble, name, fqdn):
        run = run_action(event=_event("opened", "one", pr), inputs=inputs, workspace=hello_app)

    assert run.exit_code != 0, run.shown[-3000:]
    assert "does not trust" in run.summary, run.summary
    assert "unable to get local issuer certificate" in run.summary
    assert "SSL_CERT_FILE" in run.summary
    assert "binds to 127.0.0.1" not in run.summary  # not the advice for an app that is down
    # The deployment says it failed.
    assert [[s.state for s in d.statuses] for d in github.deployments.of(REPO, f"pr-{pr}")] == [
        ["in_progress", "failure"]
    ]
