"""The dbt package in transform/ against the sandbox's ground truth, on PostgreSQL and DuckDB.

One Meltano load per adapter (a fresh PostgreSQL schema with target-postgres; a DuckDB file with
target-duckdb), one user marked deleted in the loaded users table (as a delta deletion leaves it), then
`dbt build` (models, seeds, schema and data tests) with m365_as_of fixed. Each mart's rows are compared
with what the sandbox's model says (users, SKUs, devices, grants, roles, credentials, the sign-in log),
computed here in Python. The report built from the PostgreSQL marts is opened in headless Chromium.

Needs PostgreSQL (as tests/test_e2e_postgres.py), the Meltano plugins, dbt (the analytics extra) and
Debian's chromium, all installed by scripts/bootstrap.sh. Each is skipped with the reason when missing,
unless REQUIRE_POSTGRES=1 (scripts/test.sh sets it when CI is set): then a missing one fails.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from m365_graph_sandbox import Sandbox
from m365_graph_sandbox.model.reports import REPORTS

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
TRANSFORM = ROOT / "transform"
BIN = Path(sys.executable).parent
PG = {
    "host": os.environ.get("E2E_POSTGRES_HOST", "127.0.0.1"),
    "port": int(os.environ.get("E2E_POSTGRES_PORT", "5432")),
    "dbname": "test",
    "user": os.environ.get("PGUSER", "postgres"),
    "password": os.environ.get("PGPASSWORD", "postgres"),  # ignored under trust auth
}
INACTIVE_DAYS, STALE_DEVICE_DAYS, EXPIRY_DAYS, SIGN_IN_DAYS = 90, 90, 30, 30
DAY = 86400


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _tool(name: str) -> str:
    exe = BIN / name
    if not exe.exists():
        _unavailable(f"{name} is not installed in {BIN} (run: bash scripts/bootstrap.sh)")
    return str(exe)


def _plugin(kind: str) -> None:
    if not (ROOT / ".meltano" / kind / "venv").is_dir():
        _unavailable(f"Meltano plugin {kind} is not installed (run: bash scripts/bootstrap.sh)")


def _ts(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _aware(value: Any) -> dt.datetime | None:
    """A timestamp read back from either database, as an aware UTC datetime."""
    if value is None:
        return None
    if value.tzinfo is None:
        pytest.fail(f"a naive timestamp reached a model: {value!r}")
    return value.astimezone(dt.UTC)


def _days(start: dt.datetime | None, end: dt.datetime) -> int | None:
    return None if start is None else math.floor((end - start).total_seconds() / DAY)


class Warehouse:
    """The loaded tenant, the dbt outputs, and the sandbox's model they came from."""

    def __init__(self, kind: str, sb: Sandbox, as_of: dt.datetime, marts_schema: str,
                 deleted_user: str, connect: Any) -> None:  # fmt: skip
        self.kind = kind
        self.sb = sb
        self.tenant = sb.tenant
        self.tenant_id = sb.tenant_id
        self.as_of = as_of
        self.marts = marts_schema
        self.staging = f"{marts_schema}_staging"
        self.deleted_user = deleted_user
        self._connect = connect
        self.report_dates: list[dt.date] = []

    def rows(self, sql: str) -> list[dict[str, Any]]:
        return self._connect(sql)

    def mart(self, name: str) -> list[dict[str, Any]]:
        rows = self.rows(f'select * from "{self.marts}"."{name}"')
        assert all(r["tenant_id"] == self.tenant_id for r in rows), (
            f"{name}: a row of another tenant"
        )
        return rows


def _sys_dir(tmp: Path) -> Path:
    sys_dir = tmp / "meltano-sys"
    sys_dir.mkdir(exist_ok=True)
    for kind in ("extractors", "loaders"):
        link = sys_dir / kind
        if not link.exists():
            link.symlink_to(ROOT / ".meltano" / kind)
    return sys_dir


