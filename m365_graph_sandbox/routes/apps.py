"""Apps, consents, app role assignments, directory roles and ``/users?$expand=manager`` (graph.md 1, 5).

- ``/applications``, ``/servicePrincipals``: ``Application.Read.All``, directory paging (100 / 999).
- ``/servicePrincipals/{id}/appRoleAssignedTo``: ``Application.Read.All``; directory paging (graph.md 1
  marks its page size UNVERIFIED: the sandbox uses 100 / 999).
- ``/oauth2PermissionGrants``: ``DelegatedPermissionGrant.Read.All`` or ``Directory.Read.All``; page size
  UNVERIFIED (graph.md 1): directory paging.
- ``/directoryRoles``: ``RoleManagement.Read.Directory``; takes **no OData parameters at all** (400) and
  never pages: activated roles only (graph.md 1, 9.8); ``$top`` is 400 ``Request_UnsupportedQuery``
  "This resource does not support custom page sizes." (graph.md 10).
- ``/directoryRoles/{id}/members``: directoryObjects; "supports the ``$select`` OData query parameter
  [...] returns a default of 1,000 objects and doesn't support pagination using ``$top``"
  (learn.microsoft.com/graph/api/directoryrole-list-members, graph.md 10): ``$select`` is validated,
  ``$top`` answers as on ``/directoryRoles``, pages hold 1,000 (a nextLink beyond).
- ``/users?$expand=manager($select=...)``: manager is single-valued, so the 20-item ``$expand`` cap of
  collections does not apply (graph.md 5); users without a manager carry no ``manager`` property;
  ``$expand`` is not supported in advanced queries (graph.md 5: 400).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..server import GraphError, Request, Response, RouteTable, bad_request, json_response
from .devices import directory_objects, not_found
from .directory import user_type
from .odata import (
    EntityType,
    collection,
    context_url,
    graph_type,
    is_advanced,
    model_keys,
    projector,
    select_fields,
    unknown_property,
)

if TYPE_CHECKING:
    from ..server import Server

APP_READ = (
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
GRANT_READ = (
    "DelegatedPermissionGrant.Read.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
ROLE_READ = (
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "Directory.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.ReadWrite.All",
)
PAGED = ("$select", "$top", "$filter", "$count", "$orderby", "$search", "$skiptoken")
_EXPAND = re.compile(r"^manager(?:\(\$select=(?P<select>[A-Za-z0-9_,]+)\))?$", re.IGNORECASE)


ROLE_MEMBERS_PAGE = 1000


def _typed(server: Server, name: str, items: list[dict]) -> EntityType:
    """``microsoft.graph.<name>`` in the server's cloud, from the model's objects (graph.md 10)."""
    return graph_type(server, name, model_keys(items))


def _no_custom_page_size(req: Request) -> None:
    """``$top`` where Graph sizes pages itself (graph.md 10: directoryRoles, their members)."""
    if any(k.lower() == "$top" for k in req.query):
        raise GraphError(
            400, "Request_UnsupportedQuery", "This resource does not support custom page sizes."
        )


def list_applications(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /applications."""
    apps = server.tenant.applications
    return collection(
        server, req, apps, _typed(server, "application", apps), fragment="applications"
    )


