"""Microsoft 365 usage reports: per-user / per-site usage for the last 30 days, derived from the tenant.

Facts modelled (graph.md section 3): the exact CSV column headers of each report (by doc version), which
reports take ``date`` and/or ``period`` (CSDL overloads), data kept for the past 30 days only, concealed
names by default since September 2021 (``/admin/reportSettings.displayConcealedNames``), and the report
throttle of 14 requests per 10 minutes per report API per app per tenant. "Today" is the real UTC date at
request time (the tap's date window uses the real clock too); values are drawn from a Random seeded by
(seed, report, date), so one date always holds the same data. The latest refreshed date is
``today - REFRESH_LATENCY_DAYS`` (Report Refresh Date lags 1-3 days, graph.md 3, UNVERIFIED); a later date
answers a header-only CSV.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tenant import Tenant

RETENTION_DAYS = 30
REFRESH_LATENCY_DAYS = 2
PERIODS = ("D7", "D30", "D90", "D180")


@dataclass
class ReportOptions:
    """Switches tests flip on ``tenant.report_options``."""

    #: Tenant default since Sept 2021: reports conceal user, group and site names (graph.md 3).
    concealed_names: bool = True
    #: A column Microsoft added that the tap does not know yet (header text), appended to every report.
    extra_column: str | None = None
    #: Requests per 10 minutes per report API per app (graph.md 3: 14); None disables the throttle.
    throttle: int | None = 14
    throttle_window: float = 600.0
    #: Lifetime of a pre-authenticated download URL ("a few minutes", graph.md 3).
    download_ttl: float = 300.0


@dataclass(frozen=True)
class Report:
    """One report function: its CSV headers, and whether it takes ``date`` and/or ``period``."""

    function: str
    headers: tuple[str, ...]
    takes_date: bool
    takes_period: bool
    per: str = "user"  # user | onedrive | site | activation | tenant


def _h(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


REPORTS = {
    r.function: r
    for r in (
        Report(
            "getOffice365ActiveUserDetail",
            _h(
                "Report Refresh Date, User Principal Name, Display Name, Is Deleted, Deleted Date, "
                "Has Exchange License, Has OneDrive License, Has SharePoint License, "
                "Has Skype For Business License, Has Yammer License, Has Teams License, "
                "Exchange Last Activity Date, OneDrive Last Activity Date, SharePoint Last Activity Date, "
                "Skype For Business Last Activity Date, Yammer Last Activity Date, Teams Last Activity Date, "
                "Exchange License Assign Date, OneDrive License Assign Date, SharePoint License Assign Date, "
                "Skype For Business License Assign Date, Yammer License Assign Date, "
                "Teams License Assign Date, Assigned Products"
            ),
            True,
            True,
        ),
        Report(
            "getM365AppUserDetail",
            _h(
                "Report Refresh Date, User Principal Name, Last Activation Date, Last Activity Date, "
                "Report Period, Windows, Mac, Mobile, Web, Outlook, Word, Excel, PowerPoint, OneNote, Teams, "
                "Outlook (Windows), Word (Windows), Excel (Windows), PowerPoint (Windows), OneNote (Windows), "
                "Teams (Windows), Outlook (Mac), Word (Mac), Excel (Mac), PowerPoint (Mac), OneNote (Mac), "
                "Teams (Mac), Outlook (Mobile), Word (Mobile), Excel (Mobile), PowerPoint (Mobile), "
                "OneNote (Mobile), Teams (Mobile), Outlook (Web), Word (Web), Excel (Web), PowerPoint (Web), "
                "OneNote (Web), Teams (Web)"
            ),
            True,
            True,
        ),
        Report(
            "getEmailActivityUserDetail",
            _h(
                "Report Refresh Date, User Principal Name, Display Name, Is Deleted, Deleted Date, "
                "Last Activity Date, Send Count, Receive Count, Read Count, Meeting Created Count, "
                "Meeting Interacted Count, Assigned Products, Report Period"
            ),
            True,
            True,
        ),
        Report(
            "getMailboxUsageDetail",
            _h(
                "Report Refresh Date, User Principal Name, Display Name, Is Deleted, Deleted Date, "
                "Created Date, Last Activity Date, Item Count, Storage Used (Byte), "
                "Issue Warning Quota (Byte), Prohibit Send Quota (Byte), Prohibit Send/Receive Quota (Byte), "
                "Deleted Item Count, Deleted Item Size (Byte), Deleted Item Quota (Byte), Has Archive, "
                "Report Period"
            ),
            False,
            True,
        ),
        Report(
            "getOneDriveUsageAccountDetail",
            _h(
                "Report Refresh Date, Site URL, Owner Display Name, Is Deleted, Last Activity Date, "
                "File Count, Active File Count, Storage Used (Byte), Storage Allocated (Byte), "
                "Owner Principal Name, Report Period"
            ),
            True,
            True,
            "onedrive",
        ),
        Report(
            "getSharePointSiteUsageDetail",
            _h(
                "Report Refresh Date, Site Id, Site URL, Owner Display Name, Is Deleted, "
                "Last Activity Date, File Count, Active File Count, Page View Count, Visited Page Count, "
                "Storage Used (Byte), Storage Allocated (Byte), Root Web Template, Owner Principal Name, "
                "Report Period"
            ),
            True,
            True,
            "site",
        ),
        Report(
            "getTeamsUserActivityUserDetail",
            _h(
                "Report Refresh Date, Tenant Display Name, Shared Channel Tenant Display Names, User Id, "
                "User Principal Name, Last Activity Date, Is Deleted, Deleted Date, Assigned Products, "
                "Team Chat Message Count, Private Chat Message Count, Call Count, Meeting Count, "
                "Post Messages, Reply Messages, Urgent Messages, Meetings Organized Count, "
                "Meetings Attended Count, Ad Hoc Meetings Organized Count, Ad Hoc Meetings Attended Count, "
                "Scheduled One-time Meetings Organized Count, Scheduled One-time Meetings Attended Count, "
                "Scheduled Recurring Meetings Organized Count, Scheduled Recurring Meetings Attended Count, "
                "Audio Duration, Video Duration, Screen Share Duration, Audio Duration In Seconds, "
                "Video Duration In Seconds, Screen Share Duration In Seconds, Has Other Action, Is Licensed, "
                "Report Period"
            ),
            True,
            True,
        ),
        Report(
            "getOffice365ActivationsUserDetail",
            _h(
                "Report Refresh Date, User Principal Name, Display Name, Product Type, "
                "Last Activated Date, Windows, Mac, Windows 10 Mobile, iOS, Android, "
                "Activated On Shared Computer"
            ),
            False,
            False,
            "activation",
        ),
        Report(
            "getOffice365ServicesUserCounts",
            _h(
                "Report Refresh Date, Exchange Active, Exchange Inactive, OneDrive Active, OneDrive Inactive, "
                "SharePoint Active, SharePoint Inactive, Skype For Business Active, "
                "Skype For Business Inactive, Yammer Active, Yammer Inactive, Teams Active, Teams Inactive, "
                "Office 365 Active, Office 365 Inactive, Report Period"
            ),
            False,
            True,
            "tenant",
        ),
    )
}

PRODUCTS = (
    "MICROSOFT 365 APPS FOR ENTERPRISE",
    "MICROSOFT 365 APPS FOR BUSINESS",
    "PROJECT",
    "VISIO",
)
NAME_HEADERS = frozenset(
    {"User Principal Name", "Display Name", "Owner Display Name", "Owner Principal Name"}
)


def conceal(value: str) -> str:
    """A concealed name: 32 upper-case hex characters (MD5-like), stable per name."""
    return hashlib.md5(value.encode()).hexdigest().upper()  # noqa: S324 - an identifier, not security


@dataclass
class UsageData:
    """The tenant's report subjects: users, their OneDrives and the team sites."""

    tenant: Tenant
    users: list[dict[str, Any]] = field(default_factory=list)
    sites: list[dict[str, Any]] = field(default_factory=list)

    def today(self) -> dt.date:
        """The real UTC date (see the module docstring)."""
        return dt.datetime.now(dt.UTC).date()

    def latest(self) -> dt.date:
        """The latest Report Refresh Date."""
        return self.today() - dt.timedelta(days=REFRESH_LATENCY_DAYS)

    def oldest(self) -> dt.date:
        """The oldest date a ``date=`` request may ask for."""
        return self.today() - dt.timedelta(days=RETENTION_DAYS)

    def rows(self, report: Report, day: dt.date, period_days: int) -> list[dict[str, str]]:
        """The report's rows (header -> CSV text) for one date (period_days 1) or a period ending at it."""
        if day > self.latest():
            return []
        rng = random.Random(f"{self.tenant.seed}:usage:{report.function}:{day}:{period_days}")
        subjects: list[dict[str, Any]]
        if report.per == "tenant":
            subjects = [{}]
        elif report.per == "site":
            subjects = self.sites
        elif report.per == "onedrive":
            subjects = onedrive_subjects(self)
        elif report.per == "activation":
            subjects = [
                {**u, "product": p} for u in self.users for p in PRODUCTS[: 1 + (u["n"] % 2)]
            ]
        else:
            subjects = self.users
        return [self._row(report, day, period_days, s, rng) for s in subjects]

    def _row(
        self, report: Report, day: dt.date, period: int, s: dict, rng: random.Random
    ) -> dict[str, str]:
        row: dict[str, str] = {}
        users = len(self.users)
        for header in report.headers:
            row[header] = self._value(header, report, day, period, s, rng, users)
        return row

    def _value(
        self,
        header: str,
        report: Report,
        day: dt.date,
        period: int,
        s: dict,
        rng: random.Random,
        users: int,
    ) -> str:
        if header == "Report Refresh Date":
            return day.isoformat()
        if header == "Report Period":
            return str(period)
        if header in ("User Principal Name", "Owner Principal Name"):
            return s.get("upn", "")
        if header in ("Display Name", "Owner Display Name"):
            return s.get("name", "")
        if header == "User Id":
            return s.get("id", "")
        if header == "Site Id":
            return s["site_id"]
        if header == "Site URL":
            return s["url"]
        if header == "Product Type":
            return s["product"]
        if header == "Root Web Template":
            return "Group"
        if header == "Tenant Display Name":
            return self.tenant.organization.get("displayName") or ""
        if header == "Shared Channel Tenant Display Names":
            return ""
        if header == "Assigned Products":
            return "+".join(s.get("products", ()))
        if header.endswith("Date"):
            if header == "Deleted Date":
                return ""
            if rng.random() < 0.2:
                return ""
            return (day - dt.timedelta(days=rng.randrange(0, 60))).isoformat()
        if header.startswith(("Is ", "Has ")) or header == "Activated On Shared Computer":
            if header == "Is Deleted":
                return "False"
            return "True" if rng.random() < 0.7 else "False"
        if report.function == "getM365AppUserDetail":
            return "Yes" if rng.random() < 0.5 else "No"
        if header.endswith("Duration"):
            return f"PT{rng.randrange(0, 5)}H{rng.randrange(0, 60)}M"
        if header.endswith("(Byte)"):
            return str(rng.randrange(0, 50 * 2**30))
        if report.per == "tenant":
            return str(rng.randrange(0, users + 1))
        return str(rng.randrange(0, 200))


