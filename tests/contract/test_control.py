"""The emulator's control API (`/_emulator/` on the ARM host) over HTTPS, as another process uses it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.identity import ClientAssertionCredential
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets._shared import http_challenge_cache

from localazure.auth import issue_access_token
from localazure.control import (
    CA_VARIABLE,
    TOKEN_HEADER,
    TOKEN_VARIABLE,
    URL_VARIABLE,
    ControlClient,
    ControlError,
    control_env,
)
from localazure.server import Emulator

pytestmark = pytest.mark.emulator

DEPLOYER = "2d0e7c4a-9b1f-4c3e-8a5d-6f7e8d9c0b1a"  # Contributor on demo-rg (seed.yaml)
RG = "demo-rg"
REGISTRY = "acractiondemo"
VAULT = "acr-action-demo-kv"
ROUTES = [
    ("POST", "/faults"),
    ("GET", "/faults"),
    ("DELETE", "/faults"),
    ("POST", "/events"),
    ("GET", "/requests"),
    ("POST", "/roles"),
    ("DELETE", "/roles"),
    ("POST", "/secrets"),
]


@pytest.fixture
def control(azure_http: Emulator) -> Iterator[ControlClient]:
    with ControlClient.from_env(control_env(azure_http)) as client:
        yield client


@pytest.fixture
def keep_challenge_cache() -> Iterator[None]:
    """Leave Key Vault's process-wide challenge cache as it was: other tests count the 401 challenge."""
    saved = dict(http_challenge_cache._cache)
    yield
    with http_challenge_cache._lock:
        http_challenge_cache._cache.clear()
        http_challenge_cache._cache.update(saved)


@pytest.fixture
def restore_state(azure_http: Emulator) -> Iterator[None]:
    """Leave the session's role assignments and secrets as they were."""
    state = azure_http.state
    with state.lock:
        roles = list(state.role_assignments)
        secrets = copy.deepcopy(state.vaults[VAULT].secrets)
    yield
    with state.lock:
        state.role_assignments = roles
        state.vaults[VAULT].secrets = secrets


def url(azure: Emulator, path: str) -> str:
    return f"{azure.arm_url}/_emulator{path}"


def registry_path(azure: Emulator) -> str:
    return (
        f"/subscriptions/{azure.state.subscription_id}/resourceGroups/{RG}"
        f"/providers/Microsoft.ContainerRegistry/registries/{REGISTRY}"
    )


def get_registry(azure: Emulator) -> requests.Response:
    app = azure.state.app(DEPLOYER)
    assert app is not None
    token, _ = issue_access_token(azure, app, azure.arm_url + "/")
    return requests.get(
        azure.arm_url + registry_path(azure),
        params={"api-version": "2023-07-01"},
        headers={"Authorization": f"Bearer {token}"},
        verify=str(azure.ca_path),
        timeout=30,
    )


