"""Breadth endpoints: group owners, company subscriptions, unified role management, Conditional Access.

Each route keeps to its v1.0 reference page (permissions least privileged first, the query options the page
documents; any other option is 400 as ``odata.check_options`` words it; ``$select`` is validated against the
cloud's metadata, ``odata.select_fields``; a type the cloud's metadata lacks is the server's 400 "Resource
not found for the segment" through the route's ``entity``):

- ``GET /groups/{id}/owners`` (learn.microsoft.com/graph/api/group-list-owners): GroupMember.Read.All,
  Group.Read.All, GroupMember.ReadWrite.All, Group.ReadWrite.All, Directory.Read.All; directoryObjects with
  ``@odata.type`` like ``/members`` (``$select``, ``$top`` ≤ 999, default page 100, ``$count``). "Currently,
  service principals are not listed as group owners due to the staged rollout of service principals to the
  Microsoft Graph v1.0 endpoint": owners that are service principals are left out. Without rights to read
  users, owners come back as ``@odata.type`` + ``id`` ("limited information", same page).
- ``GET /directory/subscriptions`` (learn.microsoft.com/graph/api/directory-list-subscriptions):
  Organization.Read.All, Directory.Read.All, Organization.ReadWrite.All; "supports the OData query
  parameters": ``$select``, ``$filter``, ``$top`` (≤ 999), directory paging.
- ``GET /roleManagement/directory/roleDefinitions`` (learn.microsoft.com/graph/api/
  rbacapplication-list-roledefinitions): RoleManagement.Read.Directory, RoleManagement.Read.All,
  Directory.Read.All, RoleManagement.ReadWrite.Directory, Directory.ReadWrite.All; "supports the ``$filter``
  (``eq`` and ``in`` operators) OData query parameter on ``id``, ``displayName``, and ``isBuiltIn``" and
  ``$expand`` (not modelled: 501); ``$select``; one page (no paging documented).
- ``GET /roleManagement/directory/roleAssignments`` (learn.microsoft.com/graph/api/
  rbacapplication-list-roleassignments, v1.0 page of 2024-07-26): same permissions; "supports the
  ``$filter``, ``$expand``, and ``$select``" — listing without a filter is allowed in v1.0 (an earlier
  revision, and the beta page, required a filter on ``principalId`` or ``roleDefinitionId``:
  microsoftgraph/microsoft-graph-docs issue 12453). ``$filter`` with ``eq``/``in`` on ``principalId``,
  ``roleDefinitionId`` (a role id or its templateId: the same here), ``directoryScopeId``, ``appScopeId``
  (unifiedRoleAssignment resource page). No ``$top``; pages of :data:`ROLE_ASSIGNMENT_PAGE` (page size not
  documented: UNVERIFIED) with ``@odata.nextLink``.
- ``GET /roleManagement/directory/roleEligibilitySchedules`` (learn.microsoft.com/graph/api/
  rbacapplication-list-roleeligibilityschedules): RoleEligibilitySchedule.Read.Directory,
  RoleEligibilitySchedule.ReadWrite.Directory, RoleManagement.Read.All, RoleManagement.Read.Directory,
  RoleManagement.ReadWrite.Directory (not Directory.Read.All); ``$select``, ``$filter``, ``$expand`` (501).
  PIM needs Entra ID P2: a tenant without premium answers 400 ``AadPremiumLicenseRequired`` "The tenant
  needs an AAD Premium 2 license." — the answer Microsoft's PIM endpoints give (Azure-MG-Sub-Governance-
  Reporting issue 114, microsoft/EntraExporter issue 61); for this Graph endpoint UNVERIFIED.
- ``GET /identity/conditionalAccess/policies`` (learn.microsoft.com/graph/api/conditionalaccessroot-list-
  policies): Policy.Read.All (Policy.ReadWrite.ConditionalAccess higher); "supports the ``$skip``, ``$top``,
  ``$count``, ``$filter``, ``$orderBy``, and ``$select``". Nested ``conditions``/``grantControls``/
  ``sessionControls`` are objects. A Free tenant has no policies (Conditional Access needs P1); the read
  itself is not refused (no documented licence error for reads: UNVERIFIED).
- ``GET /identity/conditionalAccess/namedLocations`` (learn.microsoft.com/graph/api/conditionalaccessroot-
  list-namedlocations): Policy.Read.All; "supports the ``$count``, ``$filter``, ``$orderby``, ``$select``,
  ``$skip``, and ``$top``"; each item carries ``@odata.type`` (``ipNamedLocation`` / ``countryNamedLocation``)
  and, without ``$select``, the properties of its own type. ``$select`` names properties of
  ``namedLocation`` (derived ones need a cast: 400, as Graph validates against the collection's type).

- ``GET /reports/authenticationMethods/userRegistrationDetails`` (learn.microsoft.com/graph/api/
  authenticationmethodsroot-list-userregistrationdetails): AuditLog.Read.All (UserAuthenticationMethod.Read.All
  higher); "supports only the ``$filter`` and ``$orderBy``" (filterable properties: the page's table, ``eq``;
  ``startswith`` on the names); "doesn't work for disabled users" (they are not listed). Entra ID P1/P2: a Free
  tenant answers 403 ``Authentication_RequestFromNonPremiumTenantOrB2CTenant`` "Neither tenant is B2C or
  tenant doesn't have premium license" (seen on the registration-details reports: microsoftgraph/
  microsoft-graph-docs-contrib issue 3581; UNVERIFIED for this v1.0 endpoint). Page size UNVERIFIED.
- ``GET /deviceAppManagement/mobileApps`` (learn.microsoft.com/graph/api/intune-apps-mobileapp-list):
  DeviceManagementApps.Read.All, DeviceManagementApps.ReadWrite.All; "requires an active Intune license"
  (``intune=False``: routes/devices.py's 400); Intune's options and 1000-item pages (routes/devices.py). Items
  carry their derived ``@odata.type``; the metadata file has ``mobileApp`` only, so only its properties are
  served and selectable.
- ``GET /security/secureScores`` and ``/security/secureScoreControlProfiles`` (learn.microsoft.com/graph/
  api/security-list-securescores, security-list-securescorecontrolprofiles): SecurityEvents.Read.All,
  SecurityEvents.ReadWrite.All; "supports ... ``$count``, ``$filter``, ``$skip``, ``$top``" (no ``$select``);
  available in the global and US Government clouds ("global-us" include; absent from the China metadata:
  400 segment).
- ``GET /identityProtection/riskyUsers`` (learn.microsoft.com/graph/api/riskyuser-list):
  IdentityRiskyUser.Read.All; "supports the ``$filter`` and ``$select`` ... The maximum page size with ``$top``
  is 500"; not in China. "Using the riskyUsers API requires a Microsoft Entra ID P2 license" (riskyuser
  resource page): ``premium=False`` → the 403 above (exact answer UNVERIFIED).
- ``GET /admin/serviceAnnouncement/issues`` (learn.microsoft.com/graph/api/serviceannouncement-list-issues):
  ServiceHealth.Read.All; "supports the OData query parameters"; "default page size is 100",
  ``Prefer: odata.maxpagesize`` up to 1000; the example's nextLink is ``…/issues?$skip=100``, so nextLinks
  carry ``$skip``.

Page sizes not stated by a page are UNVERIFIED: the sandbox uses the directory's 100 (``$top`` ≤ 999).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import msgspec

from ..server import GraphError, Request, Response, RouteTable, bad_request
from .apps import ROLE_READ
from .devices import INTUNE_OPTIONS, INTUNE_PAGE, _intune
from .directory import directory_objects
from .odata import (
    EntityType,
    check_options,
    compile_filter,
    context_url,
    decode_skiptoken,
    graph_type,
    model_keys,
    next_link,
    parse_top,
    projector,
    select_fields,
)

if TYPE_CHECKING:
    from ..server import Server

_encode = msgspec.json.encode

GROUP_OWNERS_READ = (
    "GroupMember.Read.All",
    "Group.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
SUBSCRIPTION_READ = (
    "Organization.Read.All",
    "Directory.Read.All",
    "Organization.ReadWrite.All",
    "Directory.ReadWrite.All",
)
ELIGIBILITY_READ = (
    "RoleEligibilitySchedule.Read.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
)
POLICY_READ = ("Policy.Read.All", "Policy.ReadWrite.ConditionalAccess")

#: roleAssignments page size (not documented: UNVERIFIED); a module attribute so tests can lower it.
ROLE_ASSIGNMENT_PAGE = 100
#: default page of collections whose page does not state one (UNVERIFIED: the directory's 100)
DEFAULT_PAGE = 100

_MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
_LAMBDA = re.compile(r"/any\(\s*(\w+)\s*:", re.IGNORECASE)
_IN = re.compile(r"(?P<prop>[A-Za-z][\w]*)\s+in\s+\((?P<vals>[^)]*)\)", re.IGNORECASE)
_OPERAND = re.compile(r"(?P<prop>[A-Za-z][\w/]*)\s+(?P<op>eq|ne|ge|le|gt|lt|in)\s", re.IGNORECASE)


def _expand_in(expr: str) -> str:
    """``p in ('a','b')`` → ``(p eq 'a' or p eq 'b')`` (the ``in`` operator, OData 4.01)."""

    def repl(m: re.Match[str]) -> str:
        values = [v.strip() for v in m.group("vals").split(",") if v.strip()]
        if not values:
            raise bad_request(f"Invalid filter clause: '{m.group(0)}'.", "BadRequest")
        return "(" + " or ".join(f"{m.group('prop')} eq {v}" for v in values) + ")"

    return _IN.sub(repl, expr)


def filtered(
    items: Sequence[dict], expr: str, etype: EntityType, rules: dict[str, frozenset[str]]
) -> list[dict]:
    """Items matching ``expr``; only the documented properties and operators (``rules``) are accepted."""
    lambdas = {v.lower() for v in _LAMBDA.findall(expr)}
    for m in _OPERAND.finditer(expr):
        prop, op = m.group("prop"), m.group("op").lower()
        if prop.lower() in lambdas:
            continue  # the range variable of prop/any(x: x eq ...)
        canonical = etype.by_lower.get(prop.lower())
        if canonical is None:
            raise bad_request(
                f"Could not find a property named '{prop}' on type '{etype.qualified}'.",
                "BadRequest",
            )
        if op not in rules.get(canonical, frozenset()):
            raise bad_request(
                f"Invalid filter clause: the operator '{op}' is not supported on '{canonical}'.",
                "BadRequest",
            )
    predicate, _ = compile_filter(_expand_in(expr), etype)
    return [o for o in items if predicate(o)]


def listing(
    server: Server,
    req: Request,
    items: Sequence[dict],
    etype: EntityType,
    *,
    fragment: str,
    allowed: Sequence[str],
    filters: dict[str, frozenset[str]] | None = None,
    max_top: int = 999,
    default_top: int = DEFAULT_PAGE,
    typed: Callable[[dict], EntityType] | None = None,
    skip_links: bool = False,
    max_page_preference: int | None = None,
) -> Response:
    """One page of a non-directory collection: documented options only, Graph's paging (odata helpers).

    ``typed`` gives a derived item's own type: the item then carries ``@odata.type`` and, without
    ``$select``, that type's properties. ``skip_links``: nextLinks carry ``$skip=<next offset>`` (as the
    service-communications API shows them) instead of a ``$skiptoken``. ``max_page_preference``: a
    ``Prefer: odata.maxpagesize=N`` header is honoured up to that size (``Preference-Applied`` echoes it).
    """
    check_options(req, allowed)
    fields = select_fields(req, [etype])
    top = parse_top(req, max_top) if "$top" in allowed else None
    q = {k.lower(): v for k, v in req.query.items()}
    result: Sequence[dict] = items
    expr = q.get("$filter")
    if expr is not None:
        result = filtered(result, expr, etype, filters or {})
    orderby = q.get("$orderby")
    if orderby is not None:
        prop, _, direction = orderby.strip().partition(" ")
        canonical = etype.by_lower.get(prop.lower())
        if canonical is None:
            raise bad_request(
                f"Could not find a property named '{prop}' on type '{etype.qualified}'.",
                "BadRequest",
            )
        result = sorted(
            result,
            key=lambda o: (o.get(canonical) is None, str(o.get(canonical) or "").lower()),
            reverse=direction.strip().lower() == "desc",
        )
    skip_raw = q.get("$skip")
    skip = 0
    if skip_raw is not None:
        if not skip_raw.isdigit():
            raise bad_request(f"Invalid value for $skip: '{skip_raw}'.", "BadRequest")
        skip = int(skip_raw)
        result = result[skip:]
    headers: dict[str, str] = {}
    if max_page_preference is not None and top is None:
        prefer = _MAXPAGESIZE.search(req.headers.get("Prefer") or "")
        if prefer is not None and int(prefer.group(1)) >= 1:
            default_top = min(int(prefer.group(1)), max_page_preference)
            headers["Preference-Applied"] = f"odata.maxpagesize={default_top}"
    offset, empty = 0, False
    token = req.query.get("$skiptoken")
    if token is not None:
        offset, empty = decode_skiptoken(token, req.path, req.query)
    body: dict[str, Any] = {"@odata.context": context_url(server, fragment, fields)}
    if token is None and q.get("$count", "").lower() == "true":
        body["@odata.count"] = len(result)
    if empty:
        body["@odata.nextLink"] = next_link(server, req, offset, False)
        body["value"] = []
        return Response(200, _encode(body), headers)
    end = offset + (top or default_top)
    if end < len(result):
        if skip_links:
            body["@odata.nextLink"] = _skip_link(server, req, skip + end)
        else:
            body["@odata.nextLink"] = next_link(server, req, end, server.empty_pages)
    project = projector(etype, fields)
    if typed is None:
        body["value"] = [project(o) for o in result[offset:end]]
    else:
        page = []
        for o in result[offset:end]:
            own = project if fields is not None else projector(typed(o), None)
            page.append({"@odata.type": o["@odata.type"], **own(o)})
        body["value"] = page
    return Response(200, _encode(body), headers)


def _skip_link(server: Server, req: Request, skip: int) -> str:
    """The request's own URL with ``$skip`` set to the next offset (no ``$skiptoken``)."""
    params = [(k, v) for k, v in req.query.items() if k.lower() not in {"$skip", "$skiptoken"}]
    params.append(("$skip", str(skip)))
    query = urlencode(params, safe="$,()'@:/", quote_via=quote)
    return f"{server.base_url}{req.path}?{query}"


