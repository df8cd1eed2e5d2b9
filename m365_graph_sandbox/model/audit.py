"""Activity logs: sign-ins, directory audits and provisioning events (graph.md 1, 1a, 4).

Events are spread over the 30 days before the sandbox was built (real clock: Graph checks filters against
its own "now" and the tenant's retention, graph.md 4). Only each event's timestamp (in 100 ns ticks, as
Graph's 7-digit fractions) and a serial number are stored, sorted by time; the record itself is rendered
from the serial on demand, so a million sign-ins take a few megabytes. Ids and contents are deterministic
from (seed, serial); timestamps are relative to the build time.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from array import array
from typing import Any

TICKS = 10_000_000  # 100 ns ticks per second
DAY = 86_400
DEFAULT_SIGN_INS_PER_DAY = 40
DEFAULT_AUDITS_PER_DAY = 20
DEFAULT_PROVISIONING_PER_DAY = 5
SPAN_DAYS = 30


def iso_ticks(ticks: int) -> str:
    """``2025-06-01T10:00:00.1234567Z``: Graph's activity-log date-time format."""
    seconds, frac = divmod(ticks, TICKS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:07d}Z"


def _guid(seed: int, kind: int, serial: int) -> str:
    n = (serial * 0x9E3779B97F4A7C15 + seed * 0xBF58476D1CE4E5B9 + kind * 0x94D049BB133111EB) & (
        (1 << 128) - 1
    )
    n ^= n >> 61
    n = (n * 0xD6E8FEB86659FD93C5A2E1D3B4F6A7C9) & ((1 << 128) - 1)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


class EventLog:
    """One log: sorted ``ticks`` with their ``serials``; thread-safe appends."""

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.ticks = array("q")
        self.serials = array("q")
        self.next_serial = 0
        self.lock = threading.Lock()

    def fill(self, rng: random.Random, count: int, start: float, end: float) -> None:
        """``count`` events uniformly between ``start`` and ``end`` (epoch seconds)."""
        lo, span = int(start * TICKS), int((end - start) * TICKS)
        stamps = sorted(lo + int(rng.random() * span) for _ in range(count))
        for i in range(1, count):  # unique ticks: the listing's page cursor is a tick
            if stamps[i] <= stamps[i - 1]:
                stamps[i] = stamps[i - 1] + 1
        with self.lock:
            self.ticks = array("q", stamps)
            self.serials = array("q", range(count))
            self.next_serial = count

    def add(self, at: float, count: int = 1) -> list[int]:
        """Insert ``count`` events at epoch second ``at`` (late events too); returns their serials."""
        added = []
        with self.lock:
            for i in range(count):
                tick = int(at * TICKS) + i
                pos = bisect.bisect_right(self.ticks, tick)
                while pos and self.ticks[pos - 1] == tick:
                    tick += 1
                    pos = bisect.bisect_right(self.ticks, tick)
                self.ticks.insert(pos, tick)
                self.serials.insert(pos, self.next_serial)
                added.append(self.next_serial)
                self.next_serial += 1
        return added

    def span(self, lo: int | None, hi: int | None) -> tuple[int, int]:
        """Index range of events with ``lo <= ticks < hi`` (None: open)."""
        start = 0 if lo is None else bisect.bisect_left(self.ticks, lo)
        end = len(self.ticks) if hi is None else bisect.bisect_left(self.ticks, hi)
        return start, max(start, end)

    def __len__(self) -> int:
        return len(self.ticks)


APPS = [
    ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"),
    ("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"),
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"),
    ("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal"),
    ("4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"),
    ("38aa3b87-a06d-4817-b275-7a316988d93b", "Microsoft Account Controls V2"),
]
LOCATIONS = [
    ("Redmond", "Washington", "US", 47.67, -122.12),
    ("Amsterdam", "Noord-Holland", "NL", 52.37, 4.89),
    ("Paris", "Paris", "FR", 48.86, 2.35),
    ("Singapore", "Singapore", "SG", 1.29, 103.85),
    ("Sao Paulo", "Sao Paulo", "BR", -23.55, -46.63),
]
DEVICES = [
    ("Windows 10", "Edge 120.0.0", True, True, "Azure AD joined"),
    ("MacOs", "Safari 17.1", False, False, None),
    ("Ios 17", "Mobile Safari 17.0", False, True, "Azure AD registered"),
    ("Android", "Chrome Mobile 119.0", False, False, None),
]
FAILURES = [
    (0, None, "MFA requirement satisfied by claim in the token"),
    (50126, "Error validating credentials due to invalid username or password.", None),
    (50074, "Strong Authentication is required.", None),
    (53003, "Access has been blocked by Conditional Access policies.", None),
]
AUDIT_ACTIVITIES = [
    ("Add user", "UserManagement", "Add", "User"),
    ("Update user", "UserManagement", "Update", "User"),
    ("Add member to group", "GroupManagement", "Assign", "Group"),
    ("Reset password (by admin)", "UserManagement", "Update", "User"),
    ("Consent to application", "ApplicationManagement", "Assign", "ServicePrincipal"),
]


