"""Microsoft Entra ID: the v2.0 token endpoint (client credentials) and the OpenID configuration.

`POST /{tenant}/oauth2/v2.0/token` accepts a client secret or a federated `client_assertion`
(a GitHub OIDC token), checked against the app's federated identity credentials the way Entra
does: issuer, then subject (case-sensitively since 2024-08), then audience, then the issuer's
signature and the validity window. Refusals carry Entra's body (`error`, `error_description`
ending in Trace ID / Correlation ID / Timestamp, `error_codes`, `timestamp`, `trace_id`,
`correlation_id`, `error_uri`) with the codes and wording quoted in
`azure-reference/aad_token_error_examples.md` and PROTOCOL.md §1.4. `claims` (CAE) and
`client_info` (MSAL) are accepted and ignored (PROTOCOL.md §1.2).

The order of the assertion checks when several fail at once is [inferred]: Entra documents
each code, not their precedence.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

import jwt
from aiohttp import web

from .auth import ACR_AUDIENCE, issue_access_token
from .service import ServiceBase
from .state import DOMAIN, App, FederatedCredential
from .web import Router, json_response

if TYPE_CHECKING:
    pass

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FIC_DOCS = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
CERT_DOCS = "https://learn.microsoft.com/entra/identity-platform/certificate-credentials"
BREAKING = "https://learn.microsoft.com/en-us/entra/identity-platform/reference-breaking-changes"
NOT_INSTALLED = (
    "This can happen if the application has not been installed by the administrator of the tenant"
    " or consented to by any user in the tenant."
)
CHECK_FIC = (
    "federated identity credential Subject, Audience and Issuer against the presented assertion."
)
NO_RECORD = "No matching federated identity record found for presented assertion"

# code -> (HTTP status, OAuth error, message template). Statuses and wording from
# aad_token_error_examples.md and public quotes of real bodies (7000215, 700016, 90002,
# 700024); [inferred] where marked.
REFUSALS: dict[int, tuple[int, str, str]] = {
    90002: (
        400,
        "invalid_request",
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are"
        " signing into the correct cloud. Check with your subscription administrator, this may"
        " happen if there are no active subscriptions for the tenant.",
    ),
    70003: (
        400,
        "unsupported_grant_type",
        "The app requested an unsupported grant type '{grant}'.",
    ),
    700016: (
        400,
        "unauthorized_client",
        "Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
        + NOT_INSTALLED
        + " You may have sent your authentication request to the wrong tenant.",
    ),
    7000215: (
        401,
        "invalid_client",
        "Invalid client secret provided. Ensure the secret being sent in the request is the client"
        " secret value, not the client secret ID, for a secret added to app '{client_id}'.",
    ),
    7000218: (
        401,
        "invalid_client",
        "The request body must contain the following parameter: 'client_assertion' or"
        " 'client_secret'.",
    ),
    900144: (
        400,
        "invalid_request",
        "The request body must contain the following parameter: 'scope'.",
    ),
    1002012: (
        400,
        "invalid_scope",
        "The provided value for scope {scope} is not valid. Client credential flows must have a"
        " scope value with /.default suffixed to the resource identifier (application ID URI).",
    ),
    500011: (
        400,
        "invalid_resource",
        "The resource principal named {resource} was not found in the tenant named {tenant}. "
        + NOT_INSTALLED
        + " You might have sent your authentication request to the wrong tenant.",
    ),
    700026: (
        400,
        "invalid_request",
        "Client assertion type is not supported. Only '" + JWT_BEARER + "' is allowed.",
    ),
    50027: (400, "invalid_request", "JWT token is invalid or malformed."),
    700211: (
        401,
        "invalid_client",
        NO_RECORD + " issuer '{issuer}'. Please check your " + CHECK_FIC + " " + FIC_DOCS,
    ),
    700213: (
        401,
        "invalid_client",
        NO_RECORD + " subject '{subject}'. Check your " + CHECK_FIC + " " + FIC_DOCS,
    ),
    7002138: (
        401,
        "invalid_client",
        NO_RECORD
        + " subject '{subject}'. The subject matches with case-insensitive comparison, but"
        " not with case-sensitive comparison. Check your "
        + CHECK_FIC
        + " See documentation at: "
        + FIC_DOCS
        + ". See breaking change notification and remediation at: "
        + BREAKING
        + "#august-2024.",
    ),
    700212: (
        401,
        "invalid_client",
        NO_RECORD + " audience '{audience}'. Please check your " + CHECK_FIC + " " + FIC_DOCS,
    ),
    # [inferred] wording: no real body for a federated assertion with a bad signature is recorded.
    700027: (401, "invalid_client", "Client assertion failed signature validation."),
    700024: (
        401,
        "invalid_client",
        "Client assertion is not within its valid time range. Current time: {now}, assertion valid"
        " from {valid_from}, expiry time of assertion {expiry}. Review the documentation at "
        + CERT_DOCS
        + " .",
    ),
}


class EntraError(Exception):
    """A refusal of the token endpoint: HTTP status, OAuth `error` and AADSTS code + message."""

    def __init__(self, code: int, **values: Any) -> None:
        self.status, self.error, template = REFUSALS[code]
        self.code = code
        self.message = template.format(**values)
        super().__init__(f"AADSTS{code}: {self.message}")


def _entra_time(moment: dt.datetime) -> str:
    """Entra's timestamp form in messages and bodies: `2026-01-18 00:16:16Z`."""
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _iso7(moment: dt.datetime) -> str:
    """The .NET round-trip form used in AADSTS700024: `2023-08-01T11:08:01.5274809Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _unix(value: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(value), dt.UTC)


def error_response(error: EntraError, correlation_id: str | None = None) -> web.Response:
    """Entra's error body for a refusal."""
    moment = dt.datetime.now(dt.UTC)
    trace_id = str(uuid.uuid4())
    correlation = correlation_id or str(uuid.uuid4())
    stamp = _entra_time(moment)
    description = (
        f"AADSTS{error.code}: {error.message} Trace ID: {trace_id}"
        f" Correlation ID: {correlation} Timestamp: {stamp}"
    )
    body = {
        "error": error.error,
        "error_description": description,
        "error_codes": [error.code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={error.code}",
    }
    response = json_response(body, error.status, {"Cache-Control": "no-store, no-cache"})
    # azure-identity raises without releasing the connection of a refused token request, so the
    # socket would stay open until the client is garbage-collected; closing it from this side
    # keeps the emulator's shutdown clean. Clients reconnect for the next request anyway.
    response.force_close()
    return response


class Service(ServiceBase):
    """Entra ID for the emulated tenant."""

    HOSTS: ClassVar[dict[str, str]] = {"login": rf"login\.{DOMAIN}"}

    def host_names(self) -> list[str]:
        """The authority host."""
        return [f"login.{DOMAIN}"]

    def register(self, router: Router) -> None:
        """Add the token endpoint, the OpenID configuration and the JWKS."""
        tenant = r"/(?P<tenant>[^/]+)"
        router.add("login", "POST", tenant + r"/oauth2/v2\.0/token", self.token)
        router.add(
            "login",
            "GET",
            tenant + r"/v2\.0/\.well-known/openid-configuration",
            self.openid_configuration,
        )
        router.add("login", "GET", tenant + r"/discovery/v2\.0/keys", self.keys)

    # --- the resources this tenant issues tokens for -------------------------------------
    def known_resources(self) -> list[str]:
        """Resources (audiences) with a service principal here: ARM, Key Vault and ACR."""
        return [self.emulator.arm_url, self.emulator.vault_resource, ACR_AUDIENCE]

    def _tenant_known(self, tenant: str) -> bool:
        return tenant.lower() == self.emulator.state.tenant_id.lower()

    def _issuer(self, credential: FederatedCredential) -> str:
        # seed.yaml writes "{oidc_issuer}" for the emulator's own GitHub issuer (its port varies).
        return credential.issuer.replace("{oidc_issuer}", self.emulator.oidc_issuer)

    # --- handlers ------------------------------------------------------------------------
    async def token(self, request: web.Request, tenant: str) -> web.Response:
        """`POST /{tenant}/oauth2/v2.0/token` for `grant_type=client_credentials`."""
        form = await request.post()
        fields = {k: str(v) for k, v in form.items()}
        try:
            app, resource = self._authenticate(tenant, fields)
        except EntraError as refusal:
            return error_response(refusal, request.headers.get("client-request-id"))
        token, expires_in = issue_access_token(self.emulator, app, resource)
        headers = {"Cache-Control": "no-store, no-cache"}
        if "client-request-id" in request.headers:
            headers["client-request-id"] = request.headers["client-request-id"]
        body = {
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        }
        return json_response(body, 200, headers)

    def _authenticate(self, tenant: str, fields: dict[str, str]) -> tuple[App, str]:
        """The app and the resource of a valid request; raises `EntraError`."""
        if not self._tenant_known(tenant):
            raise EntraError(90002, tenant=tenant)
        grant = fields.get("grant_type", "")
        if grant != "client_credentials":
            raise EntraError(70003, grant=grant)
        client_id = fields.get("client_id", "")
        app = self.emulator.state.app(client_id) if client_id else None
        if app is None:
            raise EntraError(700016, client_id=client_id, tenant=tenant)
        if "client_assertion" in fields:
            self._check_assertion(app, fields)
        elif "client_secret" in fields:
            # Compared, never echoed: the secret appears in no message and no log line.
            if app.secret is None or fields["client_secret"] != app.secret:
                raise EntraError(7000215, client_id=app.client_id)
        else:
            raise EntraError(7000218)
        return app, self._resource(fields.get("scope", ""), tenant)

    def _resource(self, scope: str, tenant: str) -> str:
        """The resource of a `<resource>/.default` scope, if this tenant knows it."""
        if not scope:
            raise EntraError(900144)
        first = scope.split()[0]
        resource = first.removesuffix("/.default")
        if resource == first:
            raise EntraError(1002012, scope=first)  # client credentials take `.default` only
        if resource.rstrip("/").lower() not in {r.lower() for r in self.known_resources()}:
            raise EntraError(500011, resource=resource, tenant=tenant)
        return resource

    def _check_assertion(self, app: App, fields: dict[str, str]) -> None:
        """Check a federated client assertion against the app's credentials; raises `EntraError`."""
        if fields.get("client_assertion_type") != JWT_BEARER:
            raise EntraError(700026)
        assertion = fields["client_assertion"]
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise EntraError(50027) from exc
        issuer = str(claims.get("iss", ""))
        subject = str(claims.get("sub", ""))
        by_issuer = [fc for fc in app.federated_credentials if self._issuer(fc) == issuer]
        if not by_issuer:
            raise EntraError(700211, issuer=issuer)
        by_subject = [fc for fc in by_issuer if fc.subject == subject]
        if not by_subject:
            # Since 2024-08 Entra compares subjects case-sensitively and says so (Azure/login#515).
            folded = any(fc.subject.lower() == subject.lower() for fc in by_issuer)
            raise EntraError(7002138 if folded else 700213, subject=subject)
        audiences = claims.get("aud", [])
        presented = [audiences] if isinstance(audiences, str) else list(audiences)
        if not any(aud in fc.audiences for fc in by_subject for aud in presented):
            raise EntraError(700212, audience=", ".join(presented))
        try:
            if issuer != self.emulator.oidc_issuer:
                # Entra fetches the issuer's JWKS; the emulator vouches for its own issuer only.
                raise jwt.InvalidSignatureError(issuer)
            self.emulator.keys.github.decode(assertion, verify_exp=False)
        except jwt.InvalidTokenError as exc:
            raise EntraError(700027) from exc
        moment = dt.datetime.now(dt.UTC)
        valid_from = _unix(claims.get("nbf", claims.get("iat", 0)))
        expiry = _unix(claims.get("exp", 0))
        if not valid_from <= moment < expiry:
            raise EntraError(
                700024, now=_iso7(moment), valid_from=_iso7(valid_from), expiry=_iso7(expiry)
            )

    async def openid_configuration(self, request: web.Request, tenant: str) -> web.Response:
        """The tenant's v2.0 OpenID configuration (MSAL reads token and authorization endpoints)."""
        del request
        if not self._tenant_known(tenant):
            refusal = EntraError(90002, tenant=tenant)
            refusal.error = (
                "invalid_tenant"  # the discovery documents say invalid_tenant [inferred]
            )
            return error_response(refusal)
        base = f"{self.emulator.authority_url}/{tenant}"
        return json_response(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "acr",
                    "nonce",
                    "tid",
                    "ver",
                ],
                "tenant_region_scope": "WW",
                "cloud_instance_name": "azure.localhost",
            },
            headers={"Cache-Control": "max-age=86400, private"},
        )

    async def keys(self, request: web.Request, tenant: str) -> web.Response:
        """The tenant's token-signing keys."""
        del request, tenant
        return json_response({"keys": [self.emulator.keys.entra.jwk()]})
