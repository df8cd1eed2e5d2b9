"""App registrations, service principals, consents, app role assignments, admin roles and managers.

Shapes follow the v1.0 ``application``, ``servicePrincipal``, ``oAuth2PermissionGrant``,
``appRoleAssignment`` and ``directoryRole`` resources (graph.md 1a). Credentials carry only what Graph
returns: ``hint`` (first characters), ``keyId``, dates; ``secretText`` is always null on reads.

- A "Microsoft Graph" service principal (Microsoft's tenant owns it) publishes app roles
  (``User.Read.All`` ...); every app registration has a service principal of its own; a few third-party
  multi-tenant apps have service principals only. Existing minimal service principals get the same keys.
- ``app_role_assigned_to``: resource service principal id -> assignments (``principalType``
  ServicePrincipal for application permissions, User for users assigned to an app).
- ``directory_roles``: activated roles only, ``role_members``: role id -> member refs.
- ``managers``: user id -> manager id (a reporting tree; the first user has none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .tenant import new_guid

if TYPE_CHECKING:
    from .tenant import Tenant

MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_ROLES = [
    ("df021288-bdef-4463-88db-98f22de89214", "User.Read.All"),
    ("5b567255-7703-4780-807c-7be8301ae99b", "Group.Read.All"),
    ("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All"),
    ("7438b122-aefc-4978-80ed-43db9fcc7715", "Device.Read.All"),
    ("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Application.Read.All"),
    ("810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Mail.Read"),
    ("01d4889c-1287-42c6-ac1f-5d1e02578ef6", "Files.Read.All"),
    ("2f51be20-0bb4-4fed-bf7b-db946066c75e", "DeviceManagementManagedDevices.Read.All"),
]
ROLES = [
    ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator"),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    ("29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator"),
    ("f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "SharePoint Administrator"),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator"),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
    ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator"),
    ("3a2c62db-5318-420d-8d74-23affee5d9d5", "Intune Administrator"),
]
THIRD_PARTY = ["Zoom", "Slack", "DocuSign", "Salesforce", "Atlassian Cloud", "Adobe Sign"]
DELEGATED_SCOPES = [
    "openid profile User.Read",
    "User.Read Mail.Read",
    "Files.Read offline_access",
    "Calendars.Read",
]


def _sp(tenant: Tenant, rng: Any, name: str, app_id: str, owner: str, **extra: Any) -> dict:
    sp = {
        "id": new_guid(rng),
        "deletedDateTime": None,
        "accountEnabled": True,
        "appDisplayName": name,
        "appId": app_id,
        "appOwnerOrganizationId": owner,
        "displayName": name,
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMyOrg" if owner == tenant.tenant_id else "AzureADMultipleOrgs",
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        "appRoles": [],
        "appRoleAssignmentRequired": False,
        "servicePrincipalNames": [app_id],
        "createdDateTime": tenant.iso(rng.randint(86400, 900 * 86400)),
        "description": None,
        "homepage": None,
        "notes": None,
    }
    sp.update(extra)
    return sp


def _add_sp(tenant: Tenant, sp: dict) -> None:
    tenant.service_principals.append(sp)
    tenant.register("servicePrincipal", sp)


def build(tenant: Tenant) -> None:
    """Applications, service principals, grants, assignments, roles and managers."""
    rng = tenant.rng_for("apps")
    blank = _sp(tenant, rng, "", "", tenant.tenant_id)
    for sp in tenant.service_principals:  # directory's minimal ones: same keys as the rest
        for key, value in blank.items():
            sp.setdefault(key, value)
        sp["servicePrincipalNames"] = [sp["appId"]]
    graph = _sp(
        tenant,
        rng,
        "Microsoft Graph",
        GRAPH_APP_ID,
        MICROSOFT_TENANT,
        appRoles=[
            {
                "id": rid,
                "value": value,
                "displayName": f"Read {value}",
                "description": f"Allows the app to {value} without a signed-in user.",
                "allowedMemberTypes": ["Application"],
                "isEnabled": True,
                "origin": "Application",
            }
            for rid, value in GRAPH_ROLES
        ],
        signInAudience="AzureADMultipleOrgs",
    )
    _add_sp(tenant, graph)
    tenant.applications = []
    assigned: dict[str, list[dict]] = {sp["id"]: [] for sp in tenant.service_principals}
    tenant.app_role_assigned_to = assigned
    members = [u for u in tenant.users if u["userType"] == "Member"] or tenant.users
    for i in range(tenant.user_count // 100 + 5):
        app_id = new_guid(rng)
        name = f"Contoso App {i:03d}"
        roles = rng.sample(GRAPH_ROLES, rng.randint(0, 3))
        created = rng.randint(86400, 900 * 86400)
        app = {
            "id": new_guid(rng),
            "deletedDateTime": None,
            "appId": app_id,
            "displayName": name,
            "description": None,
            "signInAudience": rng.choice(["AzureADMyOrg", "AzureADMyOrg", "AzureADMultipleOrgs"]),
            "createdDateTime": tenant.iso(created),
            "publisherDomain": tenant.domains[0]["id"] if tenant.domains else None,
            "identifierUris": [f"api://{app_id}"],
            "tags": [],
            "notes": None,
            "requiredResourceAccess": [
                {
                    "resourceAppId": GRAPH_APP_ID,
                    "resourceAccess": [{"id": rid, "type": "Role"} for rid, _ in roles]
                    + [{"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"}],
                }
            ],
            "passwordCredentials": [
                {
                    "customKeyIdentifier": None,
                    "displayName": f"secret {k}",
                    "endDateTime": tenant.iso(-rng.randint(-200 * 86400, 700 * 86400)),
                    "hint": f"{rng.choice('abcdefXYZ')}{rng.randint(0, 9)}Q",
                    "keyId": new_guid(rng),
                    "secretText": None,
                    "startDateTime": tenant.iso(created - 3600),
                }
                for k in range(rng.randint(0, 2))
            ],
            "keyCredentials": [
                {
                    "customKeyIdentifier": f"{rng.getrandbits(160):040X}",
                    "displayName": f"CN={name}",
                    "endDateTime": tenant.iso(-rng.randint(0, 365 * 86400)),
                    "key": None,
                    "keyId": new_guid(rng),
                    "startDateTime": tenant.iso(created),
                    "type": "AsymmetricX509Cert",
                    "usage": "Verify",
                }
                for _ in range(1 if rng.random() < 0.3 else 0)
            ],
        }
        tenant.applications.append(app)
        sp = _sp(
            tenant, rng, name, app_id, tenant.tenant_id, createdDateTime=app["createdDateTime"]
        )
        _add_sp(tenant, sp)
        assigned[sp["id"]] = []
        for rid, _ in roles:
            assigned[graph["id"]].append(
                _assignment(tenant, rng, sp, "ServicePrincipal", graph, rid)
            )
        for user in rng.sample(members, min(len(members), rng.randint(0, 3))):
            assigned[sp["id"]].append(
                _assignment(tenant, rng, user, "User", sp, "00000000-0000-0000-0000-000000000000")
            )
    for name in THIRD_PARTY:
        sp = _sp(tenant, rng, name, new_guid(rng), new_guid(rng))
        _add_sp(tenant, sp)
        assigned.setdefault(sp["id"], [])
    tenant.oauth2_grants = []
    clients = [sp for sp in tenant.service_principals if sp is not graph]
    for sp in clients:
        if rng.random() < 0.6:
            tenant.oauth2_grants.append(_grant(rng, sp, graph, "AllPrincipals", None))
    for user in rng.sample(members, min(len(members), tenant.user_count // 20 + 3)):
        tenant.oauth2_grants.append(
            _grant(rng, rng.choice(clients), graph, "Principal", user["id"])
        )
    _roles(tenant, rng, members, clients)
    tenant.managers = {}
    for i, user in enumerate(members[1:], start=1):
        if rng.random() < 0.9:
            tenant.managers[user["id"]] = members[rng.randrange(0, max(1, i // 4) + 1)]["id"]


def _assignment(
    tenant: Tenant, rng: Any, principal: dict, ptype: str, resource: dict, role_id: str
) -> dict:
    return {
        "id": new_guid(rng).replace("-", "")[:43],
        "deletedDateTime": None,
        "appRoleId": role_id,
        "createdDateTime": tenant.iso(rng.randint(3600, 600 * 86400)),
        "principalDisplayName": principal["displayName"],
        "principalId": principal["id"],
        "principalType": ptype,
        "resourceDisplayName": resource["displayName"],
        "resourceId": resource["id"],
    }


def _grant(rng: Any, client: dict, resource: dict, consent: str, principal: str | None) -> dict:
    return {
        "id": new_guid(rng).replace("-", "")[:43],
        "clientId": client["id"],
        "consentType": consent,
        "principalId": principal,
        "resourceId": resource["id"],
        "scope": rng.choice(DELEGATED_SCOPES),
    }


def _roles(tenant: Tenant, rng: Any, members: list[dict], clients: list[dict]) -> None:
    tenant.directory_roles = []
    tenant.role_members = {}
    for template_id, name in ROLES:
        role: dict[str, Any] = {
            "id": new_guid(rng),
            "deletedDateTime": None,
            "description": f"Can manage {name.replace(' Administrator', '').lower()} settings.",
            "displayName": name,
            "roleTemplateId": template_id,
        }
        tenant.directory_roles.append(role)
        holders = [u["id"] for u in rng.sample(members, min(len(members), rng.randint(1, 4)))]
        if rng.random() < 0.3 and clients:
            holders.append(rng.choice(clients)["id"])
        tenant.role_members[role["id"]] = [tenant.ref(h) for h in holders]
