"""``/subscribedSkus``: no paging and only ``$select`` (400 for ``$top``/``$filter``; graph.md 1)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..server import Request, Response, RouteTable
from .odata import EntityType, collection, graph_type, model_keys, single

if TYPE_CHECKING:
    from ..server import RouteOptions, Server

SKU_READ = (
    "LicenseAssignment.Read.All",
    "Organization.Read.All",
    "Directory.Read.All",
    "LicenseAssignment.ReadWrite.All",
    "Organization.ReadWrite.All",
    "Directory.ReadWrite.All",
)


def sku_type(server: Server) -> EntityType:
    """``microsoft.graph.subscribedSku`` in the server's cloud (metadata, graph.md 10)."""
    return graph_type(server, "subscribedSku", model_keys(server.tenant.skus))


def list_skus(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /subscribedSkus: every SKU in one response, never a nextLink."""
    skus = server.tenant.skus
    return collection(
        server,
        req,
        skus,
        sku_type(server),
        fragment="subscribedSkus",
        allowed=("$select",),
        default_top=len(skus) + 1,
    )


def get_sku(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /subscribedSkus/{id} (id is ``{tenantId}_{skuId}``)."""
    key = m.group("key")
    sku = next((s for s in server.tenant.skus if s["id"] == key), None)
    return single(server, req, sku, sku_type(server), fragment="subscribedSkus", key=key)


def register(table: RouteTable) -> None:
    """Licensing routes."""
    sku: RouteOptions = {"permissions": SKU_READ, "entity": "subscribedSku"}
    table.add("GET", r"/v1\.0/subscribedSkus", list_skus, cost=3, **sku)
    table.add("GET", r"/v1\.0/subscribedSkus/(?P<key>[^/]+)", get_sku, **sku)
