"""Microsoft.Authorization: role assignments at any scope, and the built-in role definitions.

Shapes from Azure/azure-rest-api-specs `specification/authorization/resource-manager/
Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json` and
`authorization-RoleDefinitionsCalls.json` (the api-version azure-mgmt-authorization 5.0.0b2 and
`az role` use):

* `RoleAssignments_Create`: `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{guid}`
  with `properties.roleDefinitionId`, `principalId` (and optional `principalType`) -> 201.
  Only a caller with `Microsoft.Authorization/roleAssignments/write` at the scope may (Owner, User
  Access Administrator, Role Based Access Control Administrator; Contributor's NotActions remove
  it): else 403 AuthorizationFailed. The same role, principal and scope again: 409
  `RoleAssignmentExists` "The role assignment already exists." (Learn, "Troubleshoot Azure RBAC").
  A principal the directory does not know yet, without `principalType`: 400 `PrincipalNotFound`
  (Learn's text, below); with `principalType` ARM skips that lookup, as Learn advises.
* `RoleAssignments_Get` / `_Delete` (200 with the assignment, 204 when there was none),
  `RoleAssignments_ListForScope` with `$filter=atScope()` (at or above the scope),
  `principalId eq '{id}'` or `assignedTo('{id}')`; without a filter: at, above and below.
* `RoleDefinitions_List` with `$filter=roleName eq '{name}'` and `RoleDefinitions_Get`: ids are
  `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`, the built-in
  roles' real GUIDs. An assignment names its role in that subscription form, as `az role
  assignment create` prints it (the spec's RoleAssignments_CreateForResource example answers the
  tenant form `/providers/Microsoft.Authorization/roleDefinitions/{guid}`; the CLI compares ids
  literally, so one form is used throughout).

An assignment created here counts for authorization checks only after
`settings.role_assignment_propagation_seconds` (role assignment propagation), so callers' waiting
can be tested.
"""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar

from aiohttp import web

from .arm_provider import ArmProvider, utc_now
from .state import App, RoleAssignment, RoleDefinition, scope_contains
from .web import Router, arm_error, json_response

WRITE = "Microsoft.Authorization/roleAssignments/write"
READ = "Microsoft.Authorization/roleAssignments/read"
DELETE = "Microsoft.Authorization/roleAssignments/delete"
SCOPE = r"(?P<scope>(?:/[^/]+)*?)"
AUTHZ = r"(?i)" + SCOPE + r"/providers/Microsoft\.Authorization"
GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")
ROLE_ID = re.compile(r"(?i).*/providers/Microsoft\.Authorization/roleDefinitions/(?P<guid>[^/]+)")
FILTER_PRINCIPAL = re.compile(r"(?i)\s*(?:principalId\s+eq\s+'([^']*)'|assignedTo\('([^']*)'\))\s*")
FILTER_ROLE_NAME = re.compile(r"(?i)\s*roleName\s+eq\s+'(?P<name>[^']*)'\s*")
PRINCIPAL_NOT_FOUND = (
    "Principal {principal} does not exist in the directory {tenant}. Check that you have the"
    " correct principal ID. If you are creating this principal and then immediately assigning a"
    " role, this error might be related to a replication delay. In this case, set the role"
    " assignment principalType property to a value, such as ServicePrincipal, User, or Group."
    "  See https://aka.ms/docs-principaltype"
)


