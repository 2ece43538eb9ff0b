"""Contract tests of the ACI emulator: the real azure-mgmt-containerinstance client, real containers.

Shapes, codes and messages are those of PROTOCOL.md §6 and aci_error_examples.md. The image lives in
the emulated ACR and is pulled by the Docker daemon with the group's `imageRegistryCredentials`
(the seed's pull-only service principal), so a refused pull is a real refusal.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.containerinstance.models import (
    Container,
    ContainerGroup,
    ContainerGroupSubnetId,
    ContainerPort,
    EnvironmentVariable,
    GpuResource,
    ImageRegistryCredential,
    IpAddress,
    Port,
    ResourceRequests,
    ResourceRequirements,
)

from localazure.aci_runtime import LABEL_EMULATOR, LABEL_GROUP
from localazure.auth import issue_access_token
from localazure.server import Emulator
from tests.vnets import SUBNET, ensure_subnets

pytestmark = [pytest.mark.emulator, pytest.mark.docker]

RG = "demo-rg"
LOCATION = "westeurope"
REGISTRY = "acractiondemo"
DEPLOYER = "2d0e7c4a-9b1f-4c3e-8a5d-6f7e8d9c0b1a"  # Contributor on demo-rg, AcrPush (seed.yaml)
PULLER = "5b2f8e1c-3a4d-4e6f-9a8b-0c1d2e3f4a5b"  # AcrPull on the registry (seed.yaml)
PULLER_SECRET = "Xq8~pullPrincipalSecret.Local-0001"
NULL_GUID = "00000000-0000-0000-0000-000000000000"
SECURE_VALUE = "s3cret-value-never-echoed-7731"
PREFIX = "ct-aci-"  # every group these tests create; removed at the end
INDEX = "hello from the aci contract test\n"
# A CGI script so a request shows the container's environment (busybox httpd runs cgi-bin/*).
ENV_CGI = '#!/bin/sh\necho "Content-Type: text/plain"\necho\n/bin/busybox env\n'


class EmulatorCredential:
    """A `TokenCredential` minting the deployer's ARM token directly (no OIDC round trip)."""

    def __init__(self, azure: Emulator, client_id: str) -> None:
        self.azure = azure
        app = azure.state.app(client_id)
        assert app is not None
        self.app = app

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token, expires_in = issue_access_token(self.azure, self.app, self.azure.arm_url + "/")
        return AccessToken(token, int(time.time()) + expires_in)


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(azure: Emulator) -> Iterator[ContainerInstanceManagementClient]:
    aci = ContainerInstanceManagementClient(
        EmulatorCredential(azure, DEPLOYER),  # type: ignore[arg-type]
        azure.state.subscription_id,
        base_url=azure.arm_url,
        credential_scopes=[azure.arm_url + "/.default"],
        connection_verify=str(azure.ca_path),
    )
    yield aci
    aci.close()


@pytest.fixture(scope="module")
def docker_api(docker_engine: Any) -> Iterator[Any]:
    import docker

    api = docker.from_env(timeout=120)
    yield api
    api.close()


