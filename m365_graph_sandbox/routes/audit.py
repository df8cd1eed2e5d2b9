"""``/auditLogs/signIns``, ``/auditLogs/directoryAudits``, ``/auditLogs/provisioning`` (graph.md 1, 4, 6).

- newest first (descending timestamp), no ``$orderby`` on sign-ins; paging by an opaque ``$skiptoken``
  that is a time cursor, so events arriving meanwhile never shift pages;
- ``$filter`` only on the log's timestamp: ``createdDateTime`` for sign-ins (``eq, ge, le``: graph.md 1;
  security-api-solutions#23), ``activityDateTime`` for directory audits (``eq, ge, le``; a filter on
  ``createdDateTime`` is 400, microsoft-graph-docs#6101) and provisioning (``eq, gt, lt``); clauses joined
  by ``and``; other operators answer 400 ``Invalid filter clause``;
- ``$top``: sign-ins 1..1000 (default 1000), audits and provisioning 1..999 (default 100); no ``$select``
  on these logs (sign-ins: only ``$top, $skiptoken, $filter``);
- retention (graph.md 4): 30 days with P1/P2, 7 without; a lower bound older than that is Graph's
  400 ``BadRequest`` "Invalid filter clause" (microsoft-graph-docs#5676: "Min date validation check");
- sign-ins and provisioning need P1/P2: 403 ``Authentication_RequestFromNonPremiumTenantOrB2CTenant``;
  directory audits are served on Free (graph.md 4);
- throttling: 5 requests per 10 s per app per tenant on these APIs (graph.md 6), a sliding window shared
  by the three logs; the request over the limit gets 429 with a fractional ``Retry-After``.
  ``Server.audit_throttle = (requests, seconds)`` or None (off); tests shrink the window.
"""

from __future__ import annotations

import base64
import calendar
import re
import threading
import time
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import msgspec

from ..model.audit import DAY, TICKS
from ..server import GraphError, Request, Response, RouteTable, bad_request

if TYPE_CHECKING:
    from ..server import Server

AUDIT_READ = ("AuditLog.Read.All",)
PREMIUM_ERROR = (
    "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
    "Neither tenant is B2C or tenant doesn't have premium license",
)
_CLAUSE = re.compile(
    r"^\s*(?P<prop>[A-Za-z_]\w*)\s+(?P<op>eq|ne|ge|le|gt|lt)\s+"
    r"(?P<val>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?Z?)?)\s*$",
    re.I,
)
_encode = msgspec.json.encode


class LogSpec:
    """What differs between the three logs."""

    def __init__(
        self,
        attr: str,
        render: str,
        entity: str,
        key: str,
        ops: frozenset[str],
        max_top: int,
        default_top: int,
        allowed: tuple[str, ...],
        premium: bool,
    ) -> None:
        self.attr, self.render, self.entity, self.key = attr, render, entity, key
        self.ops, self.max_top, self.default_top = ops, max_top, default_top
        self.allowed, self.premium = allowed, premium


SIGN_INS = LogSpec(
    "sign_ins", "sign_in", "signIn", "createdDateTime", frozenset({"eq", "ge", "le"}),
    1000, 1000, ("$top", "$skiptoken", "$filter"), True,
)  # fmt: skip
AUDITS = LogSpec(
    "directory_audits", "directory_audit", "directoryAudit", "activityDateTime",
    frozenset({"eq", "ge", "le"}), 999, 100, ("$top", "$skiptoken", "$filter", "$orderby"), False,
)  # fmt: skip
PROVISIONING = LogSpec(
    "provisioning", "provisioning_event", "provisioningObjectSummary", "activityDateTime",
    frozenset({"eq", "gt", "lt"}), 999, 100, ("$top", "$skiptoken", "$filter", "$orderby"), True,
)  # fmt: skip


def parse_ticks(value: str) -> int:
    """A DateTimeOffset literal (date, or date-time with up to 7 fractional digits) as 100 ns ticks."""
    date, _, rest = value.rstrip("Zz").partition("T")
    y, mo, d = (int(p) for p in date.split("-"))
    h = mi = s = frac = 0
    if rest:
        hms, _, fraction = rest.partition(".")
        parts = [int(p) for p in hms.split(":")]
        h, mi = parts[0], parts[1]
        s = parts[2] if len(parts) > 2 else 0
        frac = int((fraction + "0000000")[:7]) if fraction else 0
    return calendar.timegm((y, mo, d, h, mi, s)) * TICKS + frac


class Throttle:
    """Sliding window of request times (graph.md 6: 5 per 10 s per app per tenant)."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.lock = threading.Lock()
        self.rejected = 0

    def check(self, limit: tuple[int, float] | None) -> None:
        if not limit:
            return
        count, seconds = limit
        with self.lock:
            now = time.monotonic()
            while self.times and self.times[0] <= now - seconds:
                self.times.popleft()
            if len(self.times) >= count:
                self.rejected += 1
                wait = max(self.times[0] + seconds - now, 0.001)
                raise GraphError(
                    429,
                    "TooManyRequests",
                    "Too many requests.",
                    headers={"Retry-After": f"{wait:.3f}"},
                    inner={"code": "429", "message": "Please retry after", "status": "429"},
                )
            self.times.append(now)


def throttle_for(server: Server) -> Throttle:
    """The tenant's one reporting-API throttle."""
    found = server.cache.get("audit.throttle")
    if found is None:
        found = server.cache.setdefault("audit.throttle", Throttle())
    return found