class Service(ArmProvider):
    """Role assignments and role definitions, on ARM's host, at any scope."""

    VERSIONED: ClassVar[dict[str, tuple[str, str]]] = {
        "roleAssignments": ("arm", r"(?i)/providers/Microsoft\.Authorization/roleAssignments"),
        "roleDefinitions": ("arm", r"(?i)/providers/Microsoft\.Authorization/roleDefinitions"),
    }

    def register(self, router: Router) -> None:
        """Add the role assignment and role definition routes."""
        one = AUTHZ + r"/roleAssignments/(?P<name>[^/]+)/?"
        self.arm_route(router, "PUT", one, self.put_assignment)
        self.arm_route(router, "GET", one, self.get_assignment)
        self.arm_route(router, "DELETE", one, self.delete_assignment)
        self.arm_route(router, "GET", AUTHZ + r"/roleAssignments/?", self.list_assignments)
        definition = AUTHZ + r"/roleDefinitions/(?P<guid>[^/]+)/?"
        self.arm_route(router, "GET", definition, self.get_definition)
        self.arm_route(router, "GET", AUTHZ + r"/roleDefinitions/?", self.list_definitions)

    # --- wire shapes ---------------------------------------------------------------------
    def definition_id(self, role: RoleDefinition) -> str:
        """A built-in role's id as ARM writes it in a subscription."""
        return (
            f"{self.emulator.state.subscription_scope()}"
            f"/providers/Microsoft.Authorization/roleDefinitions/{role.guid}"
        )

    def _definition(self, role: RoleDefinition) -> dict[str, Any]:
        return {
            "id": self.definition_id(role),
            "type": "Microsoft.Authorization/roleDefinitions",
            "name": role.guid,
            "properties": {
                "roleName": role.name,
                "type": "BuiltInRole",
                "description": f"{role.name} (built-in role of the local Azure)",
                "assignableScopes": ["/"],
                "permissions": [
                    {
                        "actions": list(role.actions),
                        "notActions": list(role.not_actions),
                        "dataActions": list(role.data_actions),
                        "notDataActions": [],
                    }
                ],
                "createdOn": None,
                "updatedOn": None,
                "createdBy": None,
                "updatedBy": None,
            },
        }

    def _assignment(self, ra: RoleAssignment) -> dict[str, Any]:
        role = self.emulator.state.role(ra.role)
        role_id = self.definition_id(role) if role is not None else ra.role
        app = self._principal(ra.principal)
        principal_id = app.object_id if app is not None else ra.principal
        return {
            "properties": {
                "roleDefinitionId": role_id,
                "principalId": principal_id,
                "principalType": ra.principal_type or "ServicePrincipal",
                "scope": ra.scope,
                "condition": None,
                "conditionVersion": None,
                "createdOn": ra.created_on or None,
                "updatedOn": ra.created_on or None,
                "createdBy": ra.created_by,
                "updatedBy": ra.created_by,
                "delegatedManagedIdentityResourceId": None,
                "description": None,
            },
            "id": f"{ra.scope}/providers/Microsoft.Authorization/roleAssignments/{ra.name}",
            "type": "Microsoft.Authorization/roleAssignments",
            "name": ra.name,
        }

    def _principal(self, principal: str) -> App | None:
        state = self.emulator.state
        return state.app_by_object_id(principal) or state.app(principal)

    def _subscription_of(self, scope: str) -> str | None:
        found = re.match(r"(?i)/subscriptions/([^/]+)", scope)
        return found.group(1) if found else None

    def _checked(self, request: web.Request, scope: str, action: str) -> web.Response | None:
        """Sign-in, the scope's subscription and the caller's right to `action` there."""
        subscription = self._subscription_of(scope)
        if subscription is None:
            caller = self.caller(request)  # tenant and management-group scopes: [inferred]
            if isinstance(caller, web.Response):
                return caller
            return arm_error(
                400, "InvalidScope", f"The scope '{scope}' is not supported by the local Azure."
            )
        return self.check(request, subscription, action, scope)

    # --- role assignments --------------------------------------------------------------
    async def put_assignment(self, request: web.Request, scope: str, name: str) -> web.Response:
        """`RoleAssignments_Create`."""
        refusal = self._checked(request, scope, WRITE)
        if refusal is not None:
            return refusal
        body = await self.json_body(request)
        if isinstance(body, web.Response):
            return body
        parsed = self._parse(body.get("properties") or {}, name)
        if isinstance(parsed, web.Response):
            return parsed
        role, principal, principal_type = parsed
        state = self.emulator.state
        with state.lock:
            for ra in state.role_assignments:
                same = ra.scope.lower() == scope.lower() and ra.role.lower() == role.name.lower()
                if same and self._same_principal(ra.principal, principal):
                    return arm_error(
                        409, "RoleAssignmentExists", "The role assignment already exists."
                    )
            caller = self.caller(request)
            assignment = RoleAssignment(
                principal,
                role.name,
                scope,
                name=name.lower(),
                principal_type=principal_type,
                effective_at=time.monotonic() + state.settings.role_assignment_propagation_seconds,
                created_on=utc_now(),
                created_by=caller.object_id if isinstance(caller, App) else None,
            )
            state.role_assignments.append(assignment)
        return json_response(self._assignment(assignment), 201)

    def _parse(
        self, properties: dict[str, Any], name: str
    ) -> tuple[RoleDefinition, str, str | None] | web.Response:
        """The role, principal id and principal type of a create, or ARM's 400."""
        state = self.emulator.state
        if not GUID.fullmatch(name):
            return arm_error(400, "InvalidRoleAssignmentId",
                             f"The role assignment ID '{name}' is not valid. The role assignment ID"
                             " must be a GUID.")  # fmt: skip
        principal = str(properties.get("principalId") or "")
        if not GUID.fullmatch(principal):
            return arm_error(400, "InvalidPrincipalId",
                             "A valid principal ID must be provided for role assignment.")  # fmt: skip
        found = ROLE_ID.fullmatch(str(properties.get("roleDefinitionId") or ""))
        role = state.role(found.group("guid")) if found else None
        if role is None:
            given = found.group("guid") if found else properties.get("roleDefinitionId")
            return arm_error(400, "RoleDefinitionDoesNotExist",
                             f"The specified role definition with ID '{given}' does not exist.")  # fmt: skip
        principal_type = properties.get("principalType")
        if principal_type is not None and principal_type not in PRINCIPAL_TYPES:
            return arm_error(400, "InvalidPrincipalType",  # [inferred] code and wording
                             f"The principal type '{principal_type}' is not valid.")  # fmt: skip
        if principal_type is None and not self._known(principal):
            message = PRINCIPAL_NOT_FOUND.format(principal=principal, tenant=state.tenant_id)
            return arm_error(400, "PrincipalNotFound", message)
        if principal_type not in (None, "ServicePrincipal") and self._known(principal):
            # Every principal of the local Azure is a service principal (apps, identities).
            return arm_error(400, "UnmatchedPrincipalType",  # [inferred] wording
                             f"The PrincipalId '{principal}' has type 'ServicePrincipal', which is"
                             f" different from specified PrincipalType '{principal_type}'.")  # fmt: skip
        return role, principal, principal_type

    def _known(self, principal: str) -> bool:
        """Does the directory know `principal` yet (created longer ago than the replication delay)?"""
        app = self._principal(principal)
        if app is None:
            return False
        if app.created_at is None:
            return True
        delay = self.emulator.state.settings.principal_replication_seconds
        return time.monotonic() >= app.created_at + delay

    def _same_principal(self, stored: str, principal: str) -> bool:
        app = self._principal(stored)
        ids = {stored.lower()} | ({app.object_id.lower(), app.client_id.lower()} if app else set())
        return principal.lower() in ids

    def _find(self, scope: str, name: str) -> RoleAssignment | None:
        with self.emulator.state.lock:
            return next(
                (
                    ra
                    for ra in self.emulator.state.role_assignments
                    if ra.name.lower() == name.lower() and ra.scope.lower() == scope.lower()
                ),
                None,
            )

    async def get_assignment(self, request: web.Request, scope: str, name: str) -> web.Response:
        """`RoleAssignments_Get`."""
        refusal = self._checked(request, scope, READ)
        if refusal is not None:
            return refusal
        found = self._find(scope, name)
        if found is None:
            return arm_error(404, "RoleAssignmentNotFound",
                             f"The role assignment '{name}' is not found.")  # fmt: skip
        return json_response(self._assignment(found))

    async def delete_assignment(self, request: web.Request, scope: str, name: str) -> web.Response:
        """`RoleAssignments_Delete`: 200 with what was removed, 204 when there was nothing."""
        refusal = self._checked(request, scope, DELETE)
        if refusal is not None:
            return refusal
        found = self._find(scope, name)
        if found is None:
            return web.Response(status=204)
        with self.emulator.state.lock:
            self.emulator.state.role_assignments.remove(found)
        return json_response(self._assignment(found))

    async def list_assignments(self, request: web.Request, scope: str) -> web.Response:
        """`RoleAssignments_ListForScope` (and, at a subscription, `_ListForSubscription`)."""
        refusal = self._checked(request, scope, READ)
        if refusal is not None:
            return refusal
        wanted = _assignment_filter(request.query.get("$filter", ""))
        if wanted is None:
            return arm_error(400, "InvalidFilter",  # [inferred] code; the filters of the spec
                             "The local Azure understands $filter=atScope(), principalId eq"
                             " '{id}' and assignedTo('{id}'), joined by 'and'.")  # fmt: skip
        at_scope, principal = wanted
        with self.emulator.state.lock:
            chosen = [
                ra
                for ra in self.emulator.state.role_assignments
                if (
                    scope_contains(ra.scope, scope)
                    or (not at_scope and scope_contains(scope, ra.scope))
                )
                and (principal is None or self._same_principal(ra.principal, principal))
            ]
        return self.page(request, chosen, self._assignment)

    # --- role definitions --------------------------------------------------------------
    async def get_definition(self, request: web.Request, scope: str, guid: str) -> web.Response:
        """`RoleDefinitions_Get` (any scope, also the tenant's `/providers/...`)."""
        caller = self.caller(request)
        if isinstance(caller, web.Response):
            return caller
        role = self.emulator.state.role(guid)
        if role is None:
            return arm_error(404, "RoleDefinitionDoesNotExist",
                             f"The specified role definition with ID '{guid}' does not exist.")  # fmt: skip
        return json_response(self._definition(role))

    async def list_definitions(self, request: web.Request, scope: str) -> web.Response:
        """`RoleDefinitions_List`, optionally `$filter=roleName eq '{name}'` (exact, any case)."""
        caller = self.caller(request)
        if isinstance(caller, web.Response):
            return caller
        text = request.query.get("$filter", "")
        matched = FILTER_ROLE_NAME.fullmatch(text)
        if text.strip() and matched is None:
            return arm_error(400, "InvalidFilter",
                             "The local Azure understands only $filter=roleName eq '{name}'.")  # fmt: skip
        with self.emulator.state.lock:
            roles = sorted(self.emulator.state.roles.values(), key=lambda r: r.name.lower())
        if matched is not None:
            roles = [r for r in roles if r.name.lower() == matched.group("name").lower()]
        return self.page(request, roles, self._definition)


def _assignment_filter(text: str) -> tuple[bool, str | None] | None:
    """(atScope(), principal id) of a role assignment `$filter`; None when not understood."""
    at_scope, principal = False, None
    for clause in re.split(r"(?i)\s+and\s+", text.strip()) if text.strip() else []:
        if clause.strip().lower() == "atscope()":
            at_scope = True
            continue
        found = FILTER_PRINCIPAL.fullmatch(clause)
        if found is None:
            return None
        principal = found.group(1) or found.group(2)
    return at_scope, principal
