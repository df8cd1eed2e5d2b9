"""Subscribed SKUs and users' licences (``subscribedSku``, ``assignedLicense``, ``assignedPlan``; graph.md 1a).

Part numbers, SKU ids and service-plan ids follow Microsoft's published licensing reference. A SKU's
``id`` is ``{tenantId}_{skuId}``; ``consumedUnits`` counts users holding the SKU (disabled accounts
included) and ``prepaidUnits.enabled`` is at least that. ``assignedLicenses[].disabledPlans`` lists plans
switched off; ``assignedPlans`` lists the enabled plans with their service name. ``premium=False`` drops
the SKUs that carry Entra ID P1/P2 (EMS, SPE_E5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .tenant import new_guid

if TYPE_CHECKING:
    from .tenant import Tenant

#: servicePlanName -> (servicePlanId, service)
PLANS: dict[str, tuple[str, str]] = {
    "EXCHANGE_S_ENTERPRISE": ("efb87545-963c-4e0d-99df-69c6916d9eb0", "exchange"),
    "SHAREPOINTENTERPRISE": ("5dbe027f-2339-4123-9542-606e4d348a72", "SharePoint"),
    "SHAREPOINTWAC": ("e95bec33-7c88-4a70-8e19-b10bd9d0c014", "SharePoint"),
    "MCOSTANDARD": ("0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "MicrosoftCommunicationsOnline"),
    "TEAMS1": ("57ff2da0-773e-42df-b2af-ffb7a2317929", "TeamspaceAPI"),
    "OFFICESUBSCRIPTION": ("43de0ff5-c92c-492b-9116-175376d08c38", "MicrosoftOffice"),
    "SWAY": ("a23b959c-7ce8-4e57-9140-b90eb88a9e97", "Sway"),
    "YAMMER_ENTERPRISE": ("7547a3fe-08ee-4ccb-b430-5077c5041653", "YammerEnterprise"),
    "FORMS_PLAN_E3": ("2789c901-c14e-48ab-a76a-be334d9d793a", "MicrosoftForms"),
    "FORMS_PLAN_E5": ("e212cbc7-0961-4c40-9825-01117710dcb1", "MicrosoftForms"),
    "FLOW_O365_P2": ("76846ad7-7776-4c40-a281-a386362dd1b9", "ProcessSimple"),
    "FLOW_O365_P3": ("07699545-9485-468e-95b6-2fca3738be01", "ProcessSimple"),
    "POWERAPPS_O365_P2": ("c68f8d98-5534-41c8-bf36-22fa496fa792", "PowerAppsService"),
    "POWERAPPS_O365_P3": ("9c0dab89-a30c-4117-86e7-97bda240acd2", "PowerAppsService"),
    "PROJECTWORKMANAGEMENT": ("b737dad2-2f6c-4c65-90e3-ca563267e8b9", "ProjectWorkManagement"),
    "STREAM_O365_E3": ("9e700747-8b1d-45e5-ab8d-ef187ceec156", "MicrosoftStream"),
    "STREAM_O365_E5": ("6c6042f5-6f01-4d67-b8c1-eb99d36eed3e", "MicrosoftStream"),
    "BPOS_S_TODO_2": ("c87f142c-d1e9-4363-8630-aaea9c4d9ae5", "To-Do"),
    "BPOS_S_TODO_3": ("3fb82609-8c27-4f7b-bd51-30634711ee67", "To-Do"),
    "MCOEV": ("4828c8ec-dc2e-4779-b502-87ac9ce28ab7", "MicrosoftCommunicationsOnline"),
    "MCOMEETADV": ("3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40", "MicrosoftCommunicationsOnline"),
    "BI_AZURE_P0": ("2049e525-b859-401b-b2a0-e0a31c4b1fe4", "PowerBI"),
    "BI_AZURE_P2": ("70d33638-9c74-4d01-bfd3-562de28bd4ba", "PowerBI"),
    "FLOW_P2_VIRAL": ("50e68c76-46c6-4674-81f9-75456511b170", "ProcessSimple"),
    "EXCHANGE_S_FOUNDATION": ("113feb6c-3fe4-4440-bddc-54d774bf0318", "exchange"),
    "AAD_PREMIUM": ("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AADPremiumService"),
    "AAD_PREMIUM_P2": ("eec0eb4f-6444-4f95-aba0-50c24d67f998", "AADPremiumService"),
    "MFA_PREMIUM": ("8a256a2b-b617-496d-b51b-e76466e88db0", "MultiFactorService"),
    "INTUNE_A": ("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "SCO"),
    "RMS_S_ENTERPRISE": ("bea4c11e-220a-4e6d-8eb8-8ea15d019f90", "RMSOnline"),
    "RMS_S_PREMIUM": ("6c57d4b6-3b23-47a5-9bc9-69f17b4947b3", "RMSOnline"),
    "RMS_S_PREMIUM2": ("5689bec4-755d-4753-8b61-40975025187c", "RMSOnline"),
    "ADALLOM_S_DISCOVERY": ("932ad362-64a8-4783-9106-97849a1a30b9", "Adallom"),
    "ADALLOM_S_STANDALONE": ("2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2", "Adallom"),
    "ATP_ENTERPRISE": ("f20fedf3-f3c3-43c3-8267-2bfdd51c0939", "Exchange"),
    "THREAT_INTELLIGENCE": ("8e0c0a52-6a6c-4d40-8370-dd62790dcd70", "Exchange"),
    "WINDEFATP": ("871d91ec-ec1a-452b-a83f-bd76c7d770ef", "WindowsDefenderATP"),
    "VISIO_CLIENT_SUBSCRIPTION": ("663a804f-1c30-4ff0-9915-9db84f0d1cea", "Visio"),
    "VISIOONLINE": ("2bdbaf8f-738f-4ac7-9234-3c3ee2ce7d0f", "SharePoint"),
}

_E3 = [
    "EXCHANGE_S_ENTERPRISE", "SHAREPOINTENTERPRISE", "SHAREPOINTWAC", "MCOSTANDARD", "TEAMS1",
    "OFFICESUBSCRIPTION", "SWAY", "YAMMER_ENTERPRISE", "FORMS_PLAN_E3", "FLOW_O365_P2",
    "POWERAPPS_O365_P2", "PROJECTWORKMANAGEMENT", "STREAM_O365_E3", "BPOS_S_TODO_2",
    "RMS_S_ENTERPRISE",
]  # fmt: skip
_E5 = [
    "EXCHANGE_S_ENTERPRISE", "SHAREPOINTENTERPRISE", "SHAREPOINTWAC", "MCOSTANDARD", "TEAMS1",
    "OFFICESUBSCRIPTION", "SWAY", "YAMMER_ENTERPRISE", "FORMS_PLAN_E5", "FLOW_O365_P3",
    "POWERAPPS_O365_P3", "PROJECTWORKMANAGEMENT", "STREAM_O365_E5", "BPOS_S_TODO_3", "MCOEV",
    "MCOMEETADV", "BI_AZURE_P2", "AAD_PREMIUM", "AAD_PREMIUM_P2", "MFA_PREMIUM", "INTUNE_A",
    "RMS_S_ENTERPRISE", "RMS_S_PREMIUM", "RMS_S_PREMIUM2", "ADALLOM_S_STANDALONE",
    "ATP_ENTERPRISE", "THREAT_INTELLIGENCE", "WINDEFATP",
]  # fmt: skip
_EMS = [
    "AAD_PREMIUM",
    "MFA_PREMIUM",
    "INTUNE_A",
    "RMS_S_PREMIUM",
    "ADALLOM_S_DISCOVERY",
    "EXCHANGE_S_FOUNDATION",
]

#: skuPartNumber -> (skuId, service plan names, premium-only)
SKUS: dict[str, tuple[str, list[str], bool]] = {
    "ENTERPRISEPACK": ("6fd2c87f-b296-42f0-b197-1e91e994b900", _E3, False),
    "SPE_E5": ("06ebc4ee-1bb5-47dd-8120-11324bc54e06", _E5, True),
    "EMS": ("efccb6f7-5641-4e0e-bd10-b4976e1bf68e", _EMS, True),
    "POWER_BI_STANDARD": ("a403ebcc-fae0-4ca2-8c8c-7a907fd6c235", ["BI_AZURE_P0", "EXCHANGE_S_FOUNDATION"], False),
    "FLOW_FREE": ("f30db892-07e9-47e9-837c-80727f46fd3d", ["FLOW_P2_VIRAL", "EXCHANGE_S_FOUNDATION"], False),
    "VISIOCLIENT": ("c5928f49-12ba-48f7-ada3-0d743a3601d5", ["VISIO_CLIENT_SUBSCRIPTION", "VISIOONLINE", "EXCHANGE_S_FOUNDATION"], False),
}  # fmt: skip

#: Plans users commonly have switched off in an E3/E5 assignment.
_DISABLE_CHOICES = [["YAMMER_ENTERPRISE"], ["SWAY", "YAMMER_ENTERPRISE"], ["MCOSTANDARD"]]
_WAVES = 36  # licence assignment dates: one per month going back three years


def build(tenant: Tenant) -> None:
    """Create ``tenant.skus`` and assign licences to users (shared lists per combination for speed)."""
    rng = tenant.rng_for("licensing")
    present = [p for p, (_, _, premium) in SKUS.items() if tenant.premium or not premium]
    tenant.skus = []
    for part in present:
        sku_id, plan_names, _ = SKUS[part]
        tenant.skus.append(
            {
                "accountId": tenant.tenant_id,
                "accountName": tenant.company,
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": 0,
                "id": f"{tenant.tenant_id}_{sku_id}",
                "prepaidUnits": {"enabled": 0, "suspended": 0, "warning": 0, "lockedOut": 0},
                "servicePlans": [
                    {
                        "servicePlanId": PLANS[name][0],
                        "servicePlanName": name,
                        "provisioningStatus": "Success",
                        "appliesTo": "User" if name != "EXCHANGE_S_FOUNDATION" else "Company",
                    }
                    for name in plan_names
                ],
                "skuId": sku_id,
                "skuPartNumber": part,
                "subscriptionIds": [new_guid(rng)],
            }
        )
    by_part = {s["skuPartNumber"]: s for s in tenant.skus}
    consumed = dict.fromkeys(by_part, 0)
    cache: dict[tuple, tuple[list, list]] = {}
    premium = tenant.premium
    random = rng.random
    for user, age in zip(tenant.users, tenant.user_ages, strict=True):
        if user["userType"] == "Guest" or user["mail"] is None:
            continue
        r = random()
        parts: list[tuple[str, tuple[str, ...]]] = []
        if r < 0.12 and premium:
            parts.append(("SPE_E5", ()))
        elif r < 0.85:
            disabled = tuple(rng.choice(_DISABLE_CHOICES)) if random() < 0.15 else ()
            parts.append(("ENTERPRISEPACK", disabled))
            if premium and random() < 0.5:
                parts.append(("EMS", ()))
        if random() < 0.25:
            parts.append(("POWER_BI_STANDARD", ()))
        if random() < 0.10:
            parts.append(("FLOW_FREE", ()))
        if r > 0.995:
            parts.append(("VISIOCLIENT", ()))
        if not parts:
            continue
        if not user["accountEnabled"] and random() < 0.5:
            continue  # leavers whose licences were already removed
        wave = min(_WAVES - 1, int(age // (30 * 86400)))
        key = (tuple(parts), wave)
        found = cache.get(key)
        if found is None:
            when = tenant.iso(wave * 30 * 86400 + 3600 * 9)
            licenses: list[dict[str, Any]] = []
            plans: list[dict[str, str]] = []
            for part, disabled in parts:
                sku_id, names, _ = SKUS[part]
                licenses.append({"disabledPlans": [PLANS[n][0] for n in disabled], "skuId": sku_id})
                plans.extend(
                    {
                        "assignedDateTime": when,
                        "capabilityStatus": "Enabled",
                        "service": PLANS[n][1],
                        "servicePlanId": PLANS[n][0],
                    }
                    for n in names
                    if n not in disabled
                )
            found = cache[key] = (licenses, plans)
        user["assignedLicenses"], user["assignedPlans"] = found
        for part, _ in parts:
            consumed[part] += 1
    for part, sku in by_part.items():
        used = consumed[part]
        sku["consumedUnits"] = used
        if part == "FLOW_FREE":
            enabled = 10000
        elif part == "POWER_BI_STANDARD":
            enabled = 1000000
        else:
            enabled = max(5, used + max(1, used // 10) + rng.randint(0, 5))
        sku["prepaidUnits"]["enabled"] = enabled


def finalize(tenant: Tenant) -> None:
    """The organization's assigned/provisioned plans come from its SKUs."""
    seen: dict[str, dict[str, Any]] = {}
    when = tenant.organization["createdDateTime"]
    for sku in tenant.skus:
        for plan in sku["servicePlans"]:
            plan_id = plan["servicePlanId"]
            if plan_id not in seen:
                seen[plan_id] = {
                    "assignedDateTime": when,
                    "capabilityStatus": "Enabled",
                    "service": PLANS[plan["servicePlanName"]][1],
                    "servicePlanId": plan_id,
                }
    tenant.organization["assignedPlans"] = list(seen.values())
    services = sorted({p["service"] for p in seen.values()})
    tenant.organization["provisionedPlans"] = [
        {"capabilityStatus": "Enabled", "provisioningStatus": "Success", "service": s}
        for s in services
    ]
