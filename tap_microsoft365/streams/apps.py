"""Apps and consents, admin roles, licences per user and the reporting line.

Requests (graph.md 1, 5): ``/applications`` and ``/servicePrincipals`` at 999 per page;
``/oauth2PermissionGrants`` (page size UNVERIFIED in graph.md 1: 999 asked; ``$select``, ``$filter`` and
``$top`` on this list are used by community wrappers of the v1.0 API, e.g. CloudKatanaAbilities
``Get-CKOauth2PermissionGrants`` on the PowerShell Gallery); app role assignments of 20
resource service principals per ``$batch`` (``/servicePrincipals/{id}/appRoleAssignedTo``), the role's name
resolved from the resource's ``appRoles`` already read by ``service_principals`` (or one ``$select=id,appRoles``
listing); ``/directoryRoles`` takes no OData parameter and never pages (graph.md 1, 9.8), its members 20
roles per ``$batch`` without ``$top`` (the endpoint returns up to 1,000 and documents no ``$top``:
learn.microsoft.com/graph/api/directoryrole-list-members, graph.md 10); ``user_licenses`` from the licences ``users`` read in this run (else
``/users?$select=id,userPrincipalName,assignedLicenses``, 999 per page) joined to one ``/subscribedSkus`` call; ``user_managers`` from
``/users?$expand=manager($select=id,userPrincipalName)`` (999 per page): manager is single-valued, so the
20-item ``$expand`` cap of collections does not apply (graph.md 5; graph.md 1 "user manager" row).
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_microsoft365.schema import (
    LICENSE_ASSIGNMENT_STATES,
    Bool,
    DateTime,
    String,
    objects,
    props,
    strings,
)
from tap_microsoft365.streams.base import (
    BatchedChildStream,
    GraphStream,
    RememberingStream,
)
from tap_microsoft365.streams.delta import DELETION_PROPERTIES, DeltaStream

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

DEFAULT_ROLE = "00000000-0000-0000-0000-000000000000"

CREDENTIAL_DATES = (
    th.Property("keyId", String),
    th.Property("displayName", String),
    th.Property("startDateTime", DateTime),
    th.Property("endDateTime", DateTime),
)


class ApplicationsStream(DeltaStream):
    """``GET /applications/delta``: app registrations; credentials by dates and hints only."""

    name = "applications"
    path = "/applications"
    delta_path = "/applications/delta"
    schema = props(
        th.Property("id", String, required=True),
        th.Property("appId", String),
        th.Property("displayName", String),
        th.Property("description", String),
        th.Property("signInAudience", String),
        th.Property("createdDateTime", DateTime),
        th.Property("publisherDomain", String),
        strings("identifierUris"),
        strings("tags"),
        objects(
            "requiredResourceAccess",
            th.Property("resourceAppId", String),
            objects("resourceAccess", th.Property("id", String), th.Property("type", String)),
        ),
        objects("passwordCredentials", *CREDENTIAL_DATES, th.Property("hint", String)),
        objects(
            "keyCredentials",
            *CREDENTIAL_DATES,
            th.Property("type", String),
            th.Property("usage", String),
            th.Property("customKeyIdentifier", String),
        ),
        *DELETION_PROPERTIES,
    )

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Drop ``secretText``/``key`` if Graph ever returned them (it returns only hints)."""
        for cred in row.get("passwordCredentials") or ():
            cred.pop("secretText", None)
        for cred in row.get("keyCredentials") or ():
            cred.pop("key", None)
        return super().post_process(row, context)


APP_ROLE = (
    th.Property("id", String),
    th.Property("value", String),
    th.Property("displayName", String),
    th.Property("description", String),
    strings("allowedMemberTypes"),
    th.Property("isEnabled", Bool),
    th.Property("origin", String),
)


class ServicePrincipalsStream(DeltaStream):
    """``GET /servicePrincipals/delta``: enterprise apps; ``appOwnerOrganizationId`` tells third parties."""

    remembered_for = ("app_role_assignments",)

    name = "service_principals"
    path = "/servicePrincipals"
    delta_path = "/servicePrincipals/delta"
    schema = props(
        th.Property("id", String, required=True),
        th.Property("appId", String),
        th.Property("displayName", String),
        th.Property("appDisplayName", String),
        th.Property("servicePrincipalType", String),
        th.Property("appOwnerOrganizationId", String),
        th.Property("accountEnabled", Bool),
        th.Property("appRoleAssignmentRequired", Bool),
        th.Property("signInAudience", String),
        strings("tags"),
        strings("servicePrincipalNames"),
        objects("appRoles", *APP_ROLE),
        *DELETION_PROPERTIES,
    )

    remember_fields = ("id", "appRoles")

    def remember(self, row: dict) -> t.Any:
        """Id and the role id -> value map, for ``app_role_assignments``."""
        return row["id"], {r["id"]: r.get("value") for r in row.get("appRoles") or ()}


