"""``/users``, ``/groups``, ``/groups/{id}/members`` (graph.md 1 permissions/paging, 5 query options).

Member objects carry ``@odata.type`` and, of the ``$select``-ed properties, those their type has. When the
token cannot read a member's type (e.g. no ``Device.Read.All``), the member comes back with only
``@odata.type`` and ``id`` ("limited information", graph.md 1). Listing ``signInActivity`` needs
``AuditLog.Read.All`` and a P1/P2 tenant and caps ``$top`` at 500 (graph.md 1, 9).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..server import GraphError, Request, Response, RouteTable
from .odata import (
    EntityType,
    collection,
    graph_type,
    is_advanced,
    projector,
    select_fields,
    single,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..server import RouteOptions, Server

USER_READ = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
GROUP_READ = (
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
#: Permissions that let an app see full objects of each member type (else limited information).
TYPE_READ = {
    "user": frozenset({*USER_READ, "User.ReadBasic.All"}),
    "group": frozenset(GROUP_READ),
    "device": frozenset({"Device.Read.All", "Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}),
    "servicePrincipal": frozenset({"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}),
    "orgContact": frozenset({"OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"}),
}  # fmt: skip

#: The 11 properties Graph returns for users without $select (graph.md 1).
USER_DEFAULT = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
    "preferredLanguage", "surname", "userPrincipalName", "id",
)  # fmt: skip
#: Values of v1.0 user properties the model does not generate, when selected (which properties are
#: valid is the cloud's metadata, graph.md 10; unlisted ones are ``null`` or ``[]``).
USER_EXTRAS: dict[str, Any] = {
    "consentProvidedForMinor": None,
    "legalAgeGroupClassification": None,
    "isResourceAccount": None,
    "isManagementRestricted": None,
    "employeeLeaveDateTime": None,
    "employeeOrgData": None,
    "onPremisesExtensionAttributes": {f"extensionAttribute{i}": None for i in range(1, 16)},
    "onPremisesProvisioningErrors": [],
    "provisionedPlans": [],
    "serviceProvisioningErrors": [],
    "authorizationInfo": None,
    "customSecurityAttributes": None,
    "passwordProfile": None,
    "signInActivity": None,
}
#: Only returned by GET of a single user; $select on the list answers 501 (graph.md 1).
USER_LIST_ONLY_SINGLE = frozenset(
    {"aboutMe", "birthday", "hireDate", "interests", "mySite", "pastProjects", "preferredName",
     "responsibilities", "schools", "skills", "mailboxSettings"}
)  # fmt: skip
GROUP_EXTRAS: dict[str, Any] = {
    "creationOptions": [],
    "isManagementRestricted": None,
    "onPremisesProvisioningErrors": [],
    "serviceProvisioningErrors": [],
}
GROUP_LIST_ONLY_SINGLE = frozenset(
    {"allowExternalSenders", "autoSubscribeNewMembers", "hideFromAddressLists", "hideFromOutlookClients",
     "isSubscribedByMail", "unseenCount"}
)  # fmt: skip


def user_type(server: Server) -> EntityType:
    """``microsoft.graph.user`` in the server's cloud (metadata, graph.md 10), default 11 properties."""
    return graph_type(
        server,
        "user",
        tuple(server.tenant.users[0]),
        values=USER_EXTRAS,
        default=USER_DEFAULT,
        list_unsupported=USER_LIST_ONLY_SINGLE,
    )


def group_type(server: Server) -> EntityType:
    """``microsoft.graph.group`` in the server's cloud (every modelled property by default)."""
    return graph_type(
        server,
        "group",
        tuple(server.tenant.groups[0]),
        values=GROUP_EXTRAS,
        list_unsupported=GROUP_LIST_ONLY_SINGLE,
    )


def member_types(server: Server) -> dict[str, EntityType]:
    """Every type a directoryObject collection can hold (members, owners, role members).

    ``$select`` on such a collection accepts a property when any of these types has it in the cloud's
    metadata; each item carries the selected properties of its own type.
    """

    def build() -> dict[str, EntityType]:
        t = server.tenant
        out = {"user": user_type(server), "group": group_type(server)}
        for kind, objects in (
            ("device", t.devices),
            ("servicePrincipal", t.service_principals),
            ("orgContact", t.contacts),
        ):
            keys = tuple(objects[0]) if objects else ("id",)
            out[kind] = graph_type(server, kind, keys)
        return out

    return server.cache.get("directory.member_types") or server.cache.setdefault(
        "directory.member_types", build()
    )


def _sign_in_activity(server: Server, req: Request) -> None:
    if not server.premium:
        raise GraphError(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        )
    if req.token is not None and "AuditLog.Read.All" not in req.token.permissions:
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )


