"""End to end: `meltano run tap-microsoft365 target-postgres` against the local Graph sandbox.

Needs PostgreSQL on 127.0.0.1:5432 (E2E_POSTGRES_HOST / E2E_POSTGRES_PORT override it; database `test`, user $PGUSER or postgres, trust auth or
$PGPASSWORD) and the Meltano plugins installed by scripts/bootstrap.sh. Skipped with the reason when either
is missing, unless REQUIRE_POSTGRES=1 (set by scripts/test.sh when CI is set): then it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from m365_graph_sandbox import Sandbox

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
PG = {
    "host": os.environ.get("E2E_POSTGRES_HOST", "127.0.0.1"),
    "port": int(os.environ.get("E2E_POSTGRES_PORT", "5432")),
    "dbname": "test",
    "user": os.environ.get("PGUSER", "postgres"),
    "password": os.environ.get("PGPASSWORD", "postgres"),  # ignored under trust auth
}
STREAMS = ["users", "groups", "group_members", "subscribed_skus", "organization", "domains"]


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _meltano() -> str | None:
    candidate = Path(sys.executable).parent / "meltano"
    return str(candidate) if candidate.exists() else shutil.which("meltano")


@pytest.fixture
def pg():
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(**PG, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _unavailable(
            f"PostgreSQL is not reachable on {PG['host']}:{PG['port']} database {PG['dbname']} "
            f"as {PG['user']}: {first_line}"
        )
    with conn:
        yield conn


@pytest.fixture
def meltano() -> str:
    exe = _meltano()
    if exe is None:
        _unavailable("meltano is not installed (run: bash scripts/bootstrap.sh)")
    for plugin in ("extractors/tap-microsoft365", "loaders/target-postgres"):
        if not (ROOT / ".meltano" / plugin / "venv").is_dir():
            _unavailable(
                f"Meltano plugin {plugin} is not installed (run: bash scripts/bootstrap.sh)"
            )
    return exe


@pytest.fixture
def schema(pg):
    name = f"e2e_m365_{uuid.uuid4().hex[:12]}"
    yield name
    pg.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _env(sb: Sandbox, schema: str, tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAP_MICROSOFT365_", "TARGET_POSTGRES_", "MELTANO_"))
    }
    config = sb.tap_config()
    env.update({f"TAP_MICROSOFT365_{key.upper()}": str(value) for key, value in config.items()})
    env.update(
        {
            "REQUESTS_CA_BUNDLE": str(sb.ca_bundle),
            "TARGET_POSTGRES_HOST": PG["host"],
            "TARGET_POSTGRES_PORT": str(PG["port"]),
            "TARGET_POSTGRES_DATABASE": PG["dbname"],
            "TARGET_POSTGRES_USER": PG["user"],
            "TARGET_POSTGRES_PASSWORD": PG["password"],
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
            "TARGET_POSTGRES_LOAD_METHOD": "upsert",
            # A system database of its own: fresh state, and no contention with a concurrent demo.
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    return env


def _count(pg, schema: str, table: str, where: str = "", params: tuple = ()) -> int:
    return pg.execute(f'SELECT count(*) FROM "{schema}"."{table}" {where}', params).fetchone()[0]


def _as_list(value: object) -> list:
    """A JSON array column as Python: jsonb[] arrives as a list, jsonb as a list or a string."""
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])


def test_meltano_run_into_postgres(pg, meltano, schema, tmp_path):
    with Sandbox(users=300) as sb:
        proc = subprocess.run(
            [meltano, "run", "--full-refresh", "tap-microsoft365", "target-postgres"],
            cwd=ROOT,
            env=_env(sb, schema, tmp_path),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        output = (proc.stdout + proc.stderr)[-6000:]
        assert proc.returncode == 0, f"meltano run failed ({proc.returncode}):\n{output}"
        tenant = sb.tenant
        tenant_id = sb.tenant_id

    tables = {
        row[0]
        for row in pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
    }
    assert set(STREAMS) <= tables, (
        f"missing tables {set(STREAMS) - tables}; meltano said:\n{output}"
    )

    organization = tenant.organization
    expected = {
        "users": len(tenant.users),
        "groups": len(tenant.groups),
        "group_members": sum(len(members) for members in tenant.memberships.values()),
        "subscribed_skus": len(tenant.skus),
        "organization": 1,
        "domains": len(tenant.domains),
    }
    actual = {stream: _count(pg, schema, stream) for stream in STREAMS}
    assert actual == expected

    # Every row names its tenant.
    for stream in STREAMS:
        assert (
            _count(pg, schema, stream, "WHERE tenant_id IS DISTINCT FROM %s", (tenant_id,)) == 0
        ), f"{stream} has rows without tenant_id {tenant_id}"

    # A guest keeps its #EXT# userPrincipalName.
    guest = next(u for u in tenant.users if "#EXT#" in (u.get("userPrincipalName") or ""))
    row = pg.execute(
        f'SELECT "userPrincipalName", "userType" FROM "{schema}".users WHERE id = %s',
        (guest["id"],),
    ).fetchone()
    assert row == (guest["userPrincipalName"], "Guest")

    # A nested array of objects survives the trip (jsonb[] or jsonb).
    licensed = next(u for u in tenant.users if len(u.get("assignedLicenses") or []) >= 1)
    (licenses,) = pg.execute(
        f'SELECT "assignedLicenses" FROM "{schema}".users WHERE id = %s', (licensed["id"],)
    ).fetchone()
    licenses = _as_list(licenses)
    assert sorted(lic["skuId"] for lic in licenses) == sorted(
        lic["skuId"] for lic in licensed["assignedLicenses"]
    )
    assert all(isinstance(lic.get("disabledPlans"), list) for lic in licenses)

    # The largest group (more than 999 members when the tenant is big enough) arrives whole.
    group_id, members = max(tenant.memberships.items(), key=lambda item: len(item[1]))
    assert _count(pg, schema, "group_members", "WHERE group_id = %s", (group_id,)) == len(members)

    # The one organization row is the tenant itself.
    org = organization[0] if isinstance(organization, list) else organization
    assert pg.execute(f'SELECT id FROM "{schema}".organization').fetchone()[0] == org["id"]


def _meltano_run(meltano: str, env: dict[str, str], *extra: str) -> str:
    proc = subprocess.run(
        [meltano, "run", *extra, "tap-microsoft365", "target-postgres"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, f"meltano run failed ({proc.returncode}):\n{output}"
    return output


def test_deletions_reach_postgres(pg, meltano, schema, tmp_path):
    """Run 1 full, change the tenant, run 2 from Meltano's state: deletions are marked in PostgreSQL."""
    with Sandbox(users=300, seed=31) as sb:
        env = _env(sb, schema, tmp_path)
        # only the delta streams (Meltano's select override), so the two runs stay short
        env["TAP_MICROSOFT365__SELECT"] = json.dumps(["users.*", "group_members.*"])
        _meltano_run(meltano, env, "--full-refresh")
        assert _count(pg, schema, "users") == len(sb.tenant.users)
        changes = sb.churn(fraction=0.02, seed=3)
        soft = sorted(changes.soft_deleted["users"])
        hard = sorted(changes.hard_deleted["users"])
        removed = sorted(changes.memberships_removed)
        assert soft, "the churn soft-deletes users"
        assert hard, "the churn hard-deletes users"
        assert removed, "the churn removes memberships"
        _meltano_run(meltano, env)
        live_users = len(sb.tenant.users)

    for user_id, reason in [(soft[0], "changed"), (hard[0], "deleted")]:
        row = pg.execute(
            f'SELECT _sdc_deleted_at, deletion_reason FROM "{schema}".users WHERE id = %s',
            (user_id,),
        ).fetchone()
        assert row is not None, f"user {user_id} has no row"
        assert row[0] is not None, f"user {user_id} is not marked deleted"
        assert row[1] == reason
    assert _count(pg, schema, "users", "WHERE _sdc_deleted_at IS NULL") == live_users
    group_id, member_id = removed[0]
    (deleted_at,) = pg.execute(
        f'SELECT _sdc_deleted_at FROM "{schema}".group_members '
        "WHERE group_id = %s AND member_id = %s",
        (group_id, member_id),
    ).fetchone()
    assert deleted_at is not None, "the removed membership is marked deleted"