class AuditLogs:
    """The tenant's three activity logs and the pools their records draw from."""

    def __init__(self, tenant: Any) -> None:
        self.tenant = tenant
        self.seed = tenant.seed
        self.built_at = time.time()
        self.sign_ins = EventLog(1)
        self.directory_audits = EventLog(2)
        self.provisioning = EventLog(3)
        users = tenant.users
        self.people = [
            (u["id"], u["userPrincipalName"], u["displayName"])
            for u in users[: min(len(users), 5000)]
        ]
        self.policies = [
            (_guid(self.seed, 9, i), name)
            for i, name in enumerate(
                ("Require MFA for admins", "Block legacy auth", "Compliant device")
            )
        ]

    def generate(
        self,
        sign_ins_per_day: int = DEFAULT_SIGN_INS_PER_DAY,
        audits_per_day: int = DEFAULT_AUDITS_PER_DAY,
        provisioning_per_day: int = DEFAULT_PROVISIONING_PER_DAY,
    ) -> None:
        """(Re)draw every log over the last 30 days (minus an hour, so retention edges stay clear)."""
        self.built_at = now = time.time()
        start, end = now - SPAN_DAYS * DAY + 3600, now - 60
        for log, per_day, area in (
            (self.sign_ins, sign_ins_per_day, "signins"),
            (self.directory_audits, audits_per_day, "audits"),
            (self.provisioning, provisioning_per_day, "provisioning"),
        ):
            log.fill(self.tenant.rng_for(area), int(per_day * SPAN_DAYS), start, end)

    # -- rendering ---------------------------------------------------------------------------------

    def sign_in(self, serial: int, ticks: int) -> dict[str, Any]:
        """A v1.0 signIn (graph.md 1a: every property)."""
        s = serial
        uid, upn, name = self.people[(s * 7919) % len(self.people)]
        app_id, app_name = APPS[s % len(APPS)]
        city, state, country, lat, lon = LOCATIONS[(s // 3) % len(LOCATIONS)]
        os_, browser, compliant, managed, trust = DEVICES[(s // 5) % len(DEVICES)]
        code, reason, details = FAILURES[0 if s % 11 else (s // 11) % len(FAILURES)]
        policy_id, policy_name = self.policies[s % len(self.policies)]
        risky = s % 97 == 0
        return {
            "id": _guid(self.seed, 1, s),
            "createdDateTime": iso_ticks(ticks),
            "userDisplayName": name,
            "userPrincipalName": upn,
            "userId": uid,
            "appId": app_id,
            "appDisplayName": app_name,
            "ipAddress": f"203.0.{(s >> 8) & 255}.{s & 255}",
            "clientAppUsed": "Browser" if s % 4 else "Mobile Apps and Desktop clients",
            "correlationId": _guid(self.seed, 11, s),
            "conditionalAccessStatus": "success" if code == 0 else "failure",
            "isInteractive": True,
            "riskDetail": "none",
            "riskLevelAggregated": "medium" if risky else "none",
            "riskLevelDuringSignIn": "medium" if risky else "none",
            "riskState": "atRisk" if risky else "none",
            "riskEventTypes": ["unfamiliarFeatures"] if risky else [],
            "riskEventTypes_v2": ["unfamiliarFeatures"] if risky else [],
            "resourceDisplayName": app_name,
            "resourceId": app_id,
            "resourceTenantId": self.tenant.tenant_id,
            "homeTenantId": self.tenant.tenant_id,
            "servicePrincipalId": "",
            "servicePrincipalName": "",
            "userAgent": f"Mozilla/5.0 ({os_}) {browser}",
            "status": {
                "errorCode": code,
                "failureReason": reason or "Other.",
                "additionalDetails": details,
            },
            "deviceDetail": {
                "deviceId": "" if trust is None else _guid(self.seed, 12, s % 500),
                "displayName": "" if trust is None else f"PC-{s % 500:04d}",
                "operatingSystem": os_,
                "browser": browser,
                "isCompliant": compliant,
                "isManaged": managed,
                "trustType": trust or "",
            },
            "location": {
                "city": city,
                "state": state,
                "countryOrRegion": country,
                "geoCoordinates": {"altitude": None, "latitude": lat, "longitude": lon},
            },
            "appliedConditionalAccessPolicies": [
                {
                    "id": policy_id,
                    "displayName": policy_name,
                    "enforcedGrantControls": ["Mfa"],
                    "enforcedSessionControls": [],
                    "result": "success" if code == 0 else "failure",
                }
            ],
            "authenticationAppDeviceDetails": None,
        }

    def directory_audit(self, serial: int, ticks: int) -> dict[str, Any]:
        """A v1.0 directoryAudit (graph.md 1a)."""
        s = serial
        activity, category, operation, target_type = AUDIT_ACTIVITIES[s % len(AUDIT_ACTIVITIES)]
        uid, upn, _name = self.people[(s * 31) % len(self.people)]
        tid, tupn, tname = self.people[(s * 17 + 3) % len(self.people)]
        return {
            "id": f"Directory_{_guid(self.seed, 2, s)[:8].upper()}_{s}",
            "category": category,
            "correlationId": _guid(self.seed, 21, s),
            "result": "success" if s % 13 else "failure",
            "resultReason": ""
            if s % 13
            else "Microsoft.Online.Workflows.ObjectAlreadyExistsException",
            "activityDisplayName": activity,
            "activityDateTime": iso_ticks(ticks),
            "loggedByService": "Core Directory",
            "operationType": operation,
            "initiatedBy": {
                "app": None,
                "user": {
                    "id": uid,
                    "displayName": None,
                    "userPrincipalName": upn,
                    "ipAddress": f"198.51.100.{s & 255}",
                    "userType": None,
                    "homeTenantId": None,
                    "homeTenantName": None,
                },
            },
            "targetResources": [
                {
                    "id": tid,
                    "displayName": tname,
                    "type": target_type,
                    "userPrincipalName": tupn,
                    "groupType": None,
                    "modifiedProperties": [
                        {
                            "displayName": "AccountEnabled",
                            "oldValue": "[false]",
                            "newValue": "[true]",
                        }
                    ],
                }
            ],
            "additionalDetails": [{"key": "UserType", "value": "Member"}],
        }

    def provisioning_event(self, serial: int, ticks: int) -> dict[str, Any]:
        """A v1.0 provisioningObjectSummary (graph.md 1a)."""
        s = serial
        uid, upn, name = self.people[(s * 13) % len(self.people)]
        failed = s % 9 == 0
        return {
            "id": _guid(self.seed, 3, s),
            "activityDateTime": iso_ticks(ticks),
            "tenantId": self.tenant.tenant_id,
            "jobId": f"scim.{_guid(self.seed, 31, 0)[:8]}.{self.tenant.tenant_id}",
            "cycleId": _guid(self.seed, 32, s // 50),
            "changeId": _guid(self.seed, 33, s),
            "provisioningAction": ("create", "update", "disable", "delete")[s % 4],
            "durationInMilliseconds": 200 + s % 3000,
            "provisioningStatusInfo": {
                "status": "failure" if failed else "success",
                "errorInformation": {
                    "errorCode": "SystemForCrossDomainIdentityManagementBadResponse",
                    "reason": "The SCIM endpoint answered 400.",
                    "additionalDetails": None,
                    "errorCategory": "NonServiceFailure",
                    "recommendedAction": None,
                }
                if failed
                else None,
            },
            "provisioningSteps": [
                {
                    "name": "EntryImport",
                    "provisioningStepType": "import",
                    "status": "success",
                    "description": f"Retrieved {upn} from Microsoft Entra ID",
                }
            ],
            "modifiedProperties": [
                {"displayName": "displayName", "oldValue": None, "newValue": name}
            ],
            "servicePrincipal": {"id": _guid(self.seed, 34, 0), "displayName": "Contoso SCIM app"},
            "sourceSystem": {
                "id": _guid(self.seed, 35, 0),
                "displayName": "Azure Active Directory",
            },
            "targetSystem": {"id": _guid(self.seed, 36, 0), "displayName": "Contoso SCIM app"},
            "initiatedBy": {
                "id": "",
                "displayName": "Azure AD Provisioning Service",
                "initiatorType": "system",
            },
            "sourceIdentity": {"id": uid, "displayName": name, "identityType": "User"},
            "targetIdentity": {
                "id": f"scim-{s}",
                "displayName": name,
                "identityType": "urn:ietf:params:scim:schemas:core:2.0:User",
            },
        }


def sign_in_activity(rng: random.Random, now: float) -> dict[str, Any] | None:
    """``signInActivity`` of one user (graph.md 1a): last interactive, non-interactive, successful."""
    if rng.random() < 0.1:
        return {
            "lastSignInDateTime": None,
            "lastSignInRequestId": None,
            "lastNonInteractiveSignInDateTime": None,
            "lastNonInteractiveSignInRequestId": None,
            "lastSuccessfulSignInDateTime": None,
            "lastSuccessfulSignInRequestId": None,
        }
    last = now - rng.random() * 90 * DAY
    non_interactive = now - rng.random() * 7 * DAY
    success = last - rng.random() * 2 * DAY

    def stamp(t: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

    def rid() -> str:
        return _guid(0, 40, rng.getrandbits(48))

    return {
        "lastSignInDateTime": stamp(last),
        "lastSignInRequestId": rid(),
        "lastNonInteractiveSignInDateTime": stamp(non_interactive),
        "lastNonInteractiveSignInRequestId": rid(),
        "lastSuccessfulSignInDateTime": stamp(success),
        "lastSuccessfulSignInRequestId": rid(),
    }


def build(tenant: Any) -> None:
    """Activity logs and each user's ``signInActivity``.

    Logs are relative to the real clock (Graph checks retention against it); signInActivity is relative
    to the tenant's anchor, like the rest of the directory, so users stay deterministic.
    """
    tenant.audit = AuditLogs(tenant)
    tenant.audit.generate()
    rng = tenant.rng_for("signInActivity")
    for user in tenant.users:  # relative to the model's anchor, so users stay deterministic
        user["signInActivity"] = sign_in_activity(rng, tenant.anchor)
