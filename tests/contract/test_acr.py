"""Contract tests of the ACR data plane: token exchange, token grants, and the Docker daemon through `/v2/`.

Shapes, codes and messages are those of PROTOCOL.md §4 and the recordings beside it. The Docker
tests drive the real daemon with docker-py: `docker login` as the null GUID with an ACR refresh
token, push, pull with a service principal, and a pull-only principal's refused push.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import jwt
import pytest
import requests

from localazure.auth import issue_access_token
from localazure.server import Emulator
from localazure.state import App

pytestmark = pytest.mark.emulator

REGISTRY = "acractiondemo"
DEPLOYER = "2d0e7c4a-9b1f-4c3e-8a5d-6f7e8d9c0b1a"  # AcrPush on the registry, Contributor on its group (seed.yaml)
PULLER = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"  # AcrPull on the registry (seed.yaml)
PULLER_SECRET = "Xq8~pullPrincipalSecret.Local-0001"
NULL_GUID = "00000000-0000-0000-0000-000000000000"
JSON = "application/json; charset=utf-8"
# PROTOCOL.md §4: ACR's answer to missing or wrong credentials.
UNAUTHORIZED_BODY = {
    "errors": [
        {
            "code": "UNAUTHORIZED",
            "message": "authentication required, visit https://aka.ms/acr/authorization for more information.",
        }
    ]
}
SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"


# --- helpers -----------------------------------------------------------------------------------
def app(azure: Emulator, client_id: str) -> App:
    found = azure.state.app(client_id)
    assert found is not None
    return found


def login_server(azure: Emulator) -> str:
    return azure.login_server(REGISTRY)


def post(azure: Emulator, path: str, data: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"https://{login_server(azure)}{path}", data=data, verify=str(azure.ca_path), timeout=30
    )


def get(azure: Emulator, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(
        f"https://{login_server(azure)}{path}", verify=str(azure.ca_path), timeout=30, **kwargs
    )


def claims(token: str) -> dict[str, Any]:
    """A JWT's claims (the signature is the registry's business; it is checked in the Docker tests)."""
    return jwt.decode(token, options={"verify_signature": False})


def entra_arm_token(azure: Emulator, client_id: str) -> str:
    # An ARM-audience Entra token as ClientAssertionCredential would get it from the identity
    # service; minted directly so these tests don't depend on the OIDC + Entra services.
    token, _ = issue_access_token(azure, app(azure, client_id), azure.arm_url + "/")
    return token


def refresh_token(azure: Emulator, client_id: str) -> str:
    answer = post(
        azure,
        "/oauth2/exchange",
        {
            "grant_type": "access_token",
            "service": login_server(azure),
            "access_token": entra_arm_token(azure, client_id),
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["refresh_token"])


def basic(username: str, password: str) -> dict[str, str]:
    return {
        "Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    }


# --- exchange ------------------------------------------------------------------------------
def test_exchange_gives_an_acr_refresh_token(azure: Emulator) -> None:
    deployer = app(azure, DEPLOYER)
    answer = post(
        azure,
        "/oauth2/exchange",
        {
            "grant_type": "access_token",
            "service": login_server(azure),
            "tenant": azure.state.tenant_id,
            "access_token": entra_arm_token(azure, DEPLOYER),
        },
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == JSON
    assert list(answer.json()) == ["refresh_token"]
    token = claims(answer.json()["refresh_token"])
    assert token["iss"] == "Azure Container Registry"
    assert token["aud"] == login_server(azure)
    assert token["grant_type"] == "refresh_token"
    assert token["sub"] == deployer.object_id
    assert token["tenant"] == azure.state.tenant_id
    assert token["version"] == "1.0"
    assert token["permissions"]["actions"] == [
        "read",
        "write",
        "delete",
    ]  # AcrPush, and Contributor on the group
    assert token["nbf"] <= token["iat"] < token["exp"]
    assert token["jti"]


def test_exchange_get_is_not_found(azure: Emulator) -> None:
    # Only POST exists; Azure answers a GET with 404 (Azure/acr#166).
    assert get(azure, "/oauth2/exchange").status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("access_token", "not-a-jwt", id="garbage-token"),
        pytest.param("access_token", "vault-audience", id="token-for-key-vault"),
        pytest.param("tenant", "11111111-2222-3333-4444-555555555555", id="other-tenant"),
        pytest.param("service", "other.azurecr.io", id="other-service"),
    ],
)
def test_exchange_refuses(azure: Emulator, field: str, value: str) -> None:
    form = {
        "grant_type": "access_token",
        "service": login_server(azure),
        "access_token": entra_arm_token(azure, DEPLOYER),
    }
    if value == "vault-audience":
        value, _ = issue_access_token(azure, app(azure, DEPLOYER), azure.vault_resource)
    form[field] = value
    answer = post(azure, "/oauth2/exchange", form)
    assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED_BODY)


# --- refresh-token grant -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("principal", "scopes", "access"),
    [
        pytest.param(
            DEPLOYER,
            ["repository:app:pull,push"],
            [{"type": "repository", "name": "app", "actions": ["pull", "push"]}],
            id="acrpush-pull-and-push",
        ),
        pytest.param(
            PULLER,
            ["repository:app:pull,push"],
            [{"type": "repository", "name": "app", "actions": ["pull"]}],
            id="acrpull-push-left-out",
        ),
        pytest.param(PULLER, ["repository:app:push"], [], id="acrpull-push-only-gets-nothing"),
        pytest.param(
            PULLER,
            ["repository:app:metadata_read"],
            [{"type": "repository", "name": "app", "actions": ["metadata_read"]}],
            id="acrpull-metadata-read",
        ),
        pytest.param(
            PULLER,
            ["registry:catalog:*"],
            [{"type": "registry", "name": "catalog", "actions": ["*"]}],
            id="acrpull-catalog",
        ),
        pytest.param(
            DEPLOYER,
            ["repository:app:*"],
            [{"type": "repository", "name": "app", "actions": ["*"]}],
            id="contributor-star",
        ),
        pytest.param(
            PULLER,
            ["repository:app:*"],
            [{"type": "repository", "name": "app", "actions": ["pull"]}],
            id="acrpull-star-is-what-it-may",
        ),
        pytest.param(
            DEPLOYER,
            ["repository:a/b:pull", "repository:c:pull,push"],
            [
                {"type": "repository", "name": "a/b", "actions": ["pull"]},
                {"type": "repository", "name": "c", "actions": ["pull", "push"]},
            ],
            id="repeated-scopes",
        ),
        pytest.param(
            DEPLOYER,
            ["repository:a:pull repository:b:pull"],
            [
                {"type": "repository", "name": "a", "actions": ["pull"]},
                {"type": "repository", "name": "b", "actions": ["pull"]},
            ],
            id="space-separated-scopes",
        ),
    ],
)
def test_refresh_grant_access_follows_roles(
    azure: Emulator, principal: str, scopes: list[str], access: list[dict[str, Any]]
) -> None:
    token = azure.services["acr"].mint_refresh_token(app(azure, principal), REGISTRY)
    answer = post(
        azure,
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "service": login_server(azure),
            "scope": scopes,
            "refresh_token": token,
        },
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == JSON
    assert list(answer.json()) == ["access_token"]
    granted = claims(answer.json()["access_token"])
    assert granted["access"] == access
    assert (granted["iss"], granted["aud"], granted["version"]) == (
        "Azure Container Registry",
        login_server(azure),
        "2.0",
    )
    assert granted["sub"] == app(azure, principal).object_id


def test_refresh_grant_from_exchanged_token(azure: Emulator) -> None:
    answer = post(
        azure,
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "service": login_server(azure),
            "scope": "repository:hello-world:metadata_read",
            "refresh_token": refresh_token(azure, DEPLOYER),
        },
    )
    assert answer.status_code == 200
    assert claims(answer.json()["access_token"])["access"] == [
        {"type": "repository", "name": "hello-world", "actions": ["metadata_read"]}
    ]


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("garbage", id="garbage"),
        pytest.param("entra-token", id="entra-token-instead-of-acr-token"),
    ],
)
def test_refresh_grant_refuses(azure: Emulator, token: str) -> None:
    if token == "entra-token":
        token = entra_arm_token(azure, DEPLOYER)
    answer = post(
        azure,
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "service": login_server(azure),
            "scope": "repository:app:pull",
            "refresh_token": token,
        },
    )
    assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED_BODY)


# --- Basic grant -----------------------------------------------------------------------------
def test_basic_grant_for_a_service_principal(azure: Emulator) -> None:
    answer = get(
        azure,
        "/oauth2/token",
        params={
            "service": login_server(azure),
            "scope": "repository:app:pull,push",
            "account": PULLER,
        },
        headers=basic(PULLER, PULLER_SECRET),
    )
    assert answer.status_code == 200
    assert list(answer.json()) == ["access_token"]
    assert claims(answer.json()["access_token"])["access"] == [
        {"type": "repository", "name": "app", "actions": ["pull"]}
    ]


def test_basic_grant_for_the_null_guid_returns_the_refresh_token(azure: Emulator) -> None:
    token = refresh_token(azure, DEPLOYER)
    # What the daemon sends at `docker login` (PROTOCOL.md §4): no scope, offline_token=true.
    answer = get(
        azure,
        "/oauth2/token",
        params={
            "account": NULL_GUID,
            "client_id": "docker",
            "offline_token": "true",
            "service": login_server(azure),
        },
        headers=basic(NULL_GUID, token),
    )
    assert answer.status_code == 200
    assert answer.json()["refresh_token"] == token
    assert claims(answer.json()["access_token"])["access"] == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(basic(PULLER, "wrong-secret"), id="service-principal-wrong-secret"),
        pytest.param(basic(NULL_GUID, "not-a-refresh-token"), id="null-guid-garbage-token"),
        pytest.param(basic(str(uuid.UUID(int=7)), PULLER_SECRET), id="unknown-user"),
        pytest.param(basic(DEPLOYER, ""), id="principal-without-secret"),
        pytest.param({}, id="no-credentials"),
    ],
)
def test_basic_grant_refuses_wrong_credentials(azure: Emulator, headers: dict[str, str]) -> None:
    answer = get(
        azure,
        "/oauth2/token",
        params={"service": login_server(azure), "scope": "repository:app:pull"},
        headers=headers,
    )
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == JSON
    assert answer.json() == UNAUTHORIZED_BODY


# --- /v2/ through the login server -----------------------------------------------------------
@pytest.mark.docker
def test_v2_ping_without_credentials_is_challenged(azure: Emulator) -> None:
    answer = get(azure, "/v2/")
    assert answer.status_code == 401
    assert answer.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    server = login_server(azure)
    # The ping's challenge has realm and service only (Docker token spec; PROTOCOL.md §4).
    assert (
        answer.headers["WWW-Authenticate"]
        == f'Bearer realm="https://{server}/oauth2/token",service="{server}"'
    )
    assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert answer.json()["errors"][0]["message"] == UNAUTHORIZED_BODY["errors"][0]["message"]


@pytest.mark.docker
def test_v2_repository_challenge_names_the_scope(azure: Emulator) -> None:
    answer = get(azure, "/v2/library/alpine/tags/list")
    server = login_server(azure)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == (
        f'Bearer realm="https://{server}/oauth2/token",service="{server}",scope="repository:library/alpine:pull"'
    )
    assert answer.json() == {
        "errors": [
            {
                "code": "UNAUTHORIZED",
                "message": UNAUTHORIZED_BODY["errors"][0]["message"],
                "detail": [{"Type": "repository", "Name": "library/alpine", "Action": "pull"}],
            }
        ]
    }


# --- the Docker daemon -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def docker_api(docker_engine: Any) -> Iterator[Any]:
    """A docker-py client of our own: `login()` keeps credentials in the client, not the daemon."""
    client = docker.from_env(timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="module")
def busybox(docker_api: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A tiny local image (`FROM scratch` + the host's static busybox); its tag."""
    busybox_binary = Path("/bin/busybox")
    if not busybox_binary.is_file():
        pytest.fail("/bin/busybox is missing; install busybox-static", pytrace=False)
    context = tmp_path_factory.mktemp("busybox-image")
    shutil.copyfile(busybox_binary, context / "busybox")
    (context / "Dockerfile").write_text(
        "FROM scratch\nCOPY busybox /bin/busybox\n", encoding="utf-8"
    )
    tag = f"acr-contract-busybox:{uuid.uuid4().hex[:8]}"
    docker_api.images.build(path=str(context), tag=tag, rm=True, forcerm=True)
    yield tag
    docker_api.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def pushed(azure: Emulator, docker_api: Any, busybox: str) -> Iterator[dict[str, str]]:
    """`docker login` as the null GUID with the deployer's refresh token, then push; the push's facts."""
    server = login_server(azure)
    token = refresh_token(azure, DEPLOYER)
    login = docker_api.login(username=NULL_GUID, password=token, registry=server, reauth=True)
    repository = f"{server}/contract/busybox-{uuid.uuid4().hex[:8]}"
    docker_api.images.get(busybox).tag(repository, "v1")
    try:
        events = list(docker_api.images.push(repository, "v1", stream=True, decode=True))
        errors = [e for e in events if "error" in e]
        assert not errors, errors
        digest = next(e["aux"]["Digest"] for e in events if "aux" in e)
        yield {"repository": repository, "digest": digest, "login_status": login.get("Status", "")}
    finally:
        with contextlib.suppress(
            docker.errors.ImageNotFound
        ):  # a failed pull test may have removed it
            docker_api.images.remove(f"{repository}:v1", force=True)


