"""Streams, grouped by Graph area."""

from tap_microsoft365.streams.apps import (
    ApplicationsStream,
    AppRoleAssignmentsStream,
    DirectoryRoleMembersStream,
    DirectoryRolesStream,
    OAuth2PermissionGrantsStream,
    ServicePrincipalsStream,
    UserLicensesStream,
    UserManagersStream,
)
from tap_microsoft365.streams.audit import (
    DirectoryAuditsStream,
    ProvisioningLogsStream,
    SignInsStream,
)
from tap_microsoft365.streams.devices import (
    DetectedAppDevicesStream,
    DetectedAppsStream,
    DeviceOwnersStream,
    DevicesStream,
    ManagedDevicesStream,
)
from tap_microsoft365.streams.directory import (
    GroupMembersStream,
    GroupOwnersStream,
    GroupsStream,
    UserSignInActivityStream,
    UsersStream,
)
from tap_microsoft365.streams.identity import (
    ConditionalAccessPoliciesStream,
    NamedLocationsStream,
    RoleAssignmentsStream,
    RoleDefinitionsStream,
    RoleEligibilitySchedulesStream,
    SubscriptionsStream,
)
from tap_microsoft365.streams.licensing import SubscribedSkusStream
from tap_microsoft365.streams.organization import DomainsStream, OrganizationStream
from tap_microsoft365.streams.reports import REPORT_STREAMS
from tap_microsoft365.streams.security import (
    MobileAppsStream,
    RiskyUsersStream,
    SecureScoreControlProfilesStream,
    SecureScoresStream,
    ServiceHealthIssuesStream,
    UserRegistrationDetailsStream,
)

STREAM_TYPES = [
    UsersStream,
    UserSignInActivityStream,
    GroupsStream,
    GroupMembersStream,
    GroupOwnersStream,
    SubscribedSkusStream,
    OrganizationStream,
    DomainsStream,
    # issue 3: parents before their per-parent streams (id reuse, streams/parents.py)
    UserLicensesStream,
    UserManagersStream,
    DevicesStream,
    DeviceOwnersStream,
    ManagedDevicesStream,
    DetectedAppsStream,
    DetectedAppDevicesStream,
    ApplicationsStream,
    ServicePrincipalsStream,
    OAuth2PermissionGrantsStream,
    AppRoleAssignmentsStream,
    DirectoryRolesStream,
    DirectoryRoleMembersStream,
    # issue 14
    SubscriptionsStream,
    RoleDefinitionsStream,
    RoleAssignmentsStream,
    RoleEligibilitySchedulesStream,
    ConditionalAccessPoliciesStream,
    NamedLocationsStream,
    UserRegistrationDetailsStream,
    RiskyUsersStream,
    MobileAppsStream,
    SecureScoresStream,
    SecureScoreControlProfilesStream,
    ServiceHealthIssuesStream,
    *REPORT_STREAMS,
    SignInsStream,
    DirectoryAuditsStream,
    ProvisioningLogsStream,
]

__all__ = ["STREAM_TYPES"]