def _typed(server: Server, name: str, items: Sequence[dict]) -> EntityType:
    return graph_type(server, name, model_keys(items))


def _no_expand(req: Request) -> None:
    if any(k.lower() == "$expand" for k in req.query):
        raise GraphError(
            501, "NotImplemented", "The sandbox does not model $expand on this resource."
        )


# -- handlers --------------------------------------------------------------------------------------


def list_group_owners(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /groups/{id}/owners: users only (v1.0 does not list service principal owners)."""
    key = m.group("key")
    tenant = server.tenant
    if tenant.group(key) is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
        )
    objects = tenant.objects
    refs = [
        r
        for r in tenant.group_owners.get(key, [])
        if r["@odata.type"] != "#microsoft.graph.servicePrincipal" and r["id"] in objects
    ]
    return directory_objects(server, req, refs, "directoryObjects")


def list_subscriptions(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /directory/subscriptions."""
    subs = server.tenant.subscriptions
    etype = _typed(server, "companySubscription", subs)
    eq = frozenset({"eq", "ne", "in"})
    return listing(
        server,
        req,
        subs,
        etype,
        fragment="directory/subscriptions",
        allowed=("$select", "$filter", "$top", "$skiptoken"),
        filters={
            "id": eq,
            "skuId": eq,
            "skuPartNumber": eq,
            "status": eq,
            "isTrial": eq,
            "commerceSubscriptionId": eq,
            "createdDateTime": frozenset({"eq", "ge", "le", "gt", "lt"}),
            "nextLifecycleDateTime": frozenset({"eq", "ge", "le", "gt", "lt"}),
        },
    )


def list_role_definitions(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /roleManagement/directory/roleDefinitions: one page, ``$filter`` eq/in on id/displayName/isBuiltIn."""
    _no_expand(req)
    defs = server.tenant.role_definitions
    eq_in = frozenset({"eq", "in"})
    return listing(
        server,
        req,
        defs,
        _typed(server, "unifiedRoleDefinition", defs),
        fragment="roleManagement/directory/roleDefinitions",
        allowed=("$select", "$filter", "$expand"),
        filters={"id": eq_in, "displayName": eq_in, "isBuiltIn": eq_in},
        default_top=max(1, len(defs)),
    )


def list_role_assignments(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /roleManagement/directory/roleAssignments."""
    _no_expand(req)
    items = server.tenant.role_assignments
    eq_in = frozenset({"eq", "in"})
    return listing(
        server,
        req,
        items,
        _typed(server, "unifiedRoleAssignment", items),
        fragment="roleManagement/directory/roleAssignments",
        allowed=("$select", "$filter", "$expand", "$skiptoken"),
        filters={
            "id": eq_in,
            "principalId": eq_in,
            "roleDefinitionId": eq_in,
            "directoryScopeId": eq_in,
            "appScopeId": eq_in,
        },
        default_top=ROLE_ASSIGNMENT_PAGE,
    )


def list_role_eligibility(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /roleManagement/directory/roleEligibilitySchedules (PIM: Entra ID P2)."""
    if not server.premium:
        raise GraphError(
            400, "AadPremiumLicenseRequired", "The tenant needs an AAD Premium 2 license."
        )
    _no_expand(req)
    items = server.tenant.role_eligibility
    etype = graph_type(
        server,
        "unifiedRoleEligibilitySchedule",
        model_keys(items) if items else ("id",),
    )
    eq = frozenset({"eq", "ne", "in"})
    return listing(
        server,
        req,
        items,
        etype,
        fragment="roleManagement/directory/roleEligibilitySchedules",
        allowed=("$select", "$filter", "$expand", "$skiptoken"),
        filters={
            "id": eq,
            "principalId": eq,
            "roleDefinitionId": eq,
            "directoryScopeId": eq,
            "appScopeId": eq,
            "memberType": eq,
            "status": eq,
        },
    )


_DATES = frozenset({"eq", "ge", "le", "gt", "lt"})


def list_ca_policies(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /identity/conditionalAccess/policies."""
    items = server.tenant.ca_policies
    etype = graph_type(server, "conditionalAccessPolicy", model_keys(items) if items else ("id",))
    eq = frozenset({"eq", "ne", "in"})
    return listing(
        server,
        req,
        items,
        etype,
        fragment="identity/conditionalAccess/policies",
        allowed=("$select", "$top", "$skip", "$count", "$filter", "$orderby", "$skiptoken"),
        filters={
            "id": eq,
            "displayName": eq,
            "state": eq,
            "templateId": eq,
            "createdDateTime": _DATES,
            "modifiedDateTime": _DATES,
        },
    )


def list_named_locations(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /identity/conditionalAccess/namedLocations: derived types with ``@odata.type``."""
    items = server.tenant.named_locations
    base = graph_type(server, "namedLocation", model_keys(items))
    by_type = {
        t: graph_type(
            server, t, model_keys([o for o in items if o["@odata.type"].endswith("." + t)])
        )
        for t in ("ipNamedLocation", "countryNamedLocation")
    }

    def typed(obj: dict) -> EntityType:
        return by_type[obj["@odata.type"].rsplit(".", 1)[1]]

    eq = frozenset({"eq", "ne", "in"})
    return listing(
        server,
        req,
        items,
        base,
        fragment="identity/conditionalAccess/namedLocations",
        allowed=("$select", "$top", "$skip", "$count", "$filter", "$orderby", "$skiptoken"),
        filters={
            "id": eq,
            "displayName": eq,
            "createdDateTime": _DATES,
            "modifiedDateTime": _DATES,
        },
        typed=typed,
    )


# -- batch 2 ---------------------------------------------------------------------------------------

REGISTRATION_READ = ("AuditLog.Read.All", "UserAuthenticationMethod.Read.All")
MOBILE_APPS_READ = ("DeviceManagementApps.Read.All", "DeviceManagementApps.ReadWrite.All")
SECURITY_READ = ("SecurityEvents.Read.All", "SecurityEvents.ReadWrite.All")
RISKY_USER_READ = ("IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All")
SERVICE_HEALTH_READ = ("ServiceHealth.Read.All",)

#: userRegistrationDetails page size (not documented: UNVERIFIED)
REGISTRATION_PAGE = 100
#: riskyUsers: "The maximum page size with $top is 500 objects" (riskyuser-list); default UNVERIFIED
RISKY_USERS_MAX_TOP = 500
#: serviceAnnouncement issues: "default page size is 100", odata.maxpagesize "cannot be greater than 1000"
ISSUES_PAGE = 100
ISSUES_MAX_PAGE = 1000

_EQ = frozenset({"eq"})
_EQ_NE = frozenset({"eq", "ne", "in"})


def _premium(server: Server) -> None:
    """Entra ID P1/P2 reports and risk data on a Free tenant: the audit logs' 403 (graph.md 4)."""
    if not server.premium:
        raise GraphError(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        )


def list_registration_details(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /reports/authenticationMethods/userRegistrationDetails (P1/P2)."""
    _premium(server)
    tenant = server.tenant
    live = tenant.objects
    items = [r for r in tenant.registration_details if r["id"] in live]
    return listing(
        server,
        req,
        items,
        _typed(server, "userRegistrationDetails", tenant.registration_details),
        fragment="reports/authenticationMethods/userRegistrationDetails",
        allowed=("$filter", "$orderby", "$skiptoken"),
        filters={
            "id": _EQ,
            "isAdmin": _EQ,
            "isMfaCapable": _EQ,
            "isMfaRegistered": _EQ,
            "isPasswordlessCapable": _EQ,
            "isSsprCapable": _EQ,
            "isSsprEnabled": _EQ,
            "isSsprRegistered": _EQ,
            "isSystemPreferredAuthenticationMethodEnabled": _EQ,
            "methodsRegistered": _EQ,
            "systemPreferredAuthenticationMethods": _EQ,
            "userDisplayName": _EQ,
            "userPrincipalName": _EQ,
            "userPreferredMethodForSecondaryAuthentication": _EQ,
            "userType": _EQ,
            "lastUpdatedDateTime": _DATES,
        },
        default_top=REGISTRATION_PAGE,
    )


def list_mobile_apps(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /deviceAppManagement/mobileApps (Intune: licence, 1000 per page, ``@odata.type`` per app)."""
    _intune(server)
    apps = server.tenant.mobile_apps
    base = _typed(server, "mobileApp", apps)
    return listing(
        server,
        req,
        apps,
        base,
        fragment="deviceAppManagement/mobileApps",
        allowed=INTUNE_OPTIONS,
        filters={
            "id": _EQ_NE,
            "displayName": _EQ_NE,
            "publisher": _EQ_NE,
            "isFeatured": _EQ_NE,
            "publishingState": _EQ_NE,
            "createdDateTime": _DATES,
            "lastModifiedDateTime": _DATES,
        },
        max_top=INTUNE_PAGE,
        default_top=INTUNE_PAGE,
        typed=lambda obj: base,
    )


_SECURITY_OPTIONS = ("$count", "$filter", "$skip", "$top", "$skiptoken")


def list_secure_scores(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /security/secureScores: newest first (one per day, 90 days)."""
    items = server.tenant.secure_scores
    return listing(
        server,
        req,
        items,
        _typed(server, "secureScore", items),
        fragment="security/secureScores",
        allowed=_SECURITY_OPTIONS,
        filters={"id": _EQ, "azureTenantId": _EQ, "createdDateTime": _DATES},
    )


def list_control_profiles(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /security/secureScoreControlProfiles."""
    items = server.tenant.control_profiles
    return listing(
        server,
        req,
        items,
        _typed(server, "secureScoreControlProfile", items),
        fragment="security/secureScoreControlProfiles",
        allowed=_SECURITY_OPTIONS,
        filters={
            "id": _EQ,
            "azureTenantId": _EQ,
            "controlCategory": _EQ,
            "service": _EQ,
            "tier": _EQ,
            "actionType": _EQ,
            "deprecated": _EQ,
        },
    )


def list_risky_users(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /identityProtection/riskyUsers (Entra ID P2)."""
    _premium(server)
    tenant = server.tenant
    live = tenant.objects
    items = [r for r in tenant.risky_users if r["id"] in live]
    return listing(
        server,
        req,
        items,
        _typed(server, "riskyUser", tenant.risky_users),
        fragment="identityProtection/riskyUsers",
        allowed=("$filter", "$select", "$top", "$skiptoken"),
        filters={
            "id": _EQ_NE,
            "isDeleted": _EQ,
            "isProcessing": _EQ,
            "riskDetail": _EQ_NE,
            "riskLevel": _EQ_NE,
            "riskState": _EQ_NE,
            "riskLastUpdatedDateTime": _DATES,
            "userDisplayName": _EQ,
            "userPrincipalName": _EQ,
        },
        max_top=RISKY_USERS_MAX_TOP,
    )


def list_service_issues(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /admin/serviceAnnouncement/issues: newest first, 100 per page, ``$skip`` nextLinks."""
    items = server.tenant.service_issues
    return listing(
        server,
        req,
        items,
        _typed(server, "serviceHealthIssue", items),
        fragment="admin/serviceAnnouncement/issues",
        allowed=("$select", "$filter", "$top", "$skip", "$orderby", "$count"),
        filters={
            "id": _EQ_NE,
            "service": _EQ_NE,
            "status": _EQ_NE,
            "classification": _EQ_NE,
            "isResolved": _EQ,
            "feature": _EQ_NE,
            "featureGroup": _EQ_NE,
            "startDateTime": _DATES,
            "endDateTime": _DATES,
            "lastModifiedDateTime": _DATES,
        },
        max_top=ISSUES_MAX_PAGE,
        default_top=ISSUES_PAGE,
        skip_links=True,
        max_page_preference=ISSUES_MAX_PAGE,
    )


def register(table: RouteTable) -> None:
    """Breadth routes."""
    table.add(
        "GET",
        r"/v1\.0/groups/(?P<key>[^/]+)/owners",
        list_group_owners,
        permissions=GROUP_OWNERS_READ,
        cost=3,
        entity="directoryObject",
    )
    table.add(
        "GET", r"/v1\.0/directory/subscriptions", list_subscriptions,
        permissions=SUBSCRIPTION_READ, entity="companySubscription",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/roleManagement/directory/roleDefinitions", list_role_definitions,
        permissions=ROLE_READ, entity="unifiedRoleDefinition",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/roleManagement/directory/roleAssignments", list_role_assignments,
        permissions=ROLE_READ, entity="unifiedRoleAssignment",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/roleManagement/directory/roleEligibilitySchedules", list_role_eligibility,
        permissions=ELIGIBILITY_READ, entity="unifiedRoleEligibilitySchedule",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/identity/conditionalAccess/policies", list_ca_policies,
        permissions=POLICY_READ, entity="conditionalAccessPolicy",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/identity/conditionalAccess/namedLocations", list_named_locations,
        permissions=POLICY_READ, entity="namedLocation",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/reports/authenticationMethods/userRegistrationDetails", list_registration_details,
        permissions=REGISTRATION_READ, entity="userRegistrationDetails",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/deviceAppManagement/mobileApps", list_mobile_apps,
        permissions=MOBILE_APPS_READ, entity="mobileApp",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/security/secureScores", list_secure_scores,
        permissions=SECURITY_READ, entity="secureScore",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/security/secureScoreControlProfiles", list_control_profiles,
        permissions=SECURITY_READ, entity="secureScoreControlProfile",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/identityProtection/riskyUsers", list_risky_users,
        permissions=RISKY_USER_READ, entity="riskyUser",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/admin/serviceAnnouncement/issues", list_service_issues,
        permissions=SERVICE_HEALTH_READ, entity="serviceHealthIssue",
    )  # fmt: skip
