"""Breadth endpoints' data: group owners, company subscriptions, unified role management, Conditional Access.

Every part draws from its own seeded RNG (``tenant.rng_for("breadth.<part>")``), so parts added later never
change earlier ones. Shapes follow the v1.0 resources (structural properties: ``data/graph-v1-properties.json``):

- ``group_owners``: group id -> owner refs (``{"@odata.type", "id"}``). Cloud Microsoft 365 and security groups
  (dynamic ones included) have 1-3 owners (about one in seven none); "owners are currently not available in
  Microsoft Graph for groups that were created in Exchange, distribution groups, or groups that are
  synchronized from an on-premises environment" (learn.microsoft.com/graph/api/group-list-owners): mail-enabled
  security groups, distribution groups and synced groups have none. Owners are member users and, for a few
  groups, a service principal (the model keeps them; v1.0 does not list them: see routes/breadth.py).
- ``subscriptions``: one ``companySubscription`` per ``tenant.skus`` entry
  (learn.microsoft.com/graph/api/resources/companysubscription): ``id`` is the SKU's ``subscriptionIds[0]``,
  ``skuId``/``skuPartNumber`` the SKU's, ``serviceStatus`` its ``servicePlans`` (servicePlanInfo),
  ``totalLicenses`` its ``prepaidUnits.enabled``; the free/viral SKUs and Visio are trials.
- ``role_definitions``: built-in ``unifiedRoleDefinition`` objects (id = templateId, ``isBuiltIn`` true,
  ``version`` "1", learn.microsoft.com/graph/api/rbacapplication-list-roledefinitions), every role of
  ``tenant.directory_roles`` among them, plus one custom role (``isBuiltIn`` false) in premium tenants
  (custom roles need Entra ID P1, learn.microsoft.com/entra/identity/role-based-access-control/custom-overview).
- ``role_assignments``: one ``unifiedRoleAssignment`` with ``directoryScopeId`` "/" per (role, member) of
  ``tenant.role_members`` (``roleDefinitionId`` = the role's ``roleTemplateId``), plus a few scoped to
  administrative units (``/administrativeUnits/<id>``, ids in ``administrative_units``). Ids follow Graph's
  visible pattern: base64url of the role definition and principal GUIDs (little-endian bytes) + ``-1``
  (the v1.0 examples, e.g. ``lAPpYvVpN0KRkAEhdxReE…-1`` for Global Administrator).
- ``role_eligibility``: ``unifiedRoleEligibilitySchedule`` objects (PIM eligible assignments) for member users,
  ``memberType`` Direct, ``status`` Provisioned, ``createdUsing`` = own id, ``scheduleInfo`` with an
  ``expiration`` of ``afterDateTime`` or ``noExpiration`` (learn.microsoft.com/graph/api/resources/
  unifiedroleeligibilityschedule). Empty in a tenant without premium (PIM needs Entra ID P2).
- ``named_locations``: ``#microsoft.graph.ipNamedLocation`` (``ipRanges`` of ``iPv4CidrRange`` /
  ``iPv6CidrRange``, ``isTrusted``) and ``#microsoft.graph.countryNamedLocation`` (``countriesAndRegions``,
  ``includeUnknownCountriesAndRegions``, ``countryLookupMethod``) (learn.microsoft.com/graph/api/
  conditionalaccessroot-list-namedlocations); each object carries its ``@odata.type``.
- ``ca_policies``: ``conditionalAccessPolicy`` objects whose ``conditions`` name real users, groups, role
  templates and named locations; ``state`` enabled / disabled / enabledForReportingButNotEnforced. Empty in a
  tenant without premium: Conditional Access needs Entra ID P1 (learn.microsoft.com/entra/identity/
  conditional-access/overview, "License requirements"), so a Free tenant has no policies to list.

Batch 2 (:func:`build_more`; dates relative to the activity logs' clock: ``tenant.now`` or the real clock):
``registration_details`` (userRegistrationDetails per enabled user, learn.microsoft.com/graph/api/resources/
userregistrationdetails; ``isAdmin`` = a role member), ``mobile_apps`` (Intune mobileApp derived types,
learn.microsoft.com/graph/api/resources/intune-apps-mobileapp), ``secure_scores`` (one secureScore per day for
90 days, newest first, learn.microsoft.com/graph/api/resources/securescore) and ``control_profiles`` (20
secureScoreControlProfile), ``risky_users`` (riskyUser, learn.microsoft.com/graph/api/resources/riskyuser),
``service_issues`` (serviceHealthIssue, learn.microsoft.com/graph/api/resources/servicehealthissue) and users'
``licenseAssignmentStates`` with a licensing group (:func:`_license_states`).
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import TYPE_CHECKING, Any

from .tenant import iso, new_guid

if TYPE_CHECKING:
    from .tenant import Tenant

#: Built-in Entra roles: (templateId, displayName, description, allowedResourceActions).
#: Template ids are Microsoft's (learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
BUILT_IN_ROLES: list[tuple[str, str, str, list[str]]] = [
    ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator",
     "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
     ["microsoft.directory/users/allProperties/allTasks", "microsoft.directory/groups/allProperties/allTasks",
      "microsoft.directory/applications/allProperties/allTasks", "microsoft.directory/roleAssignments/allProperties/allTasks"]),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator",
     "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
     ["microsoft.directory/users/create", "microsoft.directory/users/delete", "microsoft.directory/users/basic/update",
      "microsoft.directory/users/password/update", "microsoft.directory/groups/create"]),
    ("29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator",
     "Can manage all aspects of the Exchange product.",
     ["microsoft.directory/groups.unified/create", "microsoft.office365.exchange/allEntities/basic/allTasks",
      "microsoft.office365.serviceHealth/allEntities/allTasks"]),
    ("f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "SharePoint Administrator",
     "Can manage all aspects of the SharePoint service.",
     ["microsoft.directory/groups.unified/basic/update", "microsoft.office365.sharePoint/allEntities/allTasks",
      "microsoft.office365.serviceHealth/allEntities/allTasks"]),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator",
     "Can reset passwords for non-administrators and Helpdesk Administrators.",
     ["microsoft.directory/users/invalidateAllRefreshTokens", "microsoft.directory/users/bitLockerRecoveryKeys/read",
      "microsoft.directory/users/password/update", "microsoft.office365.serviceHealth/allEntities/allTasks",
      "microsoft.office365.supportTickets/allEntities/allTasks"]),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader",
     "Can read everything that a Global Administrator can, but not update anything.",
     ["microsoft.directory/users/allProperties/read", "microsoft.directory/groups/allProperties/read",
      "microsoft.directory/roleAssignments/allProperties/read", "microsoft.directory/signInReports/allProperties/read"]),
    ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator",
     "Can create and manage all aspects of app registrations and enterprise apps.",
     ["microsoft.directory/applications/create", "microsoft.directory/applications/allProperties/update",
      "microsoft.directory/servicePrincipals/allProperties/update"]),
    ("3a2c62db-5318-420d-8d74-23affee5d9d5", "Intune Administrator",
     "Can manage all aspects of the Intune product.",
     ["microsoft.intune/allEntities/allTasks", "microsoft.directory/devices/basic/update"]),
    ("194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator",
     "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.",
     ["microsoft.directory/conditionalAccessPolicies/allProperties/allTasks",
      "microsoft.directory/identityProtection/allProperties/allTasks", "microsoft.office365.protectionCenter/allEntities/allTasks"]),
    ("5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader",
     "Can read security information and reports in Microsoft Entra ID and Office 365.",
     ["microsoft.directory/identityProtection/allProperties/read", "microsoft.directory/signInReports/allProperties/read",
      "microsoft.office365.protectionCenter/allEntities/standard/read"]),
    ("5f2222b1-57c3-48ba-8ad5-d4759f1fde6f", "Security Operator",
     "Creates and manages security events.",
     ["microsoft.directory/identityProtection/riskyUsers/update", "microsoft.office365.protectionCenter/allEntities/standard/read"]),
    ("4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports Reader",
     "Can read sign-in and audit reports.",
     ["microsoft.directory/auditLogs/allProperties/read", "microsoft.directory/signInReports/allProperties/read",
      "microsoft.office365.usageReports/allEntities/allProperties/read"]),
    ("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator",
     "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
     ["microsoft.directory/roleAssignments/allProperties/allTasks", "microsoft.directory/roleDefinitions/allProperties/allTasks",
      "microsoft.directory/privilegedIdentityManagement/allProperties/allTasks"]),
    ("88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "Directory Readers",
     "Can read basic directory information. Commonly used to grant directory read access to applications and guests.",
     ["microsoft.directory/users/standard/read", "microsoft.directory/groups/standard/read",
      "microsoft.directory/devices/standard/read"]),
    ("b0f54661-2d74-4c50-afa3-1ec803f12efe", "Billing Administrator",
     "Can perform common billing related tasks like updating payment information.",
     ["microsoft.directory/organization/basic/update", "microsoft.commerce.billing/allEntities/allTasks",
      "microsoft.office365.supportTickets/allEntities/allTasks"]),
    ("f023fd81-a637-4b56-95fd-791ac0226033", "Service Support Administrator",
     "Can read service health information and manage support tickets.",
     ["microsoft.office365.serviceHealth/allEntities/allTasks", "microsoft.office365.supportTickets/allEntities/allTasks"]),
    ("b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", "Conditional Access Administrator",
     "Can manage Conditional Access capabilities.",
     ["microsoft.directory/conditionalAccessPolicies/create", "microsoft.directory/conditionalAccessPolicies/basic/update",
      "microsoft.directory/namedLocations/create"]),
    ("c4e39bd9-1100-46d3-8c65-fb160da0071f", "Authentication Administrator",
     "Can access to view, set and reset authentication method information for any non-admin user.",
     ["microsoft.directory/users/authenticationMethods/create", "microsoft.directory/users/authenticationMethods/standard/read"]),
    ("69091246-20e8-4a56-aa4d-066075b2a7a8", "Teams Administrator",
     "Can manage the Microsoft Teams service.",
     ["microsoft.teams/allEntities/allProperties/allTasks", "microsoft.directory/groups.unified/create"]),
    ("fdd7a751-b60b-444a-984c-02652fe8fa1c", "Groups Administrator",
     "Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies.",
     ["microsoft.directory/groups/create", "microsoft.directory/groups/delete", "microsoft.directory/groups/members/update"]),
    ("158c047a-c907-4556-b7ef-446551a6b5f7", "Cloud Application Administrator",
     "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
     ["microsoft.directory/applications/create", "microsoft.directory/servicePrincipals/create"]),
    ("4d6ac14f-3453-41d0-bef9-a3e0c569773a", "License Administrator",
     "Can manage product licenses on users and groups.",
     ["microsoft.directory/users/assignLicense", "microsoft.directory/groups/assignLicense"]),
]  # fmt: skip

#: Template ids of roles a delegated PIM setup typically makes eligible rather than active.
_ELIGIBLE_ROLES = [
    "62e90394-69f5-4237-9190-012177145e10",
    "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8",
]
#: Roles that can be scoped to an administrative unit.
_AU_ROLES = [
    "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    "fdd7a751-b60b-444a-984c-02652fe8fa1c",
]
#: SKUs whose subscription is a trial (free / self-service SKUs and one paid add-on under evaluation).
_TRIAL_SKUS = {"FLOW_FREE", "POWER_BI_STANDARD", "VISIOCLIENT"}


def assignment_id(role_definition_id: str, principal_id: str, suffix: str = "1") -> str:
    """Graph's visible role assignment id: base64url(role GUID bytes LE + principal GUID bytes LE) + ``-1``."""
    raw = uuid.UUID(role_definition_id).bytes_le + uuid.UUID(principal_id).bytes_le
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + f"-{suffix}"


