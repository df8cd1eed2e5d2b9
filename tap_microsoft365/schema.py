"""Schema building blocks typed to Graph's v1.0 model (nullable where Graph may return null).

Graph property names are kept as Graph spells them; fields the tap adds are snake_case.
"""

from __future__ import annotations

from singer_sdk import typing as th

String = th.StringType
Bool = th.BooleanType
Int = th.IntegerType
DateTime = th.DateTimeType


def props(*properties: th.Property) -> dict:
    """A stream schema: the Graph properties plus the tap's ``tenant_id``."""
    return th.PropertiesList(
        *properties,
        th.Property(
            "tenant_id",
            th.StringType(nullable=False),
            required=True,
            description="Entra tenant ID (added by the tap; the first key of every stream)",
        ),
    ).to_dict()


def strings(name: str) -> th.Property:
    """An array of strings."""
    return th.Property(name, th.ArrayType(String))


def objects(name: str, *properties: th.Property) -> th.Property:
    """An array of objects, kept as objects."""
    return th.Property(name, th.ArrayType(th.ObjectType(*properties)))


ASSIGNED_PLAN = (
    th.Property("assignedDateTime", DateTime),
    th.Property("capabilityStatus", String),
    th.Property("service", String),
    th.Property("servicePlanId", String),
)

ASSIGNED_LICENSES = objects(
    "assignedLicenses", th.Property("skuId", String), strings("disabledPlans")
)

#: user.licenseAssignmentStates: how each licence was assigned (directly: assignedByGroup null; else the
#: group) and its state (Active, ActiveWithError, Disabled, Error) and error (learn.microsoft.com/graph/api/
#: resources/licenseassignmentstate).
LICENSE_ASSIGNMENT_STATES = objects(
    "licenseAssignmentStates",
    th.Property("assignedByGroup", String),
    strings("disabledPlans"),
    th.Property("error", String),
    th.Property("lastUpdatedDateTime", DateTime),
    th.Property("skuId", String),
    th.Property("state", String),
)


def owner_properties(parent_field: str, parent: str) -> tuple[th.Property, ...]:
    """A (parent, owner) row of a registeredOwners / owners listing: ids, the owner's type and names."""
    return (
        th.Property(parent_field, String, required=True, description=f"The {parent} (added by the tap)"),
        th.Property("owner_id", String, required=True, description="The owner's object id"),
        th.Property("owner_type", String, description="user or servicePrincipal (from @odata.type)"),
        th.Property("userPrincipalName", String),
        th.Property("displayName", String),
    )
