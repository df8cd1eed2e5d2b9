"""``/reports/getXxx(period='D7')`` and ``(date=YYYY-MM-DD)``, the download URL, ``/admin/reportSettings``.

As documented (graph.md section 3): v1.0 answers ``302 Found`` with ``Location`` = a short-lived
pre-authenticated download URL; the download is ``200 application/octet-stream`` CSV starting with a
UTF-8 BOM. The real download host needs no Authorization header (it ignores one); the sandbox REJECTS a
download that carries one (400), so tests prove the client does not forward its bearer token. ``period`` is
a quoted string literal in D7/D30/D90/D180; ``date`` is an unquoted Edm.Date within the past 30 days;
400 for a date on a period-only report, a date too old, or an unknown period. 14 requests per 10 minutes
per report API per app (429 with Retry-After beyond). ``GET /admin/reportSettings`` needs
ReportSettings.Read.All; ``PATCH`` needs ReportSettings.ReadWrite.All.

Per cloud (graph.md 10, ``metadata.py``): a report function the cloud's metadata does not list (usgov
has only the three print-job functions, china none) is 400 ``BadRequest`` "Resource not found for the
segment '<function>'."; ``/admin/reportSettings`` exists only where the metadata has
``adminReportSettings`` (global), elsewhere "Resource not found for the segment 'reportSettings'.". A
function the cloud lists but the sandbox does not model is 501 ``NotImplemented``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from .. import metadata
from ..model.reports import NAME_HEADERS, PERIODS, REPORTS, conceal
from ..server import GraphError, Request, Response, RouteTable, bad_request, json_response

if TYPE_CHECKING:
    from ..server import Server

REPORTS_READ = ("Reports.Read.All",)
SETTINGS_READ = ("ReportSettings.Read.All", "ReportSettings.ReadWrite.All")
SETTINGS_WRITE = ("ReportSettings.ReadWrite.All",)
_lock = threading.Lock()


def _state(server: Server) -> dict:
    return server.cache.setdefault(
        "reports", {"downloads": {}, "calls": {}, "settings_id": secrets.token_hex(8)}
    )


def _throttle(server: Server, req: Request, function: str) -> None:
    options = server.tenant.report_options
    if options.throttle is None:
        return
    app = req.token.client_id if req.token else "-"
    now = time.monotonic()
    with _lock:
        calls: deque = _state(server)["calls"].setdefault((function, app), deque())
        while calls and now - calls[0] >= options.throttle_window:
            calls.popleft()
        if len(calls) >= options.throttle:
            wait = max(options.throttle_window - (now - calls[0]), 0.0)
            raise GraphError(
                429,
                "TooManyRequests",
                "Too many requests.",
                headers={"Retry-After": str(max(int(wait) + 1, 1))},
                inner={"code": "429", "message": "Please retry after", "status": "429"},
            )
        calls.append(now)


def _parse_args(function: str, args: str) -> tuple[dt.date | None, str | None]:
    report = REPORTS[function]
    if not args:
        if report.takes_date or report.takes_period:
            raise bad_request(f"Function '{function}' requires a parameter.", "BadRequest")
        return None, None
    name, _, value = args.partition("=")
    name = name.strip()
    if name == "date" and report.takes_date:
        if value.startswith("'"):
            raise bad_request(
                f"The parameter 'date' is of type Edm.Date; {value} is not a valid date.",
                "BadRequest",
            )
        try:
            return dt.date.fromisoformat(value), None
        except ValueError:
            raise bad_request(f"Invalid date value '{value}'.", "BadRequest") from None
    if name == "period" and report.takes_period:
        period = value.strip("'")
        if not (value.startswith("'") and value.endswith("'")) or period not in PERIODS:
            raise bad_request(
                f"Invalid value '{value}' for parameter 'period'. Use D7, D30, D90 or D180.",
                "BadRequest",
            )
        return None, period
    raise bad_request(
        f"Function '{function}' has no overload with parameter '{name}'.", "BadRequest"
    )


def csv_body(server: Server, function: str, day: dt.date, period_days: int) -> bytes:
    """The CSV as the download host serves it: BOM, the report's headers, one line per row."""
    report = REPORTS[function]
    options = server.tenant.report_options
    data = server.tenant.usage
    rows = data.rows(report, day, period_days)
    headers = list(report.headers)
    if options.extra_column:
        headers.append(options.extra_column)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        if options.concealed_names:
            row = {k: (conceal(v) if k in NAME_HEADERS and v else v) for k, v in row.items()}
        line = [row.get(h, "") for h in report.headers]
        if options.extra_column:
            line.append("42")
        writer.writerow(line)
    return out.getvalue().encode("utf-8-sig")


