"""Apps and consents, admin roles, licences per user and the reporting line.

Requests (graph.md 1, 5): ``/applications`` and ``/servicePrincipals`` at 999 per page;
``/oauth2PermissionGrants`` (page size UNVERIFIED in graph.md 1: 999 asked; ``$select``, ``$filter`` and
``$top`` on this list are used by community wrappers of the v1.0 API, e.g. CloudKatanaAbilities
``Get-CKOauth2PermissionGrants`` on the PowerShell Gallery); app role assignments of 20
resource service principals per ``$batch`` (``/servicePrincipals/{id}/appRoleAssignedTo``), the role's name
resolved from the resource's ``appRoles`` already read by ``service_principals`` (or one ``$select=id,appRoles``
listing); ``/directoryRoles`` takes no OData parameter and never pages (graph.md 1, 9.8), its members 20
roles per ``$batch``; ``user_licenses`` from the licences ``users`` read in this run (else
``/users?$select=id,userPrincipalName,assignedLicenses``, 999 per page) joined to one ``/subscribedSkus`` call; ``user_managers`` from
``/users?$expand=manager($select=id,userPrincipalName)`` (999 per page): manager is single-valued, so the
20-item ``$expand`` cap of collections does not apply (graph.md 5; graph.md 1 "user manager" row).
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_microsoft365.client import GraphStream, graph_json
from tap_microsoft365.schema import Bool, DateTime, String, objects, props, strings
from tap_microsoft365.streams.directory import UsersStream
from tap_microsoft365.streams.parents import RememberingStream, member_type, remembered

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


class ApplicationsStream(GraphStream):
    """``GET /applications``: app registrations; credentials by dates and hints only (never secrets)."""

    name = "applications"
    path = "/applications"
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
    )

    def post_process(self, row: dict, context: Context | None = None) -> dict:
        """Drop ``secretText``/``key`` if Graph ever returned them (it returns only hints)."""
        for cred in row.get("passwordCredentials") or ():
            cred.pop("secretText", None)
        for cred in row.get("keyCredentials") or ():
            cred.pop("key", None)
        return row


APP_ROLE = (
    th.Property("id", String),
    th.Property("value", String),
    th.Property("displayName", String),
    th.Property("description", String),
    strings("allowedMemberTypes"),
    th.Property("isEnabled", Bool),
    th.Property("origin", String),
)


class ServicePrincipalsStream(RememberingStream):
    """``GET /servicePrincipals``: enterprise apps; ``appOwnerOrganizationId`` tells third-party apps."""

    remembered_for = ("app_role_assignments",)

    name = "service_principals"
    path = "/servicePrincipals"
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
    )

    def remember(self, row: dict) -> t.Any:
        """Id and the role id -> value map, for ``app_role_assignments``."""
        return row["id"], {r["id"]: r.get("value") for r in row.get("appRoles") or ()}


class _SpRolesStream(GraphStream):
    """Ids and appRoles of every service principal, when ``service_principals`` did not run."""

    name = "app_role_assignments"
    path = "/servicePrincipals"
    schema = th.PropertiesList(
        th.Property("id", String),
        objects("appRoles", th.Property("id", String), th.Property("value", String)),
        th.Property("tenant_id", String),
    ).to_dict()


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


class AppRoleAssignmentsStream(GraphStream):
    """``/servicePrincipals/{id}/appRoleAssignedTo`` of every service principal, 20 per ``$batch``.

    ``principalType`` ServicePrincipal rows are application permissions granted to apps; User and Group
    rows are assignments to the app. ``app_role_value`` is the permission's name from the resource's
    ``appRoles`` (null for the default role).
    """

    name = "app_role_assignments"
    path = "/servicePrincipals/{resource_id}/appRoleAssignedTo"
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

    def resources(self) -> list[tuple[str, dict]]:
        """(service principal id, role id -> value) of every service principal."""
        seen = remembered(self._tap, "service_principals")
        if seen is not None:
            return list(seen)
        lister = _SpRolesStream(tap=self._tap)
        return [
            (row["id"], {r["id"]: r.get("value") for r in row.get("appRoles") or ()})
            for row in lister.request_records({"tenant_id": self.connection.tenant_id})
        ]

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Assignments of every resource, with the role's value."""
        roles = dict(self.resources())
        tenant_id = self.connection.tenant_id
        select = ",".join(self.select_fields)
        requests_ = (
            (
                sp_id,
                f"/servicePrincipals/{sp_id}/appRoleAssignedTo?$select={select}&$top={self.page_size}",
            )
            for sp_id in roles
        )
        for sp_id, page in self.batch_pages(requests_, context):
            for row in page.get("value", ()):
                role_id = row.get("appRoleId")
                row["app_role_value"] = (
                    None if role_id == DEFAULT_ROLE else roles[sp_id].get(role_id)
                )
                row["tenant_id"] = tenant_id
                yield row


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


class _RoleIdsStream(DirectoryRolesStream):
    name = "directory_role_members"