def _options(req: Request, spec: LogSpec) -> None:
    for key in req.query:
        if key.startswith("$") and key.lower() not in spec.allowed:
            option = key.lower()[1:].capitalize()
            raise bad_request(
                f"The query specified in the URI is not valid. Query option '{option}' is not "
                "allowed. To allow it, set the 'AllowedQueryOptions' property on "
                "EnableQueryAttribute or QueryValidationSettings.",
                "BadRequest",
            )


def _bounds(req: Request, spec: LogSpec, oldest: int) -> tuple[int | None, int | None]:
    """``[lo, hi)`` in ticks from the ``$filter``; 400 as Graph words it otherwise."""
    expr = req.query.get("$filter")
    lo: int | None = None
    hi: int | None = None
    if expr is None:
        return lo, hi
    invalid = bad_request("Invalid filter clause", "BadRequest")
    for clause in re.split(r"\s+and\s+", expr.strip(), flags=re.I):
        m = _CLAUSE.match(clause)
        if m is None:
            raise invalid
        prop, op = m.group("prop"), m.group("op").lower()
        if prop.lower() != spec.key.lower():
            if prop.lower() in {"createddatetime", "activitydatetime"}:
                raise bad_request(
                    f"Could not find a property named '{prop}' on type "
                    f"'microsoft.graph.{spec.entity}'."
                )
            raise invalid
        if op not in spec.ops:
            raise invalid
        try:
            tick = parse_ticks(m.group("val"))
        except (ValueError, IndexError):
            raise invalid from None
        if op in {"ge", "eq", "gt"} and tick < oldest:
            raise invalid  # older than the tenant's retention (graph.md 4)
        if op == "eq":
            lo = max(lo or tick, tick)
            hi = min(hi or tick + 1, tick + 1)
        elif op == "ge":
            lo = tick if lo is None else max(lo, tick)
        elif op == "gt":
            lo = tick + 1 if lo is None else max(lo, tick + 1)
        elif op == "le":
            hi = tick + 1 if hi is None else min(hi, tick + 1)
        elif op == "lt":
            hi = tick if hi is None else min(hi, tick)
    return lo, hi


def _query_key(path: str, query: dict[str, str]) -> int:
    items = sorted((k, v) for k, v in query.items() if k.lower() != "$skiptoken")
    return zlib.crc32(repr((path, items)).encode())


def _token(req: Request, cursor: int) -> str:
    raw = f"AUD1:{cursor}:{_query_key(req.path, req.query):x}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(req: Request, token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        magic, cursor, key = raw.split(":")
        if magic != "AUD1" or int(key, 16) != _query_key(req.path, req.query):
            raise ValueError(raw)
        return int(cursor)
    except (ValueError, UnicodeDecodeError):
        raise GraphError(
            400,
            "BadRequest",
            "The specified page token value has expired and can no longer be included in your request.",
        ) from None


def listing(server: Server, req: Request, spec: LogSpec) -> Response:
    """One page of a log, newest first."""
    throttle_for(server).check(getattr(server, "audit_throttle", (5, 10.0)))
    _options(req, spec)
    if spec.premium and not server.premium:
        raise GraphError(403, *PREMIUM_ERROR)
    raw_top = req.query.get("$top")
    top = spec.default_top
    if raw_top is not None:
        if not raw_top.isdigit() or not 1 <= int(raw_top) <= spec.max_top:
            raise bad_request(
                f"Invalid page size specified: '{raw_top}'. Must be between 1 and "
                f"{spec.max_top} inclusive."
            )
        top = int(raw_top)
    retention_days = 30 if server.premium else 7
    oldest = int((time.time() - retention_days * DAY) * TICKS)
    lo, hi = _bounds(req, spec, oldest)
    lo = oldest if lo is None else max(lo, oldest)
    token = req.query.get("$skiptoken")
    if token is not None:
        cursor = _cursor(req, token)
        hi = cursor if hi is None else min(hi, cursor)
    log = getattr(server.tenant.audit, spec.attr)
    render = getattr(server.tenant.audit, spec.render)
    with log.lock:
        start, end = log.span(lo, hi)
        first = max(start, end - top)
        ticks = log.ticks[first:end]
        serials = log.serials[first:end]
    segment = {"sign_ins": "signIns", "directory_audits": "directoryAudits"}.get(
        spec.attr, spec.attr
    )
    body: dict[str, Any] = {
        "@odata.context": f"{server.base_url}/v1.0/$metadata#auditLogs/{segment}"
    }
    if first > start:
        params = [(k, v) for k, v in req.query.items() if k.lower() != "$skiptoken"]
        params.append(("$skiptoken", _token(req, ticks[0])))
        query = urlencode(params, safe="$,()'@:/", quote_via=quote)
        body["@odata.nextLink"] = f"{server.base_url}{req.path}?{query}"
    body["value"] = [render(serials[i], ticks[i]) for i in range(len(ticks) - 1, -1, -1)]
    return Response(200, _encode(body))


def list_sign_ins(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /auditLogs/signIns."""
    return listing(server, req, SIGN_INS)


def list_directory_audits(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /auditLogs/directoryAudits."""
    return listing(server, req, AUDITS)


def list_provisioning(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /auditLogs/provisioning."""
    return listing(server, req, PROVISIONING)


def register(table: RouteTable) -> None:
    """Activity-log routes (AuditLog.Read.All, graph.md 1)."""
    table.add(
        "GET", r"/v1\.0/auditLogs/signIns", list_sign_ins, permissions=AUDIT_READ, entity="signIn"
    )
    table.add(
        "GET", r"/v1\.0/auditLogs/directoryAudits", list_directory_audits, permissions=AUDIT_READ,
        entity="directoryAudit",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/auditLogs/provisioning", list_provisioning, permissions=AUDIT_READ,
        entity="provisioningObjectSummary",
    )  # fmt: skip
