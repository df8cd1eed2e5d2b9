"""The tenant report: one static HTML page with charts built from the dbt package's marts.

Reads the marts from DuckDB (``--duckdb FILE``) or PostgreSQL (``--postgres "host=... dbname=..."``) in
``--schema`` (the dbt target schema, where the marts are), writes ``--out`` (plotly.js inlined, so the
page needs no network) and, with ``--headlines``, prints the tenant overview's figures.

    python transform/report/tenant_report.py --duckdb output/demo.duckdb --schema m365 \
        --out output/tenant-report.html --headlines
"""

from __future__ import annotations

import argparse
import html
import numbers
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

Rows = list[dict[str, Any]]
Query = Callable[[str], Rows]

#: Chart ids, in page order; tests/test_transform.py checks that each one rendered.
CHARTS = (
    "licence-utilisation",
    "inactive-licensed-users",
    "devices-at-risk",
    "admin-roles",
    "risky-permissions",
)


def duckdb_query(path: str) -> Query:
    """A query function over a DuckDB file (read-only)."""
    import duckdb

    con = duckdb.connect(path, read_only=True)

    def run(sql: str) -> Rows:
        cur = con.cursor().execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    return run


def postgres_query(dsn: str) -> Query:
    """A query function over PostgreSQL (psycopg 3)."""
    import psycopg
    from psycopg.rows import dict_row

    con = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)

    def run(sql: str) -> Rows:
        return list(con.execute(sql).fetchall())  # type: ignore[arg-type]

    return run


def load(query: Query, schema: str) -> dict[str, Rows]:
    """Every mart the report uses, as lists of dicts."""
    marts = (
        "m365__tenant_overview",
        "m365__sku_license_usage",
        "m365__inactive_licensed_users",
        "m365__devices_at_risk",
        "m365__admin_role_holders",
        "m365__app_permissions",
        "m365__expiring_app_credentials",
    )
    # schema and names are identifiers from the command line and this list, not user data
    return {name: query(f'select * from "{schema}"."{name}"') for name in marts}  # noqa: S608


def _n(value: Any) -> int:
    return int(value or 0)


def _layout(fig: go.Figure, title: str, **extra: Any) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        template="plotly_white",
        height=extra.pop("height", 420),
        margin={"l": 60, "r": 20, "t": 60, "b": 60},
        legend={"orientation": "h", "y": -0.2},
        **extra,
    )
    return fig


def _empty(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def licence_chart(skus: Rows) -> go.Figure:
    """Per SKU: assigned licences active in 30 days, active 31-90 days ago, inactive 90 days, unassigned."""
    skus = sorted(skus, key=lambda r: -_n(r["consumed_units"]))
    names = [r["sku_part_number"] or r["sku_id"] for r in skus]
    active30 = [_n(r["active_30d_users"]) for r in skus]
    active90 = [_n(r["active_90d_users"]) - _n(r["active_30d_users"]) for r in skus]
    inactive = [_n(r["inactive_90d_users"]) for r in skus]
    # Free or trial SKUs come with huge prepaid counts: show spare units only where they are a real stock.
    spare = [
        _n(r["available_units"])
        if _n(r["prepaid_units"]) <= 10 * max(1, _n(r["consumed_units"]))
        else 0
        for r in skus
    ]
    hover = [
        f"prepaid {_n(r['prepaid_units']):,}, consumed {_n(r['consumed_units']):,}" for r in skus
    ]
    fig = go.Figure()
    for label, values, colour in (
        ("active in the last 30 days", active30, "#2e7d32"),
        ("active 31-90 days ago", active90, "#9ccc65"),
        ("inactive for 90+ days", inactive, "#e53935"),
        ("bought, not assigned", spare, "#bdbdbd"),
    ):
        fig.add_bar(name=label, x=names, y=values, marker_color=colour, hovertext=hover)
    _layout(fig, "Licence utilisation per SKU (assigned users by last activity)", barmode="stack")
    if not skus:
        _empty(fig, "no subscribed SKUs")
    return fig


def inactive_chart(users: Rows) -> go.Figure:
    """Inactive licensed users per SKU, split by how long they have been inactive."""
    buckets = ("90-180 days", "181-365 days", "over a year / never")
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(buckets, 0))
    for row in users:
        days = _n(row["days_inactive"])
        bucket = (
            buckets[2]
            if row["never_active"] or days > 365
            else buckets[1]
            if days > 180
            else buckets[0]
        )
        for sku in (row["sku_part_numbers"] or "").split(", "):
            if sku:
                counts[sku][bucket] += 1
    skus = sorted(counts, key=lambda s: -sum(counts[s].values()))
    fig = go.Figure()
    for bucket, colour in zip(buckets, ("#ffb74d", "#f4511e", "#b71c1c"), strict=True):
        fig.add_bar(name=bucket, x=skus, y=[counts[s][bucket] for s in skus], marker_color=colour)
    _layout(fig, f"Licensed users without activity ({len(users)} users)", barmode="stack")
    if not users:
        _empty(fig, "no inactive licensed users")
    return fig


