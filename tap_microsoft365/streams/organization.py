"""Tenant-level streams: the organization and its domains."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_microsoft365.schema import (
    ASSIGNED_PLAN,
    Bool,
    DateTime,
    Int,
    String,
    objects,
    props,
    strings,
)
from tap_microsoft365.streams.base import GraphStream


class OrganizationStream(GraphStream):
    """``GET /organization``: one row, the tenant itself; supports ``$select`` only."""

    name = "organization"
    path = "/organization"
    max_page_size = None
    schema = props(
        th.Property("id", String, required=True),
        th.Property("displayName", String),
        th.Property("tenantType", String),
        th.Property("createdDateTime", DateTime),
        th.Property("countryLetterCode", String),
        th.Property("preferredLanguage", String),
        th.Property("city", String),
        th.Property("state", String),
        th.Property("street", String),
        th.Property("postalCode", String),
        strings("businessPhones"),
        strings("technicalNotificationMails"),
        strings("securityComplianceNotificationMails"),
        strings("marketingNotificationEmails"),
        th.Property("onPremisesSyncEnabled", Bool),
        th.Property("onPremisesLastSyncDateTime", DateTime),
        objects(
            "verifiedDomains",
            th.Property("name", String),
            th.Property("type", String),
            th.Property("capabilities", String),
            th.Property("isDefault", Bool),
            th.Property("isInitial", Bool),
        ),
        objects("assignedPlans", *ASSIGNED_PLAN),
        objects(
            "provisionedPlans",
            th.Property("capabilityStatus", String),
            th.Property("provisioningStatus", String),
            th.Property("service", String),
        ),
    )


class DomainsStream(GraphStream):
    """``GET /domains``: a handful of rows; the list takes no OData query options, so no ``$select``."""

    name = "domains"
    path = "/domains"
    max_page_size = None
    supports_select = False
    schema = props(
        th.Property("id", String, required=True, description="The domain name"),
        th.Property("authenticationType", String),
        th.Property("availabilityStatus", String),
        th.Property("isAdminManaged", Bool),
        th.Property("isDefault", Bool),
        th.Property("isInitial", Bool),
        th.Property("isRoot", Bool),
        th.Property("isVerified", Bool),
        strings("supportedServices"),
        th.Property("passwordValidityPeriodInDays", Int),
        th.Property("passwordNotificationWindowInDays", Int),
        th.Property(
            "state",
            th.ObjectType(
                th.Property("lastActionDateTime", DateTime),
                th.Property("operation", String),
                th.Property("status", String),
            ),
        ),
    )