def get_report(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /reports/{function}(args): 302 to a download URL."""
    function = m.group("function")
    if function not in REPORTS:
        raise GraphError(
            501, "NotImplemented", f"The sandbox does not model the report function '{function}'."
        )
    day, period = _parse_args(function, m.group("args") or "")
    data = server.tenant.usage
    if day is not None:
        if day < data.oldest():
            raise bad_request(
                f"Invalid date '{day}': reports are available for the past 30 days only.",
                "BadRequest",
            )
        if day > data.today():
            raise bad_request(f"Invalid date '{day}': the date is in the future.", "BadRequest")
        period_days = 1
    else:
        day = data.latest()
        period_days = int(period[1:]) if period else 7
    _throttle(server, req, function)
    token = secrets.token_urlsafe(24)
    body = csv_body(server, function, day, period_days)
    expires = time.monotonic() + server.tenant.report_options.download_ttl
    with _lock:
        _state(server)["downloads"][token] = (expires, body)
    location = f"{server.base_url}/download/{token}"
    return Response(302, b"", {"Location": location}, "text/plain")


def issued_download(server: Server, token: str) -> bool:
    """Whether this tenant's server issued the download URL ``/download/<token>`` (for routing)."""
    state = server.cache.get("reports")
    if state is None:
        return False
    with _lock:
        return token in state["downloads"]


def download(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /download/{token}: the pre-authenticated CSV (400 with an Authorization header)."""
    if req.headers.get("Authorization"):
        raise GraphError(
            400,
            "BadRequest",
            "The download URL is pre-authenticated; the request must not carry an Authorization header.",
        )
    with _lock:
        found = _state(server)["downloads"].get(m.group("token"))
    if found is None or time.monotonic() >= found[0]:
        raise GraphError(401, "Unauthorized", "The download link has expired.")
    return Response(200, found[1], {}, "application/octet-stream")


def get_settings(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /admin/reportSettings."""
    return json_response(
        {
            "@odata.context": f"{server.base_url}/v1.0/$metadata#admin/reportSettings/$entity",
            "id": _state(server)["settings_id"],
            "displayConcealedNames": server.tenant.report_options.concealed_names,
        }
    )


def patch_settings(server: Server, req: Request, m: re.Match[str]) -> Response:
    """PATCH /admin/reportSettings: 204."""
    body = req.json() or {}
    if "displayConcealedNames" in body:
        server.tenant.report_options.concealed_names = bool(body["displayConcealedNames"])
    return Response(204, b"", {}, "text/plain")


def unknown_function(server: Server, req: Request, m: re.Match[str]) -> str | None:
    """The function name when the cloud's metadata has no such reportRoot function (graph.md 10)."""
    function = m.group("function")
    return None if function in metadata.report_functions(server.cloud) else function


def register(table: RouteTable) -> None:
    """Report routes."""
    table.add(
        "GET",
        r"/v1\.0/reports/(?P<function>\w+)(?:\((?P<args>[^)]*)\))?",
        get_report,
        permissions=REPORTS_READ,
        segment_check=unknown_function,
    )
    table.add("GET", r"/download/(?P<token>[A-Za-z0-9_-]+)", download, kind="download")
    settings = "adminReportSettings"
    table.add(
        "GET", r"/v1\.0/admin/reportSettings", get_settings, permissions=SETTINGS_READ,
        entity=settings,
    )  # fmt: skip
    table.add(
        "PATCH", r"/v1\.0/admin/reportSettings", patch_settings, permissions=SETTINGS_WRITE,
        entity=settings,
    )  # fmt: skip
