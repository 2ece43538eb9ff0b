"""Signing keys and JWTs of the emulated issuers (GitHub OIDC, Entra ID, ACR).

Each issuer has its own RSA key, published where the real one is (a JWKS for GitHub and Entra, an
`x5c` certificate chain that the Distribution registry trusts for ACR).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SigningKey:
    """An RSA key with a self-signed certificate, a key id and a JWKS entry."""

    name: str
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def __post_init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, f"acr-action emulator {self.name}")]
        )
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.private_key, hashes.SHA256())
        )
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        self.x5c = base64.b64encode(der).decode()
        self.x5t = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
        self.kid = self.x5t

    @property
    def certificate_pem(self) -> bytes:
        """The self-signed certificate, PEM (the registry's `rootcertbundle`)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWKS entry."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "x5c": [self.x5c],
        }

    def sign(self, claims: dict[str, Any], *, headers: dict[str, Any] | None = None) -> str:
        """An RS256 JWT of `claims`, with `kid` and `x5t` (plus any extra headers)."""
        header = {"kid": self.kid, "x5t": self.x5t, **(headers or {})}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=header)

    def decode(
        self, token: str, *, audience: str | list[str] | None = None, verify_exp: bool = True
    ) -> dict[str, Any]:
        """Verify the signature (and `aud`/`exp` when asked) and return the claims; raises `jwt.InvalidTokenError`."""
        options = {"verify_aud": audience is not None, "verify_exp": verify_exp}
        return jwt.decode(
            token,
            self.private_key.public_key(),
            algorithms=["RS256"],
            audience=audience,
            options=options,  # type: ignore[arg-type]  # PyJWT types options as a TypedDict
            leeway=0,
        )


@dataclass
class Keys:
    """The three issuers' keys of one emulator."""

    github: SigningKey = field(default_factory=lambda: SigningKey("github-oidc"))
    entra: SigningKey = field(default_factory=lambda: SigningKey("entra"))
    acr: SigningKey = field(default_factory=lambda: SigningKey("acr"))


def now() -> int:
    """Current Unix time in seconds."""
    return int(time.time())


def new_jti() -> str:
    """A unique token id."""
    return str(uuid.uuid4())