class OAuth2PermissionGrantsStream(GraphStream):
    """``GET /oauth2PermissionGrants``: delegated scopes granted (admin or per user)."""

    name = "oauth2_permission_grants"
    path = "/oauth2PermissionGrants"
    schema = props(
        th.Property("id", String, required=True),
        th.Property("clientId", String, description="The client service principal"),
        th.Property("resourceId", String, description="The resource service principal"),
        th.Property("consentType", String, description="AllPrincipals (admin) or Principal"),
        th.Property("principalId", String, description="The user, for Principal consents"),
        th.Property("scope", String, description="Space-separated delegated permissions"),
    )

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """The consenting user of a per-user (Principal) grant."""
        return (row.get("principalId"),) if row.get("consentType") == "Principal" else ()


class AppRoleAssignmentsStream(BatchedChildStream):
    """``/servicePrincipals/{id}/appRoleAssignedTo`` of every service principal, 20 per ``$batch``.

    ``principalType`` ServicePrincipal rows are application permissions granted to apps; User and Group
    rows are assignments to the app. ``app_role_value`` is the permission's name from the resource's
    ``appRoles`` (null for the default role).
    """

    name = "app_role_assignments"
    parent = "service_principals"
    child_path = "/servicePrincipals/{id}/appRoleAssignedTo"
    primary_keys = ("resourceId", "id")
    tap_fields = ("tenant_id", "app_role_value")
    schema = props(
        th.Property("id", String, required=True),
        th.Property("appRoleId", String),
        th.Property("createdDateTime", DateTime),
        th.Property("principalId", String),
        th.Property("principalType", String),
        th.Property("principalDisplayName", String),
        th.Property("resourceId", String),
        th.Property("resourceDisplayName", String),
        th.Property(
            "app_role_value", String, description="The permission's name (added by the tap)"
        ),
    )

    @property
    def child_select(self) -> str:  # type: ignore[override]
        """The schema's Graph properties."""
        return ",".join(self.select_fields)

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """A user assigned to the app."""
        return (row.get("principalId"),) if row.get("principalType") == "User" else ()

    def child_row(self, parent: t.Any, item: dict) -> dict:
        """The assignment with its role's value from the resource's appRoles."""
        _, roles = parent
        role_id = item.get("appRoleId")
        item["app_role_value"] = None if role_id == DEFAULT_ROLE else roles.get(role_id)
        return item


class DirectoryRolesStream(RememberingStream):
    """``GET /directoryRoles``: activated roles; no OData parameters at all, one response."""

    remembered_for = ("directory_role_members",)

    name = "directory_roles"
    path = "/directoryRoles"
    max_page_size = None
    supports_select = False
    schema = props(
        th.Property("id", String, required=True),
        th.Property("displayName", String),
        th.Property("description", String),
        th.Property("roleTemplateId", String),
        th.Property("deletedDateTime", DateTime),
    )


class DirectoryRoleMembersStream(BatchedChildStream):
    """One row per (role, member): ``/directoryRoles/{id}/members``, 20 roles per ``$batch``.

    The endpoint supports ``$select`` and returns up to 1,000 members without ``$top``, which it does
    not document (learn.microsoft.com/graph/api/directoryrole-list-members; graph.md 10).
    """

    name = "directory_role_members"
    parent = "directory_roles"
    child_path = "/directoryRoles/{id}/members"
    child_select = "id,userPrincipalName,displayName"
    max_page_size = None
    primary_keys = ("role_id", "member_id")
    schema = props(
        th.Property("role_id", String, required=True),
        th.Property("member_id", String, required=True),
        th.Property("member_type", String, description="user, group or servicePrincipal"),
        th.Property("userPrincipalName", String),
        th.Property("displayName", String),
    )
    parent_field = "role_id"
    child_field = "member_id"
    type_field = "member_type"
    copied = ("userPrincipalName", "displayName")

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """A user holding the role."""
        return (row["member_id"],) if row.get("member_type") == "user" else ()



