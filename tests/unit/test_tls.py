"""The pure part of `tls: auto`: the proxy's config, environment, command and share of the group."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from azure.mgmt.containerinstance.models import (
    Container,
    ContainerGroup,
    IpAddress,
    ResourceRequests,
    ResourceRequirements,
)

from acr_action import tls
from acr_action.errors import InputError


def test_fqdn_is_acis_label_region_form() -> None:
    assert tls.fqdn("My-App", "West Europe") == "my-app.westeurope.azurecontainer.io"


def test_caddyfile_names_the_ca_the_site_and_the_upstream() -> None:
    config = tls.TlsConfig(acme_directory="https://ca.example/dir", acme_email="ops@example.com")
    text = tls.caddyfile(config, "a.westeurope.azurecontainer.io", 8080)
    assert "\tacme_ca https://ca.example/dir\n" in text
    assert "\temail ops@example.com\n" in text
    assert "\tstorage file_system /data\n" in text
    assert "a.westeurope.azurecontainer.io {" in text
    assert "\treverse_proxy 127.0.0.1:8080\n" in text
    assert "basicauth" not in text
    assert "acme_ca_root" not in text


def test_default_ca_is_lets_encrypt() -> None:
    assert "acme-v02.api.letsencrypt.org/directory" in tls.caddyfile(tls.TlsConfig(), "h", 1)


def test_password_is_only_a_secure_variable() -> None:
    config = tls.TlsConfig(basic_auth_user="reviewer", basic_auth_password="s3cret-value")
    plain, secure = tls.environment(config, "h.example", 8080)
    assert dict(secure) == {tls.ENV_AUTH_PASSWORD: "s3cret-value"}
    assert "s3cret-value" not in repr(plain) + repr(config) + " ".join(tls.command())
    assert dict(plain)[tls.ENV_AUTH_USER] == "reviewer"
    assert "basicauth {" in dict(plain)[tls.ENV_CADDYFILE]


@pytest.mark.parametrize(
    ("cpu", "memory", "expected"),
    [
        pytest.param(1, 1.5, (0.9, 1.4), id="default-group"),
        pytest.param(0.2, 0.2, (0.1, 0.1), id="smallest"),
        pytest.param(0.15, 1, None, id="too-little-cpu-for-both"),
    ],
)
def test_proxy_is_carved_from_the_group(
    cpu: float, memory: float, expected: tuple[float, float] | None
) -> None:
    assert tls.carve(cpu, memory) == expected


def _adopted(scope: str, *, proxy: bool = False) -> ContainerGroup:
    sizes = ResourceRequirements(requests=ResourceRequests(cpu=1, memory_in_gb=1))
    containers = [Container(name="app", image="a", resources=sizes)]
    if proxy:
        containers.append(Container(name=tls.PROXY_NAME, image="caddy", resources=sizes))
    return ContainerGroup(
        location="westeurope",
        containers=containers,
        os_type="Linux",
        ip_address=IpAddress(
            ports=[],
            type="Public",
            dns_name_label="shop",
            auto_generated_domain_name_label_scope=scope,
        ),
    )


def _with_fqdn(group: ContainerGroup, fqdn: str) -> ContainerGroup:
    assert group.ip_address is not None
    group.ip_address.fqdn = fqdn  # type: ignore[assignment]  # read-only: only a GET sets it
    return group


def test_an_unsecure_label_is_named_from_label_and_region() -> None:
    spec = SimpleNamespace(unset=frozenset({"dns_name_label"}), dns_name_label=None)
    assert tls._hashed_host(spec, _adopted("Unsecure")) == ""
    assert tls._hashed_host(spec, None) == ""


def test_a_hashed_label_is_named_as_the_group_answered() -> None:
    hashed = "shop.ab12cd34ef56gh78.westeurope.azurecontainer.io"
    kept = SimpleNamespace(unset=frozenset({"dns_name_label"}), dns_name_label=None)
    same = SimpleNamespace(unset=frozenset(), dns_name_label="Shop")
    for spec in (kept, same):
        assert tls._hashed_host(spec, _with_fqdn(_adopted("TenantReuse"), hashed)) == hashed


def test_a_new_label_under_a_hashing_scope_is_refused() -> None:
    spec = SimpleNamespace(unset=frozenset(), dns_name_label="other")
    group = _with_fqdn(_adopted("SubscriptionReuse"), "shop.x.westeurope.azurecontainer.io")
    with pytest.raises(InputError) as caught:
        tls._hashed_host(spec, group)
    shown = caught.value.details
    assert "dns-name-label" in shown
    assert "SubscriptionReuse" in shown
    assert "Nothing was changed in Azure" in shown


def test_noreuse_refuses_adding_the_proxy_but_keeps_an_existing_one() -> None:
    spec = SimpleNamespace(unset=frozenset({"dns_name_label"}), dns_name_label=None)
    fqdn = "shop.q1w2e3r4t5y6u7i8.westeurope.azurecontainer.io"
    with pytest.raises(InputError) as caught:
        tls._hashed_host(spec, _with_fqdn(_adopted("Noreuse"), fqdn))
    assert "Noreuse" in caught.value.details
    assert tls._hashed_host(spec, _with_fqdn(_adopted("Noreuse", proxy=True), fqdn)) == fqdn
