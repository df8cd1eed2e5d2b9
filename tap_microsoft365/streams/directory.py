"""Directory streams: users, groups and direct group memberships."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_microsoft365.graph.errors import PermissionMissingError
from tap_microsoft365.schema import (
    ASSIGNED_LICENSES,
    ASSIGNED_PLAN,
    LICENSE_ASSIGNMENT_STATES,
    Bool,
    DateTime,
    String,
    objects,
    owner_properties,
    props,
    strings,
)
from tap_microsoft365.streams.base import BatchedChildStream, RememberingStream, member_type
from tap_microsoft365.streams.delta import DELETED_AT, DELETION_PROPERTIES, REASON, DeltaStream

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context


class UsersStream(DeltaStream):
    """``GET /users/delta``: every property the list returns, then only what changed (graph.md 2).

    Properties only a single-user GET returns (aboutMe, skills, mailboxSettings ...) are left out: a
    ``$select`` of them on the list answers 501. ``signInActivity`` is not tracked by delta: it is the
    ``user_sign_in_activity`` stream. Child listings (``user_licenses`` on incremental runs) read
    ``/users`` at 999 per page.
    """

    remembered_for = ("user_licenses",)

    name = "users"
    path = "/users"
    delta_path = "/users/delta"
    schema = props(
        th.Property("id", String, required=True),
        th.Property("userPrincipalName", String),
        th.Property("displayName", String),
        th.Property("givenName", String),
        th.Property("surname", String),
        th.Property("mail", String),
        th.Property("mailNickname", String),
        strings("otherMails"),
        strings("proxyAddresses"),
        strings("imAddresses"),
        th.Property("accountEnabled", Bool),
        th.Property("userType", String),
        th.Property("creationType", String),
        th.Property("externalUserState", String),
        th.Property("externalUserStateChangeDateTime", DateTime),
        th.Property("createdDateTime", DateTime),
        th.Property("lastPasswordChangeDateTime", DateTime),
        th.Property("signInSessionsValidFromDateTime", DateTime),
        th.Property("passwordPolicies", String),
        th.Property("department", String),
        th.Property("jobTitle", String),
        th.Property("companyName", String),
        th.Property("officeLocation", String),
        th.Property("employeeId", String),
        th.Property("employeeType", String),
        th.Property("employeeHireDate", DateTime),
        th.Property("usageLocation", String),
        th.Property("preferredLanguage", String),
        th.Property("country", String),
        th.Property("state", String),
        th.Property("city", String),
        th.Property("streetAddress", String),
        th.Property("postalCode", String),
        strings("businessPhones"),
        th.Property("mobilePhone", String),
        th.Property("faxNumber", String),
        th.Property("ageGroup", String),
        th.Property("showInAddressList", Bool),
        th.Property("securityIdentifier", String),
        ASSIGNED_LICENSES,
        LICENSE_ASSIGNMENT_STATES,
        objects("assignedPlans", *ASSIGNED_PLAN),
        objects(
            "identities",
            th.Property("signInType", String),
            th.Property("issuer", String),
            th.Property("issuerAssignedId", String),
        ),
        th.Property("onPremisesSyncEnabled", Bool),
        th.Property("onPremisesLastSyncDateTime", DateTime),
        th.Property("onPremisesImmutableId", String),
        th.Property("onPremisesSamAccountName", String),
        th.Property("onPremisesUserPrincipalName", String),
        th.Property("onPremisesDomainName", String),
        th.Property("onPremisesDistinguishedName", String),
        th.Property("onPremisesSecurityIdentifier", String),
        th.Property(
            "email",
            String,
            description="The user's address per email_method (added by the tap): UPN, or mail",
        ),
        *DELETION_PROPERTIES,
    )
    tap_fields = ("tenant_id", "email", DELETED_AT, REASON)
    remember_fields = ("id", "userPrincipalName", "assignedLicenses", "licenseAssignmentStates")

    def remember(self, row: dict) -> t.Any:
        """Id, UPN, licences and how they were assigned: ``user_licenses`` needs no second listing."""
        return (
            row["id"],
            row.get("userPrincipalName"),
            row.get("assignedLicenses") or [],
            row.get("licenseAssignmentStates") or [],
        )

    def in_scope(self, row: dict) -> bool:
        """The run's user rules (scope.py), on full and delta rows; adds the computed ``email``.

        Delta filters only by id (graph.md 2), so the rules run here; the full listing also pushes a
        UPN domain filter to Graph.
        """
        scope = self.run.scope
        row["email"] = scope.email(row)
        if not scope.user_ok(row):
            return False
        return not scope.users_of_groups_only or self.run.scope_index(self.name).user(row["id"])

    def request_headers(self) -> dict[str, str]:
        """A domain filter uses ``endswith``, which Graph serves only as an advanced query (graph.md 9.10)."""
        return {"ConsistencyLevel": "eventual"} if self.run.scope.pushed_filter() else {}

    def query_params(self, context: Context | None) -> dict[str, t.Any]:
        """``$filter`` on the UPN's domain when ``user_domains`` lists domains (needs ``$count=true``)."""
        return self.run.scope.pushed_filter()


