"""Security posture and service state: MFA registration, risky users, secure score, Intune apps, health.

Endpoints per their v1.0 reference pages (learn.microsoft.com/graph/api/...): authenticationmethodsroot-
list-userregistrationdetails (AuditLog.Read.All; Entra ID P1/P2), riskyusers-list (IdentityRiskyUser.Read.All;
P2), security-list-securescores and -securescorecontrolprofiles (SecurityEvents.Read.All; not in the China
cloud's metadata), intune-apps-mobileapp-list (DeviceManagementApps.Read.All; Intune), serviceannouncement-
list-issues (ServiceHealth.Read.All). None of them is sent a query option its page does not document, so
these read their collections as Graph pages them.

``secure_scores`` and ``service_health_issues`` are incremental: Graph keeps a score per day (newest first)
and an issue's ``lastModifiedDateTime`` moves when it is updated; records at or before the bookmark are not
sent again.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_microsoft365.schema import Bool, DateTime, Int, String, objects, props, strings
from tap_microsoft365.settings import parse_start_date
from tap_microsoft365.streams.base import GraphStream, member_type
from tap_microsoft365.streams.devices import IntuneStream

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

Number = th.NumberType
VENDOR = th.Property(
    "vendorInformation",
    th.ObjectType(
        th.Property("provider", String),
        th.Property("providerVersion", String),
        th.Property("subProvider", String),
        th.Property("vendor", String),
    ),
)


class UserRegistrationDetailsStream(GraphStream):
    """``GET /reports/authenticationMethods/userRegistrationDetails``: MFA and SSPR registration per user."""

    name = "user_registration_details"
    path = "/reports/authenticationMethods/userRegistrationDetails"
    max_page_size = None
    supports_select = False
    schema = props(
        th.Property("id", String, required=True, description="The user's object id"),
        th.Property("userPrincipalName", String),
        th.Property("userDisplayName", String),
        th.Property("userType", String),
        th.Property("isAdmin", Bool),
        th.Property("isMfaCapable", Bool),
        th.Property("isMfaRegistered", Bool),
        th.Property("isPasswordlessCapable", Bool),
        th.Property("isSsprCapable", Bool),
        th.Property("isSsprEnabled", Bool),
        th.Property("isSsprRegistered", Bool),
        th.Property("isSystemPreferredAuthenticationMethodEnabled", Bool),
        strings("methodsRegistered"),
        strings("systemPreferredAuthenticationMethods"),
        th.Property("userPreferredMethodForSecondaryAuthentication", String),
        th.Property("lastUpdatedDateTime", DateTime),
    )

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """The user."""
        return (row["id"],)


class RiskyUsersStream(UserRegistrationDetailsStream):
    """``GET /identityProtection/riskyUsers``: users Identity Protection flags (Entra ID P2)."""

    name = "risky_users"
    path = "/identityProtection/riskyUsers"
    schema = props(
        th.Property("id", String, required=True, description="The user's object id"),
        th.Property("userPrincipalName", String),
        th.Property("userDisplayName", String),
        th.Property("riskLevel", String, description="low, medium, high, hidden or none"),
        th.Property("riskState", String),
        th.Property("riskDetail", String),
        th.Property("riskLastUpdatedDateTime", DateTime),
        th.Property("isDeleted", Bool),
        th.Property("isProcessing", Bool),
    )


class MobileAppsStream(IntuneStream):
    """``GET /deviceAppManagement/mobileApps``: apps Intune manages; ``app_type`` from ``@odata.type``."""

    name = "mobile_apps"
    path = "/deviceAppManagement/mobileApps"
    supports_select = False  # derived types (win32LobApp, iosStoreApp ...) carry more than the base
    tap_fields = ("tenant_id", "app_type")
    schema = props(
        th.Property("id", String, required=True),
        th.Property("displayName", String),
        th.Property("app_type", String, description="e.g. win32LobApp, iosStoreApp (from @odata.type)"),
        th.Property("description", String),
        th.Property("publisher", String),
        th.Property("developer", String),
        th.Property("owner", String),
        th.Property("notes", String),
        th.Property("publishingState", String),
        th.Property("isFeatured", Bool),
        th.Property("informationUrl", String),
        th.Property("privacyInformationUrl", String),
        th.Property("createdDateTime", DateTime),
        th.Property("lastModifiedDateTime", DateTime),
    )

    def rows(self, page: dict) -> Iterable[dict]:
        """The items, ``@odata.type`` kept as ``app_type``."""
        for item in page["value"]:
            if isinstance(item, dict):
                item["app_type"] = member_type(item)
        yield from super().rows(page)


class SecureScoreControlProfilesStream(GraphStream):
    """``GET /security/secureScoreControlProfiles``: the controls the secure score is made of."""

    name = "secure_score_control_profiles"
    path = "/security/secureScoreControlProfiles"
    max_page_size = None
    supports_select = False
    schema = props(
        th.Property("id", String, required=True),
        th.Property("title", String),
        th.Property("controlCategory", String),
        th.Property("service", String),
        th.Property("actionType", String),
        th.Property("actionUrl", String),
        th.Property("maxScore", Number),
        th.Property("rank", Int),
        th.Property("tier", String),
        th.Property("implementationCost", String),
        th.Property("userImpact", String),
        th.Property("remediation", String),
        th.Property("remediationImpact", String),
        strings("threats"),
        th.Property("deprecated", Bool),
        th.Property("lastModifiedDateTime", DateTime),
        th.Property("azureTenantId", String),
        objects(
            "complianceInformation",
            th.Property("certificationName", String),
            objects(
                "certificationControls",
                th.Property("name", String),
                th.Property("url", String),
            ),
        ),
        objects(
            "controlStateUpdates",
            th.Property("assignedTo", String),
            th.Property("comment", String),
            th.Property("state", String),
            th.Property("updatedBy", String),
            th.Property("updatedDateTime", DateTime),
        ),
        VENDOR,
    )


class IncrementalByTimestamp(GraphStream):
    """A collection read whole, sending only records newer than the bookmark (``replication_key``).

    The collections are small (90 daily scores, the last weeks' service issues) and their pages document
    no filter the tap relies on, so the bookmark is applied to what Graph sends.
    """

    is_sorted = False

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Records after the bookmark."""
        start = self.get_starting_replication_key_value(context)
        since = parse_start_date(start) if start else None
        key = t.cast("str", self.replication_key)
        for record in super().graph_records(context):
            value = record.get(key)
            if since is None:
                yield record
                continue
            try:
                when = parse_start_date(value)
            except ValueError:
                continue  # no usable timestamp: the record cannot be placed after the bookmark
            if when > since:
                yield record


class SecureScoresStream(IncrementalByTimestamp):
    """``GET /security/secureScores``: the tenant's secure score, one record per day."""

    name = "secure_scores"
    path = "/security/secureScores"
    max_page_size = None
    supports_select = False
    replication_key = "createdDateTime"
    schema = props(
        th.Property("id", String, required=True),
        th.Property("createdDateTime", DateTime, required=True),
        th.Property("currentScore", Number),
        th.Property("maxScore", Number),
        th.Property("activeUserCount", Int),
        th.Property("licensedUserCount", Int),
        strings("enabledServices"),
        th.Property("azureTenantId", String),
        objects(
            "averageComparativeScores",
            th.Property("basis", String),
            th.Property("averageScore", Number),
        ),
        objects(
            "controlScores",
            th.Property("controlCategory", String),
            th.Property("controlName", String),
            th.Property("description", String),
            th.Property("score", Number),
        ),
        VENDOR,
    )


class ServiceHealthIssuesStream(IncrementalByTimestamp):
    """``GET /admin/serviceAnnouncement/issues``: Microsoft 365 incidents and advisories, with posts."""

    name = "service_health_issues"
    path = "/admin/serviceAnnouncement/issues"
    max_page_size = None
    supports_select = False
    replication_key = "lastModifiedDateTime"
    schema = props(
        th.Property("id", String, required=True),
        th.Property("title", String),
        th.Property("service", String),
        th.Property("feature", String),
        th.Property("featureGroup", String),
        th.Property("classification", String, description="advisory or incident"),
        th.Property("status", String),
        th.Property("origin", String),
        th.Property("impactDescription", String),
        th.Property("isResolved", Bool),
        th.Property("startDateTime", DateTime),
        th.Property("endDateTime", DateTime),
        th.Property("lastModifiedDateTime", DateTime, required=True),
        objects("details", th.Property("name", String), th.Property("value", String)),
        objects(
            "posts",
            th.Property("createdDateTime", DateTime),
            th.Property("postType", String),
            th.Property(
                "description",
                th.ObjectType(th.Property("content", String), th.Property("contentType", String)),
            ),
        ),
    )