def _meltano_env(sb: Sandbox, tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAP_MICROSOFT365_", "TARGET_POSTGRES_", "TARGET_DUCKDB_", "MELTANO_"))
    }
    env.update({f"TAP_MICROSOFT365_{k.upper()}": str(v) for k, v in sb.tap_config().items()})
    env.update(
        {
            "REQUESTS_CA_BUNDLE": str(sb.ca_bundle),
            "TAP_MICROSOFT365_AUDIT_REQUESTS_PER_10S": "0",  # the sandbox's log throttle is off too
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}",
            # A .meltano of its own (the installed plugins linked in): Meltano writes each run's config
            # and catalog under .meltano/run/, which concurrent runs in one checkout would share.
            "MELTANO_SYS_DIR_ROOT": str(_sys_dir(tmp)),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    return env


def _run(cmd: list[str], env: dict[str, str], what: str, timeout: int = 600) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{output[-8000:]}"
    return output


def _dbt_build(env: dict[str, str], tmp: Path, raw_schema: str, as_of: dt.datetime) -> None:
    env = {k: v for k, v in env.items() if not k.startswith("DBT_")}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    variables = {"m365_schema": raw_schema, "m365_as_of": as_of.isoformat()}
    cmd = [_tool("dbt"), "build", "--project-dir", str(TRANSFORM), "--profiles-dir", str(TRANSFORM),
           "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"),
           "--vars", json.dumps(variables)]  # fmt: skip
    _run(cmd, env, "dbt build")
    results = json.loads((tmp / "target" / "run_results.json").read_text())["results"]
    # the user marked deleted keeps its user_licenses rows: the one warning expected
    expected_warn = "relationships_stg_m365__user_licenses_user_id"
    bad = [(r["unique_id"], r["status"], r.get("message")) for r in results
           if r["status"] not in ("success", "pass")
           and not (r["status"] == "warn" and expected_warn in r["unique_id"])]  # fmt: skip
    assert not bad, f"dbt build: {bad}"
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert len(tests) > 100, f"dbt ran only {len(tests)} tests"


def _pick_deleted_user(sb: Sandbox, as_of: dt.datetime) -> str:
    """A licensed member with no recent sign-in: it would be in the inactive marts were it not deleted."""
    for user in sb.tenant.users[1:]:
        last = _ts((user.get("signInActivity") or {}).get("lastSuccessfulSignInDateTime"))
        if (
            user.get("assignedLicenses")
            and user["userType"] == "Member"
            and (last is None or (as_of - last).days > INACTIVE_DAYS + 5)
        ):
            return user["id"]
    return sb.tenant.users[-1]["id"]