# --- the token -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("token", [None, "wrong"], ids=["no-token", "wrong-token"])
def test_token_required(azure_http: Emulator, method: str, path: str, token: str | None) -> None:
    headers = {TOKEN_HEADER: token} if token else {}
    response = requests.request(
        method,
        url(azure_http, path),
        json={},
        headers=headers,
        verify=str(azure_http.ca_path),
        timeout=30,
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"
    assert azure_http.faults.take("GET", "x", "/") is None  # nothing was scheduled


def test_control_env_names_url_token_and_ca(azure_http: Emulator) -> None:
    env = control_env(azure_http)

    assert env[URL_VARIABLE] == f"{azure_http.arm_url}/_emulator"
    assert env[TOKEN_VARIABLE] == azure_http.control_token
    assert len(azure_http.control_token) >= 32
    assert env[CA_VARIABLE] == str(azure_http.ca_path)


# --- faults and events ---------------------------------------------------------------------------
def test_fault_round_trip(azure_http: Emulator, control: ControlClient) -> None:
    created = control.add_fault(
        method="GET",
        path=r".*/registries/acractiondemo",
        status=503,
        headers={"Retry-After": "1"},
        times=1,
    )
    assert created["id"]
    assert (created["status"], created["times"], created["hits"]) == (503, 1, 0)

    failed = get_registry(azure_http)
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "1"
    assert failed.json()["error"]["code"] == "InjectedFault"
    assert get_registry(azure_http).status_code == 200  # times=1: spent

    [listed] = control.faults()
    assert (listed["id"], listed["hits"]) == (created["id"], 1)


def test_clear_removes_every_fault(azure_http: Emulator, control: ControlClient) -> None:
    control.add_fault(status=500, times=None)  # every request, forever (but not the control API)
    azure_http.faults.add(path=".*", status=502)  # added in-process: cleared too
    assert get_registry(azure_http).status_code == 500

    control.clear_faults()

    assert control.faults() == []
    assert get_registry(azure_http).status_code == 200


def test_event_is_taken_by_services(azure_http: Emulator, control: ControlClient) -> None:
    created = control.add_event("crash", name="web-app", settings={"exit_code": 5})
    assert created["kind"] == "crash"

    assert azure_http.faults.take_event("crash", settings=("exit_code",), name="other") is None
    event = azure_http.faults.take_event("crash", settings=("exit_code",), name="web-app")
    assert event is not None
    assert event.attrs == {"name": "web-app", "exit_code": 5}
    assert azure_http.faults.take_event("crash", settings=("exit_code",), name="web-app") is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"status": 503, "colour": "red"}, id="unknown-field"),
        pytest.param({"status": 503, "path": "(unclosed"}, id="bad-regex"),
        pytest.param({"status": "503"}, id="status-string"),
        pytest.param({"status": 99}, id="status-range"),
        pytest.param({"status": 503, "times": 0}, id="times-zero"),
        pytest.param({"status": 503, "headers": {"Retry-After": 1}}, id="header-number"),
        pytest.param({"delay": -1}, id="negative-delay"),
        pytest.param({"method": "GET"}, id="no-effect"),
        pytest.param([], id="not-an-object"),
    ],
)
def test_invalid_fault_is_400(azure_http: Emulator, body: Any) -> None:
    response = requests.post(
        url(azure_http, "/faults"),
        json=body,
        headers={TOKEN_HEADER: azure_http.control_token},
        verify=str(azure_http.ca_path),
        timeout=30,
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
    assert azure_http.faults.take("GET", "x", "/") is None


def test_invalid_event_is_400(control: ControlClient) -> None:
    with pytest.raises(ControlError, match="400"):
        control.add_event("")
    with pytest.raises(ControlError, match="both as attrs and as settings"):
        control.add_event("crash", name="a", settings={"name": "b"})


# --- request records -----------------------------------------------------------------------------
def test_request_records(azure_http: Emulator, control: ControlClient) -> None:
    since = len(azure_http.requests)
    get_registry(azure_http)
    requests.get(
        azure_http.arm_url + "/metadata/endpoints",
        params={"api-version": "2022-09-01"},
        verify=str(azure_http.ca_path),
        timeout=30,
    )

    everything = control.requests(since=since)
    registries = control.requests("get", "/registries/", since=since)

    assert [r["path"] for r in everything] == [registry_path(azure_http), "/metadata/endpoints"]
    [record] = registries
    assert record["method"] == "GET"
    assert record["host"] == "management.azure.localhost"
    assert record["status"] == 200
    assert record["query"] == "api-version=2023-07-01"
    assert record["index"] == since
    assert control.requests("POST", since=since) == []
    assert not any("/_emulator/" in r["path"] for r in control.requests())  # not recorded


# --- scenario set-up -----------------------------------------------------------------------------
@pytest.mark.usefixtures("restore_state")
def test_role_revoke_and_grant_change_arm_answers(
    azure_http: Emulator, control: ControlClient
) -> None:
    rg_scope = azure_http.state.rg_scope(RG)
    assert get_registry(azure_http).status_code == 200

    assert control.revoke(DEPLOYER, "Contributor", rg_scope) == 1
    refused = get_registry(azure_http)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "AuthorizationFailed"

    control.grant(DEPLOYER, "Reader", registry_path(azure_http))
    assert get_registry(azure_http).status_code == 200

    assert control.revoke(DEPLOYER, "Reader") == 1
    assert get_registry(azure_http).status_code == 403


@pytest.mark.usefixtures("restore_state")
def test_revoke_matches_scope(azure_http: Emulator, control: ControlClient) -> None:
    assert control.revoke(DEPLOYER, "Contributor", "/subscriptions/other") == 0
    assert get_registry(azure_http).status_code == 200


def test_unknown_role_is_400(azure_http: Emulator, control: ControlClient) -> None:
    with pytest.raises(ControlError, match="unknown role"):
        control.grant(DEPLOYER, "Supreme Leader", azure_http.state.rg_scope(RG))


@pytest.mark.usefixtures("restore_state", "keep_challenge_cache")
def test_secret_set_up(azure_http: Emulator, control: ControlClient) -> None:
    created = control.set_secret(VAULT, "app-token", "s3cret")

    versions = azure_http.state.vaults[VAULT].secrets["app-token"]
    assert [v.value for v in versions] == ["s3cret"]
    assert created == {"vault": VAULT, "name": "app-token", "version": versions[0].version}

    control.set_secret(VAULT, "APP-TOKEN", "rotated")  # names are case-insensitive in Key Vault
    assert [v.value for v in versions] == ["s3cret", "rotated"]
    credential = ClientAssertionCredential(
        azure_http.state.tenant_id,
        DEPLOYER,
        lambda: azure_http.services["oidc"].mint("octo-org/iris-api"),
        authority=azure_http.authority_url,
        connection_verify=str(azure_http.ca_path),
    )
    client = SecretClient(
        azure_http.vault_url(VAULT), credential, connection_verify=str(azure_http.ca_path)
    )
    with credential, client:
        assert client.get_secret("app-token").value == "rotated"


def test_secret_in_missing_vault_is_404(control: ControlClient) -> None:
    with pytest.raises(ControlError, match="404"):
        control.set_secret("no-such-kv", "a", "b")


def test_settings_change_the_tenant_delays(azure_http: Emulator, control: ControlClient) -> None:
    try:
        changed = control.settings(role_assignment_propagation_seconds=3)
        assert changed["role_assignment_propagation_seconds"] == 3.0
        assert azure_http.state.settings.role_assignment_propagation_seconds == 3.0
        with pytest.raises(ControlError, match="unknown fields"):
            control.settings(no_such_delay=1)
    finally:
        control.settings(role_assignment_propagation_seconds=0)