def build(tenant: Tenant) -> None:
    """Report subjects from the tenant's users and Microsoft 365 groups; default report options."""
    tenant.report_options = ReportOptions()
    rng = tenant.rng_for("reports")
    data = UsageData(tenant)
    for n, user in enumerate(tenant.users):
        upn = user.get("userPrincipalName") or ""
        data.users.append(
            {
                "n": n,
                "id": user["id"],
                "upn": upn,
                "name": user.get("displayName") or "",
                "products": rng.choice(
                    (
                        ("OFFICE 365 E3",),
                        ("MICROSOFT 365 E5", "MICROSOFT 365 AUDIO CONFERENCING"),
                        (),
                    )
                ),
            }
        )
    host = "contoso"
    for group in tenant.groups:
        if "Unified" not in (group.get("groupTypes") or ()):
            continue
        owner = rng.choice(data.users) if data.users else {"upn": "", "name": ""}
        alias = (group.get("mailNickname") or group["id"][:8]).lower()
        data.sites.append(
            {
                "site_id": group["id"],
                "url": f"https://{host}.sharepoint.com/sites/{alias}",
                "upn": owner["upn"],
                "name": owner["name"],
            }
        )
    tenant.usage = data


def onedrive_subjects(data: UsageData) -> list[dict[str, Any]]:
    """One OneDrive per user."""
    return [
        {
            **u,
            "url": f"https://contoso-my.sharepoint.com/personal/{u['upn'].split('@')[0].replace('.', '_')}",
        }
        for u in data.users
    ]