@pytest.fixture(scope="module")
def image(
    azure: Emulator, docker_api: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A busybox httpd image (`FROM scratch`), pushed to the emulated ACR; its reference there."""
    context = tmp_path_factory.mktemp("aci-httpd")
    (context / "bin").mkdir()
    shutil.copyfile(Path("/bin/busybox"), context / "bin" / "busybox")
    (context / "bin" / "busybox").chmod(0o755)
    (context / "bin" / "sh").symlink_to(
        "busybox"
    )  # COPY keeps the link: /bin/sh for CGI and the crash fault
    (context / "www" / "cgi-bin").mkdir(parents=True)
    (context / "www" / "index.html").write_text(INDEX, encoding="utf-8")
    (context / "www" / "cgi-bin" / "env").write_text(ENV_CGI, encoding="utf-8")
    (context / "www" / "cgi-bin" / "env").chmod(0o755)
    (context / "Dockerfile").write_text(
        'FROM scratch\nCOPY bin /bin\nCOPY www /www\nCMD ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"]\n',
        encoding="utf-8",
    )
    local = f"aci-contract-httpd:{uuid.uuid4().hex[:8]}"
    docker_api.images.build(path=str(context), tag=local, rm=True, forcerm=True)
    server = azure.login_server(REGISTRY)
    repository = f"{server}/aci-contract/httpd"
    deployer = azure.state.app(DEPLOYER)
    assert deployer is not None
    token = azure.services["acr"].mint_refresh_token(deployer, REGISTRY)
    docker_api.login(username=NULL_GUID, password=token, registry=server, reauth=True)
    docker_api.images.get(local).tag(repository, "v1")
    try:
        events = list(docker_api.images.push(repository, "v1", stream=True, decode=True))
        assert not [e for e in events if "error" in e], events
        # Only the registry has it now: ACI's pull really goes through the login server.
        docker_api.images.remove(f"{repository}:v1", force=True)
        yield f"{repository}:v1"
    finally:
        for reference in (local, f"{repository}:v1"):
            with contextlib.suppress(
                docker.errors.ImageNotFound
            ):  # already gone is fine at teardown
                docker_api.images.remove(reference, force=True)


@pytest.fixture(scope="module", autouse=True)
def _cleanup(
    azure: Emulator, client: ContainerInstanceManagementClient, docker_api: Any
) -> Iterator[None]:
    """Delete every group these tests created; their containers must be gone too."""
    yield
    service = azure.services["aci"]
    with azure.state.lock:
        names = [g.name for g in azure.state.container_groups.values() if g.name.startswith(PREFIX)]
    for name in names:
        client.container_groups.begin_delete(RG, name, polling_interval=1).result()
    left = docker_api.containers.list(
        all=True, filters={"label": f"{LABEL_EMULATOR}={service.instance_id}"}
    )
    assert [c.name for c in left if PREFIX in c.name] == []


def credentials(azure: Emulator, password: str = PULLER_SECRET) -> list[ImageRegistryCredential]:
    return [
        ImageRegistryCredential(
            server=azure.login_server(REGISTRY), username=PULLER, password=password
        )
    ]


def group(
    azure: Emulator,
    image: str,
    *,
    label: str | None = None,
    cpu: float = 0.5,
    memory: float = 0.5,
    restart: str = "Always",
    os_type: str = "Linux",
    ports: tuple[int, ...] = (80,),
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
    password: str = PULLER_SECRET,
    zones: list[str] | None = None,
    gpu: GpuResource | None = None,
    subnet: str | None = None,
) -> ContainerGroup:
    variables = [
        EnvironmentVariable(name=k, value=v) for k, v in (env or {"GREETING": "hello"}).items()
    ]
    variables.append(EnvironmentVariable(name="API_KEY", secure_value=SECURE_VALUE))
    return ContainerGroup(
        location=LOCATION,
        zones=zones,
        subnet_ids=[ContainerGroupSubnetId(id=subnet)] if subnet else None,
        os_type=os_type,
        restart_policy=restart,
        image_registry_credentials=credentials(azure, password),
        ip_address=IpAddress(
            ports=[Port(port=p, protocol="TCP") for p in ports],
            type="Private" if subnet else "Public",
            dns_name_label=None if subnet else label,
        )
        if ports
        else None,
        containers=[
            Container(
                name="web",
                image=image,
                command=command,
                ports=[ContainerPort(port=p) for p in ports],
                environment_variables=variables,
                resources=ResourceRequirements(
                    requests=ResourceRequests(cpu=cpu, memory_in_gb=memory, gpu=gpu)
                ),
            )
        ],
    )


def unique(purpose: str) -> str:
    return f"{PREFIX}{purpose}-{uuid.uuid4().hex[:6]}"


def http_get(url: str, deadline: float = 15.0) -> str:
    """GET with retries: the app may still be starting when ACI reports Succeeded."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    end = time.monotonic() + deadline
    while True:
        try:
            with opener.open(url, timeout=5) as answer:
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.3)


def raw(
    client: ContainerInstanceManagementClient,
    azure: Emulator,
    method: str,
    path: str,
    body: Any = None,
) -> Any:
    """A request through the client's own pipeline (auth, TLS), returning the raw response."""
    url = f"{azure.arm_url}/subscriptions/{azure.state.subscription_id}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/{path}"
    return client._send_request(
        HttpRequest(method, url, params={"api-version": "2023-05-01"}, json=body)
    )


def wait_for(check: Callable[[], Any], deadline: float = 20.0) -> Any:
    end = time.monotonic() + deadline
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.5)


# --- the main path -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def web_group(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> dict[str, Any]:
    name = unique("web")
    label = name
    result = client.container_groups.begin_create_or_update(
        RG, name, group(azure, image, label=label), polling_interval=1
    ).result()
    return {"name": name, "label": label, "result": result}


def test_create_succeeds_and_answers_http(azure: Emulator, web_group: dict[str, Any]) -> None:
    result = web_group["result"]
    assert result.provisioning_state == "Succeeded"
    assert result.ip_address.ip.startswith("127.77.")
    assert result.ip_address.fqdn == f"{web_group['label']}.{LOCATION}.azurecontainer.io"
    assert http_get(f"http://{result.ip_address.ip}:80/") == INDEX


def test_instance_view_reports_running_and_events(
    client: ContainerInstanceManagementClient, web_group: dict[str, Any]
) -> None:
    found = client.container_groups.get(RG, web_group["name"])
    assert found.instance_view.state == "Running"
    view = found.containers[0].instance_view
    assert view.current_state.state == "Running"
    assert view.restart_count == 0
    assert [e.name for e in view.events] == ["Pulling", "Pulled", "Created", "Started"]
    assert view.events[0].message == f'pulling image "{found.containers[0].image}"'


