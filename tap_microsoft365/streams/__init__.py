"""Streams, grouped by Graph area."""

from tap_microsoft365.streams.audit import (
    DirectoryAuditsStream,
    ProvisioningLogsStream,
    SignInsStream,
)
from tap_microsoft365.streams.directory import GroupMembersStream, GroupsStream, UsersStream
from tap_microsoft365.streams.licensing import SubscribedSkusStream
from tap_microsoft365.streams.organization import DomainsStream, OrganizationStream

STREAM_TYPES = [
    UsersStream,
    GroupsStream,
    GroupMembersStream,
    SubscribedSkusStream,
    OrganizationStream,
    DomainsStream,
    SignInsStream,
    DirectoryAuditsStream,
    ProvisioningLogsStream,
]

__all__ = ["STREAM_TYPES"]
