"""``tap-microsoft365 --check``: what a sync would find, per tenant and selected stream, without syncing.

For each tenant: a token (app-only or delegated), then per selected stream one cheap read of its
endpoint (``$top=1``; a per-parent stream: one parent, then that parent's children; a report: one call
for the shortest period) that proves it can be read, or the reason it cannot (permission, licence, role,
cloud). Directory collections also give their object count (``$count=true`` with ``ConsistencyLevel:
eventual``, graph.md 5). A table goes to stderr for people and one JSON document to stdout for machines;
the exit code is 0 only when every selected stream is readable in every tenant. No records are emitted.
"""

from __future__ import annotations

import json
import sys
import typing as t

from tap_microsoft365.graph.errors import (
    GraphSkippableError,
    LicenseMissingError,
    NotInCloudError,
    PermissionMissingError,
    TapMicrosoft365Error,
)
from tap_microsoft365.streams.audit import AuditLogStream
from tap_microsoft365.streams.base import BatchedChildStream, GraphStream
from tap_microsoft365.streams.reports import UsageReportStream

if t.TYPE_CHECKING:
    from tap_microsoft365.context import RunContext
    from tap_microsoft365.tap import TapMicrosoft365

#: Streams whose collection answers ``$count`` (directory objects, advanced queries; graph.md 5).
COUNTED = frozenset({"users", "groups", "devices", "applications", "service_principals"})


def why(exc: GraphSkippableError) -> str:
    """permission, licence, cloud or role: the kind of refusal."""
    if isinstance(exc, LicenseMissingError):
        return "licence"
    if isinstance(exc, NotInCloudError):
        return "cloud"
    if isinstance(exc, PermissionMissingError):
        return "permission"
    return "refused"


def probe(stream: GraphStream, run: RunContext) -> int | None:
    """One cheap read that proves ``stream`` can be read; the object count where Graph gives it."""
    client = run.client
    if isinstance(stream, UsageReportStream):
        url = client.url(f"{stream.path}(period='D7')")
        client.send("GET", url, stream=stream.name, redirects=True)
        return None
    if isinstance(stream, BatchedChildStream):
        parent = t.cast("GraphStream", stream.run_source.streams[stream.parent])
        params: dict[str, t.Any] = {"$select": "id"} if parent.supports_select else {}
        if parent.max_page_size:
            params["$top"] = 1
        page = next(client.pages(parent.path, stream=stream.name, params=params))
        first = next((r["id"] for r in page["value"] if isinstance(r, dict) and "id" in r), None)
        if first is not None:
            inner: dict[str, t.Any] = {"$select": stream.child_select} if stream.child_select else {}
            if stream.page_size:
                inner["$top"] = 1
            path = stream.child_path.format(id=first)
            next(client.pages(path, stream=stream.name, params=inner))
        return None
    if isinstance(stream, AuditLogStream):
        next(client.pages(stream.path, stream=stream.name, params={"$top": 1}, pace=stream.pacer()))
        return None
    params = stream.first_params(None) if stream.name != "user_licenses" else {}
    headers = dict(stream.request_headers())
    path = stream.path if stream.name != "user_licenses" else "/subscribedSkus"
    if "$top" in params:
        params["$top"] = 1
    if stream.name in COUNTED:
        params = {"$select": "id", "$top": 1, "$count": "true"}
        headers["ConsistencyLevel"] = "eventual"
    page = next(client.pages(path, stream=stream.name, params=params, headers=headers or None))
    count = page.get("@odata.count")
    return count if isinstance(count, int) else None


def check_tenant(tap: TapMicrosoft365, tenant_id: str, streams: list[GraphStream]) -> dict[str, t.Any]:
    """One tenant's row of the check: its sign-in and each selected stream."""
    entry = next(e for e in tap.tenant_entries if e.tenant_id == tenant_id)
    out: dict[str, t.Any] = {
        "tenant_id": tenant_id,
        "label": entry.label,
        "connection": "delegated" if entry.delegated else "app-only",
        "streams": {},
    }
    try:
        run = tap.run_context_for(tenant_id)
        run.client.tokens.access_token()
    except TapMicrosoft365Error as exc:
        out["sign_in"] = str(exc)
        for stream in streams:
            out["streams"][stream.name] = {"readable": False, "reason": "sign-in failed"}
        return out
    out["sign_in"] = "ok"
    for stream in streams:
        stream.tenant_id = tenant_id
        cell: dict[str, t.Any]
        try:
            count = probe(stream, run)
        except GraphSkippableError as exc:
            reason = str(exc) + stream.delegated_hint(exc)
            kind = why(exc)
            if kind == "permission" and run.delegated and stream.path.startswith(stream.ROLE_PATHS):
                kind = "permission or role"
            cell = {"readable": False, "kind": kind, "reason": reason}
        except TapMicrosoft365Error as exc:
            cell = {"readable": False, "kind": "error", "reason": str(exc)}
        else:
            cell = {"readable": True}
            if count is not None:
                cell["count"] = count
        out["streams"][stream.name] = cell
    return out


def run_check(tap: TapMicrosoft365) -> dict[str, t.Any]:
    """The check of every tenant and selected stream (see the module docstring)."""
    streams = [s for s in tap.streams.values() if isinstance(s, GraphStream) and s.selected]
    tenants = [check_tenant(tap, e.tenant_id, streams) for e in tap.tenant_entries]
    readable = sum(c["readable"] for t_ in tenants for c in t_["streams"].values())
    total = len(streams) * len(tenants)
    return {
        "ok": readable == total,
        "readable": readable,
        "checked": total,
        "streams": [s.name for s in streams],
        "tenants": tenants,
    }


def table(report: dict[str, t.Any]) -> str:
    """The check for people: per tenant its connection, then a line per stream."""
    lines = []
    for tenant in report["tenants"]:
        name = tenant["label"] if tenant["label"] != tenant["tenant_id"] else ""
        head = f"Tenant {name + ' ' if name else ''}({tenant['tenant_id']}), {tenant['connection']}: "
        lines.append(head + ("signed in" if tenant["sign_in"] == "ok" else tenant["sign_in"]))
        width = max((len(n) for n in tenant["streams"]), default=10)
        for stream_name, cell in tenant["streams"].items():
            if cell["readable"]:
                status = "readable" + (f", {cell['count']:,} objects" if "count" in cell else "")
            else:
                status = f"NOT READABLE ({cell.get('kind', 'sign-in')}): {cell['reason']}"
            lines.append(f"  {stream_name:<{width}}  {status}")
    lines.append(
        f"Check: {report['readable']} of {report['checked']} stream reads possible "
        f"({len(report['streams'])} selected streams x {len(report['tenants'])} tenants)"
        + ("." if report["ok"] else "; fix what is NOT READABLE or deselect those streams.")
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``--check`` with the tap's own ``--config``/``--catalog`` arguments; exit 0 when all readable."""
    from tap_microsoft365.tap import TapMicrosoft365

    configs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"]
    catalogs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--catalog", "--properties")]
    files = [c for c in configs if c != "ENV"]
    tap = TapMicrosoft365(
        config=files or None,
        catalog=catalogs[-1] if catalogs else None,
        parse_env_config="ENV" in configs,  # --config ENV: settings from TAP_MICROSOFT365_* variables
        validate_config=True,
    )
    report = run_check(tap)
    print(table(report), file=sys.stderr)
    print(json.dumps(report, sort_keys=True))
    return 0 if report["ok"] else 1
