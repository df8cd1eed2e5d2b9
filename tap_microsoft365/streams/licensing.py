"""Licensing streams: the tenant's subscribed SKUs."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_microsoft365.schema import Int, String, objects, props, strings
from tap_microsoft365.streams.base import GraphStream


class SubscribedSkusStream(GraphStream):
    """``GET /subscribedSkus``: one page, only ``$select`` is supported (graph.md section 1)."""

    name = "subscribed_skus"
    path = "/subscribedSkus"
    max_page_size = None
    schema = props(
        th.Property("id", String, required=True),
        th.Property("skuId", String),
        th.Property("skuPartNumber", String),
        th.Property("accountId", String),
        th.Property("accountName", String),
        th.Property("appliesTo", String),
        th.Property("capabilityStatus", String),
        th.Property("consumedUnits", Int),
        th.Property(
            "prepaidUnits",
            th.ObjectType(
                th.Property("enabled", Int),
                th.Property("suspended", Int),
                th.Property("warning", Int),
                th.Property("lockedOut", Int),
            ),
        ),
        objects(
            "servicePlans",
            th.Property("servicePlanId", String),
            th.Property("servicePlanName", String),
            th.Property("provisioningStatus", String),
            th.Property("appliesTo", String),
        ),
        strings("subscriptionIds"),
    )
