"""Which Graph application permission (and licence) each stream needs.

Least-privileged permission first; any one of a stream's list is enough. Sources: the permission tables of
each v1.0 "List" API (collected in ../shared/reference/graph.md section 1). Used by 403 messages and by
the README's stream table.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    """What one stream needs from the tenant."""

    permissions: tuple[str, ...]
    licence: str | None = None

    def describe(self) -> str:
        """Human text, e.g. 'User.Read.All (or Directory.Read.All)'."""
        first, *others = self.permissions
        text = first + (f" (or {', '.join(others)})" if others else "")
        return text + (f"; licence: {self.licence}" if self.licence else "")


REQUIREMENTS: dict[str, Requirement] = {
    "users": Requirement(("User.Read.All", "Directory.Read.All")),
    "user_sign_in_activity": Requirement(
        ("AuditLog.Read.All",), "Microsoft Entra ID P1 or P2 (and User.Read.All)"
    ),
    "groups": Requirement(("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")),
    "group_members": Requirement(("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")),
    "group_owners": Requirement(("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")),
    "subscribed_skus": Requirement(
        ("LicenseAssignment.Read.All", "Organization.Read.All", "Directory.Read.All")
    ),
    "organization": Requirement(("Organization.Read.All", "Directory.Read.All")),
    "domains": Requirement(("Domain.Read.All", "Directory.Read.All")),
    # issue 3 (graph.md section 1 permission column)
    "user_licenses": Requirement(
        ("User.Read.All", "Directory.Read.All", "LicenseAssignment.Read.All")
    ),
    "user_managers": Requirement(("User.Read.All", "Directory.Read.All")),
    "devices": Requirement(("Device.Read.All", "Directory.Read.All")),
    "device_owners": Requirement(("Device.Read.All", "Directory.Read.All")),
    "managed_devices": Requirement(
        ("DeviceManagementManagedDevices.Read.All",), "Microsoft Intune"
    ),
    "detected_apps": Requirement(("DeviceManagementManagedDevices.Read.All",), "Microsoft Intune"),
    "detected_app_devices": Requirement(
        ("DeviceManagementManagedDevices.Read.All",), "Microsoft Intune"
    ),
    "applications": Requirement(("Application.Read.All", "Directory.Read.All")),
    "service_principals": Requirement(("Application.Read.All", "Directory.Read.All")),
    "oauth2_permission_grants": Requirement(
        ("DelegatedPermissionGrant.Read.All", "Directory.Read.All")
    ),
    "app_role_assignments": Requirement(("Application.Read.All", "Directory.Read.All")),
    "directory_roles": Requirement(("RoleManagement.Read.Directory", "Directory.Read.All")),
    "directory_role_members": Requirement(("RoleManagement.Read.Directory", "Directory.Read.All")),
    # issue 14 (each endpoint's v1.0 reference page, least privileged first)
    "subscriptions": Requirement(("Organization.Read.All", "Directory.Read.All")),
    "role_definitions": Requirement(
        ("RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All")
    ),
    "role_assignments": Requirement(
        ("RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All")
    ),
    "role_eligibility_schedules": Requirement(
        ("RoleEligibilitySchedule.Read.Directory", "RoleManagement.Read.Directory"),
        "Microsoft Entra ID P2",
    ),
    "conditional_access_policies": Requirement(("Policy.Read.All",)),
    "named_locations": Requirement(("Policy.Read.All",)),
    "user_registration_details": Requirement(
        ("AuditLog.Read.All",), "Microsoft Entra ID P1 or P2"
    ),
    "risky_users": Requirement(("IdentityRiskyUser.Read.All",), "Microsoft Entra ID P2"),
    "mobile_apps": Requirement(("DeviceManagementApps.Read.All",), "Microsoft Intune"),
    "secure_scores": Requirement(("SecurityEvents.Read.All",)),
    "secure_score_control_profiles": Requirement(("SecurityEvents.Read.All",)),
    "service_health_issues": Requirement(("ServiceHealth.Read.All",)),
    # Usage reports (graph.md section 3); /admin/reportSettings additionally uses ReportSettings.Read.All.
    **{
        name: Requirement(("Reports.Read.All",))
        for name in (
            "usage_office365_active_user_detail",
            "usage_m365_app_user_detail",
            "usage_email_activity_user_detail",
            "usage_mailbox_usage_detail",
            "usage_onedrive_usage_account_detail",
            "usage_sharepoint_site_usage_detail",
            "usage_teams_user_activity_user_detail",
            "usage_office365_activations_user_detail",
            "usage_office365_active_user_counts",
        )
    },
    # activity logs (graph.md 1, 4): grant AuditLog.Read.All and Directory.Read.All
    "sign_ins": Requirement(("AuditLog.Read.All",), "Microsoft Entra ID P1 or P2"),
    "directory_audits": Requirement(("AuditLog.Read.All",)),
    "provisioning_logs": Requirement(("AuditLog.Read.All",), "Microsoft Entra ID P1 or P2"),
}


def requirement_for(stream_name: str) -> Requirement:
    """The requirement of a stream; Directory.Read.All when a stream has no entry yet."""
    return REQUIREMENTS.get(stream_name, Requirement(("Directory.Read.All",)))


#: Graph endpoint (a path under /v1.0, ids as ``{id}``) -> what it needs. A refused call names the
#: permission of the call Graph refused, not of the stream that made it (user_licenses reads both
#: /users and /subscribedSkus). Least privileged first (graph.md 1).
ENDPOINTS: tuple[tuple[str, Requirement], ...] = (
    ("/users", Requirement(("User.Read.All", "Directory.Read.All"))),
    ("/users/delta", Requirement(("User.Read.All", "Directory.Read.All"))),
    ("/groups/delta", REQUIREMENTS["groups"]),
    ("/devices/delta", REQUIREMENTS["devices"]),
    ("/applications/delta", REQUIREMENTS["applications"]),
    ("/servicePrincipals/delta", REQUIREMENTS["service_principals"]),
    ("/groups", REQUIREMENTS["groups"]),
    ("/groups/{id}/members", REQUIREMENTS["group_members"]),
    ("/groups/{id}/owners", REQUIREMENTS["group_owners"]),
    ("/subscribedSkus", REQUIREMENTS["subscribed_skus"]),
    ("/organization", REQUIREMENTS["organization"]),
    ("/domains", REQUIREMENTS["domains"]),
    ("/devices", REQUIREMENTS["devices"]),
    ("/devices/{id}/registeredOwners", REQUIREMENTS["device_owners"]),
    ("/deviceManagement/managedDevices", REQUIREMENTS["managed_devices"]),
    ("/deviceManagement/detectedApps", REQUIREMENTS["detected_apps"]),
    ("/deviceManagement/detectedApps/{id}/managedDevices", REQUIREMENTS["detected_app_devices"]),
    ("/applications", REQUIREMENTS["applications"]),
    ("/servicePrincipals", REQUIREMENTS["service_principals"]),
    ("/servicePrincipals/{id}/appRoleAssignedTo", REQUIREMENTS["app_role_assignments"]),
    ("/oauth2PermissionGrants", REQUIREMENTS["oauth2_permission_grants"]),
    ("/directoryRoles", REQUIREMENTS["directory_roles"]),
    ("/directoryRoles/{id}/members", REQUIREMENTS["directory_role_members"]),
    ("/directory/subscriptions", REQUIREMENTS["subscriptions"]),
    ("/roleManagement/directory/roleDefinitions", REQUIREMENTS["role_definitions"]),
    ("/roleManagement/directory/roleAssignments", REQUIREMENTS["role_assignments"]),
    ("/roleManagement/directory/roleEligibilitySchedules", REQUIREMENTS["role_eligibility_schedules"]),
    ("/identity/conditionalAccess/policies", REQUIREMENTS["conditional_access_policies"]),
    ("/identity/conditionalAccess/namedLocations", REQUIREMENTS["named_locations"]),
    ("/reports/authenticationMethods/userRegistrationDetails", REQUIREMENTS["user_registration_details"]),
    ("/identityProtection/riskyUsers", REQUIREMENTS["risky_users"]),
    ("/deviceAppManagement/mobileApps", REQUIREMENTS["mobile_apps"]),
    ("/security/secureScores", REQUIREMENTS["secure_scores"]),
    ("/security/secureScoreControlProfiles", REQUIREMENTS["secure_score_control_profiles"]),
    ("/admin/serviceAnnouncement/issues", REQUIREMENTS["service_health_issues"]),
    ("/auditLogs/signIns", REQUIREMENTS["sign_ins"]),
    ("/auditLogs/directoryAudits", REQUIREMENTS["directory_audits"]),
    ("/auditLogs/provisioning", REQUIREMENTS["provisioning_logs"]),
    ("/admin/reportSettings", Requirement(("ReportSettings.Read.All",))),
    ("/reports/{function}", Requirement(("Reports.Read.All",))),
)
_ENDPOINT_PATTERNS = tuple(
    (re.compile("^/v1\\.0" + re.sub(r"\\\{\w+\\\}", r"[^/]+", re.escape(p)) + "$"), need)
    for p, need in ENDPOINTS
)


def requirement_for_path(path: str) -> Requirement:
    """What the Graph call at ``path`` (e.g. ``/v1.0/groups/abc/members``) needs."""
    path = path.split("?", 1)[0]
    if "/v1.0/" in path:
        path = "/v1.0/" + path.split("/v1.0/", 1)[1]
    for pattern, need in _ENDPOINT_PATTERNS:
        if pattern.match(path):
            return need
    if path.startswith("/v1.0/reports/"):
        return Requirement(("Reports.Read.All",))
    return Requirement(("Directory.Read.All",))


#: Calls a stream makes beyond its own endpoint (their permissions join its delegated scopes).
ALSO_NEEDS: dict[str, tuple[str, ...]] = {
    "user_licenses": ("LicenseAssignment.Read.All",),
    "user_sign_in_activity": ("User.Read.All",),
    **{name: ("ReportSettings.Read.All",) for name in REQUIREMENTS if name.startswith("usage_")},
}


def delegated_scopes(stream_names: t.Iterable[str], graph_resource: str) -> list[str]:
    """The delegated Graph scopes the streams need (least privileged each), as full scope URIs.

    A delegated token carries the scopes the admin consented to; each stream needs one of its
    permissions (the same names exist as delegated permissions) and, for reports and sign-ins, the
    signed-in user an Entra role (graph.md 8).
    """
    wanted: set[str] = set()
    for name in stream_names:
        wanted.add(requirement_for(name).permissions[0])
        wanted.update(ALSO_NEEDS.get(name, ()))
    return [f"{graph_resource.rstrip('/')}/{scope}" for scope in sorted(wanted)]


#: Entra roles that let a signed-in user read reports and activity logs (graph.md 8).
DELEGATED_ROLE_NOTE = (
    "in a delegated connection the signed-in user also needs an Entra role that may read reports "
    "and activity logs (Global Reader, Reports Reader or Security Reader)"
)