def devices_chart(devices: Rows) -> go.Figure:
    """Devices at risk per operating system: non-compliant, stale, or both."""
    kinds = ("non-compliant", "stale", "non-compliant and stale")
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(kinds, 0))
    for row in devices:
        nc, stale = bool(row["is_noncompliant"]), bool(row["is_stale"])
        kind = kinds[2] if nc and stale else kinds[0] if nc else kinds[1]
        counts[row["operating_system"] or "unknown"][kind] += 1
    systems = sorted(counts, key=lambda s: -sum(counts[s].values()))
    fig = go.Figure()
    for kind, colour in zip(kinds, ("#e53935", "#90a4ae", "#6a1b9a"), strict=True):
        fig.add_bar(name=kind, x=systems, y=[counts[s][kind] for s in systems], marker_color=colour)
    noncompliant = sum(1 for r in devices if r["is_noncompliant"])
    _layout(
        fig,
        f"Devices at risk ({noncompliant} non-compliant, {len(devices)} in all)",
        barmode="stack",
    )
    if not devices:
        _empty(fig, "no non-compliant or stale devices")
    return fig


def admin_chart(holders: Rows) -> go.Figure:
    """Holders per admin role; users without MFA registration apart when the registration data exists.

    Active holders only: PIM-eligible ones (is_eligible) hold the role once they activate it.
    """
    holders = [r for r in holders if not r.get("is_eligible")]
    roles: dict[str, dict[str, int]] = defaultdict(lambda: {"ok": 0, "no_mfa": 0, "other": 0})
    known = any(r["has_registration_details"] for r in holders)
    for row in holders:
        role = row["role_name"] or row["role_id"]
        if row["member_type"] != "user":
            roles[role]["other"] += 1
        elif known and row["has_registration_details"] and not row["is_mfa_registered"]:
            roles[role]["no_mfa"] += 1
        else:
            roles[role]["ok"] += 1
    names = sorted(roles, key=lambda r: sum(roles[r].values()))
    fig = go.Figure()
    series = [("users" + (" with MFA registered" if known else ""), "ok", "#1e88e5")]
    if known:
        series.append(("users without MFA registration", "no_mfa", "#e53935"))
    series.append(("service principals and groups", "other", "#8e24aa"))
    for label, key, colour in series:
        fig.add_bar(
            name=label,
            y=names,
            x=[roles[n][key] for n in names],
            orientation="h",
            marker_color=colour,
        )
    title = f"Admin role holders ({len({r['member_id'] for r in holders})} principals)"
    if not known:
        title += " - MFA registration not loaded"
    _layout(fig, title, barmode="stack", height=max(360, 40 * len(names) + 140))
    if not holders:
        _empty(fig, "no admin role holders")
    return fig


def permissions_chart(permissions: Rows) -> go.Figure:
    """High-privilege permissions granted, per client app, coloured by permission."""
    risky = [r for r in permissions if r["is_high_privilege"]]
    apps: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in risky:
        app = row["client_display_name"] or row["client_service_principal_id"]
        label = f"{row['permission']} ({row['permission_type']})"
        apps[app][label] += 1
    labels = sorted({label for counts in apps.values() for label in counts})
    names = sorted(apps, key=lambda a: sum(apps[a].values()))
    fig = go.Figure()
    for label in labels:
        fig.add_bar(name=label, y=names, x=[apps[a].get(label, 0) for a in names], orientation="h")
    _layout(
        fig,
        f"Risky permissions: {len(risky)} high-privilege grants of {len(permissions)}",
        barmode="stack",
        height=max(360, 40 * len(names) + 160),
    )
    if not risky:
        _empty(fig, "no high-privilege permissions granted")
    return fig


