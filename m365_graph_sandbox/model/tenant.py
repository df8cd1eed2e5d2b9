"""The tenant model: plain dicts in Graph v1.0's JSON shape, deterministic from a seed."""

from __future__ import annotations

import calendar
import gc
import random
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .audit import AuditLogs
    from .changes import Changes
    from .reports import ReportOptions, UsageData

#: Fixed "now" of generated data, so the same seed always gives the same tenant (dates are relative to it).
ANCHOR = calendar.timegm((2025, 6, 2, 8, 0, 0))

_gmtime = time.gmtime
_strftime = time.strftime


def new_guid(rng: random.Random) -> str:
    """A version-4 GUID drawn from ``rng`` (directory object ids are GUIDs)."""
    n = rng.getrandbits(128)
    n = (n & ~(0xF << 76)) | (4 << 76)
    n = (n & ~(0x3 << 62)) | (0x2 << 62)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def cloud_sid(object_id: str) -> str:
    """``securityIdentifier`` of a cloud object: ``S-1-12-1-`` + the object id GUID as four LE uint32."""
    h = object_id.replace("-", "")
    a = int(h[0:8], 16)
    b = int(h[8:12], 16) | (int(h[12:16], 16) << 16)
    c = int.from_bytes(bytes.fromhex(h[16:24]), "little")
    d = int.from_bytes(bytes.fromhex(h[24:32]), "little")
    return f"S-1-12-1-{a}-{b}-{c}-{d}"


def iso(ts: float) -> str:
    """ISO 8601 UTC with a ``Z``, second precision, as Graph's directory date-times."""
    return _strftime("%Y-%m-%dT%H:%M:%SZ", _gmtime(ts))


def iso_date_midnight(ts: float) -> str:
    """A date-time at midnight UTC (e.g. ``employeeHireDate``)."""
    return _strftime("%Y-%m-%dT00:00:00Z", _gmtime(ts))