@pytest.mark.docker
def test_docker_login_as_null_guid_and_push(pushed: dict[str, str]) -> None:
    assert pushed["login_status"] == "Login Succeeded"
    assert pushed["digest"].startswith("sha256:")


@pytest.mark.docker
def test_docker_pull_with_service_principal_credentials(
    azure: Emulator, docker_api: Any, pushed: dict[str, str]
) -> None:
    repository = pushed["repository"]
    docker_api.images.remove(f"{repository}:v1", force=True)
    image = docker_api.images.pull(
        repository, "v1", auth_config={"username": PULLER, "password": PULLER_SECRET}
    )
    assert f"{repository}@{pushed['digest']}" in image.attrs["RepoDigests"]
    assert azure.count("GET", "/oauth2/token") > 0


@pytest.mark.docker
def test_docker_push_by_pull_only_principal_is_denied(
    docker_api: Any, busybox: str, pushed: dict[str, str]
) -> None:
    repository = pushed["repository"]
    docker_api.images.get(busybox).tag(repository, "pull-only")
    try:
        events = list(
            docker_api.images.push(
                repository,
                "pull-only",
                stream=True,
                decode=True,
                auth_config={"username": PULLER, "password": PULLER_SECRET},
            )
        )
    finally:
        docker_api.images.remove(f"{repository}:pull-only", force=True)
    errors = [e["error"] for e in events if "error" in e]
    # The daemon's wording around the registry's own 401 (reworded by ACR, PROTOCOL.md §4).
    assert errors == [
        "errors:\ndenied: requested access to the resource is denied\n"
        "unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information.\n"
    ]


