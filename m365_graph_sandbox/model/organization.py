"""The organization and its domains (Graph v1.0 ``organization`` and ``domain`` resources, graph.md 1a).

``verifiedDomains`` lists only verified domains (the default one first here); ``/domains`` also lists an
unverified one. Every tenant has exactly one initial ``*.onmicrosoft.com`` domain (``isInitial``) and one
default (``isDefault``). ``assignedPlans``/``provisionedPlans`` are filled by the licensing area.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tenant import Tenant

COMPANIES = [
    ("Contoso", "contoso"),
    ("Fabrikam", "fabrikam"),
    ("Northwind Traders", "northwindtraders"),
    ("Tailspin Toys", "tailspintoys"),
    ("Woodgrove Bank", "woodgrovebank"),
    ("Adventure Works", "adventureworks"),
    ("Litware", "litware"),
    ("Proseware", "proseware"),
    ("Wingtip Toys", "wingtiptoys"),
    ("Alpine Ski House", "alpineskihouse"),
]

HQ = {
    "US": ("United States", "Redmond", "WA", "98052", "One Microsoft Way", "+1 425 555 0100"),
    "GB": ("United Kingdom", "London", None, "EC1A 1BB", "1 Poultry", "+44 20 7946 0000"),
    "DE": ("Germany", "Berlin", None, "10117", "Unter den Linden 17", "+49 30 901820"),
}


def company_slug(name: str) -> str:
    """The domain label of a company name: its letters and digits, lower case (``Contoso`` → ``contoso``)."""
    return "".join(c for c in name.lower() if c.isascii() and c.isalnum()) or "tenant"


def default_company(seed: int) -> str:
    """The company name a tenant built from ``seed`` draws (the first draw of its organization RNG)."""
    return random.Random(f"{seed}:organization").choice(COMPANIES)[0]


def _domain(name: str, *, default: bool, initial: bool, verified: bool, federated: bool) -> dict:
    services = ["Email", "OfficeCommunicationsOnline"] if verified else []
    if initial:
        services = ["Email", "OfficeCommunicationsOnline", "Intune"]
    return {
        "id": name,
        "authenticationType": "Federated" if federated else "Managed",
        "availabilityStatus": None,
        "isAdminManaged": True,
        "isDefault": default,
        "isInitial": initial,
        "isRoot": True,
        "isVerified": verified,
        "supportedServices": services,
        "passwordNotificationWindowInDays": 14 if verified and not federated else None,
        "passwordValidityPeriodInDays": 2147483647 if verified and not federated else None,
        "state": None,
    }


def build(tenant: Tenant) -> None:
    """Create ``tenant.organization`` and ``tenant.domains``; set the domain names users draw from."""
    rng = tenant.rng_for("organization")
    name, slug = rng.choice(COMPANIES)
    if tenant.company_name:  # drawn anyway, so the rest of the area's draws stay the same
        name, slug = tenant.company_name, company_slug(tenant.company_name)
    country = "US"
    tenant.company = name
    tenant.default_domain = f"{slug}.com"
    tenant.secondary_domain = f"{slug}.co.uk"
    tenant.initial_domain = f"{slug}{rng.randint(10, 9999)}.onmicrosoft.com"
    tenant.onprem_domain = f"corp.{slug}.com"
    tenant.domains = [
        _domain(tenant.default_domain, default=True, initial=False, verified=True, federated=False),
        _domain(
            tenant.secondary_domain, default=False, initial=False, verified=True, federated=False
        ),
        _domain(tenant.onprem_domain, default=False, initial=False, verified=True, federated=True),
        _domain(tenant.initial_domain, default=False, initial=True, verified=True, federated=False),
        _domain(f"{slug}-labs.com", default=False, initial=False, verified=False, federated=False),
    ]
    verified = [
        {
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": d["isDefault"],
            "isInitial": d["isInitial"],
            "name": d["id"],
            "type": d["authenticationType"],
        }
        for d in tenant.domains
        if d["isVerified"]
    ]
    country_name, city, state, postal, street, phone = HQ[country]
    tenant.organization = {
        "id": tenant.tenant_id,
        "deletedDateTime": None,
        "businessPhones": [phone],
        "city": city,
        "country": country_name,
        "countryLetterCode": country,
        "createdDateTime": tenant.iso(rng.randint(4, 9) * 365 * 86400),
        "defaultUsageLocation": country,
        "displayName": name,
        "marketingNotificationEmails": [],
        "onPremisesLastSyncDateTime": tenant.iso(rng.randint(60, 1800)),
        "onPremisesSyncEnabled": True,
        "partnerTenantType": None,
        "postalCode": postal,
        "preferredLanguage": "en",
        "securityComplianceNotificationMails": [],
        "securityComplianceNotificationPhones": [],
        "state": state,
        "street": street,
        "technicalNotificationMails": [f"it@{tenant.default_domain}"],
        "tenantType": "AAD",
        "directorySizeQuota": {"used": 0, "total": 300000},
        "assignedPlans": [],
        "privacyProfile": None,
        "provisionedPlans": [],
        "verifiedDomains": verified,
    }


def finalize(tenant: Tenant) -> None:
    """``directorySizeQuota.used`` counts directory objects."""
    tenant.organization["directorySizeQuota"]["used"] = len(tenant.objects)
