"""The pure part of `tls: auto`: the proxy's config, environment, command and share of the group."""

from __future__ import annotations

import pytest

from acr_action import tls


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
