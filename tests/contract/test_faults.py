"""Fault injection against the real SDKs' retry behaviour (no Docker).

Each scheduled fault is checked by what azure-core's `RetryPolicy` does with it: statuses it retries
(429, 503) are retried, honouring `Retry-After`; a dropped connection is retried as a transport
error; a delay shorter than the read timeout is only slow; a fault without a count never lets a
call through; and a fault touches only the method, host and path it names.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError
from azure.identity import ClientAssertionCredential
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets._shared import http_challenge_cache
from azure.mgmt.containerregistry import ContainerRegistryManagementClient

from localazure.server import Emulator, RequestRecord

pytestmark = pytest.mark.emulator

DEPLOYER = (
    "2d0e7c4a-9b1f-4c3e-8a5d-6f7e8d9c0b1a"  # Contributor on demo-rg, secrets user (seed.yaml)
)
RG = "demo-rg"
REGISTRY = "acractiondemo"
REGISTRY_PATH = r"/subscriptions/[^/]+/resourceGroups/demo-rg/providers/Microsoft\.ContainerRegistry/registries/acractiondemo"
VAULT = "acr-action-demo-kv"
SECRET = "acractiondemo-pull-usr"
SECRET_VALUE = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"


@pytest.fixture(autouse=True)
def _trust_emulator(azure_http: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azure_http.ca_path))


def credential(azure: Emulator) -> ClientAssertionCredential:
    return ClientAssertionCredential(
        azure.state.tenant_id,
        DEPLOYER,
        lambda: azure.services["oidc"].mint("octo-org/iris-api"),
        authority=azure.authority_url,
    )


@pytest.fixture
def acr_client(azure_http: Emulator) -> Iterator[ContainerRegistryManagementClient]:
    cred = credential(azure_http)
    # No backoff between retries without Retry-After: the tests are about what is retried.
    client = ContainerRegistryManagementClient(
        cred,
        azure_http.state.subscription_id,
        base_url=azure_http.arm_url,
        credential_scopes=[azure_http.arm_url + "/.default"],
        retry_backoff_factor=0,
    )
    with cred, client:
        client.registries.get(RG, REGISTRY)  # token acquired: later requests are ARM's only
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
def secrets(azure_http: Emulator, keep_challenge_cache: None) -> Iterator[SecretClient]:
    cred = credential(azure_http)
    client = SecretClient(azure_http.vault_url(VAULT), cred, retry_backoff_factor=0)
    with cred, client:
        yield client


def registry_gets(azure: Emulator, since: int) -> list[RequestRecord]:
    return [
        r
        for r in azure.requests[since:]
        if r.method == "GET" and r.path.lower().endswith(f"/registries/{REGISTRY}")
    ]


# --- statuses the retry policy retries -----------------------------------------------------------
def test_fail_twice_then_succeed(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    rule = azure_http.faults.add(
        method="GET", path=REGISTRY_PATH, status=503, headers={"Retry-After": "1"}, times=2
    )
    before = len(azure_http.requests)
    started = time.monotonic()

    registry = acr_client.registries.get(RG, REGISTRY)

    assert registry.login_server == azure_http.login_server(REGISTRY)
    assert [r.status for r in registry_gets(azure_http, before)] == [503, 503, 200]
    assert rule.hits == 2
    assert time.monotonic() - started >= 2  # Retry-After: 1, honoured twice


def test_spent_fault_lets_calls_through(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    rule = azure_http.faults.add(method="GET", path=REGISTRY_PATH, status=500, times=1)
    acr_client.registries.get(RG, REGISTRY)
    before = len(azure_http.requests)

    acr_client.registries.get(RG, REGISTRY)

    assert [r.status for r in registry_gets(azure_http, before)] == [200]
    assert rule.hits == 1


def test_key_vault_429_with_retry_after_is_retried(
    secrets: SecretClient, azure_http: Emulator
) -> None:
    rule = azure_http.faults.add(
        method="GET",
        host=rf"{VAULT}\.vault\..*",
        path=rf"/secrets/{SECRET}/?",
        status=429,
        headers={"Retry-After": "1"},
        body={
            "error": {
                "code": "Throttled",
                "message": "Request was not processed because too many requests were received.",
            }
        },
    )
    before = len(azure_http.requests)
    started = time.monotonic()

    secret = secrets.get_secret(SECRET)

    assert secret.value == SECRET_VALUE
    assert rule.hits == 1
    statuses = [r.status for r in azure_http.requests[before:] if SECRET in r.path]
    assert statuses[0] == 429
    assert statuses[-1] == 200
    assert time.monotonic() - started >= 1


def test_forever_fails_with_the_last_status(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    azure_http.faults.add(method="GET", path=REGISTRY_PATH, status=503, times=None)
    before = len(azure_http.requests)

    with pytest.raises(HttpResponseError) as caught:
        acr_client.registries.get(RG, REGISTRY, retry_total=2)

    assert caught.value.status_code == 503
    assert caught.value.error is not None
    assert caught.value.error.code == "InjectedFault"
    assert [r.status for r in registry_gets(azure_http, before)] == [503, 503, 503]


def test_custom_status_and_body_reach_the_caller(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    body = {"error": {"code": "Conflict", "message": "Another operation is in progress."}}
    azure_http.faults.add(method="GET", path=REGISTRY_PATH, status=409, body=body)

    with pytest.raises(HttpResponseError) as caught:
        acr_client.registries.get(RG, REGISTRY)  # 409 is not retried

    assert caught.value.status_code == 409
    assert caught.value.error is not None
    assert caught.value.error.code == "Conflict"
    assert caught.value.error.message == "Another operation is in progress."


# --- transport faults ----------------------------------------------------------------------------
def test_dropped_connection_is_retried(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    rule = azure_http.faults.add(method="GET", path=REGISTRY_PATH, drop=True)
    before = len(azure_http.requests)

    registry = acr_client.registries.get(RG, REGISTRY)

    assert registry.name == REGISTRY
    assert rule.hits == 1
    # A dropped request has no answer, so no record: only the retry's.
    assert [r.status for r in registry_gets(azure_http, before)] == [200]


def test_delay_within_the_read_timeout_succeeds(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    rule = azure_http.faults.add(method="GET", path=REGISTRY_PATH, delay=0.5)
    before = len(azure_http.requests)

    registry = acr_client.registries.get(RG, REGISTRY, read_timeout=5, retry_total=0)

    assert registry.name == REGISTRY
    assert rule.hits == 1
    [record] = registry_gets(azure_http, before)
    assert record.status == 200
    assert record.seconds >= 0.5


def test_delay_beyond_the_read_timeout_times_out(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    azure_http.faults.add(method="GET", path=REGISTRY_PATH, delay=1.0)

    with pytest.raises(ServiceResponseError):
        acr_client.registries.get(RG, REGISTRY, read_timeout=0.3, retry_total=0)
    time.sleep(1.0)  # let the stalled handler finish before the next test counts requests


# --- matching ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "rule",
    [
        pytest.param({"method": "PUT", "path": REGISTRY_PATH}, id="other-method"),
        pytest.param({"method": "GET", "path": REGISTRY_PATH + "x"}, id="other-path"),
        pytest.param({"method": "GET", "path": r".*/registries"}, id="prefix-only"),
        pytest.param({"method": "GET", "host": r".*\.vault\..*"}, id="other-host"),
    ],
)
def test_faults_match_only_their_method_host_and_path(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator, rule: dict[str, Any]
) -> None:
    scheduled = azure_http.faults.add(status=500, times=None, **rule)

    registry = acr_client.registries.get(RG, REGISTRY, retry_total=0)

    assert registry.name == REGISTRY
    assert scheduled.hits == 0


def test_method_matching_ignores_case(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    rule = azure_http.faults.add(method="get", path=REGISTRY_PATH, status=503, times=1)

    acr_client.registries.get(RG, REGISTRY)

    assert rule.hits == 1


def test_rules_are_consumed_in_order(
    acr_client: ContainerRegistryManagementClient, azure_http: Emulator
) -> None:
    first = azure_http.faults.add(method="GET", path=REGISTRY_PATH, status=503, times=1)
    second = azure_http.faults.add(method="GET", path=REGISTRY_PATH, status=500, times=1)
    before = len(azure_http.requests)

    acr_client.registries.get(RG, REGISTRY)

    assert [r.status for r in registry_gets(azure_http, before)] == [503, 500, 200]
    assert (first.hits, second.hits) == (1, 1)
