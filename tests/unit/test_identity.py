"""`registry-identity` and `identity`: validation before any call, and the group body they build."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from azure.mgmt.containerinstance.models import ContainerGroup

from acr_action.errors import ImagePullRefused, InputError, InputProblem
from acr_action.identity import AppIdentity, RegistryIdentity
from acr_action.inputs import parse_inputs
from acr_action.orchestrate import _vault_names
from acr_action.spec import GroupSpec, diff, to_model
from tests.unit.support import make_env

SUB = "2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11"
PULL_ID = (
    f"/subscriptions/{SUB}/resourceGroups/my-app-rg/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/my-app-pull"
)
APP_ID = PULL_ID.replace("my-app-pull", "my-app")
THEIRS = PULL_ID.replace("my-app-pull", "their-identity")
SERVER = "myreg.azurecr.io"

SPEC = GroupSpec(
    name="app",
    location="westus",
    image_ref=f"{SERVER}/app@sha256:{'a' * 64}",
    cpu=1.0,
    memory=1.5,
    ports=(80,),
    dns_name_label="app-1a2b3c4d",
    registry_identity=RegistryIdentity(SERVER, PULL_ID),
)


def problems_of(env: Mapping[str, str]) -> list[InputProblem]:
    with pytest.raises(InputError) as caught:
        parse_inputs(env)
    return list(caught.value.problems)


def test_registry_identity_needs_no_key_vault_and_reads_no_pull_secret() -> None:
    env = make_env({"registry-identity": PULL_ID})
    env.pop("INPUT_KEY-VAULT")
    inputs = parse_inputs(env)
    assert inputs.secrets.registry_identity == PULL_ID
    with_vault = parse_inputs(make_env({"registry-identity": PULL_ID}))
    # The vault still serves app secrets, but no `<registry>-pull-usr/pwd` is read from it.
    assert _vault_names(with_vault.secrets) == {}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("my-app-pull", id="a-name-not-an-id"),
        pytest.param(PULL_ID.replace(SUB, "not-a-guid"), id="subscription-not-a-guid"),
        pytest.param(
            PULL_ID.replace(
                "Microsoft.ManagedIdentity/userAssignedIdentities", "Microsoft.Web/sites"
            ),
            id="another-resource-type",
        ),
        pytest.param(PULL_ID.replace("my-app-pull", "ab"), id="name-too-short"),
    ],
)
def test_registry_identity_must_be_an_identitys_resource_id(value: str) -> None:
    (problem,) = problems_of(make_env({"registry-identity": value}))
    assert problem.input == "registry-identity"
    assert "resource ID of a user-assigned managed identity" in problem.message
    assert problem.shown == value
    assert "userAssignedIdentities" in problem.example


@pytest.mark.parametrize(
    "other",
    [
        {"registry-username": "puller", "registry-password": "pw-0123456789"},
        {"registry-username-secret": "pull-usr"},
        {"registry-password-secret": "pull-pwd"},
    ],
    ids=["given-credentials", "username-secret", "password-secret"],
)
def test_registry_identity_conflicts_with_pull_credentials(other: dict[str, str]) -> None:
    inputs: dict[str, str] = {"registry-identity": PULL_ID, **other}
    if "registry-username" in other:
        inputs["key-vault"] = ""
    problems = problems_of(make_env(inputs))
    named = {p.input for p in problems if "registry-identity" in p.message}
    assert named == set(other)
    assert all("pulls with the identity" in p.message for p in problems if p.input in other)


def test_registry_identity_is_refused_outside_deploy() -> None:
    problems = problems_of(make_env({"mode": "build", "registry-identity": PULL_ID}))
    assert [p.input for p in problems] == ["registry-identity"]


def test_identity_takes_system_and_resource_ids() -> None:
    text = f"system\n{APP_ID}, {APP_ID.upper().replace('/SUBSCRIPTIONS/', '/subscriptions/')}"
    inputs = parse_inputs(make_env({"identity": text}))
    assert inputs.container.identity == AppIdentity(True, (APP_ID,))


def test_identity_reports_each_bad_item() -> None:
    problems = problems_of(make_env({"identity": "system, systen, my-app"}))
    assert [(p.input, p.shown) for p in problems] == [
        ("identity", "systen"),
        ("identity", "my-app"),
    ]


def test_identity_not_given_leaves_it_alone() -> None:
    assert parse_inputs(make_env()).container.identity is None


def test_the_body_pulls_with_the_identity_and_attaches_it() -> None:
    body = to_model(SPEC).serialize()
    assert body["properties"]["imageRegistryCredentials"] == [
        {"server": SERVER, "identity": PULL_ID}
    ]
    assert body["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {PULL_ID: {}}}


def _existing(identity: dict[str, Any] | None) -> ContainerGroup:
    body = to_model(replace(SPEC, registry_identity=None)).serialize()
    if identity is not None:
        body["identity"] = identity
    return ContainerGroup.deserialize(body)


def test_identities_on_the_group_stay_and_ours_are_added() -> None:
    existing = _existing(
        {
            "type": "SystemAssigned, UserAssigned",
            "userAssignedIdentities": {THEIRS: {"principalId": "p", "clientId": "c"}},
        }
    )
    spec = replace(SPEC, identity=AppIdentity(False, (APP_ID,)))
    body = to_model(spec, existing).serialize()
    assert body["identity"]["type"] == "SystemAssigned, UserAssigned"
    assert set(body["identity"]["userAssignedIdentities"]) == {THEIRS, APP_ID, PULL_ID}
    plan = diff(existing, spec)
    assert plan.action == "update"
    assert "identity" in plan.changed


def test_a_deploy_without_identity_leaves_the_groups_identity_as_it_is() -> None:
    spec = replace(SPEC, registry_identity=None)
    existing = _existing({"type": "SystemAssigned"})
    assert to_model(spec, existing).serialize()["identity"] == {"type": "SystemAssigned"}
    assert "identity" not in diff(existing, spec).changed


@pytest.mark.parametrize(
    ("app", "kind"),
    [
        (AppIdentity(True, ()), "SystemAssigned"),
        (AppIdentity(False, (APP_ID,)), "UserAssigned"),
        (AppIdentity(True, (APP_ID,)), "SystemAssigned, UserAssigned"),
    ],
    ids=["system", "user-assigned", "both"],
)
def test_identity_type_follows_what_is_asked(app: AppIdentity, kind: str) -> None:
    spec = replace(SPEC, registry_identity=None, identity=app)
    assert to_model(spec).serialize()["identity"]["type"] == kind


def test_a_refused_identity_pull_names_the_identity_and_the_role_assignment() -> None:
    error = ImagePullRefused(SPEC.image_ref, "InaccessibleImage", identity=PULL_ID)
    text = error.render()
    assert PULL_ID in text
    assert "az role assignment create" in text
    assert "AcrPull" in text
    assert "Key Vault" not in text