def build(tenant: Tenant) -> None:
    """Every breadth area, each from its own RNG."""
    _owners(tenant)
    _subscriptions(tenant)
    _roles(tenant)
    _conditional_access(tenant)
    build_more(tenant)


# -- group owners ----------------------------------------------------------------------------------


def _owners(tenant: Tenant) -> None:
    rng = tenant.rng_for("breadth.owners")
    members = [u["id"] for u in tenant.users if u["userType"] == "Member" and u["accountEnabled"]]
    members = members or [u["id"] for u in tenant.users]
    sps = [sp["id"] for sp in tenant.service_principals]
    owners: dict[str, list[dict[str, str]]] = {}
    for group in tenant.groups:
        refs: list[dict[str, str]] = []
        unified = "Unified" in group["groupTypes"]
        exchange = (
            group["mailEnabled"] and not unified
        )  # created in Exchange: DLs, mail-enabled security
        if not exchange and not group["onPremisesSyncEnabled"] and rng.random() >= 0.15:
            ids = rng.sample(members, min(len(members), rng.randint(1, 3)))
            if sps and not unified and rng.random() < 0.1:
                ids.append(rng.choice(sps))
            refs = [tenant.ref(i) for i in ids]
        owners[group["id"]] = refs
    tenant.group_owners = owners


