"""Activity logs: sign-ins, directory audits and provisioning events, incremental in time windows.

Graph facts relied on (../shared/reference/graph.md):
- ``/auditLogs/signIns`` returns newest first, has no ``$orderby``, takes only ``$top`` (max 1000),
  ``$skiptoken`` and ``$filter`` (``createdDateTime`` with ``eq, ge, le``) (section 1, 9.2);
- ``/auditLogs/directoryAudits`` filters on ``activityDateTime``, not createdDateTime (section 1, 9.3);
  ``/auditLogs/provisioning`` filters ``activityDateTime`` with ``eq, gt, lt`` (section 1);
- retention is 30 days with Entra ID P1/P2 and 7 without; older filter dates answer 400
  ``Invalid filter clause`` (section 4); sign-ins (and provisioning logs) need P1/P2, directory audits
  do not (section 4);
- events arrive up to ~15 minutes late (section 4): re-read an overlap, de-duplicate on ``id``;
- 5 requests per 10 s per app per tenant on these APIs (section 6): paced by ``pacing.Pacer``.

How a run goes: from the bookmark (the end of the last finished window) minus ``log_overlap_minutes``,
or the retention-clamped ``start_date`` on a first run, windows ``[start, end)`` are read oldest first up
to the run's start time, each with a server-side ``$filter``. A window's pages are buffered and emitted
together, then the bookmark moves to the window's end and a STATE message goes out, so a killed run
resumes at the last finished window, losing and repeating nothing. The window doubles after a window of
at most two pages and halves after one of more than ``window_max_pages`` (bounded buffer). Ids of events
in the overlap zone are kept in the state (only those), so the overlap re-read emits no duplicates.
"""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime, timedelta

from singer_sdk import typing as th

from tap_microsoft365.graph.errors import FilterRefusedError
from tap_microsoft365.schema import Bool, DateTime, Int, String, objects, props, strings
from tap_microsoft365.sdk_private import BookmarkPerWindow, write_state_now
from tap_microsoft365.streams.base import GraphStream

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

    from tap_microsoft365.graph.pacing import Pacer

Number = th.NumberType
UTC = UTC
PREMIUM_RETENTION = timedelta(days=30)
FREE_RETENTION = timedelta(days=7)
#: Keep the first window this far inside the retention limit (Graph checks it at request time).
RETENTION_MARGIN = timedelta(minutes=10)
TICK = timedelta(microseconds=1)


def odata_time(value: datetime, *, minus_tick: bool = False) -> str:
    """A DateTimeOffset literal with 7 fractional digits; ``minus_tick``: 100 ns before ``value``."""
    value = value.astimezone(UTC)
    if minus_tick:  # 100 ns earlier: 1 µs earlier, then 900 ns
        value -= TICK
        return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}9Z"
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}0Z"


