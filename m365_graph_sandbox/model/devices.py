"""Devices in full: Entra devices and their registered owners, Intune managed devices, detected apps.

Shapes follow the v1.0 ``device``, ``managedDevice`` and ``detectedApp`` resources (graph.md 1a). The
directory area made minimal devices (group members); this area adds every property the tap selects to
each of them (same keys on every device, since ``$select`` returns selected properties even when null),
one or two registered owners per device (some have none), a managed device for most Windows, iOS,
Android and macOS devices (``azureADDeviceId`` = the Entra ``deviceId``) and a catalogue of detected
apps, each knowing the managed devices it was found on (``deviceCount`` = their number).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .tenant import new_guid

if TYPE_CHECKING:
    from .tenant import Tenant

HARDWARE = {
    "Windows": [("Dell Inc.", "Latitude 7440"), ("LENOVO", "ThinkPad T14 Gen 4"), ("HP", "EliteBook 840 G10")],
    "iOS": [("Apple", "iPhone 15"), ("Apple", "iPad Air")],
    "Android": [("samsung", "SM-S918B"), ("Google", "Pixel 8")],
    "MacMDM": [("Apple", "MacBookPro18,3")],
}  # fmt: skip
MANAGED_OS = {"Windows": "Windows", "iOS": "iOS", "Android": "Android", "MacMDM": "macOS"}
APPS = [
    ("Microsoft Edge", "Microsoft Corporation"), ("Google Chrome", "Google LLC"),
    ("Mozilla Firefox", "Mozilla"), ("Zoom Workplace", "Zoom Video Communications, Inc."),
    ("Slack", "Slack Technologies"), ("7-Zip", "Igor Pavlov"), ("Notepad++", "Notepad++ Team"),
    ("Visual Studio Code", "Microsoft Corporation"), ("Adobe Acrobat Reader", "Adobe"),
    ("Microsoft Teams", "Microsoft Corporation"), ("WinRAR", "win.rar GmbH"), ("VLC media player", "VideoLAN"),
]  # fmt: skip


def build(tenant: Tenant) -> None:
    """Enrich devices, add owners, Intune managed devices and detected apps."""
    rng = tenant.rng_for("devices")
    tenant.device_owners = {}
    tenant.managed_devices = []
    tenant.detected_apps = []
    tenant.detected_app_devices = {}
    members = [u for u in tenant.users if u["userType"] == "Member"] or tenant.users
    for device in tenant.devices:
        os_name = device["operatingSystem"]
        maker, model = rng.choice(HARDWARE.get(os_name, HARDWARE["Windows"]))
        company = os_name == "Windows" or rng.random() < 0.5
        device.update(
            {
                "manufacturer": maker,
                "model": model,
                "profileType": "RegisteredDevice",
                "deviceOwnership": "Company" if company else "Personal",
                "enrollmentType": "AzureDomainJoined" if os_name == "Windows" else "UserEnrollment",
                "onPremisesSyncEnabled": None,
                "onPremisesLastSyncDateTime": None,
                "physicalIds": [f"[USER-GID]:{new_guid(rng)}:{rng.getrandbits(40)}"],
                "systemLabels": [],
                "extensionAttributes": {f"extensionAttribute{i}": None for i in range(1, 16)},
            }
        )
        roll = rng.random()
        owners = [] if roll < 0.08 else rng.sample(members, 2 if roll > 0.95 else 1)
        tenant.device_owners[device["id"]] = [tenant.ref(u["id"]) for u in owners]
        if rng.random() < 0.75:
            tenant.managed_devices.append(_managed(tenant, rng, device, owners))
    catalogue = list(APPS) + [
        (f"Line-of-business tool {i:03d}", "Contoso Ltd.") for i in range(tenant.user_count // 200)
    ]
    managed_ids = [m["id"] for m in tenant.managed_devices]
    for name, publisher in catalogue:
        app_id = new_guid(rng).replace("-", "") + "0000"
        share = rng.random()
        found = [mid for mid in managed_ids if rng.random() < share * 0.6]
        app = {
            "id": app_id,
            "displayName": name,
            "version": f"{rng.randint(1, 130)}.{rng.randint(0, 9)}.{rng.randint(0, 9999)}",
            "sizeInByte": rng.randint(2, 900) * 1_048_576,
            "deviceCount": len(found),
            "platform": "windows",
            "publisher": publisher,
        }
        tenant.detected_apps.append(app)
        tenant.detected_app_devices[app_id] = found


def _managed(tenant: Tenant, rng: Any, device: dict, owners: list[dict]) -> dict[str, Any]:
    owner = owners[0] if owners else None
    os_name = device["operatingSystem"]
    total = rng.choice([128, 256, 512]) * 1_000_000_000
    state = rng.choices(["compliant", "noncompliant", "inGracePeriod", "unknown"], [80, 12, 3, 5])[
        0
    ]
    return {
        "id": new_guid(rng),
        "deviceName": device["displayName"],
        "userId": owner["id"] if owner else None,
        "userPrincipalName": owner["userPrincipalName"] if owner else None,
        "userDisplayName": owner["displayName"] if owner else None,
        "emailAddress": owner["mail"] if owner else None,
        "azureADDeviceId": device["deviceId"],
        "azureADRegistered": True,
        "operatingSystem": MANAGED_OS.get(os_name, os_name),
        "osVersion": device["operatingSystemVersion"],
        "complianceState": state,
        "managementAgent": "mdm",
        "managedDeviceOwnerType": "company"
        if device["deviceOwnership"] == "Company"
        else "personal",
        "deviceEnrollmentType": "windowsAzureADJoin" if os_name == "Windows" else "userEnrollment",
        "deviceRegistrationState": "registered",
        "enrolledDateTime": device["registrationDateTime"],
        "lastSyncDateTime": tenant.iso(rng.randint(300, 20 * 86400)),
        "model": device["model"],
        "manufacturer": device["manufacturer"],
        "serialNumber": f"{rng.getrandbits(40):010X}",
        "imei": f"35{rng.randint(10**12, 10**13 - 1)}" if os_name in ("iOS", "Android") else None,
        "isEncrypted": rng.random() < 0.9,
        "jailBroken": "False" if os_name in ("iOS", "Android") else "Unknown",
        "isSupervised": False,
        "freeStorageSpaceInBytes": int(total * rng.uniform(0.05, 0.8)),
        "totalStorageSpaceInBytes": total,
        "wiFiMacAddress": ":".join(f"{rng.getrandbits(8):02x}" for _ in range(6)),
        "complianceGracePeriodExpirationDateTime": "9999-12-31T23:59:59Z",
        "managedDeviceName": f"{owner['mailNickname'] if owner else 'shared'}_{os_name}",
        "partnerReportedThreatState": "unknown",
        "exchangeAccessState": "none",
    }
