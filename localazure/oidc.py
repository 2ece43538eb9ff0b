"""The GitHub Actions OIDC issuer: the ID-token request endpoint, its JWKS and OpenID configuration.

A test plays the runner: `start_job(...)` returns the two variables a job with
`permissions: id-token: write` gets (`ACTIONS_ID_TOKEN_REQUEST_URL` and
`ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
The URL already has a query string, because clients append `&audience=...` (PROTOCOL.md §2,
actions-toolkit `oidc_utils.py`). A job *without* that permission gets neither variable from the
real runner, so a test of that case simply leaves them out of the environment; `revoke_job`
covers the rarer case of a URL that stops answering.

Tokens are RS256 JWTs signed with `emulator.keys.github`, with GitHub's claim set and `sub`
formats (PROTOCOL.md §2; docs.github.com "About security hardening with OpenID Connect").
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web

from .service import ServiceBase
from .state import GITHUB_ISSUER_HOST
from .tokens import SigningKey, new_jti, now
from .web import Router, json_response

if TYPE_CHECKING:
    from .server import Emulator

DEFAULT_LIFETIME = 300  # GitHub's ID tokens expire 5 minutes after issue
NOT_BEFORE_SKEW = 600  # GitHub sets nbf 10 minutes before iat (docs example: iat - nbf = 600)
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")

CLAIMS_SUPPORTED = [
    "sub",
    "aud",
    "exp",
    "iat",
    "iss",
    "jti",
    "nbf",
    "ref",
    "sha",
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "enterprise",
    "enterprise_id",
    "run_id",
    "run_number",
    "run_attempt",
    "actor",
    "actor_id",
    "workflow",
    "workflow_ref",
    "workflow_sha",
    "head_ref",
    "base_ref",
    "event_name",
    "ref_type",
    "ref_protected",
    "environment",
    "environment_node_id",
    "job_workflow_ref",
    "job_workflow_sha",
    "repository_visibility",
    "runner_environment",
]


def _number(text: str, digits: int = 9) -> str:
    """A stable numeric id derived from a name (repository ids, owner ids, actor ids)."""
    return str(int(hashlib.sha256(text.encode()).hexdigest(), 16) % 10**digits)


def _encode(value: str) -> str:
    """A `sub` component: `:` inside values is percent-encoded (PROTOCOL.md §2)."""
    return value.replace(":", "%3A")


@dataclass
class Job:
    """One emulated workflow job: what its ID tokens say about it."""

    repository: str
    ref: str | None = None
    event_name: str = "push"
    sha: str | None = None
    environment: str | None = None
    pr_number: int | None = None
    head_ref: str | None = None
    base_ref: str | None = None
    lifetime: int = DEFAULT_LIFETIME
    actor: str = "octocat"
    run_id: str | None = None
    workflow: str = "deploy"
    sub: str | None = None
    extra_claims: dict[str, Any] | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    request_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    revoked: bool = False

    def __post_init__(self) -> None:
        is_pr = self.event_name in PULL_REQUEST_EVENTS
        if self.ref is None:
            self.ref = f"refs/pull/{self.pr_number or 1}/merge" if is_pr else "refs/heads/main"
        if self.sha is None:
            self.sha = hashlib.sha1(f"{self.repository}@{self.ref}".encode()).hexdigest()
        if self.run_id is None:
            self.run_id = str(secrets.randbelow(9 * 10**9) + 10**9)
        if is_pr:
            self.head_ref = (
                self.head_ref if self.head_ref is not None else f"feature-{self.pr_number or 1}"
            )
            self.base_ref = self.base_ref if self.base_ref is not None else "main"

    @property
    def subject(self) -> str:
        """The default `sub`: environment, then pull_request, then the ref."""
        if self.sub is not None:
            return self.sub
        prefix = f"repo:{self.repository}"
        if self.environment:
            return f"{prefix}:environment:{_encode(self.environment)}"
        if self.event_name in PULL_REQUEST_EVENTS:
            return f"{prefix}:pull_request"
        return f"{prefix}:ref:{_encode(self.ref or '')}"

    def claims(self, issuer: str, audience: str | None) -> dict[str, Any]:
        """The full claim set of an ID token for this job."""
        owner = self.repository.split("/", 1)[0]
        ref = self.ref or ""
        ref_type = (
            "branch"
            if ref.startswith("refs/heads/")
            else "tag"
            if ref.startswith("refs/tags/")
            else ""
        )
        workflow_ref = f"{self.repository}/.github/workflows/{self.workflow}.yml@{ref}"
        issued = now()
        claims: dict[str, Any] = {
            "jti": new_jti(),
            "sub": self.subject,
            "aud": audience or f"https://github.com/{owner}",
            "ref": ref,
            "sha": self.sha,
            "repository": self.repository,
            "repository_owner": owner,
            "repository_owner_id": _number(owner),
            "repository_id": _number(self.repository),
            "repository_visibility": "private",
            "run_id": self.run_id,
            "run_number": "1",
            "run_attempt": "1",
            "actor": self.actor,
            "actor_id": _number(self.actor, 8),
            "workflow": self.workflow,
            "workflow_ref": workflow_ref,
            "workflow_sha": self.sha,
            "job_workflow_ref": workflow_ref,
            "job_workflow_sha": self.sha,
            "head_ref": self.head_ref or "",
            "base_ref": self.base_ref or "",
            "event_name": self.event_name,
            "ref_type": ref_type,
            "ref_protected": "true" if ref == "refs/heads/main" else "false",
            "runner_environment": "github-hosted",
            "iss": issuer,
            "nbf": issued - NOT_BEFORE_SKEW,
            "iat": issued,
            "exp": issued + self.lifetime,
        }
        if self.environment:
            claims["environment"] = self.environment
        claims.update(self.extra_claims or {})
        return claims


class Service(ServiceBase):
    """The GitHub OIDC issuer of one emulator."""

    HOSTS: ClassVar[dict[str, str]] = {"oidc": re.escape(GITHUB_ISSUER_HOST)}

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.jobs: dict[str, Job] = {}

    def register(self, router: Router) -> None:
        """Add the issuer's routes."""
        router.add("oidc", "GET", r"/\.well-known/openid-configuration", self.openid_configuration)
        router.add("oidc", "GET", r"/\.well-known/jwks", self.jwks)
        router.add(
            "oidc",
            "GET",
            r"/_apis/distributedtask/hubs/Actions/plans/(?P<plan>[0-9a-f-]+)/jobs/(?P<job>[0-9a-f-]+)/idtoken",
            self.id_token,
        )

    # --- hooks for tests ---------------------------------------------------------------
    def start_job(self, repository: str, **job: Any) -> dict[str, str]:
        """Register a job; returns the runner variables it would get (arguments: see `Job`)."""
        new = Job(repository, **job)
        self.jobs[new.id] = new
        plan = uuid.uuid5(uuid.NAMESPACE_URL, new.run_id or new.id)
        url = (
            f"{self.emulator.oidc_issuer}/_apis/distributedtask/hubs/Actions/plans/{plan}"
            f"/jobs/{new.id}/idtoken?api-version=2.0"
        )
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": new.request_token,
        }

    def mint(
        self,
        repository: str,
        *,
        audience: str | None = "api://AzureADTokenExchange",
        signing_key: SigningKey | None = None,
        **job: Any,
    ) -> str:
        """An ID token for a job, without the HTTP round trip (audience defaults to Azure's)."""
        claims = Job(repository, **job).claims(self.emulator.oidc_issuer, audience)
        return (signing_key or self.emulator.keys.github).sign(claims, headers={"typ": "JWT"})

    def revoke_job(self, env_or_job_id: dict[str, str] | str) -> None:
        """Make a job's request URL refuse (401) from now on."""
        if isinstance(env_or_job_id, dict):
            token = env_or_job_id["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
            job = next(j for j in self.jobs.values() if j.request_token == token)
        else:
            job = self.jobs[env_or_job_id]
        job.revoked = True

    # --- handlers ----------------------------------------------------------------------
    async def id_token(self, request: web.Request, plan: str, job: str) -> web.Response:
        """The `ACTIONS_ID_TOKEN_REQUEST_URL` endpoint: `{"value": jwt}` for the job's bearer."""
        del plan
        found = self.jobs.get(job)
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if (
            found is None
            or found.revoked
            or scheme.lower() != "bearer"
            or not secrets.compare_digest(presented.strip(), found.request_token)
        ):
            # [inferred] the Actions service's exact 401 body is not recorded; clients only
            # look at the status (actions-toolkit raises on any non-200).
            return json_response(
                {"message": "Unauthorized: the job's request token is missing or invalid."}, 401
            )
        claims = found.claims(self.emulator.oidc_issuer, request.query.get("audience") or None)
        token = self.emulator.keys.github.sign(claims, headers={"typ": "JWT"})
        return json_response({"value": token})

    async def openid_configuration(self, request: web.Request) -> web.Response:
        """The issuer's discovery document (same fields as GitHub's)."""
        del request
        issuer = self.emulator.oidc_issuer
        return json_response(
            {
                "issuer": issuer,
                "jwks_uri": f"{issuer}/.well-known/jwks",
                "subject_types_supported": ["public", "pairwise"],
                "response_types_supported": ["id_token"],
                "claims_supported": CLAIMS_SUPPORTED,
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid"],
            }
        )

    async def jwks(self, request: web.Request) -> web.Response:
        """The issuer's signing keys."""
        del request
        return json_response({"keys": [self.emulator.keys.github.jwk()]})
