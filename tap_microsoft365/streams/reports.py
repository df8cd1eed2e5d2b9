"""Microsoft 365 usage reports (``/reports/getXxx``) as incremental streams (graph.md section 3).

How a report is read:
- v1.0 answers ``302 Found`` with ``Location`` = a short-lived pre-authenticated download URL. The
  client downloads it (https only, WITHOUT the Authorization header, transient errors retried); an
  expired link is asked for again once. An empty or non-UTF-8 download is a malformed answer.
- The CSV starts with a UTF-8 BOM (decoded with ``utf-8-sig``) and is parsed by header name; each known
  header maps to a stable snake_case field ("Storage Used (Byte)" -> ``storage_used_byte``) typed as date,
  integer, boolean or string list; unknown new columns are kept in ``extra_columns`` (logged once per
  stream and run).
- Reports taking ``date=YYYY-MM-DD`` (unquoted Edm.Date) are incremental by ``report_date`` (the date
  asked for): the bookmark is the last date loaded; each run re-reads the ``usage_report_lookback_days``
  latest loaded dates (Microsoft back-fills) and then every later date up to yesterday, never a date
  older than ``MAX_AGE_DAYS`` (Graph keeps about 30 days; start_date is clamped).
- Period-only reports (and the parameterless activations report) are snapshots: ``report_date`` is their
  Report Refresh Date; ``usage_report_period`` (D7/D30/D90/D180) selects the period.
- Pacing: Graph allows 14 requests per 10 minutes per report API per app per tenant. Each stream counts
  its own calls and, at the limit, STOPS and leaves the remaining dates to the next run (the bookmark is
  the last date loaded, so nothing is lost), or waits for the window with ``usage_report_wait_for_limit``;
  a 429 from Graph is still retried after Retry-After.
- Concealed names: ``/admin/reportSettings`` (ReportSettings.Read.All) says whether names are concealed;
  without that permission, 32-hex-character values in the name columns are taken as concealed. Rows get
  ``names_concealed`` and the run warns once with the fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import time
import typing as t

from singer_sdk import typing as th

from tap_microsoft365.graph.errors import GraphError, GraphTransientError, ThrottledTooLongError
from tap_microsoft365.schema import Bool, Int, String
from tap_microsoft365.sdk_private import write_state_now
from tap_microsoft365.streams.base import GraphStream

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context

#: Oldest date asked for, in days before today (Graph keeps "the past 30 days"; margin for time zones).
MAX_AGE_DAYS = 28
CALLS_PER_WINDOW = 14
WINDOW_SECONDS = 600.0
HASHED = re.compile(r"[0-9A-Fa-f]{32}")
FIX_CONCEALED = (
    "Fix: Microsoft 365 admin center > Settings > Org settings > Services > Reports > clear 'Display "
    "concealed user, group, and site names in all reports', or PATCH /admin/reportSettings "
    '{"displayConcealedNames": false} with ReportSettings.ReadWrite.All.'
)
TRUE = frozenset({"true", "yes"})
FALSE = frozenset({"false", "no"})


def snake(header: str) -> str:
    """A CSV header as a stable snake_case field name."""
    return re.sub(r"[^0-9a-z]+", "_", header.lower()).strip("_")


def kind_of(header: str) -> str:
    """The type of a column from its header (reports override the exceptions)."""
    if header.endswith("Date"):
        return "date"
    if header.startswith(("Is ", "Has ")):
        return "bool"
    if header == "Assigned Products":
        return "list"
    if (
        header.endswith(("Count", "(Byte)", "Messages", "In Seconds", " Active", " Inactive"))
        or header == "Report Period"
    ):
        return "int"
    return "string"


SCHEMA_TYPES = {
    "date": th.DateType,
    "bool": Bool,
    "int": Int,
    "list": th.ArrayType(String),
    "string": String,
}


def convert(kind: str, value: str) -> t.Any:
    """A CSV cell typed; empty cells are null."""
    value = value.strip()
    if value == "":
        return None
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            return int(float(value))
    if kind == "bool":
        low = value.lower()
        return True if low in TRUE else False if low in FALSE else None
    if kind == "list":
        return [part for part in value.split("+") if part]
    return value


class UsageReportStream(GraphStream):
    """Base of the usage report streams; subclasses only declare the report."""

    #: Report function, e.g. ``getMailboxUsageDetail``.
    function: t.ClassVar[str]
    #: Known CSV headers, in the order of the doc (graph.md 3).
    headers: t.ClassVar[tuple[str, ...]]
    #: Column types that differ from :func:`kind_of`.
    kinds: t.ClassVar[dict[str, str]] = {}
    #: Fields that, with report_date, identify a row.
    key_fields: t.ClassVar[tuple[str, ...]] = ("user_principal_name",)
    #: Overloads (graph.md 3, CSDL).
    takes_date: t.ClassVar[bool] = True
    takes_period: t.ClassVar[bool] = True
    #: Columns holding user, group or site names (concealed by default).
    name_fields: t.ClassVar[tuple[str, ...]] = ("user_principal_name",)

    replication_key = "report_date"
    is_sorted = True
    check_sorted = False  # the lookback re-reads dates before the bookmark
    max_page_size = None
    supports_select = False
    tap_fields = ("tenant_id", "report_date", "names_concealed", "extra_columns")

    #: CSV header -> (field, kind); built from ``headers`` by ``__init_subclass__``.
    columns: t.ClassVar[dict[str, tuple[str, str]]] = {}

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if "headers" in cls.__dict__:
            cls.columns = {h: (snake(h), cls.kinds.get(h) or kind_of(h)) for h in cls.headers}
            cls.primary_keys = ("tenant_id", "report_date", *cls.key_fields)
            cls.schema = th.PropertiesList(  # type: ignore[assignment,method-assign]
                th.Property("report_date", th.DateType, required=True),
                *(th.Property(f, SCHEMA_TYPES[k]) for f, k in cls.columns.values()),  # type: ignore[arg-type]
                th.Property("names_concealed", Bool),
                th.Property(
                    "extra_columns",
                    th.ObjectType(additional_properties=True),
                    description="Columns Microsoft added that this tap does not know yet (text).",
                ),
                th.Property("tenant_id", th.StringType(nullable=False), required=True),
            ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._calls: list[float] = []  # wall-clock times of this report's calls, last 10 minutes
        self._new_columns_logged = False

    @property
    def path(self) -> str:  # type: ignore[override]
        """The report function's path."""
        return f"/reports/{self.function}"

    # -- which requests ---------------------------------------------------------------------------

    def today(self) -> dt.date:
        """Today in UTC (Graph's report dates are UTC dates)."""
        return dt.datetime.now(dt.UTC).date()

    def report_dates(self, context: Context | None) -> list[dt.date]:
        """Dates to ask for: lookback before the bookmark, then every later date up to yesterday."""
        today = self.today()
        oldest = today - dt.timedelta(days=MAX_AGE_DAYS)
        state = self.get_context_state(context)
        bookmark = state.get("replication_key_value")
        if bookmark:
            lookback = int(self.config.get("usage_report_lookback_days", 3))
            first = dt.date.fromisoformat(str(bookmark)[:10]) - dt.timedelta(
                days=max(lookback - 1, -1)
            )
        elif self.config.get("start_date"):
            first = dt.date.fromisoformat(str(self.config["start_date"])[:10])
        else:
            first = oldest
        first = max(first, oldest)
        return [first + dt.timedelta(days=i) for i in range((today - first).days)]

    def report_requests(self, context: Context | None) -> Iterator[tuple[str | None, str]]:
        """``(report_date or None, url)`` per Graph call."""
        if self.takes_date:
            for day in self.report_dates(context):
                yield day.isoformat(), self.client.url(f"{self.path}(date={day.isoformat()})")
        elif self.takes_period:
            period = self.config.get("usage_report_period") or "D7"
            yield None, self.client.url(f"{self.path}(period='{period}')")
        else:
            yield None, self.client.url(self.path)

    # -- pacing -----------------------------------------------------------------------------------

    def may_call(self) -> bool:
        """True while this report has made fewer than the allowed calls in the last 10 minutes.

        The calls are wall-clock times kept in the state (``calls``), so the limit spans runs: a run
        started minutes after another does not spend Graph's 14 calls again (graph.md 3).
        """
        limit = int(self.config.get("usage_report_calls_per_10_minutes") or CALLS_PER_WINDOW)
        now = self.wall_clock()
        self._calls = [c for c in self._calls if now - c < WINDOW_SECONDS]
        if len(self._calls) >= limit and self.config.get("usage_report_wait_for_limit"):
            wait = WINDOW_SECONDS - (now - self._calls[0])
            self.logger.info(
                "Stream '%s': %d calls in 10 minutes for %s; waiting %.0f s (usage_report_wait_for_limit)",
                self.name,
                len(self._calls),
                self.function,
                wait,
            )
            self.client.policy.sleep(max(wait, 0.0))
            now = self.wall_clock()
            self._calls = [c for c in self._calls if now - c < WINDOW_SECONDS]
        if len(self._calls) >= limit:
            return False
        self._calls.append(now)
        return True

    def wall_clock(self) -> float:
        """Seconds since the epoch (the call log outlives the process)."""
        return time.time()

    # -- HTTP -------------------------------------------------------------------------------------

    def fetch_csv(self, url: str) -> str:
        """Call the report function, then download its CSV (the client never sends the token there)."""
        for attempt in (1, 2):
            answer = self.client.send(
                "GET",
                url,
                stream=self.name,
                redirects=True,
                max_wait=float(self.config.get("usage_report_max_wait_seconds", 60)),
            )
            if 300 <= answer.status < 400:
                location = answer.headers.get("Location")
                if not location:
                    raise answer.malformed(self.name, "a redirect without a Location header")
                answer = self.client.download(location, stream=self.name)
                if attempt == 1 and answer.status in (401, 403, 404, 410):
                    self.logger.info(
                        "Stream '%s': download link answered %s (expired?); asking Graph again",
                        self.name,
                        answer.status,
                    )
                    continue
                if answer.status != 200:
                    raise GraphError(
                        f"Stream '{self.name}': the report download answered {answer.status} for "
                        f"{self.function}. Fix: run again; the link is valid a few minutes only."
                    )
            if not answer.body.strip():
                raise answer.malformed(self.name, "an empty report (not even a CSV header)")
            try:
                return answer.body.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise answer.malformed(self.name, "a report CSV that is not UTF-8") from None
        raise AssertionError("unreachable")

    # -- concealed names --------------------------------------------------------------------------

    def concealed_setting(self) -> bool | None:
        """``displayConcealedNames`` from /admin/reportSettings, read once per run; None if unknown.

        An auxiliary lookup: whatever stops it (no ReportSettings.Read.All, no such endpoint in this
        national cloud, graph.md 10, a bad answer) degrades to detecting concealed values, with one
        warning; only throttling that outlasts the retry budget is left to end the stream.
        """
        lookups = self.run.lookups
        if "reports.concealed" not in lookups:
            lookups["reports.concealed"] = None
            try:
                settings = self.client.get("/admin/reportSettings", stream=self.name)
                value = settings.get("displayConcealedNames")
                lookups["reports.concealed"] = value if isinstance(value, bool) else None
            except GraphTransientError:
                raise
            except GraphError as exc:
                self.logger.warning(
                    "Cannot read /admin/reportSettings (%s); concealed names are detected from the "
                    "values instead. Fix: grant ReportSettings.Read.All, or nothing if the tenant's "
                    "cloud has no report settings.",
                    exc,
                )
        return t.cast("bool | None", lookups["reports.concealed"])

    def scoped(self, row: dict) -> dict | None:
        """Rows of users outside the run's scope are dropped, matched by UPN.

        Concealed names (graph.md 3) cannot be matched: such rows are kept, with one warning.
        """
        if not self.run.scope.filters_users or "user_principal_name" not in row:
            return row
        if row.get("names_concealed"):
            drop = self.config.get("scope_concealed_report_rows") == "drop"
            if self.run.warn_once("reports.scope"):
                self.logger.warning(
                    "Usage reports conceal user names, so the user scope (user_domains, deny list, "
                    "exclusions) cannot apply to them; their rows are %s "
                    "(scope_concealed_report_rows). %s",
                    "dropped" if drop else "kept",
                    FIX_CONCEALED,
                )
            return None if drop else row
        return row if self.run.scope_index(self.name).address(row["user_principal_name"]) else None

    def warn_concealed(self, from_setting: bool) -> None:
        """One warning per run for all report streams."""
        if not self.run.warn_once("reports.concealed"):
            return
        how = (
            "the tenant's report setting displayConcealedNames is true"
            if from_setting
            else "user names look like 32-character hashes (ReportSettings.Read.All would confirm)"
        )
        self.logger.warning(
            "Usage reports conceal user, group and site names (%s); rows are marked "
            "names_concealed=true and cannot be joined to users by name. %s",
            how,
            FIX_CONCEALED,
        )

    # -- records ----------------------------------------------------------------------------------

    def parse_csv(
        self, text: str, report_date: str | None, concealed: bool | None
    ) -> Iterator[dict]:
        """Rows typed by header name; unknown columns kept in ``extra_columns``."""
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if not header:
            return
        new = [h for h in header if h not in self.columns]
        if new and not self._new_columns_logged:
            self._new_columns_logged = True
            self.logger.warning(
                "Stream '%s': report %s has columns this tap does not know yet, kept in "
                "extra_columns: %s",
                self.name,
                self.function,
                ", ".join(new),
            )
        tenant_id = self.run.tenant_id
        for line in reader:
            if not line:
                continue
            record: dict[str, t.Any] = {}
            extra: dict[str, str] = {}
            for name, value in zip(header, line, strict=False):
                known = self.columns.get(name)
                if known:
                    record[known[0]] = convert(known[1], value)
                else:
                    extra[snake(name)] = value
            record["report_date"] = report_date or record.get("report_refresh_date")
            if self.name_fields:
                if concealed is None:
                    hashed = any(HASHED.fullmatch(record.get(f) or "") for f in self.name_fields)
                    if hashed:
                        self.warn_concealed(from_setting=False)
                    record["names_concealed"] = hashed
                else:
                    record["names_concealed"] = concealed
            record["extra_columns"] = extra or None
            record["tenant_id"] = tenant_id
            yield record

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Every requested date (or the one snapshot), paced under the report limit."""
        concealed = self.concealed_setting() if self.name_fields else False
        if concealed:
            self.warn_concealed(from_setting=True)
        state = self.get_context_state(context)
        saved = state.get("calls")
        self._calls = [float(c) for c in saved if isinstance(c, int | float)] if isinstance(saved, list) else []
        pending = list(self.report_requests(context))
        for i, (report_date, url) in enumerate(pending):
            if not self.may_call():
                left = [d for d, _ in pending[i:] if d]
                self.logger.warning(
                    "Stream '%s': reached %d calls in 10 minutes for %s (Graph's report limit); "
                    "%d date(s) from %s are left for the next run.",
                    self.name,
                    len(self._calls),
                    self.function,
                    len(left),
                    left[0] if left else "-",
                )
                return
            try:
                text = self.fetch_csv(url)
            except ThrottledTooLongError as exc:
                left = [d for d, _ in pending[i:] if d]
                self.logger.warning(
                    "%s %d date(s) from %s are left for the next run (bookmark intact).",
                    exc,
                    len(left),
                    left[0] if left else "-",
                )
                return
            finally:
                # whole seconds: targets parse numbers as Decimal and cannot re-emit them in JSON
                state["calls"] = [math.ceil(c) for c in self._calls]
            yield from self.parse_csv(text, report_date, concealed)
            # one STATE per date: a killed run repeats at most the date it was reading
            write_state_now(self)


# -- the reports (headers: graph.md section 3) ------------------------------------------------------


def _h(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


M365_APPS = ("Outlook", "Word", "Excel", "PowerPoint", "OneNote", "Teams")
PLATFORMS = ("Windows", "Mac", "Mobile", "Web")


class Office365ActiveUserDetailStream(UsageReportStream):
    """``getOffice365ActiveUserDetail`` (period or date)."""

    name = "usage_office365_active_user_detail"
    function = "getOffice365ActiveUserDetail"
    name_fields = ("user_principal_name", "display_name")
    headers = _h(
        "Report Refresh Date, User Principal Name, Display Name, Is Deleted, Deleted Date, "
        "Has Exchange License, Has OneDrive License, Has SharePoint License, "
        "Has Skype For Business License, Has Yammer License, Has Teams License, "
        "Exchange Last Activity Date, OneDrive Last Activity Date, SharePoint Last Activity Date, "
        "Skype For Business Last Activity Date, Yammer Last Activity Date, Teams Last Activity Date, "
        "Exchange License Assign Date, OneDrive License Assign Date, SharePoint License Assign Date, "
        "Skype For Business License Assign Date, Yammer License Assign Date, Teams License Assign Date, "
        "Assigned Products"
    )


class M365AppUserDetailStream(UsageReportStream):
    """``getM365AppUserDetail`` (period or date); app/platform columns are Yes/No booleans."""

    name = "usage_m365_app_user_detail"
    function = "getM365AppUserDetail"
    headers = (
        "Report Refresh Date",
        "User Principal Name",
        "Last Activation Date",
        "Last Activity Date",
        "Report Period",
        *PLATFORMS,
        *M365_APPS,
        *(f"{app} ({p})" for p in PLATFORMS for app in M365_APPS),
    )
    kinds = {h: "bool" for h in headers[5:]}


class EmailActivityUserDetailStream(UsageReportStream):
    """``getEmailActivityUserDetail`` (period or date)."""

    name = "usage_email_activity_user_detail"
    function = "getEmailActivityUserDetail"
    name_fields = ("user_principal_name", "display_name")
    headers = _h(
        "Report Refresh Date, User Principal Name, Display Name, Is Deleted, Deleted Date, "
        "Last Activity Date, Send Count, Receive Count, Read Count, Meeting Created Count, "
        "Meeting Interacted Count, Assigned Products, Report Period"
    )


class MailboxUsageDetailStream(UsageReportStream):
    """``getMailboxUsageDetail``: period only, a snapshot keyed by its Report Refresh Date."""

    name = "usage_mailbox_usage_detail"
    function = "getMailboxUsageDetail"
    takes_date = False
    name_fields = ("user_principal_name", "display_name")
    headers = _h(
        "Report Refresh Date, User Principal Name, Display Name, Is Deleted, Deleted Date, "
        "Created Date, Last Activity Date, Item Count, Storage Used (Byte), Issue Warning Quota (Byte), "
        "Prohibit Send Quota (Byte), Prohibit Send/Receive Quota (Byte), Deleted Item Count, "
        "Deleted Item Size (Byte), Deleted Item Quota (Byte), Has Archive, Report Period"
    )


class OneDriveUsageAccountDetailStream(UsageReportStream):
    """``getOneDriveUsageAccountDetail`` (period or date), one row per OneDrive."""

    name = "usage_onedrive_usage_account_detail"
    function = "getOneDriveUsageAccountDetail"
    key_fields = ("site_url",)
    name_fields = ("owner_principal_name", "owner_display_name")
    headers = _h(
        "Report Refresh Date, Site URL, Owner Display Name, Is Deleted, Last Activity Date, File Count, "
        "Active File Count, Storage Used (Byte), Storage Allocated (Byte), Owner Principal Name, "
        "Report Period"
    )


class SharePointSiteUsageDetailStream(UsageReportStream):
    """``getSharePointSiteUsageDetail`` (period or date), one row per site."""

    name = "usage_sharepoint_site_usage_detail"
    function = "getSharePointSiteUsageDetail"
    key_fields = ("site_id",)
    name_fields = ("owner_principal_name", "owner_display_name")
    headers = _h(
        "Report Refresh Date, Site Id, Site URL, Owner Display Name, Is Deleted, Last Activity Date, "
        "File Count, Active File Count, Page View Count, Visited Page Count, Storage Used (Byte), "
        "Storage Allocated (Byte), Root Web Template, Owner Principal Name, Report Period"
    )


class TeamsUserActivityUserDetailStream(UsageReportStream):
    """``getTeamsUserActivityUserDetail`` (period or date)."""

    name = "usage_teams_user_activity_user_detail"
    function = "getTeamsUserActivityUserDetail"
    headers = _h(
        "Report Refresh Date, Tenant Display Name, Shared Channel Tenant Display Names, User Id, "
        "User Principal Name, Last Activity Date, Is Deleted, Deleted Date, Assigned Products, "
        "Team Chat Message Count, Private Chat Message Count, Call Count, Meeting Count, Post Messages, "
        "Reply Messages, Urgent Messages, Meetings Organized Count, Meetings Attended Count, "
        "Ad Hoc Meetings Organized Count, Ad Hoc Meetings Attended Count, "
        "Scheduled One-time Meetings Organized Count, Scheduled One-time Meetings Attended Count, "
        "Scheduled Recurring Meetings Organized Count, Scheduled Recurring Meetings Attended Count, "
        "Audio Duration, Video Duration, Screen Share Duration, Audio Duration In Seconds, "
        "Video Duration In Seconds, Screen Share Duration In Seconds, Has Other Action, Is Licensed, "
        "Report Period"
    )


class Office365ActivationsUserDetailStream(UsageReportStream):
    """``getOffice365ActivationsUserDetail``: no parameter, a snapshot; one row per user and product."""

    name = "usage_office365_activations_user_detail"
    function = "getOffice365ActivationsUserDetail"
    takes_date = False
    takes_period = False
    key_fields = ("user_principal_name", "product_type")
    name_fields = ("user_principal_name", "display_name")
    headers = _h(
        "Report Refresh Date, User Principal Name, Display Name, Product Type, Last Activated Date, "
        "Windows, Mac, Windows 10 Mobile, iOS, Android, Activated On Shared Computer"
    )
    kinds = {h: "int" for h in ("Windows", "Mac", "Windows 10 Mobile", "iOS", "Android")} | {
        "Activated On Shared Computer": "bool"
    }


class Office365ActiveUserCountsStream(UsageReportStream):
    """``getOffice365ServicesUserCounts`` (period only): active/inactive users per service, one row."""

    name = "usage_office365_active_user_counts"
    function = "getOffice365ServicesUserCounts"
    takes_date = False
    key_fields = ("report_period",)
    name_fields = ()
    headers = _h(
        "Report Refresh Date, Exchange Active, Exchange Inactive, OneDrive Active, OneDrive Inactive, "
        "SharePoint Active, SharePoint Inactive, Skype For Business Active, Skype For Business Inactive, "
        "Yammer Active, Yammer Inactive, Teams Active, Teams Inactive, Office 365 Active, "
        "Office 365 Inactive, Report Period"
    )


REPORT_STREAMS = [
    Office365ActiveUserDetailStream,
    M365AppUserDetailStream,
    EmailActivityUserDetailStream,
    MailboxUsageDetailStream,
    OneDriveUsageAccountDetailStream,
    SharePointSiteUsageDetailStream,
    TeamsUserActivityUserDetailStream,
    Office365ActivationsUserDetailStream,
    Office365ActiveUserCountsStream,
]