class DirectoryRoleMembersStream(GraphStream):
    """One row per (role, member): ``/directoryRoles/{id}/members``, 20 roles per ``$batch``."""

    name = "directory_role_members"
    path = "/directoryRoles/{role_id}/members"
    primary_keys = ("role_id", "member_id")
    tap_fields = ("tenant_id", "role_id", "member_id", "member_type")
    schema = props(
        th.Property("role_id", String, required=True),
        th.Property("member_id", String, required=True),
        th.Property("member_type", String, description="user, group or servicePrincipal"),
        th.Property("userPrincipalName", String),
        th.Property("displayName", String),
    )

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Members of every activated role."""
        tenant_id = self.connection.tenant_id
        ids = remembered(self._tap, "directory_roles")
        if ids is None:
            lister = _RoleIdsStream(tap=self._tap)
            ids = [row["id"] for row in lister.request_records({"tenant_id": tenant_id})]
        requests_ = (
            (
                rid,
                f"/directoryRoles/{rid}/members?$select=id,userPrincipalName,displayName&$top=999",
            )
            for rid in ids
        )
        for role_id, page in self.batch_pages(requests_, context):
            for member in page.get("value", ()):
                yield {
                    "role_id": role_id,
                    "member_id": member["id"],
                    "member_type": member_type(member),
                    "userPrincipalName": member.get("userPrincipalName"),
                    "displayName": member.get("displayName"),
                    "tenant_id": tenant_id,
                }


class _SkusStream(GraphStream):
    name = "user_licenses"
    path = "/subscribedSkus"
    max_page_size = None
    primary_keys = ("skuId",)
    schema = th.PropertiesList(
        th.Property("skuId", String),
        th.Property("skuPartNumber", String),
        th.Property("tenant_id", String),
    ).to_dict()


class _UserLicencesSource(GraphStream):
    """Users' licences when ``users`` did not run; the same ``user_domains`` filter as ``users``."""

    name = "user_licenses"
    path = "/users"
    advanced_query = UsersStream.advanced_query
    query_params = UsersStream.query_params
    schema = th.PropertiesList(
        th.Property("id", String),
        th.Property("userPrincipalName", String),
        objects("assignedLicenses", th.Property("skuId", String), strings("disabledPlans")),
        th.Property("tenant_id", String),
    ).to_dict()


class UserLicensesStream(GraphStream):
    """One row per (user, assigned SKU), ``skuPartNumber`` joined from one ``/subscribedSkus`` call."""

    name = "user_licenses"
    path = "/users"
    primary_keys = ("user_id", "skuId")
    tap_fields = ("tenant_id", "user_id", "skuPartNumber")
    schema = props(
        th.Property("user_id", String, required=True),
        th.Property("userPrincipalName", String),
        th.Property("skuId", String, required=True),
        th.Property("skuPartNumber", String),
        strings("disabledPlans"),
    )

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Users' assigned licences, 999 users per page."""
        ctx = {"tenant_id": self.connection.tenant_id}
        names = {
            s["skuId"]: s.get("skuPartNumber")
            for s in _SkusStream(tap=self._tap).request_records(ctx)
        }
        users = remembered(self._tap, "users")
        if users is None:
            users = (
                (u["id"], u.get("userPrincipalName"), u.get("assignedLicenses"))
                for u in _UserLicencesSource(tap=self._tap).request_records(ctx)
            )
        for user_id, upn, licences in users:
            for lic in licences or ():
                yield {
                    "user_id": user_id,
                    "userPrincipalName": upn,
                    "skuId": lic.get("skuId"),
                    "skuPartNumber": names.get(lic.get("skuId")),
                    "disabledPlans": lic.get("disabledPlans") or [],
                    "tenant_id": ctx["tenant_id"],
                }


class UserManagersStream(GraphStream):
    """One row per user with a manager: ``/users?$select=id,userPrincipalName&$expand=manager(...)``."""

    name = "user_managers"
    path = "/users"
    primary_keys = ("user_id",)
    tap_fields = ("tenant_id", "user_id", "manager_id", "manager_userPrincipalName")
    schema = props(
        th.Property("user_id", String, required=True),
        th.Property("userPrincipalName", String),
        th.Property("manager_id", String, required=True),
        th.Property("manager_userPrincipalName", String),
    )

    @property
    def select_fields(self) -> list[str]:  # type: ignore[override]
        """The user's own fields."""
        return ["id", "userPrincipalName"]

    def query_params(self, context: Context | None) -> dict[str, t.Any]:
        """The manager inline, only its id and UPN."""
        return {"$expand": "manager($select=id,userPrincipalName)"}

    def parse_response(self, response: t.Any) -> Iterable[dict]:
        """Users with a manager; users without one carry no ``manager``."""
        tenant_id = self.connection.tenant_id
        for user in graph_json(response).get("value", ()):  # raw: ``manager`` is not a schema key
            manager = user.get("manager")
            if manager:
                yield {
                    "user_id": user["id"],
                    "userPrincipalName": user.get("userPrincipalName"),
                    "manager_id": manager["id"],
                    "manager_userPrincipalName": manager.get("userPrincipalName"),
                    "tenant_id": tenant_id,
                }