class UserSignInActivityStream(RememberingStream):
    """``GET /users?$select=id,userPrincipalName,signInActivity``: last sign-ins, 500 per page.

    ``users/delta`` does not track ``signInActivity`` (graph.md 2), so it is read in full each run at
    Graph's cap of 500 per page with this property (graph.md 1, 9.1). Needs AuditLog.Read.All and
    Entra ID P1/P2: without them the stream is skipped with one warning (403
    ``Authentication_RequestFromNonPremiumTenantOrB2CTenant`` or ``Authorization_RequestDenied``).
    """

    name = "user_sign_in_activity"
    path = "/users"
    max_page_size = 500
    schema = props(
        th.Property("id", String, required=True),
        th.Property("userPrincipalName", String),
        th.Property(
            "signInActivity",
            th.ObjectType(
                th.Property("lastSignInDateTime", DateTime),
                th.Property("lastSignInRequestId", String),
                th.Property("lastSuccessfulSignInDateTime", DateTime),
                th.Property("lastSuccessfulSignInRequestId", String),
                th.Property("lastNonInteractiveSignInDateTime", DateTime),
                th.Property("lastNonInteractiveSignInRequestId", String),
            ),
            description="Last sign-ins (null for users who never signed in)",
        ),
    )
    request_headers = UsersStream.request_headers
    query_params = UsersStream.query_params

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """The user."""
        return (row.get("id"),)

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """The users' last sign-ins; a permission refusal names both permissions the call needs."""
        try:
            yield from super().graph_records(context)
        except PermissionMissingError as exc:
            raise PermissionMissingError(
                "stream 'user_sign_in_activity' needs the Microsoft Graph application permissions "
                "AuditLog.Read.All and User.Read.All (or Directory.Read.All) with admin consent; "
                f"{str(exc).split(': ', 1)[-1]}"
            ) from None


class GroupsStream(DeltaStream):
    """``GET /groups/delta``: then only what changed. Dynamic distribution groups are not listed."""

    name = "groups"
    path = "/groups"
    delta_path = "/groups/delta"
    remembered_for = ("group_members", "group_owners")

    def in_scope(self, row: dict) -> bool:
        """``group_types`` and ``group_ids`` (scope.py)."""
        return self.run.scope.group_ok(row)
    schema = props(
        th.Property("id", String, required=True),
        th.Property("displayName", String),
        th.Property("description", String),
        th.Property("mail", String),
        th.Property("mailEnabled", Bool),
        th.Property("mailNickname", String),
        th.Property("securityEnabled", Bool),
        strings("groupTypes"),
        th.Property("membershipRule", String),
        th.Property("membershipRuleProcessingState", String),
        th.Property("visibility", String),
        th.Property("classification", String),
        th.Property("isAssignableToRole", Bool),
        th.Property("createdDateTime", DateTime),
        th.Property("renewedDateTime", DateTime),
        th.Property("expirationDateTime", DateTime),
        strings("proxyAddresses"),
        strings("resourceProvisioningOptions"),
        th.Property("securityIdentifier", String),
        th.Property("theme", String),
        th.Property("preferredDataLocation", String),
        th.Property("onPremisesSyncEnabled", Bool),
        th.Property("onPremisesLastSyncDateTime", DateTime),
        th.Property("onPremisesSamAccountName", String),
        th.Property("onPremisesSecurityIdentifier", String),
        *DELETION_PROPERTIES,
    )


