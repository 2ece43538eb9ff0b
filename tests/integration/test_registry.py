"""The action against registries configured the ways real ones are: each setting that changes who
may use ACR's data plane (the ARM-audience token policy, the ABAC role mode, the firewall) and a
registry outside the deployment's resource group or subscription.

Each test builds and pushes (`mode: build`) with the real Docker engine against the local Azure,
changing the seeded registry for the one run (`State.registry_settings`) and restoring it after.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from localazure.server import Emulator
from tests.harness.workflow import DEPLOYER, REGISTRY

from .steps import Run

pytestmark = pytest.mark.docker

WRITER = "Container Registry Repository Writer"
SHARED_GROUP = "shared-registry-rg"
SHARED_SUBSCRIPTION = "6d1f3b2a-4c5e-4f7a-9b8c-0d1e2f3a4b5c"


def build(run_action: Callable[..., Run], hello_app, tag: str, **inputs: str) -> Run:
    return run_action(
        inputs={"name": f"reg-{tag}", "mode": "build", "tags": tag, **inputs}, workspace=hello_app
    )


def registry_scope(azure: Emulator) -> str:
    return azure.state.registry_id(azure.state.registries[REGISTRY])


def test_registry_that_refuses_arm_tokens_still_gets_the_push(
    azure: Emulator, run_action: Callable[..., Run], hello_app
) -> None:
    """`azureADAuthenticationAsArmPolicy` disabled (Microsoft's recommendation): the exchange
    takes only ACR-audience tokens, which the action asks for first."""
    with azure.state.registry_settings(REGISTRY, authentication_as_arm="disabled"):
        run = build(run_action, hello_app, "acr-audience")

    assert run.exit_code == 0, run.stdout
    assert run.outputs["digest"].startswith("sha256:")
    assert "AcrPush" not in run.stdout


@pytest.fixture
def entra_without_acr(azure: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tenant whose Entra cannot issue ACR-audience tokens (AADSTS500011), as in a cloud
    without that resource."""
    identity = azure.services["identity"]
    known = [r for r in identity.known_resources() if "containerregistry" not in r]
    monkeypatch.setattr(identity, "known_resources", lambda: known)


def test_arm_token_is_the_fallback_when_entra_issues_no_acr_token(
    azure: Emulator, run_action: Callable[..., Run], hello_app, entra_without_acr: None
) -> None:
    run = build(run_action, hello_app, "arm-fallback")

    assert run.exit_code == 0, run.stdout
    assert run.outputs["digest"].startswith("sha256:")


def test_no_acr_token_and_arm_tokens_disabled_explains_the_policy(
    azure: Emulator, run_action: Callable[..., Run], hello_app, entra_without_acr: None
) -> None:
    with azure.state.registry_settings(REGISTRY, authentication_as_arm="disabled"):
        run = build(run_action, hello_app, "no-token")

    assert run.exit_code == 1, run.stdout
    assert "refused to exchange the Entra token" in run.stdout
    assert "azureADAuthenticationAsArmPolicy" in run.stdout
    assert "AADSTS500011" in run.stdout
    assert "az acr config authentication-as-arm update --registry acractiondemo" in run.stdout


def test_abac_registry_push_with_only_acrpush_names_the_repository_writer_role(
    azure: Emulator, run_action: Callable[..., Run], hello_app
) -> None:
    """In ABAC mode AcrPush (and Contributor) count for nothing: the hint must not say AcrPush."""
    with azure.state.registry_settings(REGISTRY, role_assignment_mode="AbacRepositoryPermissions"):
        run = build(run_action, hello_app, "abac-acrpush")

    assert run.exit_code == 1, run.stdout
    assert f"--role '{WRITER}'" in run.stdout
    assert f"--assignee '{DEPLOYER}'" in run.stdout, "the fix names the client-id input"
    assert "ignores AcrPull, AcrPush and AcrDelete" in run.stdout
    assert "--role 'AcrPush'" not in run.stdout
    assert "--role AcrPush" not in run.stdout


def test_abac_registry_push_with_repository_writer_succeeds(
    azure: Emulator, run_action: Callable[..., Run], hello_app
) -> None:
    state = azure.state
    with state.registry_settings(REGISTRY, role_assignment_mode="AbacRepositoryPermissions"):
        state.grant(DEPLOYER, WRITER, registry_scope(azure))
        try:
            run = build(run_action, hello_app, "abac-writer")
        finally:
            state.revoke(DEPLOYER, WRITER)

    assert run.exit_code == 0, run.stdout
    assert run.outputs["digest"].startswith("sha256:")


def test_abac_registry_pull_refused_names_the_repository_reader_role(
    azure: Emulator, run_action: Callable[..., Run], hello_app, cleanup_groups: list[str]
) -> None:
    """The pull principal has AcrPull (seed.yaml), which an ABAC-mode registry ignores: the
    refused pull must name the Container Registry Repository Reader role."""
    state = azure.state
    cleanup_groups.append("reg-abac-pull")
    with state.registry_settings(REGISTRY, role_assignment_mode="AbacRepositoryPermissions"):
        state.grant(DEPLOYER, WRITER, registry_scope(azure))
        try:
            run = run_action(
                inputs={"name": "reg-abac-pull", "timeout": "90s"}, workspace=hello_app
            )
        finally:
            state.revoke(DEPLOYER, WRITER)

    assert run.exit_code == 1, run.stdout
    assert "could not pull" in run.stdout
    assert "--role 'Container Registry Repository Reader'" in run.stdout
    assert "--role 'AcrPull'" not in run.stdout


@pytest.mark.parametrize(
    ("settings", "explained"),
    [
        pytest.param(
            {"network_default_action": "Deny", "ip_rules": ["203.0.113.0/24"]},
            "`networkRuleSet.defaultAction: Deny`",
            id="firewall",
        ),
        pytest.param(
            {"public_network_access": "Disabled"},
            "Public network access is **disabled**",
            id="public-access-disabled",
        ),
    ],
)
def test_registry_firewall_is_reported_as_such(
    azure: Emulator,
    run_action: Callable[..., Run],
    hello_app,
    settings: dict[str, object],
    explained: str,
) -> None:
    """A 403 `DENIED` from `/v2/` is the network, not a missing challenge and not a role."""
    with azure.state.registry_settings(REGISTRY, **settings):
        run = build(run_action, hello_app, "firewall")

    assert run.exit_code == 1, run.stdout
    assert "HTTP 403 DENIED" in run.stdout
    assert explained in run.stdout
    assert "client with IP '127.0.0.1' is not allowed access" in run.stdout
    assert "az acr network-rule add --name acractiondemo" in run.stdout
    assert "Bearer challenge" not in run.stdout


@pytest.fixture
def registry_elsewhere(azure: Emulator) -> Iterator[Callable[..., None]]:
    """Move the registry to another group (and subscription) for the test, with the roles the
    README's setup grants on it there (Reader to find it, AcrPush to push)."""
    state = azure.state
    with contextlib.ExitStack() as undo:

        def move(**settings: str) -> None:
            subscription = settings.get("subscription_id")
            if subscription:
                state.other_subscriptions[subscription] = "shared"
                undo.callback(state.other_subscriptions.pop, subscription)
            state.resource_groups[SHARED_GROUP] = (SHARED_GROUP, "westeurope")
            undo.callback(state.resource_groups.pop, SHARED_GROUP)
            undo.enter_context(state.registry_settings(REGISTRY, **settings))
            scope = registry_scope(azure)
            for role in ("Reader", "AcrPush"):
                state.grant(DEPLOYER, role, scope)
            undo.callback(_revoke_at, azure, scope)

        yield move


def _revoke_at(azure: Emulator, scope: str) -> None:
    with azure.state.lock:
        azure.state.role_assignments = [
            ra
            for ra in azure.state.role_assignments
            if not (ra.principal == DEPLOYER and ra.scope.lower() == scope.lower())
        ]


def test_registry_in_another_resource_group(
    azure: Emulator, run_action: Callable[..., Run], hello_app, registry_elsewhere
) -> None:
    registry_elsewhere(resource_group=SHARED_GROUP)

    run = build(run_action, hello_app, "other-group", **{"registry-resource-group": SHARED_GROUP})

    assert run.exit_code == 0, run.stdout
    assert run.outputs["image"].startswith(azure.login_server(REGISTRY) + "/")


@pytest.mark.parametrize("by_id", [pytest.param(False, id="inputs"), pytest.param(True, id="id")])
def test_registry_in_another_subscription(
    azure: Emulator, run_action: Callable[..., Run], hello_app, registry_elsewhere, by_id: bool
) -> None:
    registry_elsewhere(resource_group=SHARED_GROUP, subscription_id=SHARED_SUBSCRIPTION)
    inputs = (
        {"registry": registry_scope(azure)}
        if by_id
        else {
            "registry-resource-group": SHARED_GROUP,
            "registry-subscription-id": SHARED_SUBSCRIPTION,
        }
    )

    run = build(run_action, hello_app, "other-subscription", **inputs)

    assert run.exit_code == 0, run.stdout
    assert run.outputs["digest"].startswith("sha256:")


def test_registry_elsewhere_without_the_inputs_is_not_found(
    azure: Emulator, run_action: Callable[..., Run], hello_app, registry_elsewhere
) -> None:
    registry_elsewhere(resource_group=SHARED_GROUP)

    run = build(run_action, hello_app, "not-found")

    assert run.exit_code == 1, run.stdout
    assert "acractiondemo" in run.stdout
    assert "not found" in run.stdout
    assert "registry-resource-group" in run.stdout


def test_exchange_token_takes_a_token_the_caller_already_has(
    azure: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bench's `az acr login` stand-in exchanges the Azure CLI's ARM token as it is."""
    from acr_action.registry import exchange_token
    from localazure.auth import issue_access_token

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azure.ca_path))
    deployer = azure.state.app(DEPLOYER)
    assert deployer is not None
    arm_token, _ = issue_access_token(azure, deployer, azure.arm_url + "/")

    refresh = exchange_token(azure.login_server(REGISTRY), arm_token, azure.state.tenant_id)

    assert refresh.count(".") == 2  # a JWT, signed by the registry