def _readme_many_tenants_block() -> str:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- many-tenants-example -->", 1)[1].split("<!-- /many-tenants-example -->")[0]
    return block.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_two_jobs_of_tenants_into_postgres(pg, meltano, schema, tmp_path):
    """README's two-job example as written: three tenants over two jobs, one table set, no collision."""
    import yaml

    keyed = ["users", "organization", "usage_office365_active_user_counts"]
    with Sandbox(users=30, seed=51, audit_throttle=None) as sb:
        sb.add_tenant(users=20, company="Fabrikam")
        sb.add_tenant(users=25, company="Tailspin Toys")
        for tenant in sb.tenants:
            tenant.tenant.report_options.throttle = None
        ids = [t.tenant_id for t in sb.tenants]
        block = _readme_many_tenants_block()
        for placeholder, tenant_id in zip(
            ("<emea-tenant-1>", "<emea-tenant-2>", "<apac-tenant-1>"), ids, strict=True
        ):
            block = block.replace(placeholder, tenant_id)
        example = yaml.safe_load(block)
        project = yaml.safe_load((ROOT / "meltano.yml").read_text())
        tap = next(p for p in project["plugins"]["extractors"] if p["name"] == "tap-microsoft365")
        tap["pip_url"] = f"-e {ROOT}"
        tap["select"] = [f"{name}.*" for name in keyed]
        project["plugins"]["extractors"] += example["plugins"]["extractors"]
        project["jobs"], project["schedules"] = example["jobs"], example["schedules"]
        work = tmp_path / "project"
        work.mkdir()
        (work / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))
        (work / ".meltano").symlink_to(ROOT / ".meltano")  # the installed plugins
        env = _env(sb, schema, tmp_path)
        del env["TAP_MICROSOFT365_TENANT_ID"]  # the jobs' tenants lists name the tenants
        outputs = []
        for job in ("m365-emea", "m365-apac"):
            proc = subprocess.run(
                [meltano, "run", job], cwd=work, env=env, capture_output=True, text=True,
                timeout=600, check=False,
            )  # fmt: skip
            outputs.append(proc.stdout + proc.stderr)
            assert proc.returncode == 0, f"{job} failed:\n{outputs[-1][-5000:]}"
        states = subprocess.run(
            [meltano, "state", "list"], cwd=work, env=env, capture_output=True, text=True,
            timeout=120, check=True,
        ).stdout  # fmt: skip
        expected_users = {t.tenant_id: len(t.tenant.users) for t in sb.tenants}

    assert "tap-microsoft365-emea-to-target-postgres" in states
    assert "tap-microsoft365-apac-to-target-postgres" in states
    rows = dict(pg.execute(f'SELECT tenant_id, count(*) FROM "{schema}".users GROUP BY tenant_id').fetchall())
    assert rows == expected_users
    assert _count(pg, schema, "organization") == 3
    counts = pg.execute(
        f'SELECT tenant_id, count(*) FROM "{schema}".usage_office365_active_user_counts GROUP BY tenant_id'
    ).fetchall()
    # the same report dates and periods, once per tenant (the key was (report_date, report_period))
    assert {tenant_id for tenant_id, _ in counts} == set(ids)
    assert len({n for _, n in counts}) == 1
    assert counts[0][1] > 0
    # every key is unique across the three tenants
    for table, key in (("users", "tenant_id, id"),
                       ("usage_office365_active_user_counts", "tenant_id, report_date, report_period")):  # fmt: skip
        dupes = pg.execute(
            f'SELECT count(*) FROM (SELECT {key} FROM "{schema}"."{table}" GROUP BY {key} '
            "HAVING count(*) > 1) d"
        ).fetchone()[0]
        assert dupes == 0, table


