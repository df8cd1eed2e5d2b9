"""Directory streams: users, groups and direct group memberships."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_microsoft365.graph.errors import LicenseMissingError, PermissionMissingError
from tap_microsoft365.schema import (
    ASSIGNED_LICENSES,
    ASSIGNED_PLAN,
    Bool,
    DateTime,
    String,
    objects,
    props,
    strings,
)
from tap_microsoft365.streams.base import BatchedChildStream, RememberingStream

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context


class UsersStream(RememberingStream):
    """``GET /users``: 999 per page (graph.md section 1), every property the list returns.

    Properties only a single-user GET returns (aboutMe, skills, mailboxSettings ...) are left out: a
    ``$select`` of them on the list answers 501.
    """

    remembered_for = ("user_licenses",)

    name = "users"
    path = "/users"
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
            "signInActivity",
            th.ObjectType(
                th.Property("lastSignInDateTime", DateTime),
                th.Property("lastSignInRequestId", String),
                th.Property("lastSuccessfulSignInDateTime", DateTime),
                th.Property("lastSuccessfulSignInRequestId", String),
                th.Property("lastNonInteractiveSignInDateTime", DateTime),
                th.Property("lastNonInteractiveSignInRequestId", String),
            ),
            description="Last sign-ins; needs AuditLog.Read.All and Entra ID P1/P2 (else left out)",
        ),
    )
    remember_fields = ("id", "userPrincipalName", "assignedLicenses")

    @property
    def select_fields(self) -> list[str]:
        """The schema's Graph fields; ``signInActivity`` only when selected and readable."""
        fields = super().select_fields
        if self.run.lookups.get("users.signInActivity") is False or not self.mask[
            ("properties", "signInActivity")
        ]:
            fields = [f for f in fields if f != "signInActivity"]
        return fields

    @property
    def page_size(self) -> int | None:
        """999, or 500 when ``signInActivity`` is selected (graph.md 1, 9.1)."""
        top = 500 if "signInActivity" in self.select_fields else 999
        cap = self.config.get("page_size")
        return min(top, int(cap)) if cap else top

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Users; when the first page is refused for signInActivity, again without it.

        signInActivity needs Entra ID P1/P2 (403 ``Authentication_RequestFromNonPremiumTenantOrB2CTenant``)
        and AuditLog.Read.All (403 ``Authorization_RequestDenied``) (graph.md 9.1, 10). A permission 403
        may instead mean User.Read.All is missing: users are asked again without the property, and only
        when that succeeds is the warning about signInActivity given; if it fails, the stream is skipped
        for the permission Graph really refused.
        """
        if "signInActivity" not in self.select_fields:
            yield from super().graph_records(context)
            return
        yielded = False
        try:
            for row in super().graph_records(context):
                yielded = True
                yield row
            return
        except (LicenseMissingError, PermissionMissingError) as exc:
            if yielded:
                raise
            refused = exc
        self.run.lookups["users.signInActivity"] = False
        first = True
        for row in super().graph_records(context):
            if first:
                first = False
                self._warn_no_sign_in_activity(refused)
            yield row
        if first:
            self._warn_no_sign_in_activity(refused)

    def _warn_no_sign_in_activity(self, refused: Exception) -> None:
        if isinstance(refused, LicenseMissingError):
            cause = "the tenant has no Microsoft Entra ID P1 or P2 licence"
            fix = "license the tenant with Entra ID P1 or P2"
        else:
            cause = "the app lacks the AuditLog.Read.All permission"
            fix = "grant AuditLog.Read.All (application) with admin consent"
        self.logger.warning(
            "Stream 'users': %s, which signInActivity (last sign-in) needs; users are synced "
            "without it. Fix: %s, or deselect users.signInActivity.",
            cause,
            fix,
        )

    def remember(self, row: dict) -> t.Any:
        """Id, UPN and assigned licences: ``user_licenses`` needs no second listing (streams/apps.py)."""
        return row["id"], row.get("userPrincipalName"), row.get("assignedLicenses") or []

    def request_headers(self) -> dict[str, str]:
        """A domain filter uses ``endswith``, which Graph serves only as an advanced query (graph.md 9.10)."""
        return {"ConsistencyLevel": "eventual"} if self.config.get("user_domains") else {}

    def query_params(self, context: Context | None) -> dict[str, t.Any]:
        """``$filter`` on the UPN's domain when ``user_domains`` is set (needs ``$count=true``)."""
        domains = self.config.get("user_domains") or []
        if not domains:
            return {}
        clauses = " or ".join(
            f"endswith(userPrincipalName,'@{d.strip().lstrip('@').lower()}')" for d in domains
        )
        return {"$filter": clauses, "$count": "true"}


class GroupsStream(RememberingStream):
    """``GET /groups``: 999 per page. Dynamic distribution groups are not listed by Graph."""

    name = "groups"
    path = "/groups"
    remembered_for = ("group_members",)
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
    )


class GroupMembersStream(BatchedChildStream):
    """One row per (group, direct member), read with ``$batch``: 20 groups' members per request.

    ``GET /groups/{id}/members`` pages at up to 999 (graph.md section 1); a request per group is the
    naive plan, ``$batch`` divides it by 20 (inner nextLinks of large groups go into later batches).
    """

    name = "group_members"
    parent = "groups"
    child_path = "/groups/{id}/members"
    child_select = "id,userPrincipalName,displayName,mail"
    primary_keys = ("group_id", "member_id")
    schema = props(
        th.Property("group_id", String, required=True, description="The group (added by the tap)"),
        th.Property("member_id", String, required=True, description="The member's object id"),
        th.Property(
            "member_type",
            String,
            description="user, group, device, servicePrincipal or orgContact (from @odata.type)",
        ),
        th.Property("userPrincipalName", String),
        th.Property("displayName", String),
        th.Property("mail", String),
    )
    parent_field = "group_id"
    child_field = "member_id"
    type_field = "member_type"
    copied = ("userPrincipalName", "displayName", "mail")

