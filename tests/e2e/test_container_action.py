"""The action image run the way the GitHub runner runs a Docker container action.

Each scenario asserts on the exit code, the outputs file, the step summary and, when something
was deployed, a real HTTP answer from the container group. All but the first use examples/hello
(busybox, about 2 MB), so the suite stays quick; the first deploys the iris API of the demo.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from localazure.server import Emulator
from tests.harness.workflow import REGISTRY, Event

from .steps import (
    PYTHON_IMAGE,
    ROOT,
    Run,
    assert_deployed,
    assert_failed,
    commit_sha,
    hello_inputs,
    request,
    serves,
)

pytestmark = [pytest.mark.docker, pytest.mark.emulator]

PULL_SP = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"  # seed.yaml: the principal ACI pulls with
PR = 7


# --------------------------------------------------------------------------- (1) push to main


def test_push_to_main_deploys_the_iris_api(
    azure: Emulator, run_action: Callable[..., Run], tmp_path: Path, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("iris-api")
    workspace = tmp_path / "iris-api"
    shutil.copytree(ROOT / "examples" / "iris-api", workspace)

    run = run_action(
        workspace=workspace,
        inputs={
            # No NAT for containers on this machine: pip in the build uses the host network.
            "network": "host",
            "build-args": f"BASE_IMAGE={PYTHON_IMAGE}",
            "timeout": "15m",
        },
    )

    assert_deployed(run, azure, "iris-api")  # the default name: the repository's
    assert run.outputs["image"].endswith(f"/iris-api:sha-{Event().sha[:7]}")
    status, body = request(
        run.outputs["ip-address"],
        run.outputs["fqdn"],
        "POST",
        "/predict",
        {"features": [5.1, 3.5, 1.4, 0.2]},
    )
    assert status == 200, body
    assert json.loads(body)["class"] == "setosa"


# --------------------------------------------------------------------------- (2) pull request


def test_pull_request_preview_lifecycle(
    azure: Emulator, run_action: Callable[..., Run], hello_app: Path
) -> None:
    name = f"iris-api-pr-{PR}"
    group_path = f"/containerGroups/{name}"

    opened = run_action(
        event=Event(name="pull_request", pr_number=PR, action="opened", sha=commit_sha("one")),
        inputs=hello_inputs(),
        workspace=hello_app,
    )
    assert_deployed(opened, azure, name)
    assert f"/iris-api:pr-{PR}" in opened.log  # pushed under the pull request's tag too
    first_page = serves(opened)

    # A new commit on the pull request: a file of the app changes.
    (hello_app / "www" / "index.html").write_text(
        "<h1>hello, second commit</h1>\n", encoding="utf-8"
    )
    puts, deletes = azure.count("PUT", group_path), azure.count("DELETE", group_path)
    synchronized = run_action(
        event=Event(name="pull_request", pr_number=PR, action="synchronize", sha=commit_sha("two")),
        inputs=hello_inputs(),
        workspace=hello_app,
    )
    assert_deployed(synchronized, azure, name)
    assert synchronized.outputs["digest"] != opened.outputs["digest"]
    assert (
        synchronized.outputs["container-group-id"] == opened.outputs["container-group-id"]
    )  # the same group, updated in place
    assert azure.count("PUT", group_path) == puts + 1
    assert azure.count("DELETE", group_path) == deletes
    page = serves(synchronized)
    assert "second commit" in page
    assert page != first_page

    closed = run_action(
        event=Event(name="pull_request", pr_number=PR, action="closed", sha=commit_sha("two")),
        inputs={"mode": "delete"},
    )
    assert closed.exit_code == 0, closed.log[-3000:]
    assert closed.outputs["name"] == name
    assert closed.outputs["state"] == "Deleted"
    assert "acr-action: Deleted" in closed.summary
    assert azure.count("DELETE", group_path) == deletes + 1
    with pytest.raises(ConnectionError):  # nothing listens there any more
        request(synchronized.outputs["ip-address"], synchronized.outputs["fqdn"])


# --------------------------------------------------------------------------- (3) unchanged rerun


def test_unchanged_rerun_is_a_noop(
    azure: Emulator, run_action: Callable[..., Run], hello_app: Path, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-e2e-rerun")
    inputs = hello_inputs(name="hello-e2e-rerun")
    first = run_action(inputs=inputs, workspace=hello_app)
    assert_deployed(first, azure, "hello-e2e-rerun")
    puts = azure.count("PUT", "/containerGroups/hello-e2e-rerun")

    again = run_action(inputs=inputs, workspace=hello_app)

    assert_deployed(again, azure, "hello-e2e-rerun")
    assert again.outputs["digest"] == first.outputs["digest"]
    assert "0 layer(s) uploaded" in again.log  # no new layers pushed
    assert "plan: noop" in again.log
    assert azure.count("PUT", "/containerGroups/hello-e2e-rerun") == puts  # no ACI update
    assert "hello" in serves(again).lower()


# --------------------------------------------------------------------------- (4) BuildKit syntax

BUILDKIT_DOCKERFILE = """\
ARG BUSYBOX_IMAGE=busybox:1.36
FROM ${BUSYBOX_IMAGE}
# A cache mount: the legacy builder rejects this line, BuildKit runs it.
RUN --mount=type=cache,target=/cache ["/bin/busybox", "sh", "-c", \
"/bin/busybox mkdir -p /www && echo built-with-a-cache-mount > /cache/page \
&& /bin/busybox cp /cache/page /www/index.html"]
EXPOSE 80
CMD ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"]
"""


def test_buildkit_only_dockerfile_builds_and_serves(
    azure: Emulator, run_action: Callable[..., Run], hello_app: Path, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-e2e-buildkit")
    (hello_app / "Dockerfile").write_text(BUILDKIT_DOCKERFILE, encoding="utf-8")

    run = run_action(inputs=hello_inputs(name="hello-e2e-buildkit"), workspace=hello_app)

    assert_deployed(run, azure, "hello-e2e-buildkit")
    assert "built-with-a-cache-mount" in serves(run)


# --------------------------------------------------------------------------- (5) failures


def test_missing_id_token_permission(run_action: Callable[..., Run], hello_app: Path) -> None:
    # A job without `permissions: id-token: write` gets no ACTIONS_ID_TOKEN_REQUEST_* variables.
    run = run_action(inputs=hello_inputs(name="hello-e2e-noperm"), workspace=hello_app, oidc=False)

    assert_failed(run, "id-token: write")


def test_wrong_federated_subject(run_action: Callable[..., Run], hello_app: Path) -> None:
    # The seed trusts refs/heads/main and pull_request; a feature branch's subject matches none.
    run = run_action(
        event=Event(ref="refs/heads/feature-x"),
        inputs=hello_inputs(name="hello-e2e-subject"),
        workspace=hello_app,
    )

    assert_failed(run, "AADSTS700213", "repo:octo-org/iris-api:ref:refs/heads/feature-x")
    assert "az ad app federated-credential create" in run.log


def test_app_that_crashes_on_start(
    run_action: Callable[..., Run], hello_app: Path, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-e2e-crash")
    command = (
        '["/bin/busybox", "sh", "-c", "echo starting up; echo fatal: no model file >&2; exit 3"]'
    )

    run = run_action(
        inputs=hello_inputs(
            name="hello-e2e-crash", **{"command-line": command, "restart-policy": "Never"}
        ),
        workspace=hello_app,
    )

    assert_failed(run, "exit code 3")
    assert "fatal: no model file" in run.log  # the app's own log lines, in the step's output


def test_registry_pull_refused(
    azure: Emulator, run_action: Callable[..., Run], hello_app: Path, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-e2e-nopull")
    scope = azure.state.registry_id(azure.state.registries[REGISTRY])
    azure.state.revoke(PULL_SP, "AcrPull")
    try:
        run = run_action(inputs=hello_inputs(name="hello-e2e-nopull"), workspace=hello_app)
    finally:
        azure.state.grant(PULL_SP, "AcrPull", scope)

    assert_failed(run, "could not pull", "AcrPull")


def test_readiness_that_never_answers_times_out(
    run_action: Callable[..., Run], hello_app: Path, cleanup_groups: list[str]
) -> None:
    cleanup_groups.append("hello-e2e-deaf")
    started = time.monotonic()

    # The app listens on 80; the group publishes 8080, so the readiness probe never gets an answer.
    run = run_action(
        inputs=hello_inputs(name="hello-e2e-deaf", ports="8080", timeout="20s"), workspace=hello_app
    )

    assert_failed(run, ":8080/")
    assert time.monotonic() - started < 60
