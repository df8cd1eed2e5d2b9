"""Streams, grouped by Graph area."""

from tap_microsoft365.streams.directory import GroupMembersStream, GroupsStream, UsersStream
from tap_microsoft365.streams.licensing import SubscribedSkusStream
from tap_microsoft365.streams.organization import DomainsStream, OrganizationStream
from tap_microsoft365.streams.reports import REPORT_STREAMS

STREAM_TYPES = [
    UsersStream,
    GroupsStream,
    GroupMembersStream,
    SubscribedSkusStream,
    OrganizationStream,
    DomainsStream,
    *REPORT_STREAMS,
]

__all__ = ["STREAM_TYPES"]
