"""``/organization`` (only ``$select``) and ``/domains`` (graph.md 1)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..server import Request, Response, RouteTable
from .odata import EntityType, collection, entity_type, single

if TYPE_CHECKING:
    from ..server import Server

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
    """The organization type as served."""
    return entity_type(
        server,
        "organization",
        lambda: EntityType("organization", tuple(server.tenant.organization)),
    )


def domain_type(server: Server) -> EntityType:
    """The domain type as served."""
    return entity_type(
        server, "domain", lambda: EntityType("domain", tuple(server.tenant.domains[0]))
    )


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
    table.add("GET", r"/v1\.0/organization", list_organization, permissions=ORG_READ)
    table.add("GET", r"/v1\.0/organization/(?P<key>[^/]+)", get_organization, permissions=ORG_READ)
    table.add("GET", r"/v1\.0/domains", list_domains, permissions=DOMAIN_READ)
    table.add("GET", r"/v1\.0/domains/(?P<key>[^/]+)", get_domain, permissions=DOMAIN_READ)