@pytest.fixture(scope="module")
def postgres_warehouse(tmp_path_factory):
    psycopg = pytest.importorskip("psycopg")
    from psycopg.rows import dict_row

    try:
        conn = psycopg.connect(**PG, connect_timeout=5, autocommit=True, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        _unavailable(
            f"PostgreSQL is not reachable on {PG['host']}:{PG['port']}: {exc}".splitlines()[0]
        )
    meltano = _tool("meltano")
    _plugin("extractors/tap-microsoft365")
    _plugin("loaders/target-postgres")
    tmp = tmp_path_factory.mktemp("transform_pg")
    raw = f"tfm_m365_{uuid.uuid4().hex[:10]}"
    marts = f"{raw}_dbt"
    try:
        with Sandbox(users=200, seed=7, audit_throttle=None) as sb:
            env = _meltano_env(sb, tmp)
            env.update({"TARGET_POSTGRES_HOST": PG["host"], "TARGET_POSTGRES_PORT": str(PG["port"]),
                        "TARGET_POSTGRES_DATABASE": PG["dbname"], "TARGET_POSTGRES_USER": PG["user"],
                        "TARGET_POSTGRES_PASSWORD": PG["password"],
                        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": raw})  # fmt: skip
            _run([meltano, "run", "--full-refresh", "tap-microsoft365", "target-postgres"], env,
                 "meltano run tap-microsoft365 target-postgres")  # fmt: skip
        as_of = dt.datetime.now(dt.UTC).replace(microsecond=0)
        deleted = _pick_deleted_user(sb, as_of)
        conn.execute(
            f"update \"{raw}\".users set _sdc_deleted_at = now(), deletion_reason = 'deleted' "
            "where id = %s",
            (deleted,),
        )
        env.update({"M365_DBT_TARGET": "postgres", "M365_DBT_SCHEMA": marts,
                    "M365_PG_HOST": PG["host"], "M365_PG_PORT": str(PG["port"]),
                    "M365_PG_USER": PG["user"], "M365_PG_PASSWORD": PG["password"],
                    "M365_PG_DATABASE": PG["dbname"]})  # fmt: skip
        _dbt_build(env, tmp, raw, as_of)
        wh = Warehouse("postgres", sb, as_of, marts, deleted,
                       lambda sql: list(conn.execute(sql).fetchall()))  # fmt: skip
        wh.raw = raw  # type: ignore[attr-defined]
        yield wh
    finally:
        for schema in (raw, marts, f"{marts}_staging"):
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


@pytest.fixture(scope="module")
def duckdb_warehouse(tmp_path_factory):
    try:
        import duckdb
    except ImportError:
        _unavailable("duckdb is not installed (the analytics extra: run bash scripts/bootstrap.sh)")
    meltano = _tool("meltano")
    _plugin("extractors/tap-microsoft365")
    _plugin("loaders/target-duckdb")
    tmp = tmp_path_factory.mktemp("transform_duckdb")
    path = tmp / "warehouse.duckdb"
    with Sandbox(users=100, seed=11, audit_throttle=None) as sb:
        # usage reports name users here: their activity counts (PostgreSQL keeps Graph's default)
        sb.tenant.report_options.concealed_names = False
        env = _meltano_env(sb, tmp)
        env["TARGET_DUCKDB_PATH"] = str(path)
        _run([meltano, "run", "--full-refresh", "tap-microsoft365", "target-duckdb"], env,
             "meltano run tap-microsoft365 target-duckdb")  # fmt: skip
    as_of = dt.datetime.now(dt.UTC).replace(microsecond=0)
    deleted = _pick_deleted_user(sb, as_of)
    con = duckdb.connect(str(path))
    con.execute(
        "update tap_microsoft365.users set _sdc_deleted_at = now(), deletion_reason = 'deleted' "
        "where id = ?",
        [deleted],
    )
    con.close()
    env.update(
        {"M365_DBT_TARGET": "duckdb", "M365_DBT_SCHEMA": "m365", "M365_DUCKDB_PATH": str(path)}
    )
    _dbt_build(env, tmp, "tap_microsoft365", as_of)
    con = duckdb.connect(str(path), read_only=True)

    def query(sql: str) -> list[dict[str, Any]]:
        cur = con.cursor().execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    yield Warehouse("duckdb", sb, as_of, "m365", deleted, query)
    con.close()


@pytest.fixture(params=["postgres", "duckdb"])
def wh(request):
    return request.getfixturevalue(f"{request.param}_warehouse")


# target-duckdb 0.8.0 (meltano.yml's pin) loses one row of some streams (device_owners, oauth2 grants,
# directory_role_members, user_managers: one fewer than target-postgres loads from the same run), so the
# marts built on those are checked against the sandbox on PostgreSQL only.
@pytest.fixture
def pg_wh(postgres_warehouse):
    return postgres_warehouse


# -- ground truth from the sandbox's model -------------------------------------------------------------


def _live_users(wh: Warehouse) -> list[dict[str, Any]]:
    return [u for u in wh.tenant.users if u["id"] != wh.deleted_user]


def _usage_activity(wh: Warehouse) -> dict[str, dt.datetime]:
    """Lower-case UPN -> newest service activity in the latest loaded usage report (names revealed)."""
    if wh.tenant.report_options.concealed_names:
        return {}
    (latest,) = wh.rows(
        f'select max(report_date) as d from "{wh.staging}".stg_m365__usage_office365_active_user_detail'
    )
    day = latest["d"]
    if day is None:
        return {}
    report = REPORTS["getOffice365ActiveUserDetail"]
    out = {}
    for row in wh.tenant.usage.rows(report, day, 1):
        dates = [v for k, v in row.items() if k.endswith("Last Activity Date") and v]
        if dates and row["User Principal Name"]:
            out[row["User Principal Name"].lower()] = dt.datetime.fromisoformat(max(dates)).replace(
                tzinfo=dt.UTC
            )
    return out


def _activity(wh: Warehouse) -> dict[str, dict[str, Any]]:
    """Per live user: licences, last activity (successful sign-in or usage report), days inactive."""
    usage = _usage_activity(wh)
    out = {}
    for user in _live_users(wh):
        ok = _ts((user.get("signInActivity") or {}).get("lastSuccessfulSignInDateTime"))
        used = usage.get((user.get("userPrincipalName") or "").lower())
        last = max((t for t in (ok, used) if t is not None), default=None)
        out[user["id"]] = {
            "user": user,
            "skus": sorted(lic["skuId"] for lic in user.get("assignedLicenses") or []),
            "last": last,
            "days_inactive": _days(last or _ts(user["createdDateTime"]), wh.as_of),
            "guest": user["userType"] == "Guest" or "#EXT#" in (user["userPrincipalName"] or ""),
        }
    return out


def _high_privilege() -> dict[str, set[str]]:
    flags: dict[str, set[str]] = defaultdict(set)
    with (TRANSFORM / "seeds" / "m365_high_privilege_permissions.csv").open() as fh:
        for row in csv.DictReader(fh):
            kinds = (
                {"application", "delegated"}
                if row["permission_type"] == "any"
                else {row["permission_type"]}
            )
            flags[row["permission"]] |= kinds
    return flags


# -- tests -----------------------------------------------------------------------------------------------


def test_staging_is_snake_case_utc_and_per_tenant(wh):
    cols = wh.rows(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        f"where table_schema in ('{wh.staging}', '{wh.marts}')"
    )
    by_table: dict[str, list[dict]] = defaultdict(list)
    for col in cols:
        by_table[f"{col['table_schema']}.{col['table_name']}"].append(col)
    staging = [t for t in by_table if t.startswith(wh.staging + ".stg_m365__")]
    assert len(staging) >= 30, staging
    for table, columns in by_table.items():
        if table.split(".")[1].startswith("m365_"):  # seeds
            continue
        names = [c["column_name"] for c in columns]
        assert "tenant_id" in names, f"{table} has no tenant_id"
        bad = [n for n in names if not re.fullmatch(r"[a-z][a-z0-9_]*", n)]
        assert not bad, f"{table}: not snake_case: {bad}"
        naive = [c["column_name"] for c in columns
                 if c["data_type"].lower() in ("timestamp", "timestamp without time zone")]  # fmt: skip
        assert not naive, f"{table}: naive timestamps {naive}"
    users = wh.rows(f'select user_id from "{wh.staging}".stg_m365__users')
    assert {r["user_id"] for r in users} == {u["id"] for u in _live_users(wh)}, (
        "deleted rows excluded"
    )


def test_sku_license_usage(wh):
    activity = _activity(wh)
    cut30, cut90 = wh.as_of - dt.timedelta(days=30), wh.as_of - dt.timedelta(days=90)
    expected = {}
    for sku in wh.tenant.skus:
        holders = [a for a in activity.values() if sku["skuId"] in a["skus"]]
        expected[sku["skuId"]] = {
            "sku_part_number": sku["skuPartNumber"],
            "prepaid_units": sku["prepaidUnits"]["enabled"],
            "consumed_units": sku["consumedUnits"],
            "assigned_users": len(holders),
            "assigned_disabled_users": sum(1 for a in holders if not a["user"]["accountEnabled"]),
            "active_30d_users": sum(1 for a in holders if a["last"] and a["last"] >= cut30),
            "active_90d_users": sum(1 for a in holders if a["last"] and a["last"] >= cut90),
            **_sku_subscriptions(wh, sku["skuId"]),
        }
    actual = {
        r["sku_id"]: {k: r[k] for k in expected[r["sku_id"]]}
        for r in wh.mart("m365__sku_license_usage")
    }
    assert actual == expected
    assert any(v["active_30d_users"] < v["assigned_users"] for v in expected.values())
    assert any(v["is_trial"] for v in expected.values()), "the sandbox has trial subscriptions"
    assert any(v["is_trial"] is False for v in expected.values())


def _sku_subscriptions(wh: Warehouse, sku_id: str) -> dict[str, Any]:
    """A SKU's live subscriptions: all trials?, the soonest next lifecycle date, days until it."""
    subs = [s for s in wh.tenant.subscriptions if s["skuId"] == sku_id and s["status"] != "Deleted"]
    nexts = [t for t in (_ts(s.get("nextLifecycleDateTime")) for s in subs) if t]
    soonest = min(nexts, default=None)
    return {
        "subscription_count": len(subs) or None,
        "is_trial": all(s["isTrial"] for s in subs) if subs else None,
        "next_lifecycle_at": soonest,
        "days_until_next_lifecycle": _days(wh.as_of, soonest) if soonest else None,
    }


def test_inactive_licensed_users(wh):
    activity = _activity(wh)
    expected = {uid: a for uid, a in activity.items()
                if a["skus"] and a["days_inactive"] >= INACTIVE_DAYS}  # fmt: skip
    rows = {r["user_id"]: r for r in wh.mart("m365__inactive_licensed_users")}
    assert set(rows) == set(expected)
    if wh.tenant.report_options.concealed_names:  # revealed names make nearly everyone active
        assert expected, "the sandbox has inactive licensed users"
    assert wh.deleted_user not in rows
    skus = {s["skuId"]: s["skuPartNumber"] for s in wh.tenant.skus}
    for uid, row in rows.items():
        a = expected[uid]
        assert row["sku_part_numbers"] == ", ".join(sorted({skus[s] for s in a["skus"]}))
        assert row["days_inactive"] == a["days_inactive"]
        assert _aware(row["last_activity_date_time"]) == a["last"]
        assert row["never_active"] == (a["last"] is None)
    sources = Counter(
        r["last_activity_source"]
        for r in wh.rows(f'select last_activity_source from "{wh.staging}".int_m365__user_activity')
    )
    assert sources["sign_in"]
    if not wh.tenant.report_options.concealed_names:
        assert sources["usage_report"], "revealed usage-report names count as activity"


def test_stale_and_disabled_licensed_accounts(wh):
    activity = _activity(wh)
    expected = {}
    for uid, a in activity.items():
        stale = a["user"]["accountEnabled"] and a["days_inactive"] >= INACTIVE_DAYS
        disabled = not a["user"]["accountEnabled"] and bool(a["skus"])
        if stale or disabled:
            expected[uid] = (bool(stale), disabled)
    rows = wh.mart("m365__stale_accounts")
    assert {r["user_id"]: (r["is_stale"], r["is_disabled_but_licensed"]) for r in rows} == expected
    assert any(d for _, d in expected.values()), "the sandbox has disabled licensed users"


def test_inactive_guests(wh):
    activity = _activity(wh)
    expected = {
        uid for uid, a in activity.items() if a["guest"] and a["days_inactive"] >= INACTIVE_DAYS
    }
    rows = {r["user_id"]: r for r in wh.mart("m365__inactive_guests")}
    assert set(rows) == expected
    # the invited address parsed from the #EXT# UPN is the guest's mail, for every guest
    guests = wh.rows(
        f'select user_id, guest_external_address, guest_external_domain from "{wh.staging}".stg_m365__users '
        "where is_guest"
    )
    users = {u["id"]: u for u in _live_users(wh)}
    assert guests
    for g in guests:
        mail = users[g["user_id"]]["mail"]
        assert g["guest_external_address"] == mail
        assert g["guest_external_domain"] == mail.split("@")[1].lower()


def test_devices_at_risk(pg_wh):
    wh = pg_wh
    tenant = wh.tenant
    managed = {m["azureADDeviceId"]: m for m in tenant.managed_devices}
    expected = {}
    for d in tenant.devices:
        m = managed.get(d["deviceId"])
        if m is not None:
            noncompliant = m["complianceState"] in (
                "noncompliant",
                "inGracePeriod",
                "conflict",
                "error",
            )
        else:
            noncompliant = d.get("isCompliant") is False
        seen = [
            t
            for t in (_ts(d.get("approximateLastSignInDateTime")), _ts(m and m["lastSyncDateTime"]))
            if t
        ]
        ref = max(seen) if seen else _ts(d.get("registrationDateTime"))
        stale = ref is None or _days(ref, wh.as_of) >= STALE_DEVICE_DAYS
        if noncompliant or stale:
            owners = sorted(
                tenant.user(o["id"])["userPrincipalName"]
                for o in tenant.device_owners.get(d["id"], [])
            )
            expected[d["id"]] = (noncompliant, stale, ", ".join(owners) or None)
    rows = wh.mart("m365__devices_at_risk")
    actual = {
        r["device_id"]: (r["is_noncompliant"], r["is_stale"], r["owner_user_principal_names"])
        for r in rows
    }
    assert actual == expected
    assert any(nc for nc, _, _ in expected.values()), "the sandbox has non-compliant devices"


def test_app_permissions(pg_wh):
    wh = pg_wh
    tenant = wh.tenant
    flags = _high_privilege()
    sps = {sp["id"]: sp for sp in tenant.service_principals}
    expected = {}
    for resource_id, assignments in tenant.app_role_assigned_to.items():
        roles = {r["id"]: r["value"] for r in sps[resource_id].get("appRoles") or []}
        for a in assignments:
            if a["principalType"] == "ServicePrincipal":
                name = roles[a["appRoleId"]]
                key = ("application", a["principalId"], resource_id, name, None)
                expected[key] = "application" in flags.get(name, set())
    for g in tenant.oauth2_grants:
        for scope in set(g["scope"].split()):
            key = ("delegated", g["clientId"], g["resourceId"], scope, g["principalId"])
            expected[key] = (
                "delegated" in flags.get(scope, set()) and g["consentType"] == "AllPrincipals"
            )
    rows = wh.mart("m365__app_permissions")
    actual = {(r["permission_type"], r["client_service_principal_id"], r["resource_service_principal_id"],
               r["permission"], r["consented_user_id"]): r["is_high_privilege"] for r in rows}  # fmt: skip
    assert actual == expected
    assert len(rows) == len(actual), "one row per grant and permission"
    assert any(expected.values()), "the sandbox grants high-privilege permissions"
    resolved = [r for r in rows if r["permission_type"] == "application"]
    assert resolved
    assert all(r["permission_display_name"] for r in resolved), "names from appRoles"


def test_expiring_app_credentials(wh):
    end = wh.as_of + dt.timedelta(days=EXPIRY_DAYS)
    expected = {}
    for app in wh.tenant.applications:
        for kind, creds in (
            ("password", app["passwordCredentials"]),
            ("certificate", app["keyCredentials"]),
        ):
            for c in creds:
                ends = _ts(c["endDateTime"])
                if wh.as_of <= ends < end:
                    expected[(app["id"], kind, c["keyId"])] = _days(wh.as_of, ends)
    rows = wh.mart("m365__expiring_app_credentials")
    assert {
        (r["application_id"], r["credential_type"], r["key_id"]): r["days_until_expiry"]
        for r in rows
    } == expected
    every = wh.rows(f'select count(*) as n from "{wh.staging}".stg_m365__application_credentials')[
        0
    ]["n"]
    assert every == sum(
        len(a["passwordCredentials"]) + len(a["keyCredentials"]) for a in wh.tenant.applications
    )


def test_admin_role_holders(pg_wh):
    wh = pg_wh
    tenant = wh.tenant
    names = {d["id"]: d["displayName"] for d in tenant.role_definitions}
    legacy = {
        (role["roleTemplateId"], ref["id"]): role["id"]
        for role in tenant.directory_roles
        for ref in tenant.role_members.get(role["id"], [])
    }
    # one row per (active | eligible, role, principal, scope): directoryRoles members are the tenant-wide
    # role assignments they mirror
    expected = {("active", rd, member, "/"): names[rd] for rd, member in legacy}
    for a in tenant.role_assignments:
        key = ("active", a["roleDefinitionId"], a["principalId"], a["directoryScopeId"])
        expected[key] = names[a["roleDefinitionId"]]
    ends = {}
    for e in tenant.role_eligibility:
        key = ("eligible", e["roleDefinitionId"], e["principalId"], e["directoryScopeId"])
        expected[key] = names[e["roleDefinitionId"]]
        ends[key] = _ts(((e.get("scheduleInfo") or {}).get("expiration") or {}).get("endDateTime"))
    rows = wh.mart("m365__admin_role_holders")
    by_key = {(r["assignment_type"], r["role_definition_id"], r["member_id"], r["directory_scope_id"]): r
              for r in rows}  # fmt: skip
    assert len(by_key) == len(rows)
    assert {k: r["role_name"] for k, r in by_key.items()} == expected
    assert any(k[3] != "/" for k in expected), "the sandbox has scoped role assignments"
    assert tenant.role_eligibility, "the sandbox has PIM-eligible holders"
    for key, row in by_key.items():
        kind, rd, member, scope = key
        assert row["is_eligible"] == (kind == "eligible")
        assert row["is_directory_role_member"] == (kind == "active" and (rd, member) in legacy
                                                   and scope == "/")  # fmt: skip
        if row["is_directory_role_member"]:
            assert row["role_id"] == legacy[(rd, member)]
        assert row["directory_scope_type"] == ("tenant" if scope == "/" else "administrative_unit")
        if kind == "eligible":
            assert _aware(row["eligibility_ends_at"]) == ends[key]
            assert row["member_type"] == "user"
        else:
            assert row["eligibility_ends_at"] is None
        if tenant.user(member) is not None:
            assert row["member_type"] == "user"
            assert row["user_principal_name"] == tenant.user(member)["userPrincipalName"]
    global_admins = [r for r in rows if r["role_name"] == "Global Administrator"]
    assert global_admins
    assert all(r["is_privileged_role"] and r["role_tier"] == "critical" for r in global_admins)
    registration = getattr(tenant, "registration_details", None)
    loaded = wh.rows(
        f'select count(*) as n from "{wh.staging}".stg_m365__user_registration_details'
    )[0]["n"]
    if loaded and registration:
        truth = {r["id"]: r["isMfaRegistered"] for r in registration}
        for row in rows:
            if row["member_type"] == "user" and row["member_id"] in truth:
                assert row["has_registration_details"]
                assert row["is_mfa_registered"] == truth[row["member_id"]]
    else:
        assert not any(r["has_registration_details"] for r in rows)
        assert all(r["is_mfa_registered"] is None for r in rows)


def _staging(wh: Warehouse, model: str) -> list[dict[str, Any]]:
    rows = wh.rows(f'select * from "{wh.staging}".{model}')
    assert all(r["tenant_id"] == wh.tenant_id for r in rows), f"{model}: a row of another tenant"
    return rows


def test_roles_staging(wh):
    tenant = wh.tenant
    definitions = {r["role_definition_id"]: r for r in _staging(wh, "stg_m365__role_definitions")}
    assert {k: (r["display_name"], r["role_template_id"], r["is_built_in"]) for k, r in definitions.items()} == {
        d["id"]: (d["displayName"], d["templateId"], d["isBuiltIn"]) for d in tenant.role_definitions
    }  # fmt: skip
    assignments = _staging(wh, "stg_m365__role_assignments")
    assert {r["role_assignment_id"]: (r["principal_id"], r["role_definition_id"], r["directory_scope_id"],
                                      r["directory_scope_type"], r["administrative_unit_id"])
            for r in assignments} == {
        a["id"]: (a["principalId"], a["roleDefinitionId"], a["directoryScopeId"],
                  "tenant" if a["directoryScopeId"] == "/" else "administrative_unit",
                  a["directoryScopeId"].rsplit("/", 1)[1] if a["directoryScopeId"] != "/" else None)
        for a in tenant.role_assignments
    }  # fmt: skip
    assert {r["administrative_unit_id"] for r in assignments} - {None} <= set(
        tenant.administrative_units
    )
    eligibility = _staging(wh, "stg_m365__role_eligibility_schedules")
    expected = {}
    for e in tenant.role_eligibility:
        info = e["scheduleInfo"]
        expected[e["id"]] = (e["principalId"], e["roleDefinitionId"], e["memberType"],
                             _ts(info.get("startDateTime")), _ts(info["expiration"].get("endDateTime")),
                             info["expiration"]["type"])  # fmt: skip
    assert {r["role_eligibility_schedule_id"]: (r["principal_id"], r["role_definition_id"], r["member_type"],
                                                _aware(r["eligibility_starts_at"]),
                                                _aware(r["eligibility_ends_at"]), r["expiration_type"])
            for r in eligibility} == expected  # fmt: skip
    assert expected


def test_conditional_access_staging(wh):
    tenant = wh.tenant
    policies = {r["policy_id"]: r for r in _staging(wh, "stg_m365__conditional_access_policies")}
    assert {k: r["state"] for k, r in policies.items()} == {
        p["id"]: p["state"] for p in tenant.ca_policies
    }
    assert tenant.ca_policies
    targets = set()
    for p in tenant.ca_policies:
        users = (p.get("conditions") or {}).get("users") or {}
        for inclusion in ("include", "exclude"):
            for kind in ("user", "group", "role"):
                for target in users.get(f"{inclusion}{kind.title()}s") or []:
                    targets.add((p["id"], inclusion, kind, target))
        row = policies[p["id"]]
        assert row["includes_all_users"] == ("All" in (users.get("includeUsers") or []))
        assert row["include_roles"] == (", ".join(sorted(users.get("includeRoles") or [])) or None)
        controls = (p.get("grantControls") or {}).get("builtInControls") or []
        assert row["requires_mfa"] == ("mfa" in controls)
        assert row["blocks_access"] == ("block" in controls)
    rows = _staging(wh, "stg_m365__conditional_access_policy_users")
    assert {
        (r["policy_id"], r["inclusion"], r["target_type"], r["target_id"]) for r in rows
    } == targets
    assert len(rows) == len(targets)
    locations = _staging(wh, "stg_m365__named_locations")
    assert {r["named_location_id"]: (r["location_type"], r["ip_ranges"], r["countries_and_regions"])
            for r in locations} == {
        n["id"]: (n["@odata.type"].rsplit(".", 1)[1].replace("NamedLocation", ""),
                  ", ".join(sorted(r["cidrAddress"] for r in n.get("ipRanges") or [])) or None,
                  ", ".join(sorted(n.get("countriesAndRegions") or [])) or None)
        for n in tenant.named_locations
    }  # fmt: skip


def test_security_staging(wh):
    tenant = wh.tenant
    risky = _staging(wh, "stg_m365__risky_users")
    assert {r["user_id"]: (r["risk_level"], r["risk_state"], r["is_at_risk"]) for r in risky} == {
        u["id"]: (u["riskLevel"], u["riskState"], u["riskState"] in ("atRisk", "confirmedCompromised"))
        for u in tenant.risky_users
    }  # fmt: skip
    scores = _staging(wh, "stg_m365__secure_scores")
    assert {r["secure_score_id"]: (r["score_date"], r["current_score"], r["max_score"]) for r in scores} == {
        s["id"]: (_ts(s["createdDateTime"]).date(), pytest.approx(s["currentScore"]),
                  pytest.approx(s["maxScore"]))
        for s in tenant.secure_scores
    }  # fmt: skip
    profiles = _staging(wh, "stg_m365__secure_score_control_profiles")
    assert {r["control_profile_id"]: r["rank"] for r in profiles} == {
        p["id"]: p["rank"] for p in tenant.control_profiles
    }
    apps = _staging(wh, "stg_m365__mobile_apps")
    assert {r["mobile_app_id"]: r["app_type"] for r in apps} == {
        a["id"]: a["@odata.type"].rsplit(".", 1)[1] for a in tenant.mobile_apps
    }
    issues = _staging(wh, "stg_m365__service_health_issues")
    assert {r["issue_id"]: (r["classification"], r["is_resolved"], _aware(r["end_date_time"]))
            for r in issues} == {
        i["id"]: (i["classification"], i["isResolved"], _ts(i.get("endDateTime")))
        for i in tenant.service_issues
    }  # fmt: skip
    subscriptions = _staging(wh, "stg_m365__subscriptions")
    assert {r["subscription_id"]: (r["sku_id"], r["is_trial"], r["total_licenses"],
                                   _aware(r["next_lifecycle_date_time"])) for r in subscriptions} == {
        s["id"]: (s["skuId"], s["isTrial"], s["totalLicenses"], _ts(s.get("nextLifecycleDateTime")))
        for s in tenant.subscriptions
    }  # fmt: skip


def test_user_licenses_assignment(wh):
    """How each licence was assigned (licenseAssignmentStates): by group, state, last change."""
    expected = {}
    for user in wh.tenant.users:
        for state in user.get("licenseAssignmentStates") or []:
            key = (user["id"], state["skuId"])
            when = _ts(state.get("lastUpdatedDateTime"))
            groups, states, last = expected.get(key, (set(), set(), None))
            if state.get("assignedByGroup"):
                groups.add(state["assignedByGroup"])
            states.add(state["state"])
            expected[key] = (groups, states, max((t for t in (last, when) if t), default=None))
    rows = _staging(wh, "stg_m365__user_licenses")
    assert rows
    for r in rows:
        groups, states, last = expected[(r["user_id"], r["sku_id"])]
        assert r["assigned_by_group_ids"] == (", ".join(sorted(groups)) or None)
        assert r["assignment_state"] in states
        assert _aware(r["assignment_updated_date_time"]) == last
    assert any(r["assignment_state"] == "Error" and not r["is_assigned"] for r in rows)


def _sign_ins(wh: Warehouse) -> list[dict[str, Any]]:
    audit = wh.tenant.audit
    log = audit.sign_ins
    start = wh.as_of - dt.timedelta(days=SIGN_IN_DAYS)
    records = [audit.sign_in(s, t) for t, s in zip(log.ticks, log.serials, strict=True)]
    return [r for r in records if start <= _ts(r["createdDateTime"]) <= wh.as_of]


def test_sign_ins_per_app_and_failures(wh):
    records = _sign_ins(wh)
    assert records
    per_app: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failed: Counter = Counter()
    for r in records:
        ok = (r["status"] or {}).get("errorCode") in (0, None)
        per_app[r["appId"]][0] += 1
        per_app[r["appId"]][1] += 0 if ok else 1
        if not ok:
            failed[(r["userId"], r["appId"], (r["location"] or {}).get("countryOrRegion"))] += 1
    apps = {
        r["app_id"]: [r["sign_in_count"], r["failure_count"]] for r in wh.mart("m365__app_sign_ins")
    }
    assert apps == dict(per_app)
    rows = wh.mart("m365__failed_sign_ins")
    assert {
        (r["user_id"], r["app_id"], r["country_or_region"]): r["failed_count"] for r in rows
    } == dict(failed)
    locations = wh.mart("m365__sign_in_locations")
    assert sum(r["sign_in_count"] for r in locations) == len(records)


def test_tenant_overview(wh):
    (row,) = wh.mart("m365__tenant_overview")
    assert row["users"] == len(_live_users(wh))
    holders = wh.mart("m365__admin_role_holders")
    assert row["admin_role_holders"] == len(
        {r["member_id"] for r in holders if not r["is_eligible"]}
    )
    assert row["eligible_admin_role_holders"] == len(
        {r["member_id"] for r in holders if r["is_eligible"]}
    )
    assert row["inactive_licensed_users"] == len(wh.mart("m365__inactive_licensed_users"))
    assert row["high_privilege_permissions"] == sum(
        1 for r in wh.mart("m365__app_permissions") if r["is_high_privilege"]
    )


def test_report_renders_in_headless_chromium(postgres_warehouse, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        _unavailable(
            "chromium is not installed (run: bash scripts/bootstrap.sh, or apt-get install chromium)"
        )
    wh = postgres_warehouse
    out = tmp_path / "tenant-report.html"
    dsn = " ".join(f"{k}={v}" for k, v in PG.items())
    printed = _run([sys.executable, str(TRANSFORM / "report" / "tenant_report.py"), "--postgres", dsn,
                    "--schema", wh.marts, "--out", str(out), "--headlines"], dict(os.environ),
                   "tenant_report.py")  # fmt: skip
    assert "inactive licensed users:" in printed
    page = out.read_text()
    assert not re.search(r"<script[^>]+src=", page), "no external script: the page works offline"
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom",
         out.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "<body" in dom, proc.stderr[-3000:]
    charts = _report_module().CHARTS
    starts = [dom.find(f'id="{chart_id}"') for chart_id in charts]
    assert all(i >= 0 for i in starts), dict(zip(charts, starts, strict=True))
    bounds = [*sorted(starts), len(dom)]
    for chart_id, start in zip(charts, starts, strict=True):
        chart = dom[start : bounds[bounds.index(start) + 1]]
        assert 'class="main-svg"' in chart, f"chart {chart_id} did not render (no SVG)"
        assert 'class="point"' in chart, f"chart {chart_id} has no bars"


def _report_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "tenant_report", TRANSFORM / "report" / "tenant_report.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