@pytest.mark.docker
def test_manifest_head_returns_the_pushed_digest(azure: Emulator, pushed: dict[str, str]) -> None:
    server = login_server(azure)
    name = pushed["repository"].removeprefix(server + "/")
    token = azure.services["acr"].mint_access_token(
        app(azure, PULLER), REGISTRY, [f"repository:{name}:pull"]
    )
    answer = requests.head(
        f"https://{server}/v2/{name}/manifests/v1",
        headers={"Authorization": f"Bearer {token}", "Accept": SCHEMA2},
        verify=str(azure.ca_path),
        timeout=30,
    )
    assert answer.status_code == 200
    assert answer.headers["Docker-Content-Digest"] == pushed["digest"]
    assert answer.headers["Content-Type"] == SCHEMA2
    assert int(answer.headers["Content-Length"]) > 0


def test_exchange_accepts_an_acr_audience_token(azure: Emulator) -> None:
    """ACR's own audience (`https://containerregistry.azure.net`) is always accepted (Microsoft
    Learn, container-registry-disable-authentication-as-arm)."""
    deployer = app(azure, DEPLOYER)
    token, _ = issue_access_token(azure, deployer, "https://containerregistry.azure.net")

    answer = post(
        azure,
        "/oauth2/exchange",
        {"grant_type": "access_token", "service": login_server(azure), "access_token": token},
    )

    assert answer.status_code == 200
    assert claims(answer.json()["refresh_token"])["sub"] == deployer.object_id