class GroupMembersStream(DeltaStream, BatchedChildStream):
    """One row per (group, direct member): delta rounds from ``groups/delta?$select=id,members``.

    A full round reads ``/groups/{id}/members`` of 20 groups per ``$batch`` (the group ids the
    ``groups`` stream read in this run, else one ``$select=id`` listing), after taking the groups' delta
    link ``$deltatoken=latest`` (graph.md 2, 5). Later rounds bring only added members and removed ones
    (``members@delta``, ``@removed``): removals become records with ``_sdc_deleted_at``. Its own delta
    link, independent of the ``groups`` stream's. Graph gives a member's type and id: join
    ``users``/``groups`` on ``member_id`` for names.
    """

    name = "group_members"
    path = "/groups"
    delta_path = "/groups/delta"
    parent = "groups"
    child_path = "/groups/{id}/members"
    child_select = "id"
    parent_field = "group_id"
    child_field = "member_id"
    type_field = "member_type"
    primary_keys = ("group_id", "member_id")
    schema = props(
        th.Property("group_id", String, required=True, description="The group (added by the tap)"),
        th.Property("member_id", String, required=True, description="The member's object id"),
        th.Property(
            "member_type",
            String,
            description="user, group, device, servicePrincipal or orgContact (from @odata.type)",
        ),
        *DELETION_PROPERTIES,
    )

    def delta_params(self) -> dict[str, t.Any]:
        """Only the group's id and its members (graph.md 2: ``$select=members`` gives members@delta)."""
        return {"$select": "id,members"}

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """A user member."""
        return (row["member_id"],) if row.get("member_type") == "user" else ()

    def group_refs(self, row: dict) -> Iterable[t.Any]:
        """The group (``group_types``, ``group_ids``)."""
        return (row["group_id"],)

    def full_rows(self, context: Context | None) -> Iterable[dict]:
        """Every membership, 20 groups per ``$batch`` (the per-parent fan-out)."""
        return BatchedChildStream.graph_records(self, context)

    def delta_rows(self, item: dict, deleted_at: str) -> Iterable[dict]:
        """A membership row per ``members@delta`` entry; removed members as deletions."""
        if isinstance(item.get("@removed"), dict):
            return  # a deleted group: Graph lists no members; the next full round settles its rows
        group_id = item["id"]
        for member in item.get("members@delta") or ():
            if not isinstance(member, dict) or not isinstance(member.get("id"), str):
                continue
            row: dict[str, t.Any] = {
                "group_id": group_id,
                "member_id": member["id"],
                "member_type": member_type(member),
            }
            removed = member.get("@removed")
            if isinstance(removed, dict):
                row[DELETED_AT] = deleted_at
                row[REASON] = removed.get("reason")
            yield row


class GroupOwnersStream(BatchedChildStream):
    """One row per (group, owner): ``/groups/{id}/owners``, 20 groups per ``$batch`` (graph.md 5).

    Owners are users or service principals (learn.microsoft.com/graph/api/group-list-owners); the group
    ids are the ones ``groups`` read in this run, else one ``$select=id`` listing of ``/groups``.
    """

    name = "group_owners"
    parent = "groups"
    child_path = "/groups/{id}/owners"
    child_select = "id,userPrincipalName,displayName"
    parent_field = "group_id"
    child_field = "owner_id"
    type_field = "owner_type"
    copied = ("userPrincipalName", "displayName")
    primary_keys = ("group_id", "owner_id")
    schema = props(*owner_properties("group_id", "group"))

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """An owner outside the user scope: the link is dropped."""
        return (row["owner_id"],) if row.get("owner_type") == "user" else ()

    def group_refs(self, row: dict) -> Iterable[t.Any]:
        """The group (``group_types``, ``group_ids``)."""
        return (row["group_id"],)
