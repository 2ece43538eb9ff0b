"""`doctor`'s pure checks and rendering, the ARM REST client, and the CLI's dispatch."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest
import requests

from acr_action.__main__ import main
from acr_action.arm_rest import ArmRest
from acr_action.doctor import ERROR, Facts, diagnose, failed, render
from acr_action.errors import PermissionDenied
from acr_action.retry import Retrier
from acr_action.roles import ROLE_IDS, Assignment
from acr_action.setup import DEPLOYER
from acr_action.workflows import Presented

from .support import DEPLOYER_OID, REPO, complete, config


def good() -> tuple[Any, Any, Facts]:
    cfg = config()
    facts = Facts(
        presented=cfg.subjects,
        secrets=frozenset({"irisacr-pull-usr", "irisacr-pull-pwd"}),
        secret_names=("irisacr-pull-usr", "irisacr-pull-pwd"),
        usage=(3, 100),
    )
    return cfg, complete(cfg), facts


def errors(findings: list[Any]) -> list[str]:
    return [f.what for f in findings if f.severity == ERROR]


def test_a_good_setup_has_no_error() -> None:
    cfg, observed, facts = good()
    findings = diagnose(cfg, observed, facts)
    assert not failed(findings), render(findings)
    assert render(findings).endswith("Ready to deploy (0 warning(s)).")


def _credential(observed: Any, name: str, **properties: Any) -> Any:
    body = observed.credentials[name]
    changed = {**body, "properties": {**body["properties"], **properties}}
    return replace(observed, credentials={**observed.credentials, name: changed})


ENV = f"repo:{REPO}:environment:production"


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        pytest.param(
            lambda o: _credential(o, "c0", subject=ENV.upper()), f"{ENV}: wrong case", id="case"
        ),
        pytest.param(
            lambda o: _credential(o, "c0", issuer="https://example.com"),
            f"{ENV}: wrong issuer",
            id="issuer",
        ),
        pytest.param(
            lambda o: _credential(o, "c0", audiences=["api://other"]),
            f"{ENV}: wrong audience",
            id="audience",
        ),
        pytest.param(
            lambda o: replace(o, credentials={}),
            f"no environment credential for {ENV}",
            id="missing",
        ),
        pytest.param(
            lambda o: replace(o, assignments=()),
            "github-iris-api-deployer lacks Contributor on demo-rg",
            id="no-roles",
        ),
        pytest.param(
            lambda o: replace(o, vault={"properties": {"enableRbacAuthorization": False}}),
            "key vault irisacr-kv uses access policies, not Azure RBAC",
            id="vault-policies",
        ),
        pytest.param(
            lambda o: replace(o, providers={}),
            "resource provider Microsoft.ContainerInstance is NotRegistered",
            id="provider",
        ),
        pytest.param(
            lambda o: replace(o, registry={"properties": {"publicNetworkAccess": "Disabled"}}),
            "registry irisacr has public network access disabled",
            id="registry-closed",
        ),
        pytest.param(
            lambda o: replace(o, identities={}),
            "user-assigned identity github-iris-api-deployer is not in demo-rg",
            id="identity",
        ),
    ],
)
def test_each_mistake_is_one_error(break_it: Any, expected: str) -> None:
    cfg, observed, facts = good()
    found = errors(diagnose(cfg, break_it(observed), facts))
    assert expected in found, found


def test_acrpush_does_not_count_on_an_abac_registry() -> None:
    cfg, observed, facts = good()
    abac = {"properties": {"roleAssignmentMode": "AbacRepositoryPermissions"}}
    only_push = (Assignment(DEPLOYER_OID, ROLE_IDS["AcrPush"], cfg.registry_id),)
    findings = diagnose(cfg, replace(observed, registry=abac, assignments=only_push), facts)
    lacking = next(f for f in findings if "Container Registry Repository Writer" in f.what)
    assert "ignores AcrPush" in lacking.cause


def test_facts_of_the_workflows_and_vault_make_errors() -> None:
    cfg, observed, facts = good()
    broken = replace(
        facts,
        secrets=frozenset({"irisacr-pull-usr"}),
        usage=(100, 100),
        no_token_jobs=("deploy.yml: job deploy",),
    )
    found = errors(diagnose(cfg, observed, broken))
    assert "secret irisacr-pull-pwd is not in irisacr-kv" in found
    assert "100 of 100 container groups in westeurope are in use" in found
    assert "deploy.yml: job deploy uses the action without `id-token: write`" in found


def test_render_gives_cause_and_fix_of_each_problem() -> None:
    cfg, observed, facts = good()
    text = render(diagnose(cfg, replace(observed, credentials={}), facts))
    assert "  FAIL  federated credential: no environment credential" in text
    assert f"--subject '{ENV}' --audiences api://AzureADTokenExchange" in text
    assert text.splitlines()[-1].startswith("2 problem(s) would stop a deploy")
    assert DEPLOYER == "deployer"
    assert isinstance(cfg.subjects[0], Presented)


# --------------------------------------------------------------------------- ARM REST


def answer(status: int, body: object = None, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b""
    response.headers.update(headers)
    return response


class Scripted(Retrier):
    """A Retrier whose `http` answers from a script and records the calls."""

    def __init__(self, answers: list[requests.Response]) -> None:
        super().__init__()
        self.answers = answers
        self.calls: list[tuple[str, str]] = []

    def http(self, dependency: str, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.calls.append((method, url))
        return self.answers.pop(0)


def arm(answers: list[requests.Response]) -> tuple[ArmRest, Scripted]:
    script = Scripted(answers)
    return ArmRest("https://arm.test", lambda: "t", script, sleep=lambda _: None), script


def test_a_long_running_put_is_polled_then_read() -> None:
    client, script = arm(
        [
            answer(201, {"name": "r"}, **{"Azure-AsyncOperation": "https://arm.test/op"}),
            answer(200, {"status": "InProgress"}),
            answer(200, {"status": "Succeeded"}),
            answer(200, {"name": "r", "properties": {"provisioningState": "Succeeded"}}),
        ]
    )
    body = client.put("/x/r", "2025-11-01", {"location": "westeurope"})
    assert body["properties"]["provisioningState"] == "Succeeded"
    assert [method for method, _ in script.calls] == ["PUT", "GET", "GET", "GET"]
    assert script.calls[0][1] == "https://arm.test/x/r?api-version=2025-11-01"


def test_missing_is_none_and_lists_follow_next_link() -> None:
    client, _ = arm(
        [
            answer(404, {"error": {"code": "ResourceNotFound", "message": "gone"}}),
            answer(200, {"value": [{"n": 1}], "nextLink": "https://arm.test/next"}),
            answer(200, {"value": [{"n": 2}]}),
        ]
    )
    assert client.get("/x", "v") is None
    assert list(client.list("/xs", "v")) == [{"n": 1}, {"n": 2}]


def test_an_authorization_failure_becomes_permission_denied() -> None:
    message = (
        "The client 'me' with object id 'o' does not have authorization to perform action "
        "'Microsoft.Authorization/roleAssignments/write' over scope '/subscriptions/s' or the "
        "scope is invalid."
    )
    client, _ = arm([answer(403, {"error": {"code": "AuthorizationFailed", "message": message}})])
    with pytest.raises(PermissionDenied):
        client.put("/x", "v", {})


# --------------------------------------------------------------------------- the CLI


def test_setup_and_doctor_have_their_own_help() -> None:
    for command in ("setup", "doctor"):
        out = io.StringIO()
        assert main({}, argv=[command, "--help"], out=out) == 0
        assert f"usage: python -m acr_action {command}" in out.getvalue()
        assert "--repo" in out.getvalue()


def test_a_bad_option_is_reported_before_any_network_call() -> None:
    out = io.StringIO()
    code = main(
        {},
        argv=["setup", "--repo", "not-a-repo", "--resource-group", "rg", "--registry", "ab"],
        out=out,
    )
    assert code == 1
    assert "--repo" in out.getvalue()
    assert "--registry" in out.getvalue()


def test_the_action_still_runs_from_inputs_and_its_help_mentions_the_commands() -> None:
    out = io.StringIO()
    assert main({}, argv=["--help"], out=out) == 0
    assert "setup|doctor" in out.getvalue()


# --------------------------------------------------------------------------- repository variables


def test_variables_are_created_updated_or_left_alone() -> None:
    from acr_action.repo_variables import set_variables

    script = Scripted(
        [
            answer(404, {"message": "Not Found"}),
            answer(201),
            answer(200, {"name": "B", "value": "old"}),
            answer(204),
            answer(200, {"name": "C", "value": "same"}),
        ]
    )
    states = dict(
        set_variables(
            "o/r", {"A": "1", "B": "new", "C": "same"}, "tok", api_url="https://gh", retrier=script
        )
    )
    assert states == {"A": "created", "B": "updated", "C": "unchanged"}
    assert [m for m, _ in script.calls] == ["GET", "POST", "GET", "PATCH", "GET"]
    assert script.calls[1][1] == "https://gh/repos/o/r/actions/variables"


def test_set_variables_needs_a_token_before_any_call() -> None:
    out = io.StringIO()
    argv = ["setup", "--repo", "o/r", "--resource-group", "rg", "--registry", "irisacr"]
    assert main({}, argv=[*argv, "--set-variables"], out=out) == 1
    assert "GH_TOKEN" in out.getvalue()
