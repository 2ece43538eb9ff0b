"""`tls: auto`: a TLS-terminating proxy (Caddy) in the container group, its config and its share.

The proxy is a second container of the group. It listens on 80 and 443 of the group's shared
network namespace (the containers of a group reach each other on localhost), obtains a
certificate for the group's FQDN over ACME, forwards to the app on `127.0.0.1:<app port>` and
redirects HTTP to HTTPS. The group's public ports become 80 and 443; the app's port stays on the
app's container only, so it is no longer reachable from outside.

## Facts this rests on
* **The FQDN.** ACI names a group with a DNS name label `<label>.<region>.azurecontainer.io`
  (learn.microsoft.com/azure/container-instances/container-instances-quickstart: "the FQDN ...
  mycontainer.eastus.azurecontainer.io"); the region is the group's location in its short form.
  A label with a reuse policy other than `Unsecure` gets a hashed middle part
  (`<label>.<hash>.<region>.azurecontainer.io`), which the action cannot know before the PUT:
  the proxy is configured with the unhashed form only.
* **Caddy's automatic HTTPS** (caddyserver.com/docs/automatic-https): a site block named by a
  host name gets a certificate from the configured ACME CA, and HTTP on port 80 is redirected to
  HTTPS. The global options `acme_ca` (the directory URL), `acme_ca_root` (a PEM file trusted for
  that directory's own TLS, needed for a private CA) and `email` select the CA
  (caddyserver.com/docs/caddyfile/options). Caddy tries the HTTP-01 and TLS-ALPN-01 challenges,
  which need ports 80 and 443 reachable under the FQDN: exactly what the group publishes. No
  on-demand TLS: that would let anyone pointing a name at the group's IP make it order
  certificates.
* **Rate limits** (letsencrypt.org/docs/rate-limits, as quoted on
  community.letsencrypt.org/t/understanding-certificate-limits/140807): 5 duplicate
  certificates (the exact same set of names) per 7 days, and 50 new certificates per
  registered domain per week, the registered domain being computed with the Public Suffix List.
  Caddy keeps its certificates in its storage directory; a new container starts with an empty
  one, and ACI recreates the group's containers on an update. Without persistent storage each
  redeploy orders a new certificate: a preview redeployed more than five times in a week hits
  the duplicate limit, and then falls back to Caddy's other issuer (ZeroSSL) only if one is
  configured. Persistent storage (an Azure Files share at the storage directory) is not built yet.
* **Basic auth.** Caddy 2.6's `basicauth` directive takes a bcrypt hash (`caddy hash-password`
  reads one line of plain text from stdin when no `--plaintext` is given, and fails with
  "Error: EOF" without the newline: tried with Debian's 2.6.2). The action never hashes or
  prints the password: it goes to the proxy as a secure environment variable (ACI never returns
  its value), and the proxy's start script hashes it from stdin, so it is on no command line.

## Cost
The proxy requests `PROXY_CPU` cores and `PROXY_MEMORY_GB` GB; ACI bills a group by the sum of
its containers' requests, so these are carved out of the app's `cpu`/`memory` (the group costs
what it would without TLS). The app must keep at least `MIN_APP_CPU` / `MIN_APP_MEMORY_GB`.
Measured (Debian's Caddy 2.6.2, limited to 0.1 core and 0.1 GB): 10.6 MiB in use once serving;
with basic auth, 9.6 s from start to serving, most of it the bcrypt hash (cost 14) at 0.1 core,
and each first check of a password costs the same (Caddy caches verified hashes).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .errors import InputError, InputProblem

if TYPE_CHECKING:
    from azure.mgmt.containerinstance.models import Container, ContainerGroup

# inputs.py and spec.py import this module, so their types are not imported here: `_Reader` is
# inputs._Reader, `GroupSpec` is spec.GroupSpec.
_Reader = Any
GroupSpec = Any

# The public default: the official image at the tag of the Caddy that the tests run (its digest
# was not checked from here: pin `tls-proxy-image` by digest in your workflow). Override with the
# `tls-proxy-image` input (the tests use a local image built from Debian's caddy package).
DEFAULT_IMAGE = "docker.io/library/caddy:2.6.2"
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
PROXY_NAME_SUFFIX = "-tls"
PROXY_CPU = 0.1
PROXY_MEMORY_GB = 0.1
MIN_APP_CPU = 0.1
MIN_APP_MEMORY_GB = 0.1
HTTP_PORT = 80
HTTPS_PORT = 443
# Where Caddy keeps certificates and its ACME account; an Azure Files share goes here.
STORAGE_PATH = "/data"

# The proxy's environment: plain values are visible to anyone who may read the group, the
# password is a secure value.
ENV_CADDYFILE = "ACR_ACTION_CADDYFILE"
ENV_CA_ROOT = "ACR_ACTION_ACME_CA_ROOT"
ENV_AUTH_USER = "ACR_ACTION_BASIC_AUTH_USER"
ENV_AUTH_PASSWORD = "ACR_ACTION_BASIC_AUTH_PASSWORD"  # noqa: S105  # a variable name, not a secret
# The settings themselves, as JSON: a deploy that does not mention `tls` reads them back.
ENV_SETTINGS = "ACR_ACTION_TLS_SETTINGS"
# The name of the proxy container in every group the action puts one in.
PROXY_NAME = "tls-proxy"
# The Key Vault read's key for the basic-auth password (orchestrate's `secrets`).
PASSWORD_KEY = "tls-basic-auth-password"  # noqa: S105  # a dictionary key, not a secret

CA_ROOT_FILE = "/tmp/acme-ca-root.pem"  # noqa: S108  # inside the proxy container
CADDYFILE_PATH = "/tmp/Caddyfile"  # noqa: S108  # inside the proxy container

# The proxy's start script: write the config, hash the password from stdin, drop the plain
# text from the environment, run Caddy. POSIX sh: the official image is Alpine's busybox sh.
START_SCRIPT = (
    "set -eu; "
    f'printf "%s\\n" "${ENV_CADDYFILE}" > {CADDYFILE_PATH}; '
    f'if [ -n "${{{ENV_CA_ROOT}:-}}" ]; then printf "%s\\n" "${ENV_CA_ROOT}" > {CA_ROOT_FILE}; fi; '
    f'if [ -n "${{{ENV_AUTH_PASSWORD}:-}}" ]; then '
    f'ACR_ACTION_BASIC_AUTH_HASH="$(printf "%s\\n" "${ENV_AUTH_PASSWORD}" | caddy hash-password)"; '
    "export ACR_ACTION_BASIC_AUTH_HASH; fi; "
    f"unset {ENV_AUTH_PASSWORD}; "
    f"exec caddy run --adapter caddyfile --config {CADDYFILE_PATH}"
)


@dataclass(frozen=True)
class TlsConfig:
    """What `tls: auto` and its inputs ask for."""

    image: str = DEFAULT_IMAGE
    acme_directory: str = LETS_ENCRYPT
    acme_email: str = ""
    acme_ca_root: str = field(default="", repr=False)
    basic_auth_user: str = ""
    basic_auth_password: str = field(default="", repr=False)
    enabled: bool = True  # False: `tls: off`, the proxy is removed


OFF = TlsConfig(enabled=False)


def fqdn(label: str, location: str) -> str:
    """The FQDN ACI gives a group with this DNS label in this region."""
    return f"{label.lower()}.{location.replace(' ', '').lower()}.azurecontainer.io"


def proxy_name(group_container: str) -> str:
    """The proxy container's name, next to the app's container."""
    return group_container + PROXY_NAME_SUFFIX


def caddyfile(config: TlsConfig, host: str, app_port: int) -> str:
    """The proxy's Caddyfile: the ACME CA, the site for `host`, basic auth, the upstream."""
    options = [f"\tacme_ca {config.acme_directory}", f"\tstorage file_system {STORAGE_PATH}"]
    if config.acme_email:
        options.append(f"\temail {config.acme_email}")
    if config.acme_ca_root:
        options.append(f"\tacme_ca_root {CA_ROOT_FILE}")
    site = []
    if config.basic_auth_user:
        # Caddy substitutes {$VAR} from its environment when it reads the Caddyfile.
        site += [
            "\tbasicauth {",
            f"\t\t{{${ENV_AUTH_USER}}} {{$ACR_ACTION_BASIC_AUTH_HASH}}",
            "\t}",
        ]
    site.append(f"\treverse_proxy 127.0.0.1:{app_port}")
    return "\n".join(["{", *options, "}", "", f"{host} {{", *site, "}", ""])