def list_service_principals(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /servicePrincipals."""
    sps = server.tenant.service_principals
    return collection(
        server, req, sps, _typed(server, "servicePrincipal", sps), fragment="servicePrincipals"
    )


def list_assigned_to(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /servicePrincipals/{id}/appRoleAssignedTo."""
    key = m.group("key")
    assigned = server.tenant.app_role_assigned_to
    items = assigned.get(key)
    if items is None:
        raise not_found(key)
    sample = next((v[0] for v in assigned.values() if v), {"id": None})
    etype = graph_type(server, "appRoleAssignment", tuple(sample))
    return collection(
        server,
        req,
        items,
        etype,
        fragment=f"servicePrincipals('{key}')/appRoleAssignedTo",
        allowed=("$select", "$top", "$filter", "$count", "$skiptoken"),
    )


def list_grants(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /oauth2PermissionGrants."""
    grants = server.tenant.oauth2_grants
    etype = _typed(server, "oAuth2PermissionGrant", grants)
    return collection(
        server,
        req,
        grants,
        etype,
        fragment="oauth2PermissionGrants",
        allowed=("$select", "$top", "$filter", "$skiptoken"),
    )


def list_roles(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /directoryRoles: every activated role in one response; no OData parameter is accepted."""
    _no_custom_page_size(req)
    given = [k for k in req.query if k.startswith("$")]
    if given:
        raise bad_request(
            f"Query option '{given[0]}' is not supported on directoryRoles: this API does not support "
            "OData query parameters."
        )
    roles = server.tenant.directory_roles
    project = projector(_typed(server, "directoryRole", roles), None)
    return json_response(
        {
            "@odata.context": context_url(server, "directoryRoles", None),
            "value": [project(r) for r in roles],
        }
    )


def list_role_members(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /directoryRoles/{id}/members: ``$select`` only, 1,000 per page, no ``$top``."""
    _no_custom_page_size(req)
    key = m.group("key")
    members = server.tenant.role_members.get(key)
    if members is None:
        raise not_found(key)
    return directory_objects(
        server, req, members, "directoryObjects", allowed=("$select", "$skiptoken"),
        default_top=ROLE_MEMBERS_PAGE,
    )  # fmt: skip


def users_with_manager(server: Server, req: Request) -> Response:
    """GET /users?$expand=manager(...): each user with its manager inline (hooked from list_users)."""
    raw = req.query.get("$expand", "")
    match = _EXPAND.match(raw.strip())
    if match is None:
        raise unknown_property(raw, "microsoft.graph.user")
    if is_advanced(req):
        raise GraphError(
            400, "Request_UnsupportedQuery", "Expand is not supported with advanced queries."
        )
    etype = user_type(server)
    fields = select_fields(req, [etype])
    manager_fields = (
        tuple(f.strip() for f in match.group("select").split(","))
        if match.group("select")
        else None
    )
    if manager_fields:
        unknown = [f for f in manager_fields if not etype.has(f)]
        if unknown:
            raise unknown_property(unknown[0], "microsoft.graph.user")
        manager_fields = tuple(etype.by_lower[f.lower()] for f in manager_fields)
    project = projector(etype, fields)
    project_manager = projector(etype, manager_fields)
    managers = server.tenant.managers
    users = server.tenant.objects

    def with_manager(user: dict) -> dict:
        out = project(user)
        manager_id = managers.get(user["id"])
        if manager_id is not None:
            out["manager"] = {
                "@odata.type": "#microsoft.graph.user",
                "id": manager_id,
                **project_manager(users[manager_id][1]),
            }
        return out

    return collection(
        server,
        req,
        server.tenant.users,
        etype,
        fragment="users",
        allowed=(*PAGED, "$expand"),
        project=with_manager,
        fields=fields,
    )


def register(table: RouteTable) -> None:
    """App, consent and role routes."""
    table.add(
        "GET", r"/v1\.0/applications", list_applications, permissions=APP_READ, cost=2,
        entity="application",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/servicePrincipals", list_service_principals, permissions=APP_READ,
        entity="servicePrincipal",
    )  # fmt: skip
    table.add(
        "GET",
        r"/v1\.0/servicePrincipals/(?P<key>[^/]+)/appRoleAssignedTo",
        list_assigned_to,
        permissions=APP_READ,
        entity="appRoleAssignment",
    )
    table.add(
        "GET", r"/v1\.0/oauth2PermissionGrants", list_grants, permissions=GRANT_READ, cost=2,
        entity="oAuth2PermissionGrant",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/directoryRoles", list_roles, permissions=ROLE_READ, entity="directoryRole"
    )
    table.add(
        "GET",
        r"/v1\.0/directoryRoles/(?P<key>[^/]+)/members",
        list_role_members,
        permissions=ROLE_READ,
        entity="directoryObject",
    )