def test_secure_value_reaches_the_container_but_is_never_echoed(
    azure: Emulator,
    client: ContainerInstanceManagementClient,
    web_group: dict[str, Any],
    image: str,
) -> None:
    ip = web_group["result"].ip_address.ip
    assert f"API_KEY={SECURE_VALUE}" in http_get(f"http://{ip}:80/cgi-bin/env")
    # The PUT answer (an idempotent re-PUT) and the GET, as raw text: no secure value, no password.
    body = client.container_groups._serialize.body(
        group(azure, image, label=web_group["label"]), "ContainerGroup"
    )
    put = raw(client, azure, "PUT", f"containerGroups/{web_group['name']}", body)
    got = raw(client, azure, "GET", f"containerGroups/{web_group['name']}")
    for answer in (put, got):
        assert answer.status_code == 200
        assert SECURE_VALUE not in answer.text()
        assert PULLER_SECRET not in answer.text()
    variables = got.json()["properties"]["containers"][0]["properties"]["environmentVariables"]
    assert {"name": "API_KEY"} in variables
    assert got.json()["properties"]["imageRegistryCredentials"] == [
        {"server": azure.login_server(REGISTRY), "username": PULLER}
    ]
    wait_for(
        lambda: client.container_groups.get(RG, web_group["name"]).provisioning_state == "Succeeded"
    )


def test_put_answers_with_async_operation_headers(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    name = unique("headers")
    body = client.container_groups._serialize.body(group(azure, image, ports=()), "ContainerGroup")
    answer = raw(client, azure, "PUT", f"containerGroups/{name}", body)
    assert answer.status_code == 201
    assert answer.headers["Retry-After"] == "1"
    operation = answer.headers["Azure-AsyncOperation"]
    prefix = f"{azure.arm_url}/subscriptions/{azure.state.subscription_id}/providers/Microsoft.ContainerInstance/locations/{LOCATION}/operations/"
    assert operation.startswith(prefix)
    assert operation.endswith("?api-version=2018-06-01")
    created = answer.json()
    assert created["properties"]["provisioningState"] == "Pending"
    assert created["properties"]["instanceView"] == {"events": [], "state": "Pending"}
    assert created["properties"]["sku"] == "Standard"
    assert created["type"] == "Microsoft.ContainerInstance/containerGroups"

    def settled() -> Any:
        status = client._send_request(HttpRequest("GET", operation)).json()
        return status if status["status"] != "InProgress" else None

    status = wait_for(settled)
    assert status["status"] == "Succeeded"
    assert status["id"].endswith(f"/containerGroups/{name}")
    assert [e["name"] for e in status["properties"]["events"]] == [
        "Pulling",
        "Pulled",
        "Created",
        "Started",
    ]


def test_update_in_place_changes_env(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    name = unique("update")
    first = client.container_groups.begin_create_or_update(
        RG, name, group(azure, image), polling_interval=1
    ).result()
    updated = client.container_groups.begin_create_or_update(
        RG, name, group(azure, image, env={"GREETING": "updated"}), polling_interval=1
    ).result()
    assert updated.provisioning_state == "Succeeded"
    assert updated.ip_address.ip == first.ip_address.ip
    assert "GREETING=updated" in http_get(f"http://{updated.ip_address.ip}:80/cgi-bin/env")


def test_port_change_updates_in_place(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    # Ports are no longer among the container-instances-update page's properties that
    # require delete + create: the PUT is an update.
    name = unique("ports")
    first = client.container_groups.begin_create_or_update(
        RG, name, group(azure, image), polling_interval=1
    ).result()
    updated = client.container_groups.begin_create_or_update(
        RG, name, group(azure, image, ports=(80, 8080)), polling_interval=1
    ).result()
    assert updated.provisioning_state == "Succeeded"
    assert sorted(p.port for p in updated.ip_address.ports) == [80, 8080]
    assert http_get(f"http://{updated.ip_address.ip}:80/") == INDEX
    assert updated.ip_address.ip == first.ip_address.ip


UPDATE_MESSAGE = (
    "The updates on container group '{name}' are invalid. If you are going to update the os type, restart policy,"
    " network profile, CPU, memory or GPU resources for a container group, you must delete it first and then create a"
    " new one."
)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"cpu": 1.0}, id="cpu"),
        pytest.param({"memory": 1.0}, id="memory"),
        pytest.param({"restart": "Never"}, id="restart-policy"),
        pytest.param({"os_type": "Windows"}, id="os-type"),
        pytest.param({"zones": ["1"]}, id="availability-zone"),
        pytest.param({"gpu": GpuResource(count=1, sku="V100")}, id="gpu"),
        pytest.param({"subnet": SUBNET}, id="network-profile"),
    ],
)
def test_immutable_change_is_refused(
    azure: Emulator,
    client: ContainerInstanceManagementClient,
    web_group: dict[str, Any],
    image: str,
    change: dict[str, Any],
) -> None:
    ensure_subnets(azure)  # a subnet that exists: the move, not the subnet, is refused
    with pytest.raises(HttpResponseError) as caught:
        client.container_groups.begin_create_or_update(
            RG,
            web_group["name"],
            group(azure, image, label=web_group["label"], **change),
            polling_interval=1,
        )
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidContainerGroupUpdate"
    assert caught.value.error.message == UPDATE_MESSAGE.format(name=web_group["name"])


