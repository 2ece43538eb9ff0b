# mypy: disable-error-code="union-attr"
# (the SDK types every model field Optional; these tests read fields they just set)
"""Probes, priority, Log Analytics and per-port protocols: parsing, validation and the spec."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from azure.mgmt.containerinstance.models import ContainerGroup

from acr_action import probes
from acr_action.errors import InputError
from acr_action.inputs import parse_inputs
from acr_action.loganalytics import Workspace
from acr_action.spec import GroupSpec, diff, port_protocols, resolve, to_model
from tests.unit.support import make_env

SPEC = GroupSpec(
    name="app", location="westus", image_ref="r.azurecr.io/app:1", cpu=1, memory=1, ports=(80,)
)


@pytest.mark.parametrize(
    ("text", "probe"),
    [
        pytest.param(
            "http-get /healthz port=8080 initial-delay=5 period=10 failure-threshold=3",
            probes.Probe(
                path="/healthz",
                port=8080,
                initial_delay_seconds=5,
                period_seconds=10,
                failure_threshold=3,
            ),
            id="http-get",
        ),
        pytest.param("http-get", probes.Probe(path="/"), id="http-get-default-path"),
        pytest.param(
            "exec cat /tmp/ready period=5",
            probes.Probe(command=("cat", "/tmp/ready"), period_seconds=5),
            id="exec-words",
        ),
        pytest.param(
            'exec ["sh", "-c", "test -f /x"] timeout=2',
            probes.Probe(command=("sh", "-c", "test -f /x"), timeout_seconds=2),
            id="exec-json",
        ),
        pytest.param("none", probes.REMOVE, id="none"),
    ],
)
def test_probe_syntax(text: str, probe: probes.Probe) -> None:
    assert probes.parse("readiness", text) == (probe, [])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param("tcp-socket 80", "must start with", id="tcp-not-in-aci"),
        pytest.param("exec", "needs a command", id="exec-without-command"),
        pytest.param("http-get / period=0", "from 1 to", id="period-zero"),
        pytest.param("http-get / port=70000", "1 to 65535", id="port-range"),
        pytest.param("exec true port=80", "http-get only", id="port-on-exec"),
        pytest.param("http-get / success-threshold=2", "must be 1", id="liveness-success"),
        pytest.param("http-get / every=3", "not an option", id="unknown-option"),
    ],
)
def test_probe_mistakes_are_named(text: str, says: str) -> None:
    probe, problems = probes.parse("liveness", text)
    assert probe is None
    assert any(says in problem for problem in problems), problems


def test_inputs_carry_probes_priority_workspace_and_port_protocols() -> None:
    workspace = (
        "/subscriptions/2b9e2a5e-6c0c-4b8f-9f43-2f1c0a0c1a11/resourceGroups/mon/providers"
        "/Microsoft.OperationalInsights/workspaces/app-logs"
    )
    inputs = parse_inputs(
        make_env(
            {
                "liveness-probe": "exec true",
                "ports": "80, 53/udp",
                "priority": "regular",
                "log-analytics-workspace": workspace,
            }
        )
    )
    assert inputs.container.liveness_probe == probes.Probe(command=("true",))
    assert inputs.container.readiness_probe is None
    assert inputs.container.ports == (80, 53)
    assert inputs.container.port_protocols == ((53, "UDP"),)
    assert inputs.container.priority == "Regular"
    assert inputs.container.log_analytics_workspace == workspace


@pytest.mark.parametrize(
    ("extra", "name"),
    [
        pytest.param({"ports": "80/sctp"}, "ports", id="unknown-protocol"),
        pytest.param({"ports": "53/udp 53/tcp"}, "ports", id="one-port-two-protocols"),
        pytest.param(
            {"priority": "Spot", "dns-name-label": "my-app-1234"},
            "dns-name-label",
            id="spot-has-no-dns-name",
        ),
        pytest.param({"priority": "Low"}, "priority", id="priority-choice"),
        pytest.param(
            {"log-analytics-workspace": "app-logs"}, "log-analytics-workspace", id="not-an-id"
        ),
        pytest.param({"readiness-probe": "ping"}, "readiness-probe", id="probe-kind"),
    ],
)
def test_bad_values_are_refused_before_any_call(extra: dict[str, str], name: str) -> None:
    with pytest.raises(InputError) as info:
        parse_inputs(make_env(extra))
    assert name in {problem.input for problem in info.value.problems}


def test_per_port_protocols_reach_the_model_and_survive_a_deploy_without_ports() -> None:
    spec = replace(SPEC, ports=(80, 53), port_protocols=((53, "UDP"),))
    group = to_model(spec)
    assert [(p.port, p.protocol) for p in group.ip_address.ports] == [(80, "TCP"), (53, "UDP")]
    assert [(p.port, p.protocol) for p in group.containers[0].ports] == [(80, "TCP"), (53, "UDP")]
    existing = ContainerGroup.deserialize(group.serialize())
    later = resolve(replace(SPEC, unset=frozenset({"ports", "protocol"})), existing)
    assert port_protocols(later) == ((80, "TCP"), (53, "UDP"))
    assert diff(existing, replace(SPEC, unset=frozenset({"ports", "protocol"}))).changed[:1] != (
        "ports",
    )


def test_spot_gets_no_ip_address_and_keeps_it_so() -> None:
    group = to_model(replace(SPEC, priority="Spot", dns_name_label="app-12345"))
    assert group.priority == "Spot"
    assert group.ip_address is None
    existing = ContainerGroup.deserialize(group.serialize())
    assert to_model(SPEC, existing).ip_address is None  # priority not given: still Spot


def test_probes_and_workspace_in_the_model_and_kept_when_not_given() -> None:
    spec = replace(
        SPEC,
        liveness_probe=probes.Probe(path="/healthz"),
        readiness_probe=probes.Probe(command=("cat", "/tmp/ready")),
        log_analytics=Workspace("customer-id", "the-key"),
    )
    group = to_model(spec)
    ours = group.containers[0]
    assert (ours.liveness_probe.http_get.path, ours.liveness_probe.http_get.port) == (
        "/healthz",
        80,
    )
    assert ours.readiness_probe.exec_property.command == ["cat", "/tmp/ready"]
    assert group.diagnostics.log_analytics.workspace_key == "the-key"
    existing = ContainerGroup.deserialize(group.serialize())
    kept = to_model(SPEC, existing)
    assert kept.containers[0].liveness_probe.http_get.path == "/healthz"
    assert kept.diagnostics.log_analytics.workspace_id == "customer-id"
    removed = to_model(replace(SPEC, liveness_probe=probes.REMOVE), existing)
    assert removed.containers[0].liveness_probe is None
    changed = diff(existing, replace(spec, liveness_probe=probes.Probe(path="/other")))
    assert "liveness probe" in changed.changed


def _answer(status: int, body: object) -> Any:
    import json as json_module

    import requests

    answer = requests.Response()
    answer.status_code = status
    answer._content = json_module.dumps(body).encode()
    return answer


def test_the_workspace_key_is_masked_as_it_arrives(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    from acr_action import loganalytics

    calls: list[tuple[str, str]] = []
    masked: list[str] = []

    def request(method: str, url: str, **kwargs: Any) -> Any:
        calls.append((method, url.split("?")[0]))
        if url.split("?")[0].endswith("/sharedKeys"):
            assert not masked  # nothing printed it before: the mask comes with the answer
            return _answer(200, {"primarySharedKey": "k1==", "secondarySharedKey": "k2=="})
        return _answer(200, {"properties": {"customerId": "cid"}})

    monkeypatch.setattr(requests, "request", request)
    resource = (
        "/subscriptions/s/resourceGroups/mon/providers/Microsoft.OperationalInsights/workspaces/w"
    )
    found = loganalytics.read_workspace("token", "https://arm", resource, masked.append)

    assert found == loganalytics.Workspace("cid", "k1==", resource)
    assert "k1==" not in repr(found)
    assert masked == ["k1==", "k2=="]
    assert calls == [
        ("GET", "https://arm" + resource),
        ("POST", "https://arm" + resource + "/sharedKeys"),
    ]


def test_a_refused_key_read_names_the_role(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    from acr_action import loganalytics
    from acr_action.errors import ActionError

    refusal = {
        "error": {
            "code": "AuthorizationFailed",
            "message": "The client 'c' with object id 'o' does not have authorization to perform"
            " action 'Microsoft.OperationalInsights/workspaces/sharedKeys/action' over scope"
            " '/subscriptions/s/resourceGroups/mon/providers/Microsoft.OperationalInsights"
            "/workspaces/w' or the scope is invalid.",
        }
    }
    monkeypatch.setattr(
        requests,
        "request",
        lambda method, url, **kwargs: _answer(
            403 if method == "POST" else 200,
            refusal if method == "POST" else {"properties": {"customerId": "c"}},
        ),
    )
    with pytest.raises(ActionError) as info:
        loganalytics.read_workspace(
            "t",
            "https://arm",
            "/subscriptions/s/resourceGroups/mon/providers/Microsoft.OperationalInsights/workspaces/w",
            lambda _: None,
        )
    assert "sharedKeys/action" in info.value.title + info.value.details