def parse_time(value: str) -> datetime:
    """A Graph date-time (up to 7 fractional digits, ``Z``) as an aware datetime."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def next_window(
    window: timedelta, pages: int, *, max_pages: int, low: timedelta, high: timedelta
) -> timedelta:
    """Adapt the window to volume: halve above ``max_pages`` pages, double at two pages or fewer."""
    if pages > max_pages:
        window = window / 2
    elif pages <= 2:
        window = window * 2
    return min(max(window, low), high)


class AuditLogStream(BookmarkPerWindow, GraphStream):
    """A Graph activity log read incrementally in server-side time windows (see the module doc)."""

    replication_key = "activityDateTime"
    supports_select = False  # these logs take no $select (graph.md 1)
    #: (lower, upper) filter operators the endpoint supports: ge/gt and le/lt.
    filter_ops: tuple[str, str] = ("ge", "le")
    initial_window = timedelta(hours=1)
    min_window = timedelta(minutes=1)
    max_window = timedelta(days=7)
    window_max_pages = 10
    #: Buffer limit: past this many pages a window's rows go out before it ends (at-least-once).
    flush_pages = 40

    # -- pacing ----------------------------------------------------------------------------------

    def pacer(self) -> Pacer | None:
        """The tenant's one activity-log pacer (``audit_requests_per_10s``; 0 turns pacing off)."""
        return self.client.pacer("audit", float(self.config.get("audit_requests_per_10s", 5) or 0))

    # -- one window ------------------------------------------------------------------------------

    def query_params(self, context: Context | None) -> dict[str, t.Any]:
        """``$filter`` of the current window on the log's own timestamp."""
        start, end = self._window
        lower, upper = self.filter_ops
        key = self.replication_key
        low = odata_time(start, minus_tick=True) if lower == "gt" else odata_time(start)
        high = odata_time(end, minus_tick=True) if upper == "le" else odata_time(end)
        return {"$filter": f"{key} {lower} {low} and {key} {upper} {high}"}

    # -- the run ---------------------------------------------------------------------------------

    def _start(self, state: dict, now: datetime, overlap: timedelta) -> tuple[datetime, datetime]:
        """(first window start, oldest date Graph will accept), clamped to retention with an info line."""
        floor = now - PREMIUM_RETENTION + RETENTION_MARGIN
        bookmark = state.get("replication_key_value")
        start: datetime | None
        if bookmark:
            start = parse_time(bookmark) - overlap
            what = f"bookmark {bookmark} minus the overlap"
        else:
            configured = self.config.get("start_date")
            start = parse_time(configured) if configured else None
            what = f"start_date {configured}" if configured else "no start_date"
        if start is None:
            self.logger.info(
                "Stream '%s': no start_date: reading the last %d days (Graph's retention of activity "
                "logs), from %s",
                self.name,
                PREMIUM_RETENTION.days,
                odata_time(floor),
            )
            start = floor
        elif start < floor:
            self.logger.info(
                "Stream '%s': %s is beyond Graph's %d-day retention of activity logs; reading "
                "from %s instead",
                self.name,
                what,
                PREMIUM_RETENTION.days,
                odata_time(floor),
            )
            start = floor
        return start, floor

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Windows oldest first; records of a window, then its bookmark and a STATE message."""
        state = self.get_context_state(context)
        now = datetime.now(UTC).replace(microsecond=0)
        overlap = timedelta(minutes=float(self.config.get("log_overlap_minutes", 15)))
        start, _ = self._start(state, now, overlap)
        bookmark = state.get("replication_key_value")
        # ids already emitted in the overlap zone, with their timestamps (zone only: flat memory)
        recent: dict[str, datetime] = {}
        if bookmark:
            at = parse_time(bookmark)
            recent = dict.fromkeys(state.get("overlap_ids") or (), at)
        window = self.initial_window
        first = True
        began = start
        while start < now:
            end = min(start + window, now)
            span = (now - began).total_seconds()
            self.fraction_done = (start - began).total_seconds() / span if span > 0 else None
            try:
                rows = self._read_window(start, end, context)
                yielded = 0
                for row in rows:
                    ident = row.get("id")
                    if ident in recent:
                        continue
                    key = row.get(self.replication_key)
                    if ident is not None and key:
                        recent[ident] = parse_time(key)
                    yielded += 1
                    yield row
            except FilterRefusedError:
                free_floor = now - FREE_RETENTION + RETENTION_MARGIN
                if not (first and start < free_floor):
                    raise
                self.logger.info(
                    "Stream '%s': Graph refused %s as too old; the tenant keeps %d days of activity "
                    "logs (no Entra ID P1/P2), reading from %s instead",
                    self.name,
                    odata_time(start),
                    FREE_RETENTION.days,
                    odata_time(free_floor),
                )
                start = free_floor
                first = False
                continue
            first = False
            zone = end - overlap
            recent = {i: k for i, k in recent.items() if k >= zone}
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = odata_time(end)
            state["overlap_ids"] = sorted(recent)
            write_state_now(self)
            window = next_window(
                window,
                self._pages,
                max_pages=self.window_max_pages,
                low=self.min_window,
                high=self.max_window,
            )
            start = end

    def _read_window(
        self, start: datetime, end: datetime, context: Context | None
    ) -> Iterable[dict]:
        """Every row of ``[start, end)``, buffered; past ``flush_pages`` pages rows stream out."""
        self._window = (start, end)
        self._pages = 0
        buffer: list[dict] = []
        for page in self.pages(context):
            self._pages += 1
            buffer.extend(self.rows(page))
            if self._pages > self.flush_pages:
                yield from buffer
                buffer.clear()
        yield from buffer


GEO = th.ObjectType(
    th.Property("altitude", Number),
    th.Property("latitude", Number),
    th.Property("longitude", Number),
)
IDENTITY = (th.Property("id", String), th.Property("displayName", String))
MODIFIED_PROPERTY = (
    th.Property("displayName", String),
    th.Property("oldValue", String),
    th.Property("newValue", String),
)


class SignInsStream(AuditLogStream):
    """``GET /auditLogs/signIns``: interactive sign-ins (v1.0), 1000 per page, P1/P2 only."""

    name = "sign_ins"
    path = "/auditLogs/signIns"

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """The user who signed in."""
        return (row.get("userId"),)

    replication_key = "createdDateTime"
    max_page_size = 1000
    schema = props(
        th.Property("id", String, required=True),
        th.Property("createdDateTime", DateTime, required=True),
        th.Property("userId", String),
        th.Property("userPrincipalName", String),
        th.Property("userDisplayName", String),
        th.Property("appId", String),
        th.Property("appDisplayName", String),
        th.Property("ipAddress", String),
        th.Property("clientAppUsed", String),
        th.Property("correlationId", String),
        th.Property("conditionalAccessStatus", String),
        th.Property("isInteractive", Bool),
        th.Property(
            "status",
            th.ObjectType(
                th.Property("errorCode", Int),
                th.Property("failureReason", String),
                th.Property("additionalDetails", String),
            ),
        ),
        th.Property(
            "deviceDetail",
            th.ObjectType(
                th.Property("deviceId", String),
                th.Property("displayName", String),
                th.Property("operatingSystem", String),
                th.Property("browser", String),
                th.Property("isCompliant", Bool),
                th.Property("isManaged", Bool),
                th.Property("trustType", String),
            ),
        ),
        th.Property(
            "location",
            th.ObjectType(
                th.Property("city", String),
                th.Property("state", String),
                th.Property("countryOrRegion", String),
                th.Property("geoCoordinates", GEO),
            ),
        ),
        objects(
            "appliedConditionalAccessPolicies",
            th.Property("id", String),
            th.Property("displayName", String),
            strings("enforcedGrantControls"),
            strings("enforcedSessionControls"),
            th.Property("result", String),
        ),
        th.Property("resourceId", String),
        th.Property("resourceDisplayName", String),
        th.Property("resourceTenantId", String),
        th.Property("homeTenantId", String),
        th.Property("riskDetail", String),
        strings("riskEventTypes"),
        strings("riskEventTypes_v2"),
        th.Property("riskLevelAggregated", String),
        th.Property("riskLevelDuringSignIn", String),
        th.Property("riskState", String),
        th.Property("servicePrincipalId", String),
        th.Property("servicePrincipalName", String),
        th.Property("userAgent", String),
        th.Property(
            "authenticationAppDeviceDetails",
            th.ObjectType(
                th.Property("appVersion", String),
                th.Property("clientApp", String),
                th.Property("deviceId", String),
                th.Property("operatingSystem", String),
            ),
        ),
    )


class DirectoryAuditsStream(AuditLogStream):
    """``GET /auditLogs/directoryAudits``: incremental on ``activityDateTime``; available on Free."""

    name = "directory_audits"
    path = "/auditLogs/directoryAudits"

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """The acting user (an app's actions name none)."""
        initiated = row.get("initiatedBy") or {}
        user = initiated.get("user") if isinstance(initiated, dict) else None
        return (user.get("id"),) if isinstance(user, dict) else ()

    replication_key = "activityDateTime"
    max_page_size = 999
    schema = props(
        th.Property("id", String, required=True),
        th.Property("activityDateTime", DateTime, required=True),
        th.Property("activityDisplayName", String),
        th.Property("category", String),
        th.Property("correlationId", String),
        th.Property("loggedByService", String),
        th.Property("operationType", String),
        th.Property("result", String),
        th.Property("resultReason", String),
        objects("additionalDetails", th.Property("key", String), th.Property("value", String)),
        th.Property(
            "initiatedBy",
            th.ObjectType(
                th.Property(
                    "user",
                    th.ObjectType(
                        *IDENTITY,
                        th.Property("userPrincipalName", String),
                        th.Property("ipAddress", String),
                        th.Property("userType", String),
                        th.Property("homeTenantId", String),
                        th.Property("homeTenantName", String),
                    ),
                ),
                th.Property(
                    "app",
                    th.ObjectType(
                        th.Property("appId", String),
                        th.Property("displayName", String),
                        th.Property("servicePrincipalId", String),
                        th.Property("servicePrincipalName", String),
                    ),
                ),
            ),
        ),
        objects(
            "targetResources",
            *IDENTITY,
            th.Property("type", String),
            th.Property("userPrincipalName", String),
            th.Property("groupType", String),
            objects("modifiedProperties", *MODIFIED_PROPERTY),
        ),
    )


class ProvisioningLogsStream(AuditLogStream):
    """``GET /auditLogs/provisioning``: ``activityDateTime`` with ``gt``/``lt`` (graph.md 1)."""

    name = "provisioning_logs"
    path = "/auditLogs/provisioning"
    replication_key = "activityDateTime"
    filter_ops = ("gt", "lt")
    max_page_size = 999
    schema = props(
        th.Property("id", String, required=True),
        th.Property("activityDateTime", DateTime, required=True),
        th.Property("tenantId", String),
        th.Property("jobId", String),
        th.Property("cycleId", String),
        th.Property("changeId", String),
        th.Property("provisioningAction", String),
        th.Property("durationInMilliseconds", Int),
        th.Property(
            "provisioningStatusInfo",
            th.ObjectType(
                th.Property("status", String),
                th.Property(
                    "errorInformation",
                    th.ObjectType(
                        th.Property("errorCode", String),
                        th.Property("reason", String),
                        th.Property("additionalDetails", String),
                        th.Property("errorCategory", String),
                        th.Property("recommendedAction", String),
                    ),
                ),
            ),
        ),
        objects(
            "provisioningSteps",
            th.Property("name", String),
            th.Property("provisioningStepType", String),
            th.Property("status", String),
            th.Property("description", String),
        ),
        objects("modifiedProperties", *MODIFIED_PROPERTY),
        th.Property("servicePrincipal", th.ObjectType(*IDENTITY)),
        th.Property("sourceSystem", th.ObjectType(*IDENTITY)),
        th.Property("targetSystem", th.ObjectType(*IDENTITY)),
        th.Property("initiatedBy", th.ObjectType(*IDENTITY, th.Property("initiatorType", String))),
        th.Property(
            "sourceIdentity", th.ObjectType(*IDENTITY, th.Property("identityType", String))
        ),
        th.Property(
            "targetIdentity", th.ObjectType(*IDENTITY, th.Property("identityType", String))
        ),
    )