# -- company subscriptions -------------------------------------------------------------------------


def _subscriptions(tenant: Tenant) -> None:
    rng = tenant.rng_for("breadth.subscriptions")
    admin = _first_admin(tenant)
    subs = []
    for sku in tenant.skus:
        trial = sku["skuPartNumber"] in _TRIAL_SKUS
        age = rng.randint(40, 700) * 86400 if not trial else rng.randint(2, 25) * 86400
        renews = -(30 - (age // 86400) % 30) * 86400 if trial else -rng.randint(20, 330) * 86400
        subs.append(
            {
                "commerceSubscriptionId": new_guid(rng),
                "createdDateTime": tenant.iso(age),
                "isTrial": trial,
                "nextLifecycleDateTime": tenant.iso(renews),
                "ownerId": admin,
                "ownerTenantId": tenant.tenant_id,
                "ownerType": "User",
                "serviceStatus": [dict(p) for p in sku["servicePlans"]],
                "skuId": sku["skuId"],
                "skuPartNumber": sku["skuPartNumber"],
                "status": "Enabled",
                "totalLicenses": sku["prepaidUnits"]["enabled"],
                "id": sku["subscriptionIds"][0],
            }
        )
    tenant.subscriptions = subs


def _first_admin(tenant: Tenant) -> str:
    """The first user holding Global Administrator (else the first user)."""
    for role in tenant.directory_roles:
        if role["roleTemplateId"] == "62e90394-69f5-4237-9190-012177145e10":
            for ref in tenant.role_members.get(role["id"], []):
                if ref["@odata.type"] == "#microsoft.graph.user":
                    return ref["id"]
    return tenant.users[0]["id"]


# -- role management -------------------------------------------------------------------------------


def _roles(tenant: Tenant) -> None:
    rng = tenant.rng_for("breadth.roles")
    definitions: list[dict[str, Any]] = []
    known = {t for t, *_ in BUILT_IN_ROLES}
    catalogue = list(BUILT_IN_ROLES)
    for role in tenant.directory_roles:  # every activated role has a definition
        if role["roleTemplateId"] not in known:
            catalogue.append((role["roleTemplateId"], role["displayName"], role["description"], []))
            known.add(role["roleTemplateId"])
    for template, name, description, actions in catalogue:
        definitions.append(
            {
                "description": description,
                "displayName": name,
                "isBuiltIn": True,
                "isEnabled": True,
                "resourceScopes": ["/"],
                "rolePermissions": [{"allowedResourceActions": list(actions), "condition": None}],
                "templateId": template,
                "version": "1",
                "id": template,
            }
        )
    if tenant.premium:
        custom = new_guid(rng)
        definitions.append(
            {
                "description": "Reads users and resets passwords of the service desk's users.",
                "displayName": "Service Desk Password Reset (custom)",
                "isBuiltIn": False,
                "isEnabled": True,
                "resourceScopes": ["/"],
                "rolePermissions": [
                    {
                        "allowedResourceActions": [
                            "microsoft.directory/users/standard/read",
                            "microsoft.directory/users/password/update",
                        ],
                        "condition": None,
                    }
                ],
                "templateId": custom,
                "version": None,
                "id": custom,
            }
        )
    tenant.role_definitions = definitions
    assignments: list[dict[str, Any]] = []
    for role in tenant.directory_roles:
        template = role["roleTemplateId"]
        for ref in tenant.role_members.get(role["id"], []):
            assignments.append(_assignment(tenant, template, ref["id"], "/"))
    members = [u["id"] for u in tenant.users if u["userType"] == "Member" and u["accountEnabled"]]
    members = members or [u["id"] for u in tenant.users]
    tenant.administrative_units = [new_guid(rng) for _ in range(2)]
    for i in range(3):
        template = _AU_ROLES[i % len(_AU_ROLES)]
        unit = tenant.administrative_units[i % 2]
        assignments.append(
            _assignment(
                tenant,
                template,
                rng.choice(members),
                f"/administrativeUnits/{unit}",
                suffix=f"1-{i}",
            )
        )
    tenant.role_assignments = assignments
    eligible: list[dict[str, Any]] = []
    if tenant.premium:
        for _ in range(min(len(members), max(3, tenant.user_count // 60))):
            sid = new_guid(rng)
            created = rng.randint(5, 400) * 86400 + rng.randint(0, 86399)
            permanent = rng.random() < 0.4
            eligible.append(
                {
                    "memberType": "Direct",
                    "scheduleInfo": {
                        "startDateTime": tenant.iso(created),
                        "recurrence": None,
                        "expiration": {
                            "type": "noExpiration" if permanent else "afterDateTime",
                            "endDateTime": None
                            if permanent
                            else tenant.iso(-rng.randint(30, 365) * 86400),
                            "duration": None,
                        },
                    },
                    "appScopeId": None,
                    "createdDateTime": tenant.iso(created),
                    "createdUsing": sid,
                    "directoryScopeId": "/",
                    "modifiedDateTime": None,
                    "principalId": rng.choice(members),
                    "roleDefinitionId": rng.choice(_ELIGIBLE_ROLES),
                    "status": "Provisioned",
                    "id": sid,
                }
            )
    tenant.role_eligibility = eligible


def _assignment(
    tenant: Tenant, template: str, principal: str, scope: str, suffix: str = "1"
) -> dict[str, Any]:
    return {
        "appScopeId": None,
        "condition": None,
        "directoryScopeId": scope,
        "principalId": principal,
        "principalOrganizationId": tenant.tenant_id,
        "roleDefinitionId": template,
        "id": assignment_id(template, principal, suffix),
    }


# -- Conditional Access ----------------------------------------------------------------------------


def _conditional_access(tenant: Tenant) -> None:
    rng = tenant.rng_for("breadth.conditionalAccess")
    locations: list[dict[str, Any]] = []

    def when(lo: int, hi: int) -> str:
        return tenant.iso(rng.randint(lo, hi) * 86400 + rng.randint(0, 86399))

    offices = [
        ("Headquarters", ["131.107.0.0/16", "167.220.0.0/16"], True),
        ("Branch offices", ["40.112.0.0/13", "2001:4898:80e8::/48"], True),
        ("Partner VPN", ["52.96.0.0/14"], False),
    ]
    for name, ranges, is_trusted in offices:
        first = when(200, 900)
        locations.append(
            {
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "createdDateTime": first,
                "displayName": name,
                "id": new_guid(rng),
                "modifiedDateTime": when(1, 199),
                "deletedDateTime": None,
                "ipRanges": [
                    {
                        "@odata.type": "#microsoft.graph.iPv6CidrRange"
                        if ":" in cidr
                        else "#microsoft.graph.iPv4CidrRange",
                        "cidrAddress": cidr,
                    }
                    for cidr in ranges
                ],
                "isTrusted": is_trusted,
            }
        )
    for name, countries, unknown, method in [
        ("Allowed countries", ["US", "GB", "DE", "IN"], False, "clientIpAddress"),
        ("Blocked countries", ["KP", "IR", "SY"], True, "clientIpAddress"),
        ("GPS verified countries", ["US", "CA"], False, "authenticatorAppGps"),
    ]:
        locations.append(
            {
                "@odata.type": "#microsoft.graph.countryNamedLocation",
                "createdDateTime": when(200, 900),
                "displayName": name,
                "id": new_guid(rng),
                "modifiedDateTime": when(1, 199),
                "deletedDateTime": None,
                "countriesAndRegions": countries,
                "countryLookupMethod": method,
                "includeUnknownCountriesAndRegions": unknown,
            }
        )
    tenant.named_locations = locations
    if not tenant.premium:
        tenant.ca_policies = []
        return
    members = [u for u in tenant.users if u["userType"] == "Member" and u["accountEnabled"]]
    members = members or tenant.users
    break_glass = [members[0]["id"]]
    groups = [g["id"] for g in tenant.groups if g["securityEnabled"]] or [
        g["id"] for g in tenant.groups
    ]
    pilot = rng.choice(groups)
    trusted = [loc["id"] for loc in locations if loc.get("isTrusted")]
    blocked = next(loc["id"] for loc in locations if loc["displayName"] == "Blocked countries")
    admin_roles = [
        "62e90394-69f5-4237-9190-012177145e10",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
    ]
    exchange_online = "00000002-0000-0ff1-ce00-000000000000"

    def users(**kw: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "includeUsers": [],
            "excludeUsers": [],
            "includeGroups": [],
            "excludeGroups": [],
            "includeRoles": [],
            "excludeRoles": [],
            "includeGuestsOrExternalUsers": None,
            "excludeGuestsOrExternalUsers": None,
        }
        base.update(kw)
        return base

    def apps(include: list[str]) -> dict[str, Any]:
        return {
            "includeApplications": include,
            "excludeApplications": [],
            "includeUserActions": [],
            "includeAuthenticationContextClassReferences": [],
            "applicationFilter": None,
        }

    def grant(controls: list[str], operator: str = "OR") -> dict[str, Any]:
        return {
            "operator": operator,
            "builtInControls": controls,
            "customAuthenticationFactors": [],
            "termsOfUse": [],
            "authenticationStrength": None,
        }

    def conditions(**kw: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "userRiskLevels": [],
            "signInRiskLevels": [],
            "clientAppTypes": ["all"],
            "servicePrincipalRiskLevels": [],
            "platforms": None,
            "locations": None,
            "devices": None,
            "clientApplications": None,
            "applications": apps(["All"]),
            "users": users(includeUsers=["All"], excludeUsers=break_glass),
        }
        base.update(kw)
        return base

    specs: list[tuple[str, str, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]] = [
        ("Require MFA for administrators", "enabled",
         conditions(users=users(includeRoles=admin_roles, excludeUsers=break_glass)), grant(["mfa"]), None),
        ("Block legacy authentication", "enabled",
         conditions(clientAppTypes=["exchangeActiveSync", "other"]), grant(["block"]), None),
        ("Require MFA outside trusted locations", "enabled",
         conditions(locations={"includeLocations": ["All"], "excludeLocations": trusted}), grant(["mfa"]), None),
        ("Block access from blocked countries", "enabled",
         conditions(locations={"includeLocations": [blocked], "excludeLocations": []}), grant(["block"]), None),
        ("Require compliant device for Exchange Online", "enabledForReportingButNotEnforced",
         conditions(applications=apps([exchange_online]),
                    platforms={"includePlatforms": ["android", "iOS"], "excludePlatforms": []},
                    users=users(includeGroups=[pilot], excludeUsers=break_glass)),
         grant(["compliantDevice", "domainJoinedDevice"]), None),
        ("Sign-in frequency for unmanaged devices", "enabled",
         conditions(clientAppTypes=["browser"]), None,
         {"applicationEnforcedRestrictions": None, "cloudAppSecurity": None, "persistentBrowser":
          {"mode": "never", "isEnabled": True},
          "signInFrequency": {"value": 12, "type": "hours", "isEnabled": True,
                              "authenticationType": "primaryAndSecondaryAuthentication", "frequencyInterval": "timeBased"},
          "disableResilienceDefaults": None}),
        ("Guest access requires MFA (pilot)", "disabled",
         conditions(users=users(includeGuestsOrExternalUsers={"guestOrExternalUserTypes": "b2bCollaborationGuest",
                                                               "externalTenants": {"membershipKind": "all"}})),
         grant(["mfa"]), None),
        ("Block high sign-in risk", "enabled",
         conditions(signInRiskLevels=["high"], users=users(includeUsers=["All"], excludeUsers=break_glass)),
         grant(["block"]), None),
    ]  # fmt: skip
    policies = []
    for name, state, cond, grant_controls, session in specs:
        created = rng.randint(60, 800) * 86400 + rng.randint(0, 86399)
        modified = None if rng.random() < 0.3 else tenant.iso(created - rng.randint(1, 50) * 86400)
        policies.append(
            {
                "conditions": cond,
                "createdDateTime": tenant.iso(created),
                "description": None,
                "displayName": name,
                "grantControls": grant_controls,
                "id": new_guid(rng),
                "modifiedDateTime": modified,
                "sessionControls": session,
                "state": state,
                "templateId": None,
                "deletedDateTime": None,
            }
        )
    tenant.ca_policies = policies


# == batch 2: reports, Intune apps, security, risk, service health, licence states ==================

_MS_VENDOR = {
    "provider": "SecureScore",
    "providerVersion": None,
    "subProvider": None,
    "vendor": "Microsoft",
}

#: Secure Score controls: (id, title, category, service, maxScore, actionType, tier, cost, userImpact, threats)
CONTROLS: list[tuple[str, str, str, str, float, str, str, str, str, list[str]]] = [
    ("AdminMFAV2", "Ensure multifactor authentication is enabled for all users in administrative roles",
     "Identity", "AzureAD", 10.0, "Config", "Core", "Low", "Low", ["Account Breach", "Elevation of Privilege"]),
    ("MFARegistrationV2", "Ensure multifactor authentication is enabled for all users",
     "Identity", "AzureAD", 9.0, "Config", "Core", "Moderate", "Moderate", ["Account Breach", "Password Cracking"]),
    ("BlockLegacyAuthentication", "Enable Conditional Access policies to block legacy authentication",
     "Identity", "AzureAD", 8.0, "Config", "Core", "Moderate", "Moderate", ["Password Spray", "Account Breach"]),
    ("SelfServicePasswordReset", "Enable self-service password reset",
     "Identity", "AzureAD", 1.0, "Config", "Core", "Low", "Low", ["Account Breach"]),
    ("OneAdmin", "Designate more than one global admin",
     "Identity", "AzureAD", 1.0, "Config", "Core", "Low", "Low", ["Account Breach"]),
    ("RoleOverlap", "Use least privileged administrative roles",
     "Identity", "AzureAD", 1.0, "Review", "Core", "Low", "Low", ["Elevation of Privilege"]),
    ("IntegratedApps", "Do not allow users to grant consent to unreliable applications",
     "Apps", "AzureAD", 4.0, "Config", "Defense in Depth", "Moderate", "Moderate", ["Malicious Consent"]),
    ("UserRiskPolicy", "Turn on user risk policy",
     "Identity", "AzureAD", 7.0, "Config", "Advanced", "Moderate", "Moderate", ["Account Breach"]),
    ("SigninRiskPolicy", "Turn on sign-in risk policy",
     "Identity", "AzureAD", 7.0, "Config", "Advanced", "Moderate", "Moderate", ["Password Spray", "Account Breach"]),
    ("PWAgePolicyNew", "Set the password expiration policy to never expire",
     "Identity", "AzureAD", 8.0, "Config", "Core", "Low", "Low", ["Password Cracking"]),
    ("aad_admin_accounts_separate_unassigned_cloud_only", "Ensure administrative accounts are separate and cloud-only",
     "Identity", "AzureAD", 3.0, "Review", "Defense in Depth", "Moderate", "Moderate", ["Elevation of Privilege"]),
    ("mdo_safelinksforOfficeApps", "Turn on Safe Links for Office applications",
     "Apps", "MDO", 9.0, "Config", "Core", "Low", "Low", ["Phishing", "Malware"]),
    ("mdo_safeattachments", "Turn on Safe Attachments in block mode",
     "Apps", "MDO", 8.0, "Config", "Core", "Low", "Low", ["Malware"]),
    ("mdo_atpprotection", "Turn on Microsoft Defender for Office 365 in SharePoint, OneDrive, and Microsoft Teams",
     "Apps", "MDO", 8.0, "Config", "Core", "Low", "Low", ["Malware"]),
    ("DLPEnabled", "Apply Data Loss Prevention policies",
     "Data", "IP", 20.0, "Config", "Advanced", "Moderate", "Moderate", ["Data Exfiltration", "Data Spillage"]),
    ("CustomerLockBoxEnabled", "Turn on customer lockbox feature",
     "Data", "EXO", 1.0, "Config", "Defense in Depth", "Low", "Low", ["Data Exfiltration"]),
    ("exo_mailtipsenabled", "Ensure MailTips are enabled for end users",
     "Data", "EXO", 2.0, "Config", "Defense in Depth", "Low", "Low", ["Data Spillage"]),
    ("spo_idle_session_timeout", "Sign out inactive users in SharePoint Online",
     "Data", "SPO", 3.0, "Config", "Defense in Depth", "Low", "Moderate", ["Account Breach"]),
    ("meeting_restrictanonymousjoin_v1", "Only invited users should be automatically admitted to Teams meetings",
     "Apps", "Teams", 2.0, "Config", "Defense in Depth", "Low", "Moderate", ["Data Spillage"]),
    ("mip_sensitivitylabelspolicies", "Publish M365 sensitivity label data classification policies",
     "Data", "IP", 5.0, "Config", "Advanced", "Moderate", "Moderate", ["Data Exfiltration"]),
]  # fmt: skip

#: Intune apps: (@odata.type leaf, displayName, publisher, description, owner/developer)
MOBILE_APPS: list[tuple[str, str, str, str]] = [
    ("win32LobApp", "7-Zip", "Igor Pavlov", "File archiver with a high compression ratio."),
    ("win32LobApp", "Notepad++", "Notepad++ Team", "Source code editor."),
    ("win32LobApp", "Company VPN Client", "{company}", "The corporate VPN client."),
    ("windowsMobileMSI", "Line-of-business Agent", "{company}", "Inventory agent (MSI)."),
    ("officeSuiteApp", "Microsoft 365 Apps for enterprise", "Microsoft", "Word, Excel, PowerPoint, Outlook, Teams."),
    ("microsoftStoreForBusinessApp", "Company Portal", "Microsoft Corporation", "Intune Company Portal."),
    ("winGetApp", "Microsoft PowerToys", "Microsoft Corporation", "Windows system utilities."),
    ("iosStoreApp", "Microsoft Authenticator", "Microsoft Corporation", "Sign-in approvals and codes."),
    ("iosStoreApp", "Microsoft Teams", "Microsoft Corporation", "Chat, meetings and calls."),
    ("iosVppApp", "Microsoft Outlook", "Microsoft Corporation", "Mail and calendar (volume purchase)."),
    ("managedIOSStoreApp", "Microsoft Edge", "Microsoft Corporation", "Managed browser."),
    ("androidManagedStoreApp", "Microsoft Authenticator", "Microsoft Corporation", "Sign-in approvals and codes."),
    ("androidManagedStoreApp", "Microsoft Intune", "Microsoft Corporation", "Android Enterprise device management."),
    ("androidStoreApp", "Microsoft Teams", "Microsoft Corporation", "Chat, meetings and calls."),
    ("managedAndroidStoreApp", "Microsoft Outlook", "Microsoft Corporation", "Managed mail client."),
    ("macOSOfficeSuiteApp", "Microsoft 365 Apps for Mac", "Microsoft", "Office for macOS."),
    ("macOSLobApp", "Company Printer Driver", "{company}", "Printer driver package."),
    ("webApp", "Expense portal", "{company}", "Link to the expense system."),
    ("webApp", "HR self-service", "{company}", "Link to the HR portal."),
]  # fmt: skip

_SERVICES = [
    (
        "EX",
        "Exchange Online",
        ["E-Mail and calendar access", "Mail flow"],
        ["Sending mail", "Outlook on the web"],
    ),
    ("SP", "SharePoint Online", ["SharePoint Features", "Site access"], ["Search", "Sites"]),
    ("TM", "Microsoft Teams", ["Teams Components", "Meetings"], ["Chat", "Meetings"]),
    (
        "MO",
        "Microsoft 365 suite",
        ["Administration", "Portal"],
        ["Microsoft 365 admin center", "Sign-in"],
    ),
    ("OD", "OneDrive for Business", ["OneDrive for Business Features"], ["Sync", "Sharing"]),
    ("IT", "Microsoft Intune", ["Device management"], ["Policy deployment", "Enrollment"]),
    ("AAD", "Microsoft Entra", ["Authentication"], ["Multi-factor authentication", "Sign-in"]),
]
_METHODS = [
    (["microsoftAuthenticatorPush", "softwareOneTimePasscode"], "push", ["push"]),
    (["microsoftAuthenticatorPush", "mobilePhone"], "push", ["push"]),
    (["mobilePhone"], "sms", ["sms"]),
    (["mobilePhone", "email"], "voiceMobile", ["voiceMobile"]),
    (["windowsHelloForBusiness", "microsoftAuthenticatorPush"], "push", ["push"]),
    (
        ["fido2SecurityKey", "microsoftAuthenticatorPush", "softwareOneTimePasscode"],
        "push",
        ["Fido2"],
    ),
    (["email"], "none", []),
]
_PASSWORDLESS = {"windowsHelloForBusiness", "fido2SecurityKey", "passKeyDeviceBound"}
_E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
_E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"


def build_more(tenant: Tenant) -> None:
    """Batch 2 areas (called from :func:`build`, after the batch 1 areas)."""
    clock = float(tenant.now) if tenant.now is not None else time.time()
    _registration(tenant, clock)
    _mobile_apps(tenant)
    _secure_scores(tenant, clock)
    _risky_users(tenant, clock)
    _service_issues(tenant, clock)
    _license_states(tenant)


def _registration(tenant: Tenant, clock: float) -> None:
    rng = tenant.rng_for("breadth.registration")
    admins = {r["id"] for refs in tenant.role_members.values() for r in refs}
    stamp = iso(clock - 3600 * (1 + rng.random()))
    out: list[dict[str, Any]] = []
    random = rng.random
    for user in tenant.users:
        if not user["accountEnabled"]:
            continue  # "This method doesn't work for disabled users"
        admin = user["id"] in admins
        guest = user["userType"] == "Guest"
        r = random()
        if admin:
            methods, preferred, system = _METHODS[5 if r < 0.3 else 0]
        elif guest:
            methods, preferred, system = ([], "none", []) if r < 0.7 else _METHODS[6]
        elif r < 0.18:
            methods, preferred, system = [], "none", []
        else:
            methods, preferred, system = _METHODS[int(random() * 6)]
        mfa = any(m != "email" for m in methods)
        sspr_enabled = not guest and tenant.premium
        sspr_registered = any(
            m in {"mobilePhone", "email", "microsoftAuthenticatorPush"} for m in methods
        )
        out.append(
            {
                "isAdmin": admin,
                "isMfaCapable": mfa,
                "isMfaRegistered": mfa,
                "isPasswordlessCapable": any(m in _PASSWORDLESS for m in methods),
                "isSsprCapable": sspr_enabled and sspr_registered,
                "isSsprEnabled": sspr_enabled,
                "isSsprRegistered": sspr_registered,
                "isSystemPreferredAuthenticationMethodEnabled": True,
                "lastUpdatedDateTime": stamp,
                "methodsRegistered": methods,
                "systemPreferredAuthenticationMethods": system,
                "userDisplayName": user["displayName"],
                "userPreferredMethodForSecondaryAuthentication": preferred,
                "userPrincipalName": user["userPrincipalName"],
                "userType": "guest" if guest else "member",
                "id": user["id"],
            }
        )
    tenant.registration_details = out


def _mobile_apps(tenant: Tenant) -> None:
    rng = tenant.rng_for("breadth.mobileApps")
    apps: list[dict[str, Any]] = []
    for kind, name, publisher, description in MOBILE_APPS:
        created = rng.randint(30, 900) * 86400 + rng.randint(0, 86399)
        publisher = publisher.replace("{company}", tenant.company)
        store = kind.endswith("StoreApp") or kind in {"iosVppApp", "microsoftStoreForBusinessApp"}
        apps.append(
            {
                "@odata.type": f"#microsoft.graph.{kind}",
                "createdDateTime": tenant.iso(created),
                "description": description,
                "developer": publisher if not store else "",
                "displayName": name,
                "informationUrl": None
                if kind == "webApp"
                else f"https://www.example.com/{kind}/{len(apps)}",
                "isFeatured": rng.random() < 0.2,
                "largeIcon": None,
                "lastModifiedDateTime": tenant.iso(created - rng.randint(0, 29) * 86400),
                "notes": None,
                "owner": publisher if publisher == tenant.company else "",
                "privacyInformationUrl": None
                if kind == "webApp"
                else "https://privacy.microsoft.com/",
                "publisher": publisher,
                "publishingState": "published" if rng.random() < 0.95 else "processing",
                "id": new_guid(rng),
            }
        )
    tenant.mobile_apps = apps


def _secure_scores(tenant: Tenant, clock: float) -> None:
    rng = tenant.rng_for("breadth.secureScores")
    profiles: list[dict[str, Any]] = []
    for rank, (
        cid,
        title,
        category,
        service,
        max_score,
        action,
        tier,
        cost,
        impact,
        threats,
    ) in enumerate(CONTROLS, start=1):
        profiles.append(
            {
                "actionType": action,
                "actionUrl": "https://security.microsoft.com/securescore",
                "azureTenantId": tenant.tenant_id,
                "complianceInformation": [
                    {
                        "certificationName": "ISO 27001:2013",
                        "certificationControls": [
                            {"name": f"A.9.{rank % 5 + 1}.{rank % 3 + 1}", "url": ""}
                        ],
                    }
                ],
                "controlCategory": category,
                "controlStateUpdates": [
                    {
                        "assignedTo": None,
                        "comment": None,
                        "state": "Default",
                        "updatedBy": None,
                        "updatedDateTime": tenant.iso(rng.randint(30, 400) * 86400),
                    }
                ],
                "deprecated": False,
                "implementationCost": cost,
                "lastModifiedDateTime": None,
                "maxScore": max_score,
                "rank": rank,
                "remediation": f"{title}.",
                "remediationImpact": f"This change will have a {impact.lower()} impact on your users.",
                "service": service,
                "threats": threats,
                "tier": tier,
                "title": title,
                "userImpact": impact,
                "vendorInformation": dict(_MS_VENDOR),
                "id": cid,
            }
        )
    tenant.control_profiles = profiles
    licensed = sum(1 for u in tenant.users if u["assignedLicenses"])
    active = sum(1 for u in tenant.users if u["accountEnabled"] and u["userType"] == "Member")
    services = ["HasExchange", "HasSharePoint", "HasOD4B", "HasCloudAppSecurity", "HasInTune"]
    if tenant.premium:
        services.append("HasAzureADPremium")
    max_total = sum(p["maxScore"] for p in profiles)
    # each control's share of its maximum, improving slowly over the 90 days (newest last here)
    start = [rng.random() * 0.6 for _ in profiles]
    today = int(clock // 86400) * 86400
    scores: list[dict[str, Any]] = []
    for back in range(90, 0, -1):
        day = today - back * 86400
        progress = (90 - back) / 90
        controls: list[dict[str, Any]] = []
        for profile, base in zip(profiles, start, strict=True):
            share = min(1.0, base + progress * 0.3)
            score = round(profile["maxScore"] * share, 2)
            controls.append(
                {
                    "controlCategory": profile["controlCategory"],
                    "controlName": profile["id"],
                    "description": profile["title"],
                    "score": score,
                }
            )
        date = time.strftime("%Y-%m-%d", time.gmtime(day))
        scores.append(
            {
                "activeUserCount": active,
                "averageComparativeScores": [
                    {"basis": "AllTenants", "averageScore": round(max_total * 0.42, 2)},
                    {"basis": "TotalSeats", "averageScore": round(max_total * 0.47, 2)},
                    {"basis": "IndustryTypes", "averageScore": round(max_total * 0.45, 2)},
                ],
                "azureTenantId": tenant.tenant_id,
                "controlScores": controls,
                "createdDateTime": iso(day + 3600 * 2 + 60 * 17),
                "currentScore": round(sum(c["score"] for c in controls), 2),
                "enabledServices": services,
                "licensedUserCount": licensed,
                "maxScore": max_total,
                "vendorInformation": dict(_MS_VENDOR),
                "id": f"{tenant.tenant_id}_{date}",
            }
        )
    scores.reverse()  # newest first, as Graph lists them
    tenant.secure_scores = scores


def _risky_users(tenant: Tenant, clock: float) -> None:
    rng = tenant.rng_for("breadth.riskyUsers")
    members = [u for u in tenant.users if u["userType"] == "Member"]
    picked = rng.sample(members, min(len(members), max(3, len(tenant.users) // 30)))
    out: list[dict[str, Any]] = []
    for i, user in enumerate(picked):
        state = ["atRisk", "atRisk", "remediated", "dismissed", "confirmedCompromised"][i % 5]
        level, detail = {
            "atRisk": (rng.choice(["low", "medium", "high"]), "none"),
            "remediated": ("none", "userPerformedSecuredPasswordChange"),
            "dismissed": ("none", "adminDismissedAllRiskForUser"),
            "confirmedCompromised": ("high", "adminConfirmedUserCompromised"),
        }[state]
        out.append(
            {
                "isDeleted": False,
                "isProcessing": False,
                "riskDetail": detail,
                "riskLastUpdatedDateTime": iso(clock - rng.randint(3600, 80 * 86400)),
                "riskLevel": level,
                "riskState": state,
                "userDisplayName": user["displayName"],
                "userPrincipalName": user["userPrincipalName"],
                "id": user["id"],
            }
        )
    out.sort(key=lambda r: r["riskLastUpdatedDateTime"], reverse=True)
    tenant.risky_users = out


def _service_issues(tenant: Tenant, clock: float) -> None:
    rng = tenant.rng_for("breadth.serviceIssues")
    issues: list[dict[str, Any]] = []
    for i in range(18):
        prefix, service, groups, features = _SERVICES[i % len(_SERVICES)]
        start = clock - rng.randint(1, 60) * 86400 - rng.randint(0, 86399)
        resolved = i % 6 != 0
        incident = rng.random() < 0.5
        end = start + rng.randint(1, 30) * 3600 if resolved else None
        modified = (end or clock - rng.randint(600, 7200)) + rng.randint(600, 5400)
        modified = min(modified, clock - 60)
        feature = rng.choice(features)
        title = f"Some users may experience issues with {feature.lower()} in {service}"
        posts = [
            {
                "createdDateTime": iso(start + 1800),
                "postType": "regular",
                "description": {
                    "contentType": "html",
                    "content": f"Title: {title}<br><br>User impact: Users may be unable to use {feature.lower()}.",
                },
            }
        ]
        if resolved:
            posts.append(
                {
                    "createdDateTime": iso(min(modified, (end or start) + 900)),
                    "postType": "regular",
                    "description": {
                        "contentType": "html",
                        "content": "Final status: We've confirmed that the issue is resolved.",
                    },
                }
            )
        issues.append(
            {
                "classification": "incident" if incident else "advisory",
                "feature": feature,
                "featureGroup": rng.choice(groups),
                "impactDescription": f"Users may be unable to use {feature.lower()}.",
                "isResolved": resolved,
                "origin": "microsoft",
                "posts": posts,
                "service": service,
                "status": "serviceRestored"
                if resolved
                else rng.choice(
                    ["investigating", "serviceDegradation", "restoringService", "extendedRecovery"]
                ),
                "details": [{"name": "NotifyInApp", "value": "True" if incident else "False"}],
                "endDateTime": None if end is None else iso(end),
                "lastModifiedDateTime": iso(modified),
                "startDateTime": iso(start),
                "title": title,
                "id": f"{prefix}{rng.randint(100000, 999999)}",
            }
        )
    issues.sort(key=lambda x: x["startDateTime"], reverse=True)
    tenant.service_issues = issues


def _license_states(tenant: Tenant) -> None:
    """Users' ``licenseAssignmentStates`` (one per assigned licence), a licensing group, and two errors.

    learn.microsoft.com/graph/api/resources/licenseassignmentstate: ``assignedByGroup`` null for a direct
    assignment, else the group's id; ``state`` Active / ActiveWithError / Disabled / Error; ``error`` None /
    CountViolation / MutuallyExclusiveViolation / DependencyViolation / ProhibitedInUsageLocationViolation /
    UniquenessViolation / Others. Group-based licensing: the group's ``assignedLicenses`` lists the SKU and its
    user members holding the SKU inherit it (learn.microsoft.com/entra/identity/users/licensing-groups-assign);
    a member the SKU cannot be given keeps a state in ``Error`` and no ``assignedLicenses`` entry for it
    (…/licensing-groups-resolve-problems).
    """
    rng = tenant.rng_for("breadth.licenseStates")
    shared: dict[int, list[dict[str, Any]]] = {}
    with_e3: set[int] = set()  # ids of the (shared) assignedLicenses lists holding E3
    for group in tenant.groups:
        group.setdefault("assignedLicenses", [])
    for user in tenant.users:
        licenses = user["assignedLicenses"]
        if not licenses:
            user["licenseAssignmentStates"] = []
            continue
        key = id(licenses)
        states = shared.get(key)
        if states is None:
            when = (
                user["assignedPlans"][0]["assignedDateTime"]
                if user["assignedPlans"]
                else user["createdDateTime"]
            )
            states = shared[key] = [
                {
                    "assignedByGroup": None,
                    "disabledPlans": lic["disabledPlans"],
                    "error": "None",
                    "lastUpdatedDateTime": when,
                    "skuId": lic["skuId"],
                    "state": "Active",
                }
                for lic in licenses
            ]
            if any(lic["skuId"] == _E3 for lic in licenses):
                with_e3.add(key)
        user["licenseAssignmentStates"] = states
    # one cloud security group (not the first: churn copies the first one's shape) assigns E3
    candidates = [
        g for g in tenant.groups
        if g["securityEnabled"] and not g["mailEnabled"] and not g["groupTypes"] and not g["onPremisesSyncEnabled"]
    ]  # fmt: skip
    if len(candidates) < 2 or tenant.sku(_E3) is None:
        tenant.licensing_group = None
        return
    group = candidates[1]
    tenant.licensing_group = group["id"]
    group["displayName"] = "Licensing - Microsoft 365 E3"
    group["assignedLicenses"] = [{"disabledPlans": [], "skuId": _E3}]
    # its members: E3 holders (their E3 comes from the group) and two users it cannot be given to
    members: list[dict[str, str]] = []
    tenant.memberships[group["id"]] = members
    member_ids: set[str] = set()
    holders = [u for u in tenant.users if id(u["assignedLicenses"]) in with_e3]
    for user in rng.sample(holders, min(len(holders), 8)):
        members.append(tenant.ref(user["id"]))
        member_ids.add(user["id"])
    others = [
        u for u in tenant.users
        if u["userType"] == "Member" and u["accountEnabled"] and id(u["assignedLicenses"]) not in with_e3
    ]  # fmt: skip
    for user in rng.sample(others, min(len(others), 2)):
        if user["id"] not in member_ids:
            members.append(tenant.ref(user["id"]))
            member_ids.add(user["id"])
    for ref in members:
        member = tenant.user(ref["id"])
        if member is None:
            continue
        states = [dict(s) for s in member["licenseAssignmentStates"]]
        e3 = next((s for s in states if s["skuId"] == _E3), None)
        if e3 is not None:
            e3["assignedByGroup"] = group["id"]
        else:
            e5 = any(lic["skuId"] == _E5 for lic in member["assignedLicenses"])
            error = "MutuallyExclusiveViolation" if e5 else "CountViolation"
            states.append(
                {
                    "assignedByGroup": group["id"],
                    "disabledPlans": [],
                    "error": error,
                    "lastUpdatedDateTime": tenant.iso(rng.randint(1, 20) * 86400),
                    "skuId": _E3,
                    "state": "Error",
                }
            )
        member["licenseAssignmentStates"] = states