# --- registry settings: ARM-audience policy, ABAC role mode, firewall ----------------------------
def test_exchange_refuses_arm_tokens_when_authentication_as_arm_is_disabled(
    azure: Emulator,
) -> None:
    """`azureADAuthenticationAsArmPolicy` disabled: only ACR-audience Entra tokens are exchanged
    (Microsoft Learn, container-registry-disable-authentication-as-arm)."""
    deployer = app(azure, DEPLOYER)
    acr_token, _ = issue_access_token(azure, deployer, "https://containerregistry.azure.net")
    form = {"grant_type": "access_token", "service": login_server(azure)}

    with azure.state.registry_settings(REGISTRY, authentication_as_arm="disabled"):
        arm = post(
            azure, "/oauth2/exchange", {**form, "access_token": entra_arm_token(azure, DEPLOYER)}
        )
        acr = post(azure, "/oauth2/exchange", {**form, "access_token": acr_token})

    assert arm.status_code == 401
    assert arm.json() == UNAUTHORIZED_BODY
    assert acr.status_code == 200
    assert claims(acr.json()["refresh_token"])["sub"] == deployer.object_id


def access_of(azure: Emulator, client_id: str, scope: str) -> list[dict[str, Any]]:
    answer = post(
        azure,
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "service": login_server(azure),
            "scope": scope,
            "refresh_token": refresh_token(azure, client_id),
        },
    )
    assert answer.status_code == 200, answer.text
    return list(claims(answer.json()["access_token"])["access"])


