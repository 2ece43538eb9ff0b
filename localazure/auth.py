"""Entra access tokens as the emulated services issue and check them, and ARM's RBAC answers.

Every data and control plane of the emulator authenticates the same way Azure does: a bearer JWT
signed by the tenant's key, whose `aud` is that service's resource. Tokens name the principal by
`appid` (client id) and `oid` (service principal object id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jwt
from aiohttp import web

from .state import App
from .tokens import new_jti, now
from .web import arm_error

if TYPE_CHECKING:
    from .server import Emulator

ACCESS_TOKEN_LIFETIME = 3600


def issue_access_token(
    emulator: Emulator, app: App, resource: str, *, lifetime: int = ACCESS_TOKEN_LIFETIME
) -> tuple[str, int]:
    """A v1-style app-only access token for `resource`; returns (token, expires_in)."""
    issued = now()
    claims = {
        "aud": resource,
        "iss": f"https://sts.windows.net/{emulator.state.tenant_id}/",
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "tid": emulator.state.tenant_id,
        "oid": app.object_id,
        "sub": app.object_id,
        "appid": app.client_id,
        "appidacr": "2",
        "idtyp": "app",
        "ver": "1.0",
        "uti": new_jti(),
    }
    token = emulator.keys.entra.sign(claims)
    emulator.access_tokens.append(token)
    return token, lifetime


# ACR's own Entra resource. /oauth2/exchange takes tokens for it, and ARM-audience tokens unless the
# registry's azureADAuthenticationAsArmPolicy is disabled (Microsoft Learn,
# container-registry-disable-authentication-as-arm). The azure-cli acr/_docker_utils.py in our
# index still asks get_raw_token() for the default (ARM) resource; the Learn page has
# `az login --scope https://containerregistry.azure.net/.default` for ACR-only registries.
ACR_AUDIENCE = "https://containerregistry.azure.net"


def acr_exchange_audiences(emulator: Emulator) -> list[str]:
    """The audiences ACR's /oauth2/exchange accepts: ACR's own resource, or ARM's."""
    return [ACR_AUDIENCE, ACR_AUDIENCE + "/", *arm_audiences(emulator)]


def arm_audiences(emulator: Emulator) -> list[str]:
    """The audiences ARM accepts (with and without the trailing slash, as Azure does)."""
    return [emulator.arm_url + "/", emulator.arm_url]


def bearer(request: web.Request) -> str | None:
    """The bearer token of a request, if it has one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate_arm(emulator: Emulator, request: web.Request) -> App | web.Response:
    """The calling principal of an ARM request, or ARM's 401 answer."""
    token = bearer(request)
    if token is None:
        return arm_error(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
    try:
        claims = emulator.keys.entra.decode(token, audience=arm_audiences(emulator))
    except jwt.ExpiredSignatureError:
        return arm_error(
            401,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        )
    except jwt.InvalidAudienceError:
        return arm_error(
            401,
            "InvalidAuthenticationTokenAudience",
            "The access token has been obtained for wrong audience or resource. It should exactly match"
            f" with one of the allowed audiences '{emulator.arm_url}/'.",
        )
    except jwt.InvalidTokenError:
        return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.")
    if claims.get("tid") != emulator.state.tenant_id:
        return arm_error(
            401,
            "InvalidAuthenticationTokenTenant",
            f"The access token is from the wrong issuer '{claims.get('iss')}'. It must match the tenant"
            f" 'https://sts.windows.net/{emulator.state.tenant_id}/' associated with this subscription.",
        )
    app = emulator.state.app_by_object_id(str(claims.get("oid", "")))
    if app is None:
        return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.")
    return app


def authorization_failed(app: App, action: str, scope: str) -> web.Response:
    """ARM's 403 for a missing role, worded as Azure words it."""
    return arm_error(
        403,
        "AuthorizationFailed",
        f"The client '{app.client_id}' with object id '{app.object_id}' does not have authorization to perform"
        f" action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted,"
        " please refresh your credentials.",
    )
