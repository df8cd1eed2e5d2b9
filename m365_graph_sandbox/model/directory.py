"""Users, groups, group memberships and the few other directory objects that can be group members.

Shapes follow the v1.0 ``user``/``group``/``device``/``servicePrincipal``/``orgContact`` resources
(graph.md 1a). Every property is present (``None`` when unset) because ``$select`` returns selected
properties with null values. The mix: guests (``userType`` Guest, ``#EXT#`` UPN on the initial domain,
``creationType`` Invitation), members on several verified domains, users without mail, disabled accounts,
on-premises synced users and groups; groups of every kind (Microsoft 365 ``Unified``, security,
mail-enabled security, distribution, dynamic with ``membershipRule``), nested groups and members of every
type, with an all-staff group above 999 members when the tenant is large enough. Devices, service
principals and contacts are minimal here (a later issue adds the devices area in full).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from .tenant import cloud_sid, iso_date_midnight, new_guid

if TYPE_CHECKING:
    from .tenant import Tenant

GIVEN = [
    "Adele", "Alex", "Allan", "Amber", "Ana", "Andre", "Ben", "Bianca", "Brian", "Carla", "Carlos",
    "Chen", "Chloe", "Dan", "Diego", "Elena", "Emily", "Erik", "Fatima", "Grace", "Hannah",
    "Henrik", "Isaac", "Isabel", "Ivan", "Jack", "James", "Jana", "Jun", "Karen", "Kenji", "Laura",
    "Lee", "Lidia", "Lucas", "Lynne", "Maria", "Mark", "Megan", "Miriam", "Mohamed", "Nestor",
    "Nina", "Noah", "Olga", "Omar", "Patti", "Pedro", "Priya", "Raj", "Rosa", "Ryan", "Sakura",
    "Sam", "Sara", "Sofia", "Tariq", "Tom", "Uma", "Victor", "Wei", "Yara", "Yusuf", "Zoe"
]  # fmt: skip
SUR = [
    "Adams", "Ahmed", "Alvarez", "Anderson", "Baker", "Becker", "Brown", "Chen", "Clark", "Cruz",
    "Davis", "Dubois", "Evans", "Fischer", "Garcia", "Gonzalez", "Gupta", "Hall", "Hansen",
    "Harris", "Hernandez", "Ito", "Jackson", "Jensen", "Johnson", "Jones", "Kim", "Kowalski",
    "Kumar", "Larsen", "Lee", "Lewis", "Lopez", "Martin", "Martinez", "Meyer", "Miller", "Moore",
    "Morales", "Muller", "Nakamura", "Nguyen", "Novak", "Olsen", "Patel", "Perez", "Petrov",
    "Quinn", "Ramirez", "Reyes", "Rossi", "Sanchez", "Schmidt", "Silva", "Singh", "Smith", "Suzuki",
    "Tanaka", "Taylor", "Thomas", "Torres", "Wagner", "Walker", "Wang", "Weber", "White",
    "Williams", "Wilson", "Wright", "Young", "Zhang"
]  # fmt: skip
DEPARTMENTS = [
    ("Sales", ["Account Executive", "Sales Manager", "Sales Representative"]),
    ("Marketing", ["Marketing Manager", "Content Strategist", "Brand Specialist"]),
    ("Engineering", ["Software Engineer", "Senior Software Engineer", "Engineering Manager"]),
    ("Finance", ["Accountant", "Financial Analyst", "Controller"]),
    ("Human Resources", ["HR Generalist", "Recruiter", "HR Manager"]),
    ("Operations", ["Operations Analyst", "Logistics Coordinator", "Operations Manager"]),
    ("Legal", ["Counsel", "Paralegal"]),
    ("Support", ["Support Engineer", "Support Lead"]),
    ("IT", ["Systems Administrator", "IT Manager", "Service Desk Analyst"]),
    ("Research", ["Research Scientist", "Lab Technician"]),
]
#: usageLocation, country, [(city, state, postal, street, phone prefix, office)]
LOCATIONS = [
    ("US", "United States", [
        ("Redmond", "WA", "98052", "One Microsoft Way", "+1 425 555 0", "Building 18/1101"),
        ("New York", "NY", "10001", "11 Times Square", "+1 212 555 0", "NYC-7/712"),
        ("Austin", "TX", "78701", "401 Congress Ave", "+1 512 555 0", "AUS-3/304"),
    ]),
    ("GB", "United Kingdom", [("London", None, "EC1A 1BB", "1 Poultry", "+44 20 7946 0", "LON-2/210")]),
    ("DE", "Germany", [("Berlin", None, "10117", "Unter den Linden 17", "+49 30 9018 2", "BER-1/120")]),
    ("IN", "India", [("Bengaluru", "Karnataka", "560001", "MG Road 1", "+91 80 4000 0", "BLR-5/501")]),
]  # fmt: skip
GUEST_DOMAINS = ["gmail.com", "outlook.com", "fabrikam.com", "partner.example.com", "live.com"]
GUEST_ISSUERS = {
    "gmail.com": "mail",
    "outlook.com": "MicrosoftAccount",
    "live.com": "MicrosoftAccount",
}
LANGS = {"US": "en-US", "GB": "en-GB", "DE": "de-DE", "IN": "en-IN"}


def build(tenant: Tenant) -> None:
    """Build users, then the other member types, then groups and memberships."""
    rng = tenant.rng_for("directory")
    _users(tenant, rng)
    _others(tenant, rng)
    _groups(tenant, rng)


def _users(tenant: Tenant, rng: Any) -> None:
    n = tenant.user_count
    random = rng.random

    def randint(a: int, b: int) -> int:  # rng.randint is ~10x slower; this is hot for 100k users
        return a + int(random() * (b - a + 1))

    def choice(seq: Any) -> Any:
        return seq[int(random() * len(seq))]

    anchor_iso = tenant.iso
    initial, default, secondary = (
        tenant.initial_domain,
        tenant.default_domain,
        tenant.secondary_domain,
    )
    onprem = tenant.onprem_domain
    dc = ",".join(f"DC={p}" for p in onprem.split("."))
    domain_sid = f"S-1-5-21-{randint(10**8, 4 * 10**9)}-{randint(10**8, 4 * 10**9)}-{randint(10**8, 4 * 10**9)}"
    seen: dict[str, int] = {}
    users = tenant.users
    ages = tenant.user_ages = []
    register = tenant.register
    company = tenant.company
    year = 365 * 86400
    for i in range(n):
        uid = new_guid(rng)
        given, sur = choice(GIVEN), choice(SUR)
        age = randint(86400, 8 * year) if i else 6 * year
        created = anchor_iso(age)
        guest = i > 0 and random() < 0.06
        dept, titles = choice(DEPARTMENTS)
        usage, country, sites = LOCATIONS[0] if random() < 0.7 else choice(LOCATIONS)
        city, state, postal, street, phone, office = choice(sites)
        enabled = random() > 0.05 if i else True
        synced = not guest and i > 0 and random() < 0.4
        pw_age = randint(3600, min(age, year))
        user: dict[str, Any]
        if guest:
            ext = choice(GUEST_DOMAINS)
            base = f"{given}.{sur}".lower()
            k = seen.get(base + "@" + ext, 0) + 1
            seen[base + "@" + ext] = k
            email = f"{base}{k if k > 1 else ''}@{ext}"
            local = email.replace("@", "_")
            upn = f"{local}#EXT#@{initial}"
            accepted = random() < 0.8
            user = {
                "id": uid,
                "deletedDateTime": None,
                "accountEnabled": enabled,
                "ageGroup": None,
                "businessPhones": [],
                "city": None,
                "companyName": None,
                "country": None,
                "createdDateTime": created,
                "creationType": "Invitation",
                "department": None,
                "displayName": f"{given} {sur} (Guest)" if random() < 0.3 else f"{given} {sur}",
                "employeeHireDate": None,
                "employeeId": None,
                "employeeType": None,
                "externalUserState": "Accepted" if accepted else "PendingAcceptance",
                "externalUserStateChangeDateTime": anchor_iso(age - 3600) if accepted else created,
                "faxNumber": None,
                "givenName": given if random() < 0.5 else None,
                "identities": [
                    {
                        "signInType": "federated" if ext in GUEST_ISSUERS else "userPrincipalName",
                        "issuer": GUEST_ISSUERS.get(
                            ext, "ExternalAzureAD" if ext != "partner.example.com" else initial
                        ),
                        "issuerAssignedId": None if ext in GUEST_ISSUERS else upn,
                    }
                ],
                "imAddresses": [],
                "jobTitle": None,
                "lastPasswordChangeDateTime": created,
                "mail": email,
                "mailNickname": f"{local}#EXT#",
                "mobilePhone": None,
                "officeLocation": None,
                "otherMails": [email],
                "passwordPolicies": None,
                "postalCode": None,
                "preferredLanguage": None,
                "proxyAddresses": [f"SMTP:{email}"],
                "securityIdentifier": cloud_sid(uid),
                "showInAddressList": None,
                "signInSessionsValidFromDateTime": created,
                "state": None,
                "streetAddress": None,
                "surname": sur if random() < 0.5 else None,
                "usageLocation": None,
                "userPrincipalName": upn,
                "userType": "Guest",
            }
        else:
            base = f"{given}.{sur}".lower()
            k = seen.get(base, 0) + 1
            seen[base] = k
            nick = f"{base}{k}" if k > 1 else base
            r = random()
            domain = default if r < 0.85 else secondary if r < 0.95 else initial
            upn = f"{nick}@{domain}"
            has_mail = i == 0 or random() > 0.03
            mail = upn if has_mail else None
            proxies = [f"SMTP:{upn}", f"smtp:{nick}@{initial}"] if has_mail else []
            if has_mail and domain != secondary and random() < 0.2:
                proxies.append(f"smtp:{nick}@{secondary}")
            emp_type = "Employee" if random() < 0.85 else "Contractor"
            hire_age = max(age - randint(0, 30 * 86400), 86400)
            user = {
                "id": uid,
                "deletedDateTime": None,
                "accountEnabled": enabled,
                "ageGroup": None,
                "businessPhones": [f"{phone}{randint(100, 999)}"] if random() < 0.7 else [],
                "city": city,
                "companyName": company,
                "country": country,
                "createdDateTime": created,
                "creationType": None,
                "department": dept,
                "displayName": f"{given} {sur}",
                "employeeHireDate": iso_date_midnight(tenant.anchor - hire_age),
                "employeeId": f"{100000 + i}" if random() < 0.9 else None,
                "employeeType": emp_type,
                "externalUserState": None,
                "externalUserStateChangeDateTime": None,
                "faxNumber": None,
                "givenName": given,
                "identities": [
                    {"signInType": "userPrincipalName", "issuer": initial, "issuerAssignedId": upn}
                ],
                "imAddresses": [upn.lower()] if has_mail else [],
                "jobTitle": choice(titles),
                "lastPasswordChangeDateTime": anchor_iso(pw_age),
                "mail": mail,
                "mailNickname": nick,
                "mobilePhone": f"{phone}{randint(100, 999)}" if random() < 0.5 else None,
                "officeLocation": office,
                "otherMails": [],
                "passwordPolicies": "DisablePasswordExpiration"
                if synced or random() < 0.1
                else None,
                "postalCode": postal,
                "preferredLanguage": LANGS[usage],
                "proxyAddresses": proxies,
                "securityIdentifier": cloud_sid(uid),
                "showInAddressList": None,
                "signInSessionsValidFromDateTime": anchor_iso(pw_age),
                "state": state,
                "streetAddress": street,
                "surname": sur,
                "usageLocation": usage,
                "userPrincipalName": upn,
                "userType": "Member",
            }
        if synced:
            sam = user["mailNickname"][:20]
            user.update(
                onPremisesDistinguishedName=f"CN={given} {sur},OU={dept},OU=Users,{dc}",
                onPremisesDomainName=onprem,
                onPremisesImmutableId=base64.b64encode(
                    rng.getrandbits(128).to_bytes(16, "little")
                ).decode(),
                onPremisesLastSyncDateTime=anchor_iso(randint(60, 7200)),
                onPremisesSamAccountName=sam,
                onPremisesSecurityIdentifier=f"{domain_sid}-{1100 + i}",
                onPremisesSyncEnabled=True,
                onPremisesUserPrincipalName=user["userPrincipalName"],
            )
        else:
            user.update(
                onPremisesDistinguishedName=None,
                onPremisesDomainName=None,
                onPremisesImmutableId=None,
                onPremisesLastSyncDateTime=None,
                onPremisesSamAccountName=None,
                onPremisesSecurityIdentifier=None,
                onPremisesSyncEnabled=None,
                onPremisesUserPrincipalName=None,
            )
        user["assignedLicenses"] = []
        user["assignedPlans"] = []
        user["licenseAssignmentStates"] = []  # filled by model/breadth.py from the licences
        users.append(user)
        ages.append(age)
        register("user", user)


def _others(tenant: Tenant, rng: Any) -> None:
    """Minimal devices, service principals and organizational contacts (member types of groups)."""
    n = tenant.user_count
    oses = [("Windows", "10.0.22631.3447"), ("Windows", "10.0.19045.4291"), ("iOS", "17.4.1"),
            ("Android", "14.0"), ("MacMDM", "14.4.1")]  # fmt: skip
    for i in range(min(n // 10, 5000) + 3):
        os_name, version = rng.choice(oses)
        did = new_guid(rng)
        device = {
            "id": did,
            "deletedDateTime": None,
            "accountEnabled": rng.random() > 0.03,
            "approximateLastSignInDateTime": tenant.iso(rng.randint(600, 60 * 86400)),
            "deviceId": new_guid(rng),
            "displayName": f"{'DESKTOP' if os_name == 'Windows' else os_name.upper()}-{i:05d}",
            "isCompliant": rng.random() < 0.85,
            "isManaged": True,
            "operatingSystem": os_name,
            "operatingSystemVersion": version,
            "registrationDateTime": tenant.iso(rng.randint(30 * 86400, 3 * 365 * 86400)),
            "trustType": "AzureAd" if os_name == "Windows" else "Workplace",
            "securityIdentifier": cloud_sid(did),
        }
        tenant.devices.append(device)
        tenant.register("device", device)
    for name in [
        "Contoso HR Connector",
        "Payroll Sync",
        "Backup Service",
        "Ticketing Bot",
        "Scanner App",
    ]:
        sid = new_guid(rng)
        sp = {
            "id": sid,
            "deletedDateTime": None,
            "accountEnabled": True,
            "appDisplayName": name,
            "appId": new_guid(rng),
            "appOwnerOrganizationId": tenant.tenant_id,
            "displayName": name,
            "servicePrincipalType": "Application",
            "signInAudience": "AzureADMyOrg",
            "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        }
        tenant.service_principals.append(sp)
        tenant.register("servicePrincipal", sp)
    for _ in range(n // 50 + 3):
        given, sur = rng.choice(GIVEN), rng.choice(SUR)
        ext = rng.choice(GUEST_DOMAINS)
        mail = f"{given}.{sur}@{ext}".lower()
        cid = new_guid(rng)
        contact = {
            "id": cid,
            "deletedDateTime": None,
            "companyName": ext.split(".")[0].title(),
            "department": None,
            "displayName": f"{given} {sur}",
            "givenName": given,
            "jobTitle": None,
            "mail": mail,
            "mailNickname": f"{given}{sur}".lower(),
            "onPremisesLastSyncDateTime": None,
            "onPremisesSyncEnabled": None,
            "proxyAddresses": [f"SMTP:{mail}"],
            "surname": sur,
        }
        tenant.contacts.append(contact)
        tenant.register("orgContact", contact)


def _group(tenant: Tenant, rng: Any, name: str, kind: str, **extra: Any) -> dict[str, Any]:
    gid = new_guid(rng)
    nick = "".join(ch for ch in name if ch.isalnum())[:56] or "group"
    mail_enabled = kind in {"unified", "mailsecurity", "distribution"}
    security = kind in {"security", "mailsecurity", "dynamic"}
    unified = kind == "unified"
    age = rng.randint(86400, 6 * 365 * 86400)
    renewed = tenant.iso(rng.randint(3600, age)) if unified else tenant.iso(age)
    synced = kind in {"security", "distribution"} and rng.random() < 0.3
    group = {
        "id": gid,
        "deletedDateTime": None,
        "classification": rng.choice([None, None, "General", "Confidential"]) if unified else None,
        "createdDateTime": tenant.iso(age),
        "description": f"{name} ({kind.replace('mailsecurity', 'mail-enabled security')} group)",
        "displayName": name,
        "expirationDateTime": tenant.iso(-rng.randint(30, 180) * 86400) if unified and rng.random() < 0.3 else None,
        "groupTypes": ["Unified"] if unified else [],
        "isAssignableToRole": None,
        "mail": f"{nick.lower()}@{tenant.default_domain}" if mail_enabled else None,
        "mailEnabled": mail_enabled,
        "mailNickname": nick if mail_enabled else (nick if rng.random() < 0.5 else new_guid(rng)[:8] + "-" + nick[:10]),
        "membershipRule": None,
        "membershipRuleProcessingState": None,
        "onPremisesDomainName": tenant.onprem_domain if synced else None,
        "onPremisesLastSyncDateTime": tenant.iso(rng.randint(60, 7200)) if synced else None,
        "onPremisesNetBiosName": tenant.onprem_domain.split(".")[0].upper() if synced else None,
        "onPremisesSamAccountName": nick[:20] if synced else None,
        "onPremisesSecurityIdentifier": f"S-1-5-21-3623811015-3361044348-30300820-{rng.randint(1200, 99999)}" if synced else None,
        "onPremisesSyncEnabled": True if synced else None,
        "preferredDataLocation": None,
        "preferredLanguage": None,
        "proxyAddresses": [f"SMTP:{nick.lower()}@{tenant.default_domain}", f"smtp:{nick.lower()}@{tenant.initial_domain}"] if mail_enabled else [],
        "renewedDateTime": renewed,
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": ["Team"] if unified and rng.random() < 0.6 else [],
        "securityEnabled": security,
        "securityIdentifier": cloud_sid(gid),
        "theme": rng.choice([None, None, "Blue", "Teal", "Purple"]) if unified else None,
        "visibility": rng.choice(["Public", "Private"]) if unified else None,
    }  # fmt: skip
    group.update(extra)
    tenant.groups.append(group)
    tenant.register("group", group)
    return group


def _groups(tenant: Tenant, rng: Any) -> None:
    users = tenant.users
    members = [u for u in users if u["userType"] == "Member"]
    enabled_members = [u["id"] for u in members if u["accountEnabled"]]
    guests = [u["id"] for u in users if u["userType"] == "Guest"]
    memberships = tenant.memberships
    ref = tenant.ref

    def add(group: dict, ids: list[str]) -> None:
        memberships[group["id"]] = [ref(i) for i in ids]

    # All staff: a dynamic security group over every enabled member (> 999 members in larger tenants).
    staff = _group(
        tenant, rng, "All Staff", "dynamic",
        groupTypes=["DynamicMembership"],
        membershipRule='(user.accountEnabled -eq true) and (user.userType -eq "Member")',
        membershipRuleProcessingState="On",
    )  # fmt: skip
    add(staff, enabled_members)
    # One dynamic group per department (half of them Microsoft 365 groups).
    for idx, (dept, _) in enumerate(DEPARTMENTS):
        unified = idx % 2 == 0
        group = _group(
            tenant, rng, f"{dept} Team" if unified else f"{dept} (dynamic)", "unified" if unified else "dynamic",
            groupTypes=["Unified", "DynamicMembership"] if unified else ["DynamicMembership"],
            membershipRule=f'(user.department -eq "{dept}")',
            membershipRuleProcessingState="On" if idx != 9 else "Paused",
        )  # fmt: skip
        add(group, [u["id"] for u in members if u["department"] == dept])
    # Assigned groups of every kind.
    kinds = ["security", "unified", "mailsecurity", "distribution", "security", "unified"]
    count = max(12, len(users) // 20)
    device_ids = [d["id"] for d in tenant.devices]
    contact_ids = [c["id"] for c in tenant.contacts]
    created: list[dict] = []
    user_ids = [u["id"] for u in users]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        label = {
            "security": "SG",
            "unified": "Project",
            "mailsecurity": "MESG",
            "distribution": "DL",
        }[kind]
        group = _group(tenant, rng, f"{label} {rng.choice(GIVEN)} {i:04d}", kind)
        ids = rng.sample(user_ids, min(len(user_ids), rng.randint(0, 40)))
        if kind == "unified" and guests and rng.random() < 0.5:
            ids += rng.sample(guests, min(len(guests), rng.randint(1, 3)))
        if kind == "security" and device_ids and rng.random() < 0.3:
            ids += rng.sample(device_ids, min(len(device_ids), rng.randint(1, 5)))
        if kind == "distribution" and contact_ids and rng.random() < 0.6:
            ids += rng.sample(contact_ids, min(len(contact_ids), rng.randint(1, 3)))
        if kind in {"security", "mailsecurity", "distribution"} and created and rng.random() < 0.25:
            # nesting: unified groups cannot contain groups
            nested = [
                g["id"]
                for g in rng.sample(created, min(len(created), 2))
                if g["groupTypes"] != ["Unified"]
            ]
            ids += nested
        add(group, list(dict.fromkeys(ids)))
        created.append(group)
    # Named groups that make every member type and role-assignable groups appear.
    admins = _group(tenant, rng, "Helpdesk Admins", "security", isAssignableToRole=True)
    add(admins, [u["id"] for u in members[:3]] + [tenant.service_principals[0]["id"]])
    apps = _group(tenant, rng, "App Identities", "security")
    add(apps, [sp["id"] for sp in tenant.service_principals] + device_ids[:2])
    mixed = _group(tenant, rng, "Partners and Vendors", "distribution")
    add(mixed, contact_ids[:3] + guests[:3] + [staff["id"]])
    empty = _group(tenant, rng, "Archived Project", "unified")
    add(empty, [])