class UserLicensesStream(GraphStream):
    """One row per (user, SKU assigned or failing to be), ``skuPartNumber`` from one ``/subscribedSkus`` call.

    How each licence was assigned comes from the user's ``licenseAssignmentStates``: directly or by which
    groups, its state and errors; a licence a group could not assign has a state and no
    ``assignedLicenses`` entry, and gets a row with ``assignment_state`` Error.

    The users come from ``users`` when it ran in this run, else from one ``/users`` listing with the
    same domain filter; ``/subscribedSkus`` needs LicenseAssignment.Read.All (or Organization.Read.All),
    and a refusal names that permission and that call (permissions.py maps each endpoint).
    """

    name = "user_licenses"
    path = "/subscribedSkus"

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """The licensed user."""
        return (row.get("user_id"),)

    primary_keys = ("user_id", "skuId")
    schema = props(
        th.Property("user_id", String, required=True),
        th.Property("userPrincipalName", String),
        th.Property("skuId", String, required=True),
        th.Property("skuPartNumber", String),
        strings("disabledPlans"),
        th.Property(
            "assigned_directly", Bool, description="Assigned to the user itself (added by the tap)"
        ),
        strings("assigned_by_groups"),
        th.Property(
            "assignment_state",
            String,
            description="The licence's state: Error, ActiveWithError, Disabled or Active, the worst of "
            "its assignments (added by the tap)",
        ),
        strings("assignment_errors"),
        LICENSE_ASSIGNMENT_STATES,
    )
    tap_fields = (
        "tenant_id",
        "assigned_directly",
        "assigned_by_groups",
        "assignment_state",
        "assignment_errors",
    )
    #: The worst state first (licenseAssignmentState.state).
    STATE_ORDER: t.ClassVar[tuple[str, ...]] = ("Error", "ActiveWithError", "Disabled", "Active")

    @classmethod
    def assignment(cls, sku_id: t.Any, states: list) -> dict[str, t.Any]:
        """How one licence was assigned, from the user's ``licenseAssignmentStates`` (no request)."""
        mine = [s for s in states if isinstance(s, dict) and s.get("skuId") == sku_id]
        found = {s.get("state") for s in mine}
        errors = sorted({str(s["error"]) for s in mine if s.get("error") not in (None, "None")})
        return {
            "assigned_directly": any(s.get("assignedByGroup") is None for s in mine) if mine else None,
            "assigned_by_groups": sorted({s["assignedByGroup"] for s in mine if s.get("assignedByGroup")}),
            "assignment_state": next((x for x in cls.STATE_ORDER if x in found), None),
            "assignment_errors": errors,
            "licenseAssignmentStates": mine,
        }

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Users' assigned licences, with how each was assigned."""
        tenant_id = self.run.tenant_id
        names: dict[t.Any, t.Any] = {}
        for page in self.client.pages(
            "/subscribedSkus", stream=self.name, params={"$select": "skuId,skuPartNumber"}
        ):
            for sku in page["value"]:
                if isinstance(sku, dict):
                    names[sku.get("skuId")] = sku.get("skuPartNumber")
        users: Iterable[t.Any] | None = self.run.remembered("users")
        if users is None:
            parent = self.run_source.streams["users"]
            if not isinstance(parent, RememberingStream):
                raise TypeError("users is not a RememberingStream")
            users = parent.listing_for(self.name, context)
        for user_id, upn, licences, states in users:
            assigned = set()
            for lic in licences or ():
                assigned.add(lic.get("skuId"))
                yield {
                    "user_id": user_id,
                    "userPrincipalName": upn,
                    "skuId": lic.get("skuId"),
                    "skuPartNumber": names.get(lic.get("skuId")),
                    "disabledPlans": lic.get("disabledPlans") or [],
                    **self.assignment(lic.get("skuId"), states),
                    "tenant_id": tenant_id,
                }
            # a licence a group could not assign (CountViolation ...) is in licenseAssignmentStates only
            failed = {s.get("skuId") for s in states if isinstance(s, dict)} - assigned
            for sku_id in sorted(x for x in failed if isinstance(x, str)):
                yield {
                    "user_id": user_id,
                    "userPrincipalName": upn,
                    "skuId": sku_id,
                    "skuPartNumber": names.get(sku_id),
                    "disabledPlans": [],
                    **self.assignment(sku_id, states),
                    "tenant_id": tenant_id,
                }


class UserManagersStream(GraphStream):
    """One row per user with a manager: ``/users?$select=id,userPrincipalName&$expand=manager(...)``."""

    name = "user_managers"
    path = "/users"

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """Both ends of the reporting line."""
        return (row.get("user_id"), row.get("manager_id"))

    primary_keys = ("user_id",)
    schema = props(
        th.Property("user_id", String, required=True),
        th.Property("userPrincipalName", String),
        th.Property("manager_id", String, required=True),
        th.Property("manager_userPrincipalName", String),
    )

    @property
    def select_fields(self) -> list[str]:
        """The user's own fields (the manager's come through ``$expand``)."""
        return ["id", "userPrincipalName"]

    def query_params(self, context: Context | None) -> dict[str, t.Any]:
        """The manager inline, only its id and UPN."""
        return {"$expand": "manager($select=id,userPrincipalName)"}

    def rows(self, page: dict) -> Iterable[dict]:
        """Users with a manager; users without one carry no ``manager``."""
        tenant_id = self.run.tenant_id
        for user in page["value"]:  # raw: ``manager`` is not a schema key
            manager = user.get("manager") if isinstance(user, dict) else None
            if isinstance(manager, dict) and "id" in manager:
                yield {
                    "user_id": user["id"],
                    "userPrincipalName": user.get("userPrincipalName"),
                    "manager_id": manager["id"],
                    "manager_userPrincipalName": manager.get("userPrincipalName"),
                    "tenant_id": tenant_id,
                }