def environment(
    config: TlsConfig, host: str, app_port: int
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """The proxy's plain and secure environment variables."""
    plain = [(ENV_CADDYFILE, caddyfile(config, host, app_port))]
    if config.acme_ca_root:
        plain.append((ENV_CA_ROOT, config.acme_ca_root))
    secure: list[tuple[str, str]] = []
    if config.basic_auth_user:
        plain.append((ENV_AUTH_USER, config.basic_auth_user))
        secure.append((ENV_AUTH_PASSWORD, config.basic_auth_password))
    return tuple(plain), tuple(secure)


def command() -> tuple[str, ...]:
    """The proxy's command line (it holds no secret and no config value)."""
    return ("/bin/sh", "-c", START_SCRIPT)


def carve(cpu: float, memory: float) -> tuple[float, float] | None:
    """The app's share of the group's `cpu`/`memory` once the proxy has its own; None if too small."""
    app_cpu = round(cpu - PROXY_CPU, 3)
    app_memory = round(memory - PROXY_MEMORY_GB, 3)
    if app_cpu < MIN_APP_CPU or app_memory < MIN_APP_MEMORY_GB:
        return None
    return app_cpu, app_memory


def https_url(host: str) -> str:
    """The `url` output of a group behind the proxy."""
    return f"https://{host}"


# -- the inputs ------------------------------------------------------------------------------------

_TLS_EXAMPLE = "tls: auto\ndns-name-label: my-app-7f3a9c21"


@dataclass(frozen=True)
class TlsInputs:
    """`tls` and its inputs; mode None: not given (an existing proxy stays)."""

    tls: str | None = None  # "auto", "off" or None
    tls_proxy_image: str = DEFAULT_IMAGE
    acme_directory: str = LETS_ENCRYPT
    acme_email: str = ""
    acme_ca_root: str = field(default="", repr=False)
    basic_auth: str = ""  # the user name
    basic_auth_password_secret: str = ""


def parse(r: _Reader, ports: tuple[int, ...], private: bool, spot: bool, vault: bool) -> TlsInputs:
    """The TLS inputs, every problem reported to `r` (before any network call)."""
    mode = r.optional_choice("tls", ("off", "auto"))
    directory = r.valid("acme-directory") or LETS_ENCRYPT
    email = r.line("acme-email") or ""
    if email and ("@" not in email or any(c.isspace() for c in email)):
        r.add("acme-email", "must be an e-mail address", shown=email)
    image = r.line("tls-proxy-image") or DEFAULT_IMAGE
    ca_root = (r.raw("acme-ca-root") or "").strip()
    if ca_root and "-----BEGIN CERTIFICATE-----" not in ca_root:
        r.add("acme-ca-root", "must be PEM text (-----BEGIN CERTIFICATE----- ...)")
    user = r.line("basic-auth") or ""
    if user and (":" in user or any(c.isspace() for c in user)):
        r.add("basic-auth", "must be a user name without `:` or spaces", shown=user)
    secret = r.valid("basic-auth-password-secret") or ""
    if user and not secret:
        r.require(
            ["basic-auth-password-secret"],
            "is required with `basic-auth`: the Key Vault secret that holds the password",
        )
    if secret and not vault:
        r.require(["key-vault"], "is required with `basic-auth-password-secret`: the vault to read")
    if secret and not user:
        r.require(["basic-auth"], "is required with `basic-auth-password-secret`: the user name")
    settings = ["acme-directory", "acme-email", "tls-proxy-image", "acme-ca-root", "basic-auth"]
    if mode != "auto":
        # Without `tls`, the password of a kept proxy's basic auth may be sent again (`_kept`).
        auth = ("basic-auth", "basic-auth-password-secret")
        refused = [*settings, auth[1]] if mode == "off" else [n for n in settings if n not in auth]
        r.conflict(
            [n for n in refused if n not in r.reported],
            "only applies with `tls: auto`",
            example=_TLS_EXAMPLE,
        )
    if mode == "auto":
        for port in ports:
            if port in (HTTP_PORT, HTTPS_PORT):
                r.add(
                    "ports",
                    f"cannot include {port} with `tls: auto`: the proxy listens on 80 and 443 "
                    "and forwards to the app's port",
                    shown=", ".join(map(str, ports)),
                    example="ports: 8080\ntls: auto",
                )
        if private or spot:
            r.add(
                "tls",
                "cannot be auto on a private or Spot group: the certificate needs a public FQDN "
                "that the ACME server reaches on ports 80 and 443",
                shown="auto",
                example=_TLS_EXAMPLE,
            )
    return TlsInputs(mode, image, directory, email, ca_root, user, secret)


def vault_names(inputs: TlsInputs) -> dict[str, str]:
    """What to read from Key Vault for the proxy: {our key: secret name}."""
    secret = inputs.basic_auth_password_secret
    return {PASSWORD_KEY: secret} if secret and inputs.tls != "off" else {}


# -- the group -------------------------------------------------------------------------------------


def _proxy(group: ContainerGroup | None) -> Container | None:
    return (
        next((c for c in (group.containers or []) if c.name == PROXY_NAME), None) if group else None
    )


def _settings(config: TlsConfig) -> str:
    return json.dumps(
        {
            "acmeDirectory": config.acme_directory,
            "acmeEmail": config.acme_email,
            "basicAuthUser": config.basic_auth_user,
        },
        sort_keys=True,
    )


def _plain(container: Container) -> dict[str, str]:
    return {v.name: v.value for v in container.environment_variables or [] if v.value is not None}


def _problem(name: str, message: str, example: str) -> InputError:
    return InputError([InputProblem(name, message, example, None)])


def settle(
    spec: GroupSpec,
    inputs: TlsInputs,
    existing: ContainerGroup | None,
    secrets: dict[str, str],
    cpu_given: bool,
) -> GroupSpec:
    """The spec with the proxy the inputs ask for (or the existing group's, kept), its share
    carved from the group's cpu/memory when those were given."""
    config: TlsConfig | None = None
    if inputs.tls == "off":
        return replace(spec, tls=OFF)
    if inputs.tls == "auto":
        config = TlsConfig(
            image=inputs.tls_proxy_image,
            acme_directory=inputs.acme_directory,
            acme_email=inputs.acme_email,
            acme_ca_root=inputs.acme_ca_root,
            basic_auth_user=inputs.basic_auth,
            basic_auth_password=secrets.get(PASSWORD_KEY, ""),
        )
    else:
        config = _kept(existing, secrets)
        if config is None:
            return spec
    if not spec.dns_name_label and not (
        existing and existing.ip_address and existing.ip_address.dns_name_label
    ):
        raise _problem(
            "dns-name-label",
            "is needed with `tls: auto`: the certificate names the FQDN",
            _TLS_EXAMPLE,
        )
    app_ports = spec.ports if "ports" not in spec.unset or existing is None else ()
    if any(port in (HTTP_PORT, HTTPS_PORT) for port in app_ports):
        raise _problem(
            "ports",
            "cannot be 80 or 443 with `tls: auto`: the proxy listens there and forwards to the "
            "app's port",
            "ports: 8080\ntls: auto",
        )
    if cpu_given:
        carved = carve(spec.cpu, spec.memory)
        if carved is None:
            raise _problem(
                "cpu",
                f"leaves too little for the app with `tls: auto`: the proxy takes {PROXY_CPU} cpu "
                f"and {PROXY_MEMORY_GB} GB, the app needs at least {MIN_APP_CPU} and {MIN_APP_MEMORY_GB}",
                "cpu: 1\nmemory: 1.5",
            )
        spec = replace(spec, cpu=carved[0], memory=carved[1])
    return replace(spec, tls=config)


def _kept(existing: ContainerGroup | None, secrets: dict[str, str]) -> TlsConfig | None:
    """The existing proxy's settings, read back from its environment; None without one."""
    proxy = _proxy(existing)
    if proxy is None:
        return None
    plain = _plain(proxy)
    try:
        settings: dict[str, Any] = json.loads(plain.get(ENV_SETTINGS, ""))
    except ValueError:
        return None  # not one the action made: left as any other sidecar
    user = str(settings.get("basicAuthUser", ""))
    password = secrets.get(PASSWORD_KEY, "")
    if user and not password:
        raise _problem(
            "basic-auth-password-secret",
            f"is needed: the group's TLS proxy asks for basic auth (user `{user}`) and ACI never "
            "returns the password, so the action must send it again (or give `tls: off`)",
            "tls: auto\nbasic-auth: reviewer\nbasic-auth-password-secret: preview-password",
        )
    return TlsConfig(
        image=proxy.image or DEFAULT_IMAGE,
        acme_directory=str(settings.get("acmeDirectory", LETS_ENCRYPT)),
        acme_email=str(settings.get("acmeEmail", "")),
        acme_ca_root=plain.get(ENV_CA_ROOT, ""),
        basic_auth_user=user,
        basic_auth_password=password,
    )


def host(spec: GroupSpec) -> str:
    """The FQDN the proxy's certificate names."""
    return fqdn(spec.dns_name_label or "", spec.location)


def _wanted_env(spec: GroupSpec) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    assert spec.tls is not None
    plain, secure = environment(spec.tls, host(spec), spec.ports[0] if spec.ports else 80)
    return {**dict(plain), ENV_SETTINGS: _settings(spec.tls)}, secure


def on(spec: GroupSpec) -> bool:
    """Whether the group gets the proxy."""
    return spec.tls is not None and spec.tls.enabled


def public_ports(spec: GroupSpec, app_ports: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """The group's public ports: 80 and 443 behind the proxy, else the app's."""
    return {(HTTP_PORT, "TCP"), (HTTPS_PORT, "TCP")} if on(spec) else app_ports


def apply(group: ContainerGroup, spec: GroupSpec) -> None:
    """Add, update or remove the proxy container and set the group's public ports."""
    from azure.mgmt.containerinstance.models import (
        Container,
        ContainerPort,
        EnvironmentVariable,
        Port,
        ResourceRequests,
        ResourceRequirements,
    )

    if spec.tls is None:
        return
    others = [c for c in group.containers or [] if c.name != PROXY_NAME]
    if not spec.tls.enabled:
        group.containers = others
        return
    plain, secure = _wanted_env(spec)
    proxy = Container(
        name=PROXY_NAME,
        image=spec.tls.image,
        command=list(command()),
        ports=[
            ContainerPort(port=HTTP_PORT, protocol="TCP"),
            ContainerPort(port=HTTPS_PORT, protocol="TCP"),
        ],
        environment_variables=[
            *(EnvironmentVariable(name=k, value=v) for k, v in sorted(plain.items())),
            *(EnvironmentVariable(name=k, secure_value=v) for k, v in secure),
        ],
        resources=ResourceRequirements(
            requests=ResourceRequests(cpu=PROXY_CPU, memory_in_gb=PROXY_MEMORY_GB)
        ),
    )
    group.containers = [*others, proxy]
    if group.ip_address is not None:
        group.ip_address.ports = [Port(port=p, protocol="TCP") for p in (HTTP_PORT, HTTPS_PORT)]


def differs(existing: ContainerGroup, spec: GroupSpec) -> bool:
    """Whether the existing proxy is not the one the spec asks for (secrets: the fingerprint)."""
    if spec.tls is None:
        return False
    proxy = _proxy(existing)
    if not spec.tls.enabled:
        return proxy is not None
    if proxy is None:
        return True
    plain, secure = _wanted_env(spec)
    requests = proxy.resources.requests if proxy.resources else None
    return (
        proxy.image != spec.tls.image
        or tuple(proxy.command or ()) != command()
        or _plain(proxy) != plain
        or {v.name for v in proxy.environment_variables or [] if v.value is None}
        != {name for name, _ in secure}
        or requests is None
        or abs(float(requests.cpu) - PROXY_CPU) > 1e-9
        or abs(float(requests.memory_in_gb) - PROXY_MEMORY_GB) > 1e-9
    )


def adds_or_removes(existing: ContainerGroup, spec: GroupSpec) -> bool:
    """Whether the proxy comes or goes: a container added or removed changes the group's
    resources, which ACI changes only by deleting the group first (as the local ACI models it,
    aci_validate.check_update)."""
    return spec.tls is not None and has_proxy(existing) != spec.tls.enabled


def managed(spec: GroupSpec) -> tuple[str, ...]:
    """The containers whose secrets the action sends itself (for `keep.lost_secrets`)."""
    return (PROXY_NAME,) if spec.tls is not None else ()


def public_document(spec: GroupSpec) -> object:
    """The proxy's part of the fingerprint's public document ("" without one)."""
    if spec.tls is None or not spec.tls.enabled:
        return ""
    plain, _ = _wanted_env(spec)
    return [spec.tls.image, sorted(plain.items())]


def secret_document(spec: GroupSpec) -> str:
    """The proxy's part of the fingerprint's secret document: the password ("" without one)."""
    return spec.tls.basic_auth_password if spec.tls is not None and spec.tls.enabled else ""


def has_proxy(existing: ContainerGroup | None) -> bool:
    """Whether the group has the action's proxy (its public ports are then the proxy's)."""
    return _proxy(existing) is not None


class _Connection(http.client.HTTPSConnection):
    """HTTPS to an IP address, the certificate checked for a host name (SNI and verification)."""

    def __init__(self, ip: str, port: int, hostname: str, timeout: float) -> None:
        super().__init__(hostname, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip
        self._hostname = hostname

    def connect(self) -> None:
        raw = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self._hostname)  # type: ignore[attr-defined]  # HTTPSConnection's own context


def connection(ip: str, port: int, hostname: str, timeout: float) -> http.client.HTTPConnection:
    """The readiness probe's connection through the proxy: the system's trust store, so the
    probe passes only once the proxy serves a certificate for the FQDN."""
    return _Connection(ip, port, hostname, timeout)