def test_abac_registry_ignores_acrpush_and_honours_repository_writer(azure: Emulator) -> None:
    """In "RBAC Registry + ABAC Repository Permissions" mode AcrPull/AcrPush/AcrDelete and
    Contributor grant no data access; Container Registry Repository Writer does."""
    state = azure.state
    scope = state.registry_id(state.registries[REGISTRY])
    wanted = "repository:app:pull,push"
    with state.registry_settings(REGISTRY, role_assignment_mode="AbacRepositoryPermissions"):
        legacy_roles = access_of(azure, DEPLOYER, wanted)  # AcrPush + Contributor (seed.yaml)
        state.grant(DEPLOYER, "Container Registry Repository Writer", scope)
        try:
            writer = access_of(azure, DEPLOYER, wanted)
        finally:
            state.revoke(DEPLOYER, "Container Registry Repository Writer")
    legacy_mode = access_of(azure, DEPLOYER, wanted)

    assert legacy_roles == []
    assert writer == [{"type": "repository", "name": "app", "actions": ["pull", "push"]}]
    assert legacy_mode == writer


def test_abac_reader_may_pull_but_not_push(azure: Emulator) -> None:
    state = azure.state
    scope = state.registry_id(state.registries[REGISTRY])
    with state.registry_settings(REGISTRY, role_assignment_mode="AbacRepositoryPermissions"):
        state.grant(PULLER, "Container Registry Repository Reader", scope)
        try:
            access = access_of(azure, PULLER, "repository:app:pull,push")
        finally:
            state.revoke(PULLER, "Container Registry Repository Reader")

    assert access == [{"type": "repository", "name": "app", "actions": ["pull"]}]