def _table(rows: Rows, columns: Iterable[tuple[str, str]], limit: int = 15) -> str:
    cols = list(columns)
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in cols)
    body = []
    for row in rows[:limit]:
        cells = "".join(
            f"<td>{html.escape('' if row.get(key) is None else str(row.get(key)))}</td>"
            for key, _ in cols
        )
        body.append(f"<tr>{cells}</tr>")
    more = (
        f"<p class='more'>{len(rows) - limit} more rows in the mart.</p>"
        if len(rows) > limit
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def headlines(overview: Rows) -> list[str]:
    """The tenant overview as text lines (one block per tenant)."""
    lines = []
    for t in overview:
        name = t.get("tenant_display_name") or t["tenant_id"]
        mfa = t.get("admins_without_mfa")
        lines += [
            f"{name} ({t['tenant_id']}): {_n(t['users'])} users, {_n(t['guests'])} guests, "
            f"{_n(t['licensed_users'])} licensed",
            f"  licences: {_n(t['consumed_units']):,} of {_n(t['prepaid_units']):,} prepaid units consumed; "
            f"{_n(t['assigned_licenses_active_30d'])} of {_n(t['assigned_licenses'])} assigned licences "
            "used in the last 30 days",
            f"  inactive licensed users: {_n(t['inactive_licensed_users'])}, stale accounts: "
            f"{_n(t['stale_accounts'])}, disabled but licensed: {_n(t['disabled_licensed_accounts'])}, "
            f"inactive guests: {_n(t['inactive_guests'])}",
            f"  devices non-compliant: {_n(t['noncompliant_devices'])}, stale: {_n(t['stale_devices'])}",
            f"  admin role holders: {_n(t['admin_role_holders'])} ({_n(t['privileged_role_holders'])} in "
            "privileged roles" + (f", {mfa} without MFA registration)" if mfa is not None else ")"),
            f"  high-privilege app permissions: {_n(t['high_privilege_permissions'])} of "
            f"{_n(t['permissions_granted'])}, app credentials expiring within 30 days: "
            f"{_n(t['credentials_expiring'])}",
            f"  sign-ins in the window: {_n(t['sign_ins_window'])}, failed: {_n(t['failed_sign_ins_window'])}",
        ]
    return lines


STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1180px;
color:#212121;padding:0 16px}
h1{font-size:26px;margin-bottom:4px} h2{font-size:19px;margin-top:36px}
.sub{color:#616161;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}
.card{border:1px solid #e0e0e0;border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:24px}
.chart{border:1px solid #eeeeee;border-radius:8px;margin:12px 0;padding:4px}
table{border-collapse:collapse;font-size:13px;width:100%} th,td{border-bottom:1px solid #eeeeee;
padding:4px 6px;text-align:left} th{background:#fafafa}
.more{color:#757575;font-size:12px}
"""


def render(marts: dict[str, Rows]) -> str:
    """The whole page."""
    overview = marts["m365__tenant_overview"]
    figures = {
        "licence-utilisation": licence_chart(marts["m365__sku_license_usage"]),
        "inactive-licensed-users": inactive_chart(marts["m365__inactive_licensed_users"]),
        "devices-at-risk": devices_chart(marts["m365__devices_at_risk"]),
        "admin-roles": admin_chart(marts["m365__admin_role_holders"]),
        "risky-permissions": permissions_chart(marts["m365__app_permissions"]),
    }
    charts = {
        chart_id: fig.to_html(
            full_html=False, include_plotlyjs=False, div_id=chart_id, config={"displaylogo": False}
        )
        for chart_id, fig in figures.items()
    }
    totals = defaultdict(int)
    for t in overview:
        for key, value in t.items():
            if isinstance(value, numbers.Number) and not isinstance(value, bool):
                totals[key] += int(value)
    cards = [
        ("users", "users"),
        ("licensed users", "licensed_users"),
        ("inactive licensed users", "inactive_licensed_users"),
        ("disabled but licensed", "disabled_licensed_accounts"),
        ("inactive guests", "inactive_guests"),
        ("non-compliant devices", "noncompliant_devices"),
        ("admin role holders", "admin_role_holders"),
        ("high-privilege permissions", "high_privilege_permissions"),
        ("credentials expiring in 30 d", "credentials_expiring"),
        ("failed sign-ins (window)", "failed_sign_ins_window"),
    ]
    card_html = "".join(
        f"<div class='card'><b>{totals[key]:,}</b>{label}</div>" for label, key in cards
    )
    tenants = ", ".join(
        html.escape(str(t.get("tenant_display_name") or t["tenant_id"])) for t in overview
    )
    risky = [r for r in marts["m365__app_permissions"] if r["is_high_privilege"]]
    sections = [
        ("Licence utilisation", "licence-utilisation", ""),
        (
            "Inactive licensed users",
            "inactive-licensed-users",
            _table(
                sorted(
                    marts["m365__inactive_licensed_users"], key=lambda r: -_n(r["days_inactive"])
                ),
                [
                    ("user_principal_name", "user"),
                    ("sku_part_numbers", "SKUs"),
                    ("last_activity_date_time", "last activity"),
                    ("days_inactive", "days inactive"),
                ],
            ),
        ),
        (
            "Non-compliant and stale devices",
            "devices-at-risk",
            _table(
                sorted(
                    marts["m365__devices_at_risk"],
                    key=lambda r: (not r["is_noncompliant"], -_n(r["days_since_last_seen"])),
                ),
                [
                    ("display_name", "device"),
                    ("operating_system", "OS"),
                    ("compliance_state", "Intune state"),
                    ("days_since_last_seen", "days since seen"),
                    ("owner_user_principal_names", "owners"),
                ],
            ),
        ),
        (
            "Admin roles",
            "admin-roles",
            _table(
                sorted(marts["m365__admin_role_holders"], key=lambda r: r["role_name"] or ""),
                [
                    ("role_name", "role"),
                    ("display_name", "holder"),
                    ("member_type", "type"),
                    ("assignment_type", "assignment"),
                    ("directory_scope_id", "scope"),
                    ("account_enabled", "enabled"),
                    ("is_mfa_registered", "MFA registered"),
                ],
                limit=40,
            ),
        ),
        (
            "Risky permissions",
            "risky-permissions",
            _table(
                risky,
                [
                    ("client_display_name", "app"),
                    ("permission", "permission"),
                    ("permission_type", "type"),
                    ("privilege_reason", "why it matters"),
                ],
                limit=40,
            )
            + "<h2>App credentials expiring within 30 days</h2>"
            + _table(
                sorted(
                    marts["m365__expiring_app_credentials"],
                    key=lambda r: _n(r["days_until_expiry"]),
                ),
                [
                    ("application_display_name", "app"),
                    ("credential_type", "type"),
                    ("credential_display_name", "name"),
                    ("end_date_time", "ends"),
                    ("days_until_expiry", "days left"),
                ],
            ),
        ),
    ]
    body = "".join(
        f"<h2>{html.escape(title)}</h2><div class='chart'>{charts[chart_id]}</div>{extra}"
        for title, chart_id, extra in sections
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Microsoft 365 tenant report</title><style>{STYLE}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        f"<h1>Microsoft 365 tenant report</h1><p class='sub'>{tenants} - built from the "
        "microsoft365 dbt package's marts (tap-microsoft365)</p>"
        f"<div class='cards'>{card_html}</div>{body}</body></html>"
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: build the page, optionally print the headline figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--duckdb", help="DuckDB file holding the marts")
    source.add_argument(
        "--postgres", help="libpq connection string of the database holding the marts"
    )
    parser.add_argument(
        "--schema", default="m365", help="schema of the marts (dbt's target schema)"
    )
    parser.add_argument("--out", default="output/tenant-report.html", help="HTML file to write")
    parser.add_argument(
        "--headlines", action="store_true", help="print the tenant overview's figures"
    )
    args = parser.parse_args(argv)
    query = duckdb_query(args.duckdb) if args.duckdb else postgres_query(args.postgres)
    marts = load(query, args.schema)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(marts), encoding="utf-8")
    if args.headlines:
        for line in headlines(marts["m365__tenant_overview"]):
            print(line)
    print(
        f"report: wrote {out} ({out.stat().st_size // 1024} KiB, charts: {', '.join(CHARTS)})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
