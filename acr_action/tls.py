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
  configured. Hence `tls-storage` (an Azure Files share mounted at the storage directory).
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

from dataclasses import dataclass, field

# The public default: the official image at the tag of the Caddy that the tests run (its digest
# was not checked from here: pin `tls-image` by digest in your workflow). Override with the
# `tls-image` input (the tests use a local image built from Debian's caddy package).
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
