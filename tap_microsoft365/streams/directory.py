"""Directory streams: users, groups and direct group memberships."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_microsoft365.client import GraphStream
from tap_microsoft365.errors import GraphSkippableError, LicenseMissingError
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
from tap_microsoft365.streams.parents import RememberingStream, member_type, parent_ids

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
    #: Set when the tenant or app cannot read signInActivity: users are then read without it.
    sign_in_activity_off = False

    @property
    def select_fields(self) -> list[str]:  # type: ignore[override]
        """The schema's Graph fields; ``signInActivity`` only when selected and readable."""
        fields = [n for n in self.schema["properties"] if n not in self.tap_fields]
        if self.sign_in_activity_off or not self.mask[("properties", "signInActivity")]:
            fields.remove("signInActivity")
        return fields

    @property
    def page_size(self) -> int | None:  # type: ignore[override]
        """999, or 500 when ``signInActivity`` is selected (graph.md 1, 9.1)."""
        top = 500 if "signInActivity" in self.select_fields else 999
        cap = self.config.get("page_size")
        return min(top, int(cap)) if cap else top

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Users; when the first page is refused for signInActivity (403), again without it."""
        if "signInActivity" not in self.select_fields:
            yield from super().graph_records(context)
            return
        yielded = False
        try:
            for row in super().graph_records(context):
                yielded = True
                yield row
        except GraphSkippableError as exc:
            if yielded:
                raise
            self.sign_in_activity_off = True
            if isinstance(exc, LicenseMissingError):
                cause = "the tenant has no Microsoft Entra ID P1 or P2 licence"
                fix = "license the tenant with Entra ID P1 or P2"
            else:
                cause = "the app lacks the AuditLog.Read.All permission"
                fix = "grant AuditLog.Read.All (application) with admin consent"
            self.logger.warning(
                "Stream 'users': %s, which signInActivity (last sign-in) needs; syncing users "
                "without it (%s). Fix: %s, or deselect users.signInActivity.",
                cause,
                exc,
                fix,
            )
            yield from super().graph_records(context)

    def remember(self, row: dict) -> t.Any:
        """Id, UPN and assigned licences: ``user_licenses`` needs no second listing (streams/apps.py)."""
        return row["id"], row.get("userPrincipalName"), row.get("assignedLicenses") or []

    @property
    def advanced_query(self) -> bool:  # type: ignore[override]
        """A domain filter uses ``endswith``, which Graph serves only as an advanced query."""
        return bool(self.config.get("user_domains"))

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


class GroupMembersStream(GraphStream):
    """One row per (group, direct member), read with ``$batch``: 20 groups' members per request.

    ``GET /groups/{id}/members`` pages at up to 999 (graph.md section 1); a request per group is the
    naive plan, ``$batch`` divides it by 20 (inner nextLinks of large groups go into later batches).
    """

    name = "group_members"
    path = "/groups/{group_id}/members"
    primary_keys = ("group_id", "member_id")
    tap_fields = ("tenant_id", "group_id", "member_id", "member_type")
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
    member_select = "id,userPrincipalName,displayName,mail"

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Members of every group, 20 groups per ``$batch``."""
        top = self.page_size
        tenant_id = self.connection.tenant_id
        requests_ = (
            (gid, f"/groups/{gid}/members?$select={self.member_select}&$top={top}")
            for gid in parent_ids(self, "groups", "/groups")
        )
        for group_id, page in self.batch_pages(requests_, context):
            for member in page.get("value", ()):
                yield {
                    "group_id": group_id,
                    "member_id": member["id"],
                    "member_type": member_type(member),
                    "userPrincipalName": member.get("userPrincipalName"),
                    "displayName": member.get("displayName"),
                    "mail": member.get("mail"),
                    "tenant_id": tenant_id,
                }