DENIED_BODY = {
    "errors": [
        {
            "code": "DENIED",
            "message": "client with IP '127.0.0.1' is not allowed access."
            " Refer https://aka.ms/acr/firewall to grant access.",
        }
    ]
}


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(
            {"network_default_action": "Deny", "ip_rules": ["203.0.113.0/24"]},
            id="firewall-without-the-client",
        ),
        pytest.param({"public_network_access": "Disabled"}, id="public-access-disabled"),
    ],
)
def test_firewall_answers_403_denied_on_every_data_plane_endpoint(
    azure: Emulator, settings: dict[str, Any]
) -> None:
    """The daemon quotes this body for `GET /v2/` (docker/build-push-action#1214); az acr login
    reads a 403 there as a firewall (azure-cli acr/_docker_utils.py)."""
    token = refresh_token(azure, DEPLOYER)
    with azure.state.registry_settings(REGISTRY, **settings):
        answers = [
            get(azure, "/v2/"),
            post(
                azure,
                "/oauth2/exchange",
                {
                    "grant_type": "access_token",
                    "service": login_server(azure),
                    "access_token": entra_arm_token(azure, DEPLOYER),
                },
            ),
            get(
                azure,
                "/oauth2/token",
                params={"service": login_server(azure), "scope": "repository:app:pull"},
                headers=basic(NULL_GUID, token),
            ),
        ]

    assert [a.status_code for a in answers] == [403, 403, 403]
    assert [a.json() for a in answers] == [DENIED_BODY] * 3


def test_firewall_lets_an_allowed_address_in(azure: Emulator) -> None:
    with azure.state.registry_settings(
        REGISTRY, network_default_action="Deny", ip_rules=["127.0.0.0/8"]
    ):
        answer = get(azure, "/v2/")

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer realm=")


@pytest.mark.docker
def test_a_registry_created_through_arm_stores_a_pushed_image(
    azure: Emulator, docker_api: Any, busybox: str
) -> None:
    # The deployer is Contributor on demo-rg: it may create a registry there (registries.py).
    name = f"ctcreated{uuid.uuid4().hex[:8]}"
    path = (
        f"/subscriptions/{azure.state.subscription_id}/resourceGroups/demo-rg"
        f"/providers/Microsoft.ContainerRegistry/registries/{name}"
    )
    created = requests.put(
        f"{azure.arm_url}{path}",
        params={"api-version": "2025-11-01"},
        json={"location": "westeurope", "sku": {"name": "Basic"}},
        headers={"Authorization": f"Bearer {entra_arm_token(azure, DEPLOYER)}"},
        verify=str(azure.ca_path),
        timeout=60,
    )
    assert created.status_code == 201, created.text
    server = created.json()["properties"]["loginServer"]
    assert server == azure.login_server(name)
    exchanged = requests.post(
        f"https://{server}/oauth2/exchange",
        data={
            "grant_type": "access_token",
            "service": server,
            "access_token": entra_arm_token(azure, DEPLOYER),
        },
        verify=str(azure.ca_path),
        timeout=30,
    )
    assert exchanged.status_code == 200, exchanged.text
    # The daemon (Go) rereads /etc/hosts at most every 5 s (golang/go src/net/hosts.go,
    # cacheMaxAge), so the new login server's name may take that long to resolve there.
    deadline = time.monotonic() + 10
    while True:
        try:
            docker_api.login(username=NULL_GUID, password=exchanged.json()["refresh_token"],
                             registry=server, reauth=True)  # fmt: skip
            break
        except docker.errors.APIError as exc:
            if "no such host" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    repository = f"{server}/contract/created"
    docker_api.images.get(busybox).tag(repository, "v1")
    try:
        events = list(docker_api.images.push(repository, "v1", stream=True, decode=True))
        assert not [e for e in events if "error" in e], events
        assert any("aux" in e for e in events)
    finally:
        docker_api.images.remove(f"{repository}:v1", force=True)
        gone = requests.delete(
            f"{azure.arm_url}{path}",
            params={"api-version": "2025-11-01"},
            headers={"Authorization": f"Bearer {entra_arm_token(azure, DEPLOYER)}"},
            verify=str(azure.ca_path),
            timeout=60,
        )
        assert gone.status_code == 200  # and the session's registry list is as the seed made it