def test_dns_label_taken_by_another_group(
    azure: Emulator,
    client: ContainerInstanceManagementClient,
    web_group: dict[str, Any],
    image: str,
) -> None:
    other = unique("thief")
    with pytest.raises(HttpResponseError) as caught:
        client.container_groups.begin_create_or_update(
            RG, other, group(azure, image, label=web_group["label"]), polling_interval=1
        )
    assert caught.value.status_code == 400
    assert caught.value.error.code == "DnsNameLabelAlreadyTaken"
    assert caught.value.error.message == (
        f"The DNS name label '{web_group['label']}' in container group '{other}' is not available. Try using a different label."
    )


def test_a_reuse_scope_puts_a_hash_in_the_fqdn(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    # Unsecure (the SDK's default): <label>.<region>.azurecontainer.io. Any other scope: a hash
    # between label and region, the same again for the same label in the same scope
    # (localazure/dnslabel.py), new for every new group with Noreuse.
    def fqdn(name: str, label: str, scope: str | None) -> str:
        body = group(azure, image, label=label)
        if scope is not None:
            assert body.ip_address is not None
            body.ip_address.auto_generated_domain_name_label_scope = scope
        client.container_groups.begin_create_or_update(RG, name, body, polling_interval=1).result()
        got = client.container_groups.get(RG, name)
        assert got.ip_address is not None
        assert got.ip_address.fqdn is not None
        return got.ip_address.fqdn

    def delete(name: str) -> None:
        client.container_groups.begin_delete(RG, name, polling_interval=1).result()

    label = unique("scope")[len(PREFIX) :]
    plain = unique("unsecure")
    assert fqdn(plain, label + "-u", None) == f"{label}-u.{LOCATION}.azurecontainer.io"
    delete(plain)
    first, again = unique("tenant"), unique("tenant")
    hashed = fqdn(first, label, "TenantReuse")
    head, middle, tail = hashed.split(".", 2)
    assert (head, tail) == (label, f"{LOCATION}.azurecontainer.io")
    assert len(middle) == 16
    assert middle.isalnum()
    assert middle.islower()
    # An update keeps the FQDN; the same label in the same scope, in a new group, gets it again.
    assert fqdn(first, label, "TenantReuse") == hashed
    delete(first)
    assert fqdn(again, label, "TenantReuse") == hashed
    delete(again)
    once, twice = unique("noreuse"), unique("noreuse")
    no_reuse = fqdn(once, label, "Noreuse")
    delete(once)
    assert fqdn(twice, label, "Noreuse") not in (no_reuse, hashed)
    delete(twice)


@pytest.mark.parametrize(
    "label",
    [
        pytest.param("Teste", id="upper-case"),
        pytest.param("abcd", id="too-short"),
        pytest.param("1abcde", id="starts-with-digit"),
        pytest.param("abcde-", id="ends-with-hyphen"),
        pytest.param("a" * 64, id="too-long"),
    ],
)
def test_invalid_dns_label(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str, label: str
) -> None:
    name = unique("label")
    with pytest.raises(HttpResponseError) as caught:
        client.container_groups.begin_create_or_update(
            RG, name, group(azure, image, label=label), polling_interval=1
        )
    assert caught.value.status_code == 400
    assert caught.value.error.message == (
        f"The DNS name label '{label}' in container group '{name}' is invalid. It can contain only lowercase letters,"
        " numbers and hyphens. The first character must be a letter. The last character must be a letter or number."
        " The value must be between 5 and 63 characters long."
    )


def test_list_pages_with_next_link(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    service = azure.services["aci"]
    names = [unique(f"page{i}") for i in range(3)]
    for name in names:
        # A failed provisioning keeps these groups cheap (no containers); they still list.
        azure.faults.add_event("lro-fail", name=name)
        with pytest.raises(HttpResponseError):
            client.container_groups.begin_create_or_update(
                RG, name, group(azure, image, ports=()), polling_interval=1
            ).result()
    service.page_size = 2
    # Listing a whole subscription needs a role at the subscription (ARM checks that scope).
    reader = azure.state.grant(DEPLOYER, "Reader", f"/subscriptions/{azure.state.subscription_id}")
    try:
        before = sum(1 for r in azure.requests if "skiptoken" in r.query)
        listed = [g.name for g in client.container_groups.list_by_resource_group(RG)]
        in_subscription = [g.name for g in client.container_groups.list()]
        after = sum(1 for r in azure.requests if "skiptoken" in r.query)
    finally:
        service.page_size = 100
        with azure.state.lock:
            azure.state.role_assignments.remove(reader)
    assert set(names) <= set(listed)
    assert len(listed) == len(set(listed))
    assert set(names) <= set(in_subscription)
    assert after - before >= 2


def test_logs_with_tail(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    name = unique("logs")
    command = ["/bin/sh", "-c", "echo one; echo two; echo three; exec /bin/busybox sleep 3600"]
    client.container_groups.begin_create_or_update(
        RG, name, group(azure, image, ports=(), command=command), polling_interval=1
    ).result()
    wait_for(lambda: "three" in client.containers.list_logs(RG, name, "web").content)
    assert client.containers.list_logs(RG, name, "web").content == "one\ntwo\nthree\n"
    assert client.containers.list_logs(RG, name, "web", tail=2).content == "two\nthree\n"
    stamped = client.containers.list_logs(RG, name, "web", tail=1, timestamps=True).content
    assert stamped.endswith(" three\n")
    assert stamped[:4].isdigit()


def test_delete_removes_containers_and_twice_is_fine(
    azure: Emulator, client: ContainerInstanceManagementClient, docker_api: Any, image: str
) -> None:
    name = unique("delete")
    created = client.container_groups.begin_create_or_update(
        RG, name, group(azure, image), polling_interval=1
    ).result()
    deleted = client.container_groups.begin_delete(RG, name, polling_interval=1).result()
    assert deleted.name == name
    assert (
        docker_api.containers.list(all=True, filters={"label": f"{LABEL_GROUP}={created.id}"}) == []
    )
    assert client.container_groups.begin_delete(RG, name, polling_interval=1).result() is None
    with pytest.raises(ResourceNotFoundError) as caught:
        client.container_groups.get(RG, name)
    assert caught.value.error.code == "ResourceNotFound"
    assert caught.value.error.message == (
        f"The Resource 'Microsoft.ContainerInstance/containerGroups/{name}' under resource group '{RG}' was not found."
        " For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    )


# --- refusals -----------------------------------------------------------------------------------
def test_authorization_failed_without_contributor(
    azure: Emulator, client: ContainerInstanceManagementClient, web_group: dict[str, Any]
) -> None:
    deployer = azure.state.app(DEPLOYER)
    assert deployer is not None
    saved = [
        ra
        for ra in azure.state.role_assignments
        if ra.principal == DEPLOYER and ra.role == "Contributor"
    ]
    azure.state.revoke(DEPLOYER, "Contributor")
    try:
        with pytest.raises(HttpResponseError) as caught:
            client.container_groups.get(RG, web_group["name"])
    finally:
        for assignment in saved:
            azure.state.grant(assignment.principal, assignment.role, assignment.scope)
    scope = f"/subscriptions/{azure.state.subscription_id}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroups/{web_group['name']}"
    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert caught.value.error.message == (
        f"The client '{DEPLOYER}' with object id '{deployer.object_id}' does not have authorization to perform action"
        f" 'Microsoft.ContainerInstance/containerGroups/read' over scope '{scope}' or the scope is invalid. If access"
        " was recently granted, please refresh your credentials."
    )
    assert client.container_groups.get(RG, web_group["name"]).name == web_group["name"]


def test_resource_group_not_found(
    azure: Emulator, client: ContainerInstanceManagementClient
) -> None:
    # A caller needs a role above the missing group, or ARM answers AuthorizationFailed first.
    assignment = azure.state.grant(
        DEPLOYER, "Reader", f"/subscriptions/{azure.state.subscription_id}"
    )
    try:
        with pytest.raises(ResourceNotFoundError) as caught:
            client.container_groups.get("no-such-rg", "anything")
    finally:
        with azure.state.lock:
            azure.state.role_assignments.remove(assignment)
    assert caught.value.error.code == "ResourceGroupNotFound"
    assert caught.value.error.message == "Resource group 'no-such-rg' could not be found."


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param("wrong-password", id="wrong-registry-password"),
        pytest.param("no-acrpull", id="missing-acrpull-role"),
    ],
)
def test_refused_pull_is_inaccessible_image(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str, refusal: str
) -> None:
    name = unique("pull")
    saved = [
        ra for ra in azure.state.role_assignments if ra.principal == PULLER and ra.role == "AcrPull"
    ]
    password = "wrong-secret" if refusal == "wrong-password" else PULLER_SECRET
    if refusal == "no-acrpull":
        azure.state.revoke(PULLER, "AcrPull")
    try:
        # Refused by the PUT itself, not by the operation it would start.
        with pytest.raises(HttpResponseError) as caught:
            client.container_groups.begin_create_or_update(
                RG, name, group(azure, image, ports=(), password=password), polling_interval=1
            )
    finally:
        for assignment in saved if refusal == "no-acrpull" else []:
            azure.state.grant(assignment.principal, assignment.role, assignment.scope)
    message = f"The image '{image}' in container group '{name}' is not accessible. Please check the image and registry credential."
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InaccessibleImage"
    assert caught.value.error.message == message
    assert PULLER_SECRET not in str(caught.value)
    with pytest.raises(ResourceNotFoundError):
        client.container_groups.get(RG, name)


def test_refused_image_leaves_the_running_group_alone(
    azure: Emulator,
    client: ContainerInstanceManagementClient,
    web_group: dict[str, Any],
    image: str,
) -> None:
    before = client.container_groups.get(RG, web_group["name"])
    with pytest.raises(HttpResponseError) as caught:
        client.container_groups.begin_create_or_update(
            RG,
            web_group["name"],
            group(azure, image, label=web_group["label"], password="wrong-secret"),
            polling_interval=1,
        )
    assert (caught.value.status_code, caught.value.error.code) == (400, "InaccessibleImage")
    after = client.container_groups.get(RG, web_group["name"])
    assert after.provisioning_state == "Succeeded"
    assert after.instance_view.state == "Running"
    assert after.containers[0].instance_view.restart_count == 0
    assert http_get(f"http://{before.ip_address.ip}:80/") == INDEX


# --- faults ------------------------------------------------------------------------------------
def test_lro_fail_event(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    name = unique("lrofail")
    azure.faults.add_event("lro-fail", name=name)
    with pytest.raises(HttpResponseError) as caught:
        client.container_groups.begin_create_or_update(
            RG, name, group(azure, image), polling_interval=1
        ).result()
    capacity = (
        f"The requested resource is not available in the location '{LOCATION}' at this moment. Please retry with a"
        " different resource request or in another location. Resource requested: '0.5' CPU '0.5' GB memory 'Linux' OS"
    )
    assert caught.value.error.message == capacity
    found = client.container_groups.get(RG, name)
    assert found.provisioning_state == "Failed"
    assert found.instance_view.state == "Failed"
    assert [(e.name, e.type, e.message) for e in found.instance_view.events] == [
        ("InsufficientCapacity.", "Warning", capacity)
    ]


def test_crash_event_with_never_terminates(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    name = unique("crash")
    azure.faults.add_event("crash", name=name, exit_code=3)
    result = client.container_groups.begin_create_or_update(
        RG, name, group(azure, image, restart="Never", ports=()), polling_interval=1
    ).result()
    assert (
        result.provisioning_state == "Succeeded"
    )  # ACI reports the group provisioned, not the app healthy

    def terminated() -> Any:
        found = client.container_groups.get(RG, name)
        return (
            found if found.containers[0].instance_view.current_state.state == "Terminated" else None
        )

    found = wait_for(terminated)
    state = found.containers[0].instance_view.current_state
    assert (state.exit_code, state.detail_status) == (3, "Error")
    assert found.instance_view.state == "Failed"
    assert (
        client.containers.list_logs(RG, name, "web").content
        == "crash injected by the local Azure emulator\n"
    )


def test_crash_event_with_on_failure_backs_off(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    name = unique("crashloop")
    azure.faults.add_event("crash", name=name, container="web", exit_code=5, output="boom")
    client.container_groups.begin_create_or_update(
        RG, name, group(azure, image, restart="OnFailure", ports=()), polling_interval=1
    ).result()

    def restarted() -> Any:
        found = client.container_groups.get(RG, name)
        view = found.containers[0].instance_view
        return found if view.restart_count >= 1 and view.previous_state is not None else None

    view = wait_for(restarted).containers[0].instance_view
    assert view.previous_state.state == "Terminated"
    assert view.previous_state.exit_code == 5
    assert "BackOff" in [e.name for e in view.events]
    started = next(e for e in view.events if e.name == "Started")
    assert started.count >= 2


def test_without_docker_provisioning_fails_clearly(azure_http: Emulator) -> None:
    aci = ContainerInstanceManagementClient(
        EmulatorCredential(azure_http, DEPLOYER),  # type: ignore[arg-type]
        azure_http.state.subscription_id,
        base_url=azure_http.arm_url,
        credential_scopes=[azure_http.arm_url + "/.default"],
        connection_verify=str(azure_http.ca_path),
    )
    try:
        with pytest.raises(HttpResponseError) as caught:
            aci.container_groups.begin_create_or_update(
                RG,
                "ct-aci-nodocker",
                group(azure_http, "example.azurecr.io/app:1", ports=()),
                polling_interval=1,
            ).result()
        assert caught.value.error.code == "InternalServerError"
        assert "without Docker" in caught.value.error.message
        aci.container_groups.begin_delete(RG, "ct-aci-nodocker", polling_interval=1).result()
    finally:
        aci.close()


def test_stop_start_restart(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str, docker_api: Any
) -> None:
    name = unique("control")
    created = client.container_groups.begin_create_or_update(
        RG, name, group(azure, image), polling_interval=1
    ).result()
    client.container_groups.stop(RG, name)
    stopped = client.container_groups.get(RG, name)
    assert stopped.instance_view.state == "Stopped"
    # provisioningState tracks operations, not the app (azure-sdk-for-js#14176).
    assert stopped.provisioning_state == "Succeeded"
    # Stopping deallocates: no container is left to report on (container-instances-stop-start).
    assert stopped.containers[0].instance_view is None
    assert (
        docker_api.containers.list(all=True, filters={"label": f"{LABEL_GROUP}={created.id}"}) == []
    )
    client.container_groups.begin_start(RG, name, polling_interval=1).result()
    assert client.container_groups.get(RG, name).instance_view.state == "Running"
    assert http_get(f"http://{created.ip_address.ip}:80/") == INDEX
    client.container_groups.begin_restart(RG, name, polling_interval=1).result()
    found = client.container_groups.get(RG, name)
    assert found.instance_view.state == "Running"
    assert "Killing" in [e.name for e in found.containers[0].instance_view.events]
    assert http_get(f"http://{created.ip_address.ip}:80/") == INDEX


def test_pull_backoff_keeps_the_container_waiting_with_events(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    name = unique("backoff")
    azure.faults.add_event("pull-backoff", name=name)
    poller = client.container_groups.begin_create_or_update(
        RG, name, group(azure, image, ports=()), polling_interval=1
    )

    def backing_off() -> Any:
        found = client.container_groups.get(RG, name)
        view = found.containers[0].instance_view
        return found if view is not None and "BackOff" in [e.name for e in view.events] else None

    found = wait_for(backing_off)
    view = found.containers[0].instance_view
    assert not poller.done()
    assert found.provisioning_state == "Creating"
    assert (view.current_state.state, view.current_state.detail_status) == (
        "Waiting",
        "ImagePullBackOff",
    )
    failed = next(e for e in view.events if e.name == "Failed")
    assert (failed.type, failed.message.startswith(f'Failed to pull image "{image}"')) == (
        "Warning",
        True,
    )
    client.container_groups.begin_delete(RG, name, polling_interval=1).result()


@pytest.mark.parametrize("state", ["Unhealthy", "Repairing", "NotAccessible", "Canceled"])
def test_platform_provisioning_states_are_reported(
    azure: Emulator,
    client: ContainerInstanceManagementClient,
    web_group: dict[str, Any],
    state: str,
) -> None:
    azure.services["aci"].set_provisioning_state(RG, web_group["name"], state)
    try:
        assert client.container_groups.get(RG, web_group["name"]).provisioning_state == state
    finally:
        azure.services["aci"].set_provisioning_state(RG, web_group["name"], "Succeeded")


# --- what a group made by other tools holds ------------------------------------------------------
IDENTITY = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/id-rg/providers"
    "/Microsoft.ManagedIdentity/userAssignedIdentities/app-identity"
)
STORAGE_KEY = "storage-key-never-echoed-5521"
WORKSPACE_KEY = "workspace-key-never-echoed-8812"


def rich_body(azure: Emulator, image: str, *, extras: bool = True) -> dict[str, Any]:
    """A private group with a sidecar; with `extras`, volumes, probes, an init container, an
    identity and Log Analytics too: the shapes of the spec's create-or-update example."""
    web: dict[str, Any] = {
        "image": image,
        "ports": [{"port": 80}],
        "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}},
    }
    sidecar: dict[str, Any] = {
        "image": image,
        "command": ["/bin/busybox", "httpd", "-f", "-p", "8081", "-h", "/www"],
        "resources": {"requests": {"cpu": 0.25, "memoryInGB": 0.25}},
    }
    props: dict[str, Any] = {
        "osType": "Linux",
        "subnetIds": [{"id": ensure_subnets(azure)}],
        "ipAddress": {"type": "Private", "ports": [{"port": 80, "protocol": "TCP"}]},
        "imageRegistryCredentials": [
            {"server": azure.login_server(REGISTRY), "username": PULLER, "password": PULLER_SECRET}
        ],
        "containers": [{"name": "web", "properties": web}, {"name": "log", "properties": sidecar}],
    }
    body: dict[str, Any] = {"location": LOCATION, "properties": props}
    if extras:
        web["volumeMounts"] = [{"name": "cache", "mountPath": "/cache"}]
        web["livenessProbe"] = {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 10}
        sidecar["volumeMounts"] = [
            {"name": "share", "mountPath": "/share", "readOnly": True},
            {"name": "config", "mountPath": "/config"},
        ]
        props["volumes"] = [
            {"name": "cache", "emptyDir": {}},
            {
                "name": "share",
                "azureFile": {
                    "shareName": "logs",
                    "storageAccountName": "acct",
                    "storageAccountKey": STORAGE_KEY,
                },
            },
            {"name": "config", "secret": {"app.conf": "c2VjcmV0"}},
        ]
        props["initContainers"] = [
            {"name": "migrate", "properties": {"image": image, "command": ["/bin/busybox", "true"]}}
        ]
        props["diagnostics"] = {
            "logAnalytics": {"workspaceId": "workspace-1", "workspaceKey": WORKSPACE_KEY}
        }
        body["identity"] = {
            "type": "SystemAssigned, UserAssigned",
            "userAssignedIdentities": {IDENTITY: {}},
        }
    return body


def test_a_rich_group_is_kept_as_sent_without_its_secrets(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    name = unique("rich")
    created = raw(client, azure, "PUT", f"containerGroups/{name}", rich_body(azure, image))
    assert created.status_code == 201, created.text()
    client.container_groups.get(RG, name)  # the SDK reads it back
    found = raw(client, azure, "GET", f"containerGroups/{name}")
    text = found.text()
    got = found.json()
    props = got["properties"]

    assert [c["name"] for c in props["containers"]] == ["web", "log"]
    assert props["subnetIds"] == [{"id": SUBNET}]
    assert props["ipAddress"]["type"] == "Private"
    assert [v["name"] for v in props["volumes"]] == ["cache", "share", "config"]
    assert props["containers"][0]["properties"]["livenessProbe"]["httpGet"]["port"] == 80
    assert props["initContainers"][0]["name"] == "migrate"
    assert props["diagnostics"] == {"logAnalytics": {"workspaceId": "workspace-1"}}
    # Read-only ids the platform adds (readOnly in the spec), and no secret echoed.
    assert got["identity"]["principalId"]
    assert got["identity"]["tenantId"] == azure.state.tenant_id
    assert got["identity"]["userAssignedIdentities"][IDENTITY]["clientId"]
    assert props["volumes"][1]["azureFile"] == {"shareName": "logs", "storageAccountName": "acct"}
    assert props["volumes"][2]["secret"] == {}
    for secret in (STORAGE_KEY, WORKSPACE_KEY, "c2VjcmV0", PULLER_SECRET):
        assert secret not in text


def test_a_put_replaces_the_group_what_it_leaves_out_is_gone(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    name = unique("replace")
    path = f"containerGroups/{name}"
    assert raw(client, azure, "PUT", path, rich_body(azure, image)).status_code == 201

    # The same containers and network (no immutable change), none of the extras.
    answer = raw(client, azure, "PUT", path, rich_body(azure, image, extras=False))
    assert answer.status_code == 200, answer.text()
    props = raw(client, azure, "GET", path).json()["properties"]

    assert "volumes" not in props
    assert "diagnostics" not in props
    assert props["initContainers"] == []
    assert "livenessProbe" not in props["containers"][0]["properties"]
    assert "identity" not in raw(client, azure, "GET", path).json()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param(
            lambda b: b["properties"]["containers"][0]["properties"].update(
                volumeMounts=[{"name": "missing", "mountPath": "/m"}]
            ),
            "InvalidVolumeMount",
            id="mount-of-no-volume",
        ),
        pytest.param(
            lambda b: b["properties"].update(
                volumes=[{"name": "cache", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}]
            ),
            "DuplicateVolumeName",
            id="volume-twice",
        ),
        pytest.param(
            lambda b: b["properties"].update(volumes=[{"name": "cache"}]),
            "InvalidVolume",
            id="volume-of-no-kind",
        ),
        pytest.param(
            lambda b: (
                b["properties"].update(volumes=[{"name": "cache", "emptyDir": {}}]),
                b["properties"]["containers"][0]["properties"].update(
                    volumeMounts=[{"name": "cache", "mountPath": "C:/cache"}]
                ),
            ),
            "InvalidVolumeMountPath",
            id="colon-in-mount-path",
        ),
        pytest.param(
            lambda b: b["properties"].update(
                volumes=[{"name": "config", "secret": {"app.conf": "not base64!"}}]
            ),
            "InvalidSecretVolumeValue",
            id="secret-not-base64",
        ),
        pytest.param(
            lambda b: b["properties"].update(
                volumes=[{"name": "config", "secret": {"../escape": "c2VjcmV0"}}]
            ),
            "InvalidSecretVolumeKey",
            id="secret-file-outside-its-folder",
        ),
        pytest.param(
            lambda b: b["properties"].pop("subnetIds"),
            "PrivateIPAddressNotSupported",
            id="private-without-subnet",
        ),
        pytest.param(
            lambda b: b["properties"]["ipAddress"].update(type="Public"),
            "PublicIPAddressNotSupportedWithSubnet",
            id="public-in-a-subnet",
        ),
        pytest.param(
            lambda b: b["properties"].update(diagnostics={"logAnalytics": {"workspaceId": "w"}}),
            "InvalidRequestContent",
            id="log-analytics-without-key",
        ),
    ],
)
def test_rich_group_validation(
    azure: Emulator,
    client: ContainerInstanceManagementClient,
    image: str,
    change: Callable[[dict[str, Any]], Any],
    code: str,
) -> None:
    body = rich_body(azure, image, extras=False)
    change(body)
    answer = raw(client, azure, "PUT", f"containerGroups/{unique('invalid')}", body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code


def test_more_than_50_tags_are_refused_before_the_provider(
    azure: Emulator, client: ContainerInstanceManagementClient, image: str
) -> None:
    # ARM's limit (tag-resources, Limitations): 50 name/value pairs, names without regard to case.
    body = group(azure, image)
    body.tags = {f"tag-{index}": "v" for index in range(51)}

    with pytest.raises(HttpResponseError) as caught:
        client.container_groups.begin_create_or_update(RG, unique("tags"), body)

    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "InvalidTagCount"
    assert "(51)" in str(caught.value.error.message)
