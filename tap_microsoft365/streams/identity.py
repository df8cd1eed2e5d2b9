"""Who may do what: company subscriptions, unified role management (RBAC, PIM), Conditional Access.

Endpoints and query options per their v1.0 reference pages (learn.microsoft.com/graph/api/...):
``directory-list-subscriptions`` ($select, $top), ``rbacapplication-list-roledefinitions`` and
``-roleassignments`` ($select, $filter; no $top), ``rbacapplication-list-roleeligibilityschedules`` ($select;
Entra ID P2), ``conditionalaccessroot-list-policies`` and ``-namedlocations`` ($select, $top, $filter).
Microsoft recommends ``/roleManagement/directory`` over ``/directoryRoles``: it also has scoped
assignments (``directoryScopeId``, e.g. an administrative unit) and roles that were never activated.
The role streams are not user-scoped: an assignment names a principal by id only (a user, group or
service principal), and an admin outside the scope is still an admin.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_microsoft365.schema import Bool, DateTime, Int, String, objects, props, strings
from tap_microsoft365.streams.base import GraphStream

if t.TYPE_CHECKING:
    from collections.abc import Iterable


class SubscriptionsStream(GraphStream):
    """``GET /directory/subscriptions``: commercial subscriptions, with trial and renewal dates."""

    name = "subscriptions"
    path = "/directory/subscriptions"
    schema = props(
        th.Property("id", String, required=True),
        th.Property("commerceSubscriptionId", String),
        th.Property("skuId", String),
        th.Property("skuPartNumber", String),
        th.Property("status", String, description="Enabled, Warning, Suspended, Deleted or LockedOut"),
        th.Property("isTrial", Bool),
        th.Property("totalLicenses", Int),
        th.Property("createdDateTime", DateTime),
        th.Property(
            "nextLifecycleDateTime", DateTime, description="When the status changes next (renewal, lapse)"
        ),
        th.Property("ownerId", String),
        th.Property("ownerTenantId", String),
        th.Property("ownerType", String),
        objects(
            "serviceStatus",
            th.Property("servicePlanId", String),
            th.Property("servicePlanName", String),
            th.Property("provisioningStatus", String),
            th.Property("appliesTo", String),
        ),
    )


class RoleDefinitionsStream(GraphStream):
    """``GET /roleManagement/directory/roleDefinitions``: every built-in and custom directory role."""

    name = "role_definitions"
    path = "/roleManagement/directory/roleDefinitions"
    max_page_size = None
    #: target-postgres 0.8.1 fails ACTIVATE_VERSION on a table with a ``version`` column (see
    #: detected_apps in devices.py); unifiedRoleDefinition has ``version``.
    activate_version = False
    schema = props(
        th.Property("id", String, required=True),
        th.Property("displayName", String),
        th.Property("description", String),
        th.Property("templateId", String, description="Joins directory_roles.roleTemplateId"),
        th.Property("isBuiltIn", Bool),
        th.Property("isEnabled", Bool),
        strings("resourceScopes"),
        objects(
            "rolePermissions",
            strings("allowedResourceActions"),
            th.Property("condition", String),
        ),
        th.Property("version", String),
    )


class RoleAssignmentsStream(GraphStream):
    """``GET /roleManagement/directory/roleAssignments``: who holds which role, and where (scope)."""

    name = "role_assignments"
    path = "/roleManagement/directory/roleAssignments"
    max_page_size = None
    schema = props(
        th.Property("id", String, required=True),
        th.Property("principalId", String, description="The user, group or service principal"),
        th.Property("roleDefinitionId", String, description="Joins role_definitions.id"),
        th.Property(
            "directoryScopeId", String, description='"/" for the tenant, or an administrative unit'
        ),
        th.Property("appScopeId", String),
        th.Property("condition", String),
        th.Property("principalOrganizationId", String),
    )


class RoleEligibilitySchedulesStream(RoleAssignmentsStream):
    """``GET /roleManagement/directory/roleEligibilitySchedules``: who may activate a role (PIM, P2)."""

    name = "role_eligibility_schedules"
    path = "/roleManagement/directory/roleEligibilitySchedules"
    schema = props(
        th.Property("id", String, required=True),
        th.Property("principalId", String),
        th.Property("roleDefinitionId", String),
        th.Property("directoryScopeId", String),
        th.Property("appScopeId", String),
        th.Property("memberType", String, description="Direct, Group or Inherited"),
        th.Property("status", String),
        th.Property("createdUsing", String),
        th.Property("createdDateTime", DateTime),
        th.Property("modifiedDateTime", DateTime),
        th.Property(
            "scheduleInfo",
            th.ObjectType(
                th.Property("startDateTime", DateTime),
                th.Property(
                    "expiration",
                    th.ObjectType(
                        th.Property("type", String),
                        th.Property("endDateTime", DateTime),
                        th.Property("duration", String),
                    ),
                ),
            ),
        ),
    )


class ConditionalAccessPoliciesStream(GraphStream):
    """``GET /identity/conditionalAccess/policies``: conditions and controls kept as objects."""

    name = "conditional_access_policies"
    path = "/identity/conditionalAccess/policies"
    max_page_size = None
    schema = props(
        th.Property("id", String, required=True),
        th.Property("displayName", String),
        th.Property("description", String),
        th.Property("state", String, description="enabled, disabled or enabledForReportingButNotEnforced"),
        th.Property("createdDateTime", DateTime),
        th.Property("modifiedDateTime", DateTime),
        th.Property("templateId", String),
        th.Property("deletedDateTime", DateTime),
        th.Property("conditions", th.ObjectType(additional_properties=True)),
        th.Property("grantControls", th.ObjectType(additional_properties=True)),
        th.Property("sessionControls", th.ObjectType(additional_properties=True)),
    )


class NamedLocationsStream(GraphStream):
    """``GET /identity/conditionalAccess/namedLocations``: IP ranges and countries.

    Each item is an ``ipNamedLocation`` or a ``countryNamedLocation`` (``@odata.type``, kept as
    ``location_type``); ``$select`` can only name the base type's properties, so none is sent and each
    item comes with its own type's properties.
    """

    name = "named_locations"
    path = "/identity/conditionalAccess/namedLocations"
    max_page_size = None
    supports_select = False
    tap_fields = ("tenant_id", "location_type")
    schema = props(
        th.Property("id", String, required=True),
        th.Property("displayName", String),
        th.Property("location_type", String, description="ip or country (from @odata.type)"),
        th.Property("createdDateTime", DateTime),
        th.Property("modifiedDateTime", DateTime),
        th.Property("isTrusted", Bool),
        objects(
            "ipRanges",
            th.Property("@odata.type", String),
            th.Property("cidrAddress", String),
        ),
        strings("countriesAndRegions"),
        th.Property("includeUnknownCountriesAndRegions", Bool),
        th.Property("countryLookupMethod", String),
    )

    def rows(self, page: dict) -> Iterable[dict]:
        """The items, ``@odata.type`` kept as ``location_type``."""
        for item in page["value"]:
            if isinstance(item, dict):
                kind = str(item.get("@odata.type") or "")
                item["location_type"] = kind.rsplit(".", 1)[-1].replace("NamedLocation", "") or None
        yield from super().rows(page)
