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
    GroupsStream,
    UserSignInActivityStream,
    UsersStream,
)
from tap_microsoft365.streams.licensing import SubscribedSkusStream
from tap_microsoft365.streams.organization import DomainsStream, OrganizationStream
from tap_microsoft365.streams.reports import REPORT_STREAMS

STREAM_TYPES = [
    UsersStream,
    UserSignInActivityStream,
    GroupsStream,
    GroupMembersStream,
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
    *REPORT_STREAMS,
    SignInsStream,
    DirectoryAuditsStream,
    ProvisioningLogsStream,
]

__all__ = ["STREAM_TYPES"]
