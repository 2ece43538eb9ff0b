"""`setup`'s pure parts: the subjects workflows present, the plan, and the workflows it writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from acr_action import workflows
from acr_action.roles import ABAC_PUSH, ROLE_IDS, Assignment, assignment_name
from acr_action.setup import YOU, Observed, plan, role_body, summary

from .support import DEPLOYER_OID, REPO, SUB, complete, config


def states(steps: list[Any]) -> dict[tuple[str, str], str]:
    return {(step.kind, step.name): step.state for step in steps}


# --------------------------------------------------------------------------- subjects


def test_an_environment_wins_over_the_event() -> None:
    document = {
        "on": {"push": {"branches": ["main"]}, "pull_request": None},
        "permissions": {"id-token": "write"},
        "jobs": {"deploy": {"environment": {"name": "Production"}}},
    }
    found, unknown = workflows.subjects_of(REPO, "d.yml", document)
    assert [p.subject for p in found] == [f"repo:{REPO}:environment:Production"]
    assert unknown == []


def test_events_give_pull_request_and_ref_subjects() -> None:
    document = {
        True: {"push": {"branches": ["main"], "tags": ["v1"]}, "pull_request": {}},
        "jobs": {
            "build": {"permissions": {"id-token": "write"}},
            "lint": {"permissions": {"contents": "read"}},  # no token: presents nothing
        },
    }
    found, _ = workflows.subjects_of(REPO, "b.yml", document)
    assert [p.subject for p in found] == [
        f"repo:{REPO}:pull_request",
        f"repo:{REPO}:ref:refs/heads/main",
        f"repo:{REPO}:ref:refs/tags/v1",
    ]


@pytest.mark.parametrize(
    ("job", "why"),
    [
        pytest.param({"environment": "${{ inputs.env }}"}, "expression", id="expression-env"),
        pytest.param({}, "pattern", id="branch-pattern"),
    ],
)
def test_unknowable_subjects_are_reported(job: dict[str, Any], why: str) -> None:
    document = {
        "on": {"push": {"branches": ["release/*"]}},
        "permissions": "write-all",
        "jobs": {"deploy": job},
    }
    found, unknown = workflows.subjects_of(REPO, "d.yml", document)
    assert not found
    assert why in unknown[0].why


def test_a_colon_in_an_environment_is_escaped() -> None:
    assert workflows.subject(REPO, "environment", "Prod:V1").endswith("environment:Prod%3AV1")


def test_written_workflows_are_the_examples(repo_root: Path) -> None:
    files = workflows.rendered(workflows.WorkflowSettings())
    for name, text in files.items():
        assert text == (repo_root / "examples" / "workflows" / name).read_text(encoding="utf-8")


@pytest.mark.dev_only
def test_the_written_workflows_present_the_subjects_setup_trusts() -> None:
    settings = workflows.WorkflowSettings(environment="staging", branch="trunk", preview=False)
    subjects = [p.subject for p in workflows.subjects_for(REPO, settings)]
    assert subjects == [f"repo:{REPO}:environment:staging"]
    bare = workflows.WorkflowSettings(environment=None, branch="trunk")
    assert [p.subject for p in workflows.subjects_for(REPO, bare)] == [
        f"repo:{REPO}:ref:refs/heads/trunk",
        f"repo:{REPO}:pull_request",
    ]


# --------------------------------------------------------------------------- plan


def test_an_empty_subscription_plans_everything() -> None:
    cfg = config()
    steps = plan(cfg, Observed())
    assert {step.state for step in steps} == {"register", "create", "grant"}
    kinds = [step.kind for step in steps]
    assert kinds.count("federated credential") == 2
    assert kinds.count("role") == 4
    assert summary(steps).endswith("14 change(s) to make.")
    vault = next(step for step in steps if step.kind == "key vault")
    assert vault.body is not None
    assert vault.body["properties"]["enableRbacAuthorization"] is True


def test_a_finished_setup_plans_nothing() -> None:
    cfg = config()
    steps = plan(cfg, complete(cfg))
    assert all(step.state == "exists" for step in steps), summary(steps)
    assert summary(steps).endswith("Nothing to change: everything exists as it should.")


def test_a_broader_role_meets_the_need() -> None:
    cfg = config()
    owner = Assignment(DEPLOYER_OID, ROLE_IDS["Owner"], f"/subscriptions/{SUB}")
    observed = complete(cfg, assignments=(owner,))
    grants = [s for s in plan(cfg, observed) if s.kind == "role" and s.state == "grant"]
    # Owner on the subscription covers Contributor and AcrPush; not the vault's data plane.
    assert [g.role for g in grants] == ["Key Vault Secrets User", "Key Vault Secrets Officer"]


def test_a_vault_with_access_policies_blocks_the_setup() -> None:
    cfg = config()
    steps = plan(cfg, complete(cfg, vault={"properties": {"enableRbacAuthorization": False}}))
    assert states(steps)[("key vault", "irisacr-kv")] == "blocked"
    assert "--enable-rbac-authorization true" in summary(steps)
    assert "blocked" in summary(steps).splitlines()[-1]


def test_an_abac_registry_gets_the_repository_role() -> None:
    cfg = config()
    observed = complete(
        cfg, registry={"properties": {"roleAssignmentMode": "AbacRepositoryPermissions"}}
    )
    grants = [s for s in plan(cfg, observed) if s.state == "grant"]
    assert [g.role for g in grants] == [ABAC_PUSH]  # AcrPush does not count there


def test_a_credential_with_another_subject_under_our_name_is_updated() -> None:
    cfg = config()
    observed = complete(cfg)
    wrong = {"properties": {"issuer": workflows.ISSUER, "subject": "x", "audiences": []}}
    credentials = {"github-environment-production": wrong}
    steps = plan(cfg, complete(cfg, credentials=credentials))
    assert states(steps)[("federated credential", "github-environment-production")] == "update"
    assert observed.credentials


def test_a_missing_group_without_a_location_blocks() -> None:
    steps = plan(config(location=None), Observed())
    assert states(steps)[("resource group", "demo-rg")] == "blocked"


def test_role_assignment_names_are_stable_and_bodies_name_new_principals() -> None:
    first = assignment_name("/subscriptions/S/resourceGroups/RG", "p", ROLE_IDS["AcrPush"])
    again = assignment_name("/subscriptions/s/resourcegroups/rg", "P", ROLE_IDS["AcrPush"])
    assert first == again
    body = role_body(SUB, ROLE_IDS["AcrPush"], "p", "ServicePrincipal")
    assert body["properties"]["principalType"] == "ServicePrincipal"
    assert "principalType" not in role_body(SUB, ROLE_IDS["AcrPush"], YOU, None)["properties"]


def test_the_identity_pull_path_makes_a_pull_identity_with_acrpull_and_no_vault() -> None:
    cfg = config(pull="identity", key_vault=None, pull_identity="irisacr-pull")
    steps = plan(cfg, Observed())
    assert [s.name for s in steps if s.kind == "identity"] == [
        "github-iris-api-deployer",
        "irisacr-pull",
    ]
    assert not [s for s in steps if s.kind == "key vault"]
    grants = [(s.principal, s.role) for s in steps if s.kind == "role"]
    assert grants == [("deployer", "Contributor"), ("deployer", "AcrPush"), ("pull", "AcrPull")]