class Tenant:
    """A synthetic Entra tenant.

    Attributes hold lists of Graph-shaped dicts (``users``, ``groups``, ``skus``, ``domains``,
    ``devices``, ``service_principals``, ``contacts``), ``organization`` (one dict), ``memberships``
    (group id -> list of ``{"@odata.type", "id"}`` refs). Treat them as read-only: the server shares
    nested lists between objects.
    """

    # Set by the area modules' ``build`` (declared here so they are typed; no class-level values).
    # organization
    company: str
    default_domain: str
    secondary_domain: str
    initial_domain: str
    onprem_domain: str
    # directory: each user's age in seconds before the anchor, parallel to ``users``
    user_ages: list[int]
    # devices
    device_owners: dict[str, list[dict[str, str]]]
    managed_devices: list[dict[str, Any]]
    detected_apps: list[dict[str, Any]]
    detected_app_devices: dict[str, list[str]]
    # apps and roles
    applications: list[dict[str, Any]]
    app_role_assigned_to: dict[str, list[dict[str, Any]]]
    oauth2_grants: list[dict[str, Any]]
    managers: dict[str, str]
    directory_roles: list[dict[str, Any]]
    role_members: dict[str, list[dict[str, str]]]
    # breadth endpoints (model/breadth.py)
    group_owners: dict[str, list[dict[str, str]]]
    subscriptions: list[dict[str, Any]]
    role_definitions: list[dict[str, Any]]
    role_assignments: list[dict[str, Any]]
    role_eligibility: list[dict[str, Any]]
    administrative_units: list[str]
    named_locations: list[dict[str, Any]]
    ca_policies: list[dict[str, Any]]
    registration_details: list[dict[str, Any]]
    mobile_apps: list[dict[str, Any]]
    secure_scores: list[dict[str, Any]]
    control_profiles: list[dict[str, Any]]
    risky_users: list[dict[str, Any]]
    service_issues: list[dict[str, Any]]
    licensing_group: str | None
    # reports
    report_options: ReportOptions
    usage: UsageData
    # audit
    audit: AuditLogs
    # mutations and change tracking (delta query, graph.md 2)
    changes: Changes

    def __init__(
        self,
        users: int = 300,
        seed: int = 42,
        *,
        premium: bool = True,
        anchor: float = ANCHOR,
        now: float | None = None,
        company: str | None = None,
    ) -> None:
        from . import AREAS

        self.seed = seed
        #: The company name to use instead of the seed's draw (several tenants on one sandbox need
        #: distinct names and domains; model/organization.py derives the domains from it)
        self.company_name = company
        #: The activity logs' "now" (epoch seconds; None = the real clock at build): logs and users'
        #: signInActivity are relative to it, so a fixed value makes them deterministic too.
        self.now = now
        self.user_count = max(1, int(users))
        self.premium = premium
        self.anchor = anchor
        ids = self.rng_for("tenant")
        self.tenant_id = new_guid(ids)
        self.client_id = new_guid(ids)
        self.app_display_name = "tap-microsoft365"
        self.users: list[dict[str, Any]] = []
        self.groups: list[dict[str, Any]] = []
        self.memberships: dict[str, list[dict[str, str]]] = {}
        self.skus: list[dict[str, Any]] = []
        self.organization: dict[str, Any] = {}
        self.domains: list[dict[str, Any]] = []
        self.devices: list[dict[str, Any]] = []
        self.service_principals: list[dict[str, Any]] = []
        self.contacts: list[dict[str, Any]] = []
        #: id -> (odata type without "#microsoft.graph.", object) for every directory object.
        self.objects: dict[str, tuple[str, dict[str, Any]]] = {}
        self._refs: dict[str, dict[str, str]] = {}
        # Millions of small containers: the cyclic GC would rescan them over and over while building.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for area in AREAS:
                area.build(self)
            for area in AREAS:
                finalize = getattr(area, "finalize", None)
                if finalize is not None:
                    finalize(self)
        finally:
            if was_enabled:
                gc.enable()

    # -- helpers for area modules ------------------------------------------------------------------

    def rng_for(self, area: str) -> random.Random:
        """An area's own RNG, so areas stay stable when others are added."""
        return random.Random(f"{self.seed}:{area}")

    def iso(self, seconds_ago: float) -> str:
        """The date-time ``seconds_ago`` before the tenant's anchor."""
        return iso(self.anchor - seconds_ago)

    def register(self, odata_type: str, obj: dict[str, Any]) -> None:
        """Index a directory object by id (``odata_type`` e.g. ``user``)."""
        self.objects[obj["id"]] = (odata_type, obj)

    def ref(self, object_id: str) -> dict[str, str]:
        """The shared member reference ``{"@odata.type": "#microsoft.graph.x", "id": ...}``."""
        ref = self._refs.get(object_id)
        if ref is None:
            kind = self.objects[object_id][0]
            ref = self._refs[object_id] = {
                "@odata.type": f"#microsoft.graph.{kind}",
                "id": object_id,
            }
        return ref

    # -- lookups -----------------------------------------------------------------------------------

    def get(self, object_id: str, kind: str | None = None) -> dict[str, Any] | None:
        """A directory object by id (optionally only of one type)."""
        found = self.objects.get(object_id)
        if found is None or (kind is not None and found[0] != kind):
            return None
        return found[1]

    def user(self, object_id: str) -> dict[str, Any] | None:
        """A user by id."""
        return self.get(object_id, "user")

    def group(self, object_id: str) -> dict[str, Any] | None:
        """A group by id."""
        return self.get(object_id, "group")

    def sku(self, sku_id: str) -> dict[str, Any] | None:
        """A subscribedSku by skuId or id."""
        return next((s for s in self.skus if sku_id in (s["skuId"], s["id"])), None)

    def domain(self, name: str) -> dict[str, Any] | None:
        """A domain by name (case-insensitive)."""
        name = name.lower()
        return next((d for d in self.domains if d["id"].lower() == name), None)
