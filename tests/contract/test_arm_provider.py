"""What every ARM resource provider of the local Azure shares: headers, checks, paging, LROs.

Real ARM answers (success or error) carry `x-ms-request-id`, `x-ms-correlation-request-id` (the
caller's `x-ms-correlation-request-id` when it sent one) and `x-ms-routing-request-id`
(`REGION:timestamp:correlation id`), as the response examples of Microsoft Learn's REST pages show
(MicrosoftDocs "Track asynchronous Azure operations", azure-resource-manager/management/
async-operations). Lists page with `nextLink`; the checks run in ARM's order whatever the service.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import requests
from aiohttp import web
from yarl import URL

from localazure.arm import RG as RG_PATH
from localazure.arm_provider import ArmProvider, Operations
from localazure.server import Emulator, service_classes
from localazure.state import RoleDefinition, Seed
from localazure.web import Router

pytestmark = pytest.mark.emulator

DEPLOYER = "2d0e7c4a-9b1f-4c3e-8a5d-6f7e8d9c0b1a"  # Contributor on demo-rg (seed.yaml)
RG = "demo-rg"
ACI = "/providers/Microsoft.ContainerInstance"


def deployer_token(azure: Emulator) -> str:
    """An ARM token of the deployer, through the federated sign-in."""
    response = requests.post(
        f"{azure.authority_url}/{azure.state.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEPLOYER,
            "client_assertion": azure.services["oidc"].mint("octo-org/iris-api"),
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "scope": azure.arm_url + "/.default",
        },
        verify=str(azure.ca_path),
        timeout=30,
    )
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def token(azure_http: Emulator) -> str:
    return deployer_token(azure_http)


def arm(
    azure: Emulator, method: str, path: str, token: str | None, **params: str
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(
        method,
        f"{azure.arm_url}{path}",
        params=params,
        headers={**headers, "x-ms-correlation-request-id": CORRELATION},
        verify=str(azure.ca_path),
        timeout=30,
    )


CORRELATION = str(uuid.uuid4())
SUB = "/subscriptions/{sub}"
GROUPS = SUB + "/resourceGroups/" + RG + ACI + "/containerGroups"
ANSWERS = [
    pytest.param("GET", "/subscriptions", True, "2022-12-01", 200, id="subscriptions"),
    pytest.param("GET", SUB, True, "2022-12-01", 200, id="subscription"),
    pytest.param("GET", SUB + "/resourcegroups/" + RG, True, "2022-09-01", 200, id="group"),
    pytest.param("GET", SUB + "/resources", True, "2022-09-01", 200, id="resources"),
    pytest.param(
        "GET",
        SUB + "/resourceGroups/" + RG + "/providers/Microsoft.ContainerRegistry/registries/nope",
        True,
        "2025-11-01",
        404,
        id="registry-missing",
    ),
    pytest.param("GET", SUB + "/resourcegroups/" + RG, False, "2022-09-01", 401, id="no-token"),
    pytest.param("GET", SUB + "/resourcegroups/" + RG, True, "", 400, id="no-api-version"),
    pytest.param("GET", GROUPS, True, "2023-05-01", 200, id="aci-list"),
    pytest.param("GET", SUB + ACI + "/containerGroups", True, "2023-05-01", 403, id="aci-sub-list"),
    pytest.param("GET", GROUPS + "/nope", True, "2023-05-01", 404, id="aci-missing"),
    pytest.param("GET", GROUPS + "/nope", False, "2023-05-01", 401, id="aci-no-token"),
    pytest.param("GET", GROUPS + "/nope", True, "", 400, id="aci-no-api-version"),
    pytest.param("DELETE", GROUPS + "/nope", True, "2023-05-01", 204, id="aci-delete-none"),
    pytest.param(
        "GET",
        SUB + ACI + "/locations/westeurope/operations/nope",
        True,
        "2018-06-01",
        404,
        id="aci-operation-missing",
    ),
    pytest.param("GET", "/no/such/path", True, "2022-09-01", 404, id="unrouted"),
]


@pytest.mark.parametrize(("method", "path", "signed_in", "api_version", "status"), ANSWERS)
def test_every_arm_answer_carries_the_request_ids(
    azure_http: Emulator,
    token: str,
    method: str,
    path: str,
    signed_in: bool,
    api_version: str,
    status: int,
) -> None:
    params = {"api-version": api_version} if api_version else {}
    path = path.format(sub=azure_http.state.subscription_id)

    response = arm(azure_http, method, path, token if signed_in else None, **params)

    assert response.status_code == status, response.text
    assert uuid.UUID(response.headers["x-ms-request-id"])
    assert response.headers["x-ms-correlation-request-id"] == CORRELATION
    region, stamp, correlation = response.headers["x-ms-routing-request-id"].split(":")
    assert region
    assert len(stamp) == len("20260101T000000Z")
    assert correlation == CORRELATION
    if status >= 400:
        assert set(response.json()["error"]) >= {"code", "message"}


def test_each_answer_has_its_own_request_id(azure_http: Emulator, token: str) -> None:
    path = f"/subscriptions/{azure_http.state.subscription_id}/resourcegroups/{RG}"

    ids = {
        arm(azure_http, "GET", path, token, **{"api-version": "2022-09-01"}).headers[
            "x-ms-request-id"
        ]
        for _ in range(3)
    }

    assert len(ids) == 3


@pytest.fixture
def many_groups(azure_http: Emulator) -> Iterator[list[str]]:
    """Five container groups that never run (no Docker), removed afterwards."""
    aci = azure_http.services["aci"]
    names = [f"ct-page-{uuid.uuid4().hex[:6]}" for _ in range(5)]
    for name in names:
        aci.add_group(RG, name)
    yield names
    with azure_http.state.lock:
        for key in [k for k, g in azure_http.state.container_groups.items() if g.name in names]:
            del azure_http.state.container_groups[key]


def follow(azure: Emulator, token: str, path: str, api_version: str) -> tuple[list[str], int]:
    """Every name of a list, following nextLink; and how many pages it took."""
    response = arm(azure, "GET", path, token, **{"api-version": api_version})
    names, pages = [], 0
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        names += [item["name"] for item in body["value"]]
        pages += 1
        if not body.get("nextLink"):
            return names, pages
        assert body["nextLink"].startswith(azure.arm_url + path + "?")
        assert f"api-version={api_version}" in body["nextLink"]
        response = requests.get(
            body["nextLink"],
            headers={"Authorization": f"Bearer {token}"},
            verify=str(azure.ca_path),
            timeout=30,
        )


@pytest.mark.parametrize(
    ("service", "path", "api_version", "wanted"),
    [
        pytest.param("aci", GROUPS, "2023-05-01", "groups", id="container-groups"),
        pytest.param("arm", SUB + "/resources", "2022-09-01", "resources", id="resources"),
    ],
)
def test_every_list_pages_the_same_way(
    azure_http: Emulator,
    token: str,
    many_groups: list[str],
    service: str,
    path: str,
    api_version: str,
    wanted: str,
) -> None:
    provider = azure_http.services[service]
    path = path.format(sub=azure_http.state.subscription_id)
    whole, _ = follow(azure_http, token, path, api_version)
    provider.page_size = 1
    try:
        paged, pages = follow(azure_http, token, path, api_version)
    finally:
        provider.page_size = 100

    assert paged == whole
    assert pages == len(whole) >= 2
    if wanted == "groups":
        assert set(many_groups) <= set(paged)


def test_a_bad_skip_token_is_refused_by_every_list(azure_http: Emulator, token: str) -> None:
    sub = azure_http.state.subscription_id
    for path, api in (
        (GROUPS.format(sub=sub), "2023-05-01"),
        (f"/subscriptions/{sub}/resources", "2022-09-01"),
    ):
        response = arm(azure_http, "GET", path, token, **{"api-version": api, "$skiptoken": "x"})

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "InvalidSkipToken"


def test_operation_headers_point_at_the_polling_route(azure_http: Emulator) -> None:
    operations = Operations(azure_http, "Contoso.Widgets", "2024-01-01")
    operation = operations.new("/subscriptions/s/resourceGroups/g/providers/Contoso.Widgets/w/x")

    headers = operations.headers(operation, "westeurope", location_header=True)

    url = URL(headers["Azure-AsyncOperation"])
    assert headers["Location"] == headers["Azure-AsyncOperation"]
    assert headers["Retry-After"] == "1"
    assert str(url.origin()) == azure_http.arm_url
    assert url.query["api-version"] == "2024-01-01"
    matched = re.fullmatch(operations.route, url.path)
    assert matched is not None
    assert operations.find(matched["operation_id"].upper()) is operation
    assert operation.body()["status"] == "InProgress"


WIDGETS = "Contoso.Widgets/widgets"


class Widgets(ArmProvider):
    """A new ARM resource type in one class (the README's outline), with its own host kind."""

    HOSTS: ClassVar[dict[str, str]] = {"widgets": r"(?P<account>[a-z0-9]+)\.widgets\.localhost"}
    VERSIONED: ClassVar[dict[str, tuple[str, str]]] = {
        "widgets": ("arm", r"(?i)/providers/Contoso\.Widgets/widgets")
    }
    ROLES: ClassVar[tuple[RoleDefinition, ...]] = (
        RoleDefinition("Widget Reader", actions=(f"{WIDGETS}/read",)),
    )

    def register(self, router: Router) -> None:
        self.arm_route(router, "GET", RG_PATH + r"/providers/Contoso\.Widgets/widgets", self.list)

    async def list(self, request: web.Request, subscription: str, rg: str) -> web.Response:
        scope = f"{self.subscription_scope(subscription)}/resourceGroups/{rg}"
        refused = self.check(request, subscription, f"{WIDGETS}/read", scope, rg)
        if refused is not None:
            return refused
        widgets = list(self.emulator.state.table(WIDGETS).values())
        return self.page(request, widgets, lambda widget: widget)


def test_a_new_service_is_one_class(tmp_path: Path) -> None:
    classes = {**service_classes(), "widgets": Widgets}
    with Emulator(Seed.default(), workdir=tmp_path, docker=False, services=classes) as azure:
        azure.state.table(WIDGETS).update({f"w{i}": {"name": f"w{i}"} for i in range(3)})
        azure.services["widgets"].page_size = 2
        path = f"/subscriptions/{azure.state.subscription_id}/resourceGroups/demo-rg"
        path += "/providers/Contoso.Widgets/widgets"
        token = deployer_token(azure)

        names, pages = follow(azure, token, path, "2024-01-01")
        azure.state.grant(DEPLOYER, "Widget Reader", "/")  # the service's role is assignable
        elsewhere = arm(
            azure, "GET", path.replace("demo-rg", "nope"), token, **{"api-version": "2024-01-01"}
        )
        azure.api_versions.served = {"widgets": ("2023-01-01",)}  # its type can be narrowed
        refused = arm(azure, "GET", path, token, **{"api-version": "2024-01-01"})

    assert (names, pages) == (["w0", "w1", "w2"], 2)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "NoRegisteredProviderFound"
    assert refused.headers["x-ms-request-id"]
    # Widget Reader at "/" lets the check past the role to the (missing) group.
    assert elsewhere.status_code == 404, elsewhere.text
    assert elsewhere.json()["error"]["code"] == "ResourceGroupNotFound"
    assert azure.router.host_kind("acme.widgets.localhost") == ("widgets", {"account": "acme"})