def _readme_meltano_block() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    after = readme.split("With Meltano (this repository's", 1)[1]
    block = after.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_readme_meltano_section_runs_as_written(pg, meltano, schema, tmp_path):
    """Every shell line of README's Meltano section, in a copy of the project, against the sandbox."""
    lines = _readme_meltano_block()
    assert lines[0] == "meltano install"
    assert lines[-1] == "meltano run tap-microsoft365 target-postgres"
    with Sandbox(users=40, seed=81, audit_throttle=None) as sb:
        sb.tenant.report_options.throttle = None
        project = tmp_path / "project"
        project.mkdir()
        # the project's own plugins (bootstrap installed them); the extractor's `-e .` names the repository
        text = (ROOT / "meltano.yml").read_text().replace("pip_url: -e .", f"pip_url: -e {ROOT}")
        (project / "meltano.yml").write_text(text)
        (project / ".meltano").symlink_to(ROOT / ".meltano")
        values = {
            "<tenant-guid>": sb.tenant_id,
            "<app-guid>": sb.client_id,
            "<secret-value>": sb.client_secret,
            "TARGET_POSTGRES_HOST=...": f"TARGET_POSTGRES_HOST={PG['host']}",
            "TARGET_POSTGRES_USER=...": f"TARGET_POSTGRES_USER={PG['user']}",
            "TARGET_POSTGRES_DATABASE=...": f"TARGET_POSTGRES_DATABASE={PG['dbname']}",
            "TARGET_POSTGRES_PASSWORD=...": f"TARGET_POSTGRES_PASSWORD={PG['password']}",
        }
        script = ["set -euo pipefail", f'export PATH="{Path(meltano).parent}:$PATH"']
        for line in lines:
            for placeholder, value in values.items():
                line = line.replace(placeholder, value)
            assert "..." not in line, line
            assert "<" not in line, line
            script.append(line)
        env = _env(sb, schema, tmp_path)
        # the sandbox's endpoints, as a user points the tap at it (README "The local Graph sandbox")
        for key in ("TAP_MICROSOFT365_TENANT_ID", "TAP_MICROSOFT365_CLIENT_ID", "TAP_MICROSOFT365_CLIENT_SECRET"):
            del env[key]
        for key in list(env):
            if key.startswith("TARGET_POSTGRES_") and key not in (
                "TARGET_POSTGRES_PORT", "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA", "TARGET_POSTGRES_LOAD_METHOD"
            ):
                del env[key]
        env.update(TAP_MICROSOFT365_AUDIT_REQUESTS_PER_10S="0")
        proc = subprocess.run(
            ["bash", "-c", "\n".join(script)], cwd=project, env=env, capture_output=True, text=True,
            timeout=900, check=False,
        )  # fmt: skip
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, "\n".join(x for x in output.splitlines() if "METRIC" not in x)[-6000:]
        dotenv = (project / ".env").read_text()
        assert sb.client_secret in dotenv  # the secret went to .env ...
        assert sb.client_secret not in (project / "meltano.yml").read_text()  # ... not to meltano.yml
        users = len(sb.tenant.users)
    assert _count(pg, schema, "users") == users
    tables = {row[0] for row in pg.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))}  # fmt: skip
    assert "detected_app_devices" not in tables  # off by default, as README says
    assert {"users", "groups", "group_members", "sign_ins", "usage_office365_active_user_detail"} <= tables
