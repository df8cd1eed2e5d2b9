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
from collections.abc import Callable
from typing import Any

TICKS = 10_000_000  # 100 ns ticks per second
DAY = 86_400
DEFAULT_SIGN_INS_PER_DAY = 40
DEFAULT_AUDITS_PER_DAY = 20
DEFAULT_PROVISIONING_PER_DAY = 5
SPAN_DAYS = 30
#: Share of users who never signed in (null signInActivity dates) and of inactive users (last sign-in
#: before the 30 days the sign-in log holds, so none of their sign-ins is in it).
NEVER_SIGNED_IN = 0.10
INACTIVE = 0.05


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
        #: called with ``(serials, ticks)`` after ``add`` (AuditLogs keeps users' signInActivity current)
        self.on_add: Callable[[list[int], list[int]], None] | None = None

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
        added: list[int] = []
        stamps: list[int] = []
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
                stamps.append(tick)
                self.next_serial += 1
        if self.on_add is not None:
            self.on_add(added, stamps)
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
    """The tenant's three activity logs and the pools their records draw from.

    Users' ``signInActivity`` follows the sign-in log (``refresh_sign_in_activity``): each user is
    drawn once as never signed in (``NEVER_SIGNED_IN``: null dates, never in the log), inactive
    (``INACTIVE``: last sign-in before the log's 30 days, never in the log) or active (the pool the
    sign-in records name, ``signers``).
    """

    def __init__(self, tenant: Any) -> None:
        self.tenant = tenant
        self.seed = tenant.seed
        fixed = getattr(tenant, "now", None)
        self.built_at = time.time() if fixed is None else fixed
        self.window_start = self.built_at - SPAN_DAYS * DAY
        self.sign_ins = EventLog(1)
        self.directory_audits = EventLog(2)
        self.provisioning = EventLog(3)
        users = tenant.users
        self.people = [
            (u["id"], u["userPrincipalName"], u["displayName"])
            for u in users[: min(len(users), 5000)]
        ]
        # Activity class per user (0 never, 1 inactive, 2 active), in build order; users[0] (the
        # tenant's first admin) always signs in, so the sign-in pool is never empty.
        draw = tenant.rng_for("signInActivity").random
        self.users = list(users)
        self.classes = bytearray(
            0 if r < NEVER_SIGNED_IN else 1 if r < NEVER_SIGNED_IN + INACTIVE else 2
            for r in (draw() for _ in users)
        )
        if users:
            self.classes[0] = 2
        #: the users sign-in records name: (id, userPrincipalName, displayName), active users only
        self.signers = [
            (u["id"], u["userPrincipalName"], u["displayName"])
            for u, c in zip(users, self.classes, strict=True)
            if c == 2
        ] or [("", "", "")]
        #: per signer: ticks of the newest sign-in and of the newest successful one in the log (-1: none)
        self.newest = array("q")
        self.newest_ok = array("q")
        self.sign_ins.on_add = self._note_sign_ins
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
        now: float | None = None,
    ) -> None:
        """(Re)draw every log over the 30 days before ``now``, minus an hour (retention edges).

        ``now`` defaults to ``tenant.now``, else the real clock. Users' ``signInActivity`` is recomputed from the new sign-in log.
        """
        if now is None:
            fixed = getattr(self.tenant, "now", None)
            now = time.time() if fixed is None else fixed
        self.built_at = now
        self.window_start = start = now - SPAN_DAYS * DAY + 3600
        end = now - 60
        for log, per_day, area in (
            (self.sign_ins, sign_ins_per_day, "signins"),
            (self.directory_audits, audits_per_day, "audits"),
            (self.provisioning, provisioning_per_day, "provisioning"),
        ):
            log.fill(self.tenant.rng_for(area), int(per_day * SPAN_DAYS), start, end)
        self.refresh_sign_in_activity()

    # -- users' signInActivity (graph.md 1a) ---------------------------------------------------------

    def signer(self, serial: int) -> int:
        """Index in ``signers`` of the user a sign-in record names."""
        return (serial * 7919) % len(self.signers)

    @staticmethod
    def succeeded(serial: int) -> bool:
        """Whether a sign-in record's ``status.errorCode`` is 0 (see ``sign_in``)."""
        return bool(serial % 11) or (serial // 11) % len(FAILURES) == 0

    def refresh_sign_in_activity(self) -> None:
        """Set every build-time user's ``signInActivity`` from the sign-in log.

        graph.md 1a (signinactivity.md): ``lastSignInDateTime`` is the last interactive attempt, success
        or failure; ``lastSuccessfulSignInDateTime`` the last successful interactive or non-interactive
        one. v1.0 ``/auditLogs/signIns`` lists interactive sign-ins only (every record here), so:
        ``lastSignIn*`` = the user's newest record in the log (date-time to the second, request id =
        the record's ``id``); ``lastSuccessfulSignIn*`` = the newest record with ``errorCode`` 0;
        ``lastNonInteractiveSignInDateTime`` (not in the v1.0 log) = up to 2 days before the last
        successful one, so it never contradicts it. A date the log has no record for (inactive users,
        active users the log never names in big tenants, users whose records all failed) lies 1-180 days
        before the log's window: older than the retention, so no record is missing. Never signed in:
        every property null. One pass over the log, then one over the users.
        """
        log = self.sign_ins
        n = len(self.signers)
        newest = array("q", [-1]) * n
        newest_ok = array("q", [-1]) * n
        fails = len(FAILURES)
        with log.lock:
            pairs = zip(log.ticks, log.serials, strict=True)
            for tick, s in pairs:  # ascending ticks: the last write wins
                u = (s * 7919) % n
                newest[u] = tick
                if s % 11 or (s // 11) % fails == 0:
                    newest_ok[u] = tick
        self.newest, self.newest_ok = newest, newest_ok
        # the serial of each signer's newest records, for request ids: one more pass, only when needed
        serial_at = self._serials_at(
            {t for t in newest if t >= 0} | {t for t in newest_ok if t >= 0}
        )
        rng = self.tenant.rng_for("signInActivity.dates")
        draw = rng.random
        floor = self.window_start
        seed = self.seed
        signer_of: dict[str, int] = {row[0]: i for i, row in enumerate(self.signers)}
        for i, (user, cls) in enumerate(zip(self.users, self.classes, strict=True)):
            before, ok_gap, ni_gap = draw(), draw(), draw()
            if cls == 0:
                user["signInActivity"] = dict(_NEVER)
                continue
            old = floor - (1 + before * 179) * DAY
            u = signer_of.get(user["id"], -1) if cls == 2 else -1
            last = newest[u] if u >= 0 else -1
            ok = newest_ok[u] if u >= 0 else -1
            if last >= 0:
                last_at, last_id = last / TICKS, _guid(seed, 1, serial_at[last])
            else:
                last_at, last_id = old, _guid(seed, 41, i)
            if ok >= 0:
                ok_at, ok_id = ok / TICKS, _guid(seed, 1, serial_at[ok])
            elif last >= 0:
                ok_at, ok_id = old, _guid(seed, 42, i)
            else:
                ok_at, ok_id = old - ok_gap * 2 * DAY, _guid(seed, 42, i)
            user["signInActivity"] = {
                "lastSignInDateTime": _stamp(last_at),
                "lastSignInRequestId": last_id,
                "lastNonInteractiveSignInDateTime": _stamp(ok_at - ni_gap * 2 * DAY),
                "lastNonInteractiveSignInRequestId": _guid(seed, 43, i),
                "lastSuccessfulSignInDateTime": _stamp(ok_at),
                "lastSuccessfulSignInRequestId": ok_id,
            }

    def _serials_at(self, wanted: set[int]) -> dict[int, int]:
        """Serial of the record at each of ``wanted`` ticks (ticks are unique in a log)."""
        log = self.sign_ins
        out: dict[int, int] = {}
        with log.lock:
            ticks, serials = log.ticks, log.serials
            for tick in wanted:
                pos = bisect.bisect_left(ticks, tick)
                if pos < len(ticks) and ticks[pos] == tick:
                    out[tick] = serials[pos]
        return out

    def _note_sign_ins(self, serials: list[int], ticks: list[int]) -> None:
        """``sign_ins.add`` hook: a (late) record newer than a user's last sign-in moves it forward."""
        if len(self.newest) != len(self.signers):
            return  # logs not generated yet
        seed = self.seed
        for s, tick in zip(serials, ticks, strict=True):
            u = self.signer(s)
            user = self.tenant.user(self.signers[u][0])
            activity = user.get("signInActivity") if user is not None else None
            if not isinstance(activity, dict):
                continue
            activity = dict(activity)
            if tick > self.newest[u]:
                self.newest[u] = tick
                activity["lastSignInDateTime"] = _stamp(tick / TICKS)
                activity["lastSignInRequestId"] = _guid(seed, 1, s)
            if self.succeeded(s) and tick > self.newest_ok[u]:
                self.newest_ok[u] = tick
                activity["lastSuccessfulSignInDateTime"] = _stamp(tick / TICKS)
                activity["lastSuccessfulSignInRequestId"] = _guid(seed, 1, s)
            user["signInActivity"] = activity

    # -- rendering ---------------------------------------------------------------------------------

    def sign_in(self, serial: int, ticks: int) -> dict[str, Any]:
        """A v1.0 signIn (graph.md 1a: every property)."""
        s = serial
        uid, upn, name = self.signers[(s * 7919) % len(self.signers)]
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


_NEVER: dict[str, Any] = {
    "lastSignInDateTime": None,
    "lastSignInRequestId": None,
    "lastNonInteractiveSignInDateTime": None,
    "lastNonInteractiveSignInRequestId": None,
    "lastSuccessfulSignInDateTime": None,
    "lastSuccessfulSignInRequestId": None,
}


def _stamp(seconds: float) -> str:
    """Directory date-time (to the second) of an epoch time: what ``signInActivity`` carries."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def build(tenant: Any) -> None:
    """Activity logs and each user's ``signInActivity``, drawn from the sign-in log.

    Logs are relative to the real clock (Graph checks retention against it), and so are the users'
    ``signInActivity`` dates, which follow the log (``AuditLogs.refresh_sign_in_activity``); every
    other user property stays relative to the tenant's anchor.
    """
    tenant.audit = AuditLogs(tenant)
    tenant.audit.generate()