def list_users(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /users (graph.md 1: User.Read.All, 100/999, $skip unsupported)."""
    if "$expand" in req.query:  # $expand=manager(...): routes/apps.py
        from .apps import users_with_manager

        return users_with_manager(server, req)
    etype = user_type(server)
    fields = select_fields(req, [etype])
    max_top = 999
    if (fields and "signInActivity" in fields) or "signinactivity" in req.query.get(
        "$filter", ""
    ).lower():
        _sign_in_activity(server, req)
        max_top = 500
    return collection(
        server, req, server.tenant.users, etype, fragment="users", fields=fields, max_top=max_top
    )


def _count(server: Server, req: Request, items: list[dict], etype: EntityType) -> Response:
    """``/$count`` segment: advanced query only (graph.md 5), plain-text number."""
    if not is_advanced(req):
        raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
    from .odata import _filtered

    req.query.setdefault("$count", "true")
    return Response(
        200, str(len(_filtered(server, req, items, etype))).encode(), content_type="text/plain"
    )


def count_users(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /users/$count."""
    return _count(server, req, server.tenant.users, user_type(server))


def get_user(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /users/{id | userPrincipalName}."""
    key = m.group("key")
    user = server.tenant.user(key)
    if user is None:
        index = server.cache.get("directory.upn")
        if index is None:
            index = server.cache["directory.upn"] = {
                u["userPrincipalName"].lower(): u for u in server.tenant.users
            }
        user = index.get(key.lower())
    return single(server, req, user, user_type(server), fragment="users", key=key)


def list_groups(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /groups (graph.md 1: GroupMember.Read.All, 100/999)."""
    return collection(server, req, server.tenant.groups, group_type(server), fragment="groups")


def count_groups(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /groups/$count."""
    return _count(server, req, server.tenant.groups, group_type(server))


def get_group(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /groups/{id}."""
    key = m.group("key")
    return single(
        server, req, server.tenant.group(key), group_type(server), fragment="groups", key=key
    )


def list_members(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /groups/{id}/members: directoryObjects with ``@odata.type`` (graph.md 1)."""
    key = m.group("key")
    tenant = server.tenant
    if tenant.group(key) is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
        )
    return directory_objects(server, req, tenant.memberships.get(key, []), "directoryObjects")


def directory_objects(
    server: Server,
    req: Request,
    refs: list[dict],
    fragment: str,
    *,
    allowed: tuple[str, ...] = ("$select", "$top", "$skiptoken", "$count"),
    default_top: int = 100,
) -> Response:
    """A directoryObject collection (members, owners, role members) with ``@odata.type`` per item.

    Each item has the selected properties its type has; a type the token cannot read shows only its id.
    """
    types = member_types(server)
    fields = select_fields(req, list(types.values()))
    perms = req.token.permissions if req.token is not None else frozenset()
    per_type: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
    for kind, etype in types.items():
        odata_type = f"#microsoft.graph.{kind}"
        if not perms & TYPE_READ[kind]:

            def id_only(obj: dict[str, Any], t: str = odata_type) -> dict[str, Any]:
                return {"@odata.type": t, "id": obj["id"]}

            per_type[kind] = id_only
            continue
        own = tuple(f for f in fields if etype.has(f)) if fields is not None else None
        project = projector(etype, own)

        def projected(
            obj: dict[str, Any], t: str = odata_type, p: Callable[[dict], dict] = project
        ) -> dict[str, Any]:
            return {"@odata.type": t, "id": obj["id"], **p(obj)}

        per_type[kind] = projected
    objects = server.tenant.objects
    return collection(
        server,
        req,
        refs,
        types["user"],
        fragment=fragment,
        allowed=allowed,
        default_top=default_top,
        project=lambda ref: per_type[objects[ref["id"]][0]](objects[ref["id"]][1]),
        fields=fields,
    )


def register(table: RouteTable) -> None:
    """Directory routes (permissions: graph.md 1 table)."""
    user: RouteOptions = {"permissions": USER_READ, "entity": "user"}
    group: RouteOptions = {"permissions": GROUP_READ, "entity": "group"}
    table.add("GET", r"/v1\.0/users", list_users, cost=2, **user)
    table.add("GET", r"/v1\.0/users/\$count", count_users, **user)
    table.add("GET", r"/v1\.0/users/(?P<key>[^/]+)", get_user, **user)
    table.add("GET", r"/v1\.0/groups", list_groups, **group)
    table.add("GET", r"/v1\.0/groups/\$count", count_groups, **group)
    table.add("GET", r"/v1\.0/groups/(?P<key>[^/]+)", get_group, **group)
    table.add(
        "GET", r"/v1\.0/groups/(?P<key>[^/]+)/members", list_members, permissions=GROUP_READ,
        cost=3, entity="directoryObject",
    )  # fmt: skip
