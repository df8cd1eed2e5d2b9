"""``/organization`` (only ``$select``) and ``/domains`` (graph.md 1)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..server import Request, Response, RouteTable
from .odata import EntityType, collection, graph_type, model_keys, single

if TYPE_CHECKING:
    from ..server import RouteOptions, Server

ORG_READ = (
    "Organization.Read.All",
    "Directory.Read.All",
    "Organization.ReadWrite.All",
    "Directory.ReadWrite.All",
)
DOMAIN_READ = (
    "Domain.Read.All",
    "Directory.Read.All",
    "Domain.ReadWrite.All",
    "Directory.ReadWrite.All",
)


def org_type(server: Server) -> EntityType:
    """``microsoft.graph.organization`` in the server's cloud (usgov/china: no defaultUsageLocation)."""
    return graph_type(server, "organization", tuple(server.tenant.organization))


def domain_type(server: Server) -> EntityType:
    """``microsoft.graph.domain`` in the server's cloud."""
    return graph_type(server, "domain", model_keys(server.tenant.domains))


def list_organization(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /organization: a one-item collection."""
    return collection(
        server,
        req,
        [server.tenant.organization],
        org_type(server),
        fragment="organization",
        allowed=("$select",),
    )


def get_organization(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /organization/{tenant id}."""
    key = m.group("key")
    org = server.tenant.organization if key.lower() == server.tenant.tenant_id else None
    return single(server, req, org, org_type(server), fragment="organization", key=key)


def list_domains(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /domains."""
    return collection(
        server, req, server.tenant.domains, domain_type(server), fragment="domains",
        allowed=("$select", "$top", "$skiptoken"),
    )  # fmt: skip


def get_domain(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /domains/{name}."""
    key = m.group("key")
    return single(
        server, req, server.tenant.domain(key), domain_type(server), fragment="domains", key=key
    )


def register(table: RouteTable) -> None:
    """Organization routes."""
    org: RouteOptions = {"permissions": ORG_READ, "entity": "organization"}
    domain: RouteOptions = {"permissions": DOMAIN_READ, "entity": "domain"}
    table.add("GET", r"/v1\.0/organization", list_organization, **org)
    table.add("GET", r"/v1\.0/organization/(?P<key>[^/]+)", get_organization, **org)
    table.add("GET", r"/v1\.0/domains", list_domains, **domain)
    table.add("GET", r"/v1\.0/domains/(?P<key>[^/]+)", get_domain, **domain)
