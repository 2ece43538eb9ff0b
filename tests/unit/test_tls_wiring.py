"""`tls: auto` in the action: the inputs, the group the spec builds, the diff, the fingerprint."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from azure.mgmt.containerinstance.models import ContainerGroup

from acr_action import tls
from acr_action.errors import InputError
from acr_action.inputs import parse_inputs
from acr_action.keep import lost_secrets
from acr_action.spec import GroupSpec, diff, fingerprint, to_model
from tests.unit.support import make_env

PASSWORD = "pw-unit-Qx81-never-shown"  # a test value
SPEC = GroupSpec(
    name="app",
    location="westeurope",
    image_ref="myreg.azurecr.io/app@sha256:" + "a" * 64,
    cpu=1.0,
    memory=1.5,
    ports=(8080,),
    dns_name_label="app-1a2b3c4d",
)
INPUTS = tls.TlsInputs(tls="auto", basic_auth="reviewer", basic_auth_password_secret="pw")


def _echo(spec: GroupSpec, existing: ContainerGroup | None = None) -> ContainerGroup:
    """What a GET returns after PUTting to_model(spec): secure values dropped."""
    body: Any = to_model(spec, existing).serialize()
    for container in body["properties"]["containers"]:
        for variable in container["properties"].get("environmentVariables", []):
            variable.pop("secureValue", None)
    body["properties"].update(provisioningState="Succeeded")
    return ContainerGroup.deserialize(body)


def _settled(existing: ContainerGroup | None = None, **kwargs: Any) -> GroupSpec:
    inputs = replace(INPUTS, **kwargs)
    secrets = {tls.PASSWORD_KEY: PASSWORD} if inputs.basic_auth_password_secret else {}
    return tls.settle(SPEC, inputs, existing, secrets, cpu_given=True)  # type: ignore[no-any-return]  # GroupSpec


def test_the_group_gets_the_proxy_ports_80_and_443_and_the_carved_share() -> None:
    group: Any = to_model(_settled())
    names = [c.name for c in group.containers]
    assert names == ["app", tls.PROXY_NAME]
    app, proxy = group.containers
    assert [p.port for p in app.ports] == [8080]
    assert sorted(p.port for p in group.ip_address.ports) == [80, 443]
    assert (app.resources.requests.cpu, app.resources.requests.memory_in_gb) == (0.9, 1.4)
    assert (proxy.resources.requests.cpu, proxy.resources.requests.memory_in_gb) == (0.1, 0.1)
    secure = [v for v in proxy.environment_variables if v.secure_value is not None]
    assert [(v.name, v.secure_value) for v in secure] == [(tls.ENV_AUTH_PASSWORD, PASSWORD)]
    plain = {v.name: v.value for v in proxy.environment_variables if v.value is not None}
    assert "app-1a2b3c4d.westeurope.azurecontainer.io {" in plain[tls.ENV_CADDYFILE]
    assert "reverse_proxy 127.0.0.1:8080" in plain[tls.ENV_CADDYFILE]
    assert PASSWORD not in repr(plain) + repr(proxy.command)


def test_a_second_deploy_is_a_noop_and_the_proxy_secret_is_not_lost() -> None:
    spec = _settled()
    existing = _echo(spec)
    assert diff(existing, spec).action == "noop"
    assert lost_secrets(existing, "app", frozenset(), replaced=tls.managed(spec)) == []
    # Without the proxy's name, the hidden password would be reported lost: the check is real.
    assert lost_secrets(existing, "app", frozenset()) != []


def test_the_password_is_in_the_fingerprint() -> None:
    spec = _settled()
    assert spec.tls is not None
    assert fingerprint(spec) != fingerprint(
        replace(spec, tls=replace(spec.tls, basic_auth_password="x"))
    )
    assert (
        diff(_echo(spec), replace(spec, tls=replace(spec.tls, basic_auth_password="x"))).action
        == "update"
    )


def test_a_deploy_that_does_not_mention_tls_keeps_the_proxy() -> None:
    existing = _echo(_settled())
    secrets = {tls.PASSWORD_KEY: PASSWORD}
    kept = tls.settle(SPEC, tls.TlsInputs(), existing, secrets, cpu_given=False)
    assert kept.tls is not None
    assert kept.tls.basic_auth_user == "reviewer"
    assert (
        diff(existing, replace(kept, unset=frozenset({"cpu", "memory", "ports"}))).action == "noop"
    )


def test_a_kept_proxy_with_basic_auth_needs_the_password_again() -> None:
    existing = _echo(_settled())
    with pytest.raises(InputError) as info:
        tls.settle(SPEC, tls.TlsInputs(), existing, {}, cpu_given=False)
    assert info.value.problems[0].input == "basic-auth-password-secret"


def test_tls_off_removes_the_proxy_and_publishes_the_app_port() -> None:
    existing = _echo(_settled())
    spec = tls.settle(SPEC, tls.TlsInputs(tls="off"), existing, {}, cpu_given=True)
    assert diff(existing, spec).action == "recreate"  # a container removed
    group: Any = to_model(spec, existing)
    assert [c.name for c in group.containers] == ["app"]
    assert [p.port for p in group.ip_address.ports] == [8080]


def test_adding_the_proxy_to_a_group_recreates_it() -> None:
    existing = _echo(SPEC)
    plan = diff(existing, _settled(existing))
    assert plan.action == "recreate"
    assert "tls proxy" in plan.changed


def test_a_group_without_tls_is_left_as_it_is() -> None:
    assert tls.settle(SPEC, tls.TlsInputs(), None, {}, cpu_given=True) == SPEC


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        pytest.param({"tls": "auto", "ports": "80"}, "ports", id="app-on-port-80"),
        pytest.param({"tls": "auto", "ports": "8080", "priority": "Spot"}, "tls", id="spot"),
        pytest.param(
            {"tls": "auto", "ports": "8080", "ip-address": "Private"}, "tls", id="private"
        ),
        pytest.param(
            {"tls": "auto", "basic-auth": "reviewer"},
            "basic-auth-password-secret",
            id="no-password",
        ),
        pytest.param(
            {"tls": "off", "basic-auth": "reviewer", "basic-auth-password-secret": "pw"},
            "basic-auth",
            id="with-tls-off",
        ),
        pytest.param({"acme-email": "ops@example.com"}, "acme-email", id="without-tls"),
        pytest.param(
            {"tls": "auto", "acme-directory": "http://ca"}, "acme-directory", id="http-directory"
        ),
        pytest.param({"tls": "sometimes"}, "tls", id="bad-choice"),
    ],
)
def test_inputs_are_refused_before_any_call(inputs: dict[str, str], named: str) -> None:
    with pytest.raises(InputError) as info:
        parse_inputs(make_env({"mode": "deploy", **inputs}))
    assert named in [problem.input for problem in info.value.problems]


def test_inputs_parse() -> None:
    parsed = parse_inputs(
        make_env(
            {
                "tls": "auto",
                "ports": "8080",
                "acme-email": "ops@example.com",
                "basic-auth": "reviewer",
                "basic-auth-password-secret": "preview-password",
            }
        )
    ).tls
    assert (parsed.tls, parsed.acme_directory, parsed.tls_proxy_image) == (
        "auto",
        tls.LETS_ENCRYPT,
        tls.DEFAULT_IMAGE,
    )
    assert tls.vault_names(parsed) == {tls.PASSWORD_KEY: "preview-password"}


def test_the_password_alone_may_be_sent_again_for_a_kept_proxy() -> None:
    parsed = parse_inputs(
        make_env({"basic-auth": "reviewer", "basic-auth-password-secret": "preview-password"})
    ).tls
    assert parsed.tls is None
    assert tls.vault_names(parsed) == {tls.PASSWORD_KEY: "preview-password"}
