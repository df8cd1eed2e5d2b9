#!/usr/bin/env bash
# The demo: install what is needed, start the local Graph sandbox, run
# `meltano run tap-microsoft365 target-duckdb` into output/demo.duckdb (fresh each run), print the
# row count of every table it loaded, then run the dbt package (transform/) on that file, print its
# headline figures and write output/tenant-report.html (charts, works offline).
# Exits non-zero if any step fails or any table is empty.
#   DEMO_USERS=N   size of the synthetic tenant (default 300)
#   DEMO_VERBOSE=1 stream Meltano's log instead of keeping it in output/demo.log
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
USERS="${DEMO_USERS:-300}"
DB="$ROOT/output/demo.duckdb"
LOG="$ROOT/output/demo.log"
# A stream that must arrive as a non-empty table, whatever else later versions add.
CORE_STREAMS="users groups group_members subscribed_skus organization domains"

say() { printf 'demo: %s\n' "$*" >&2; }
started=$SECONDS

bash scripts/bootstrap.sh

mkdir -p "$ROOT/.sandbox" "$ROOT/output"
rm -f "$DB" "$DB.wal" "$LOG"

sb_out="$ROOT/.sandbox/server.json"
sb_err="$ROOT/.sandbox/server.log"
: >"$sb_out"
sb_pid=""
cleanup() {
    if [[ -n "$sb_pid" ]] && kill -0 "$sb_pid" 2>/dev/null; then
        kill -TERM "$sb_pid" 2>/dev/null || true
        wait "$sb_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting the Graph sandbox with $USERS users"
# The demo relaxes one thing, on both sides: the activity-log limit (the sandbox's 5-per-10-s throttle off,
# the tap's pacing off), so it finishes in seconds. Against the real Graph the tap paces as documented.
.venv/bin/python -m m365_graph_sandbox --users "$USERS" --port 0 --workdir "$ROOT/.sandbox" \
    --no-audit-throttle --write-config "$ROOT/.sandbox/config.json" >"$sb_out" 2>"$sb_err" &
sb_pid=$!

for _ in $(seq 1 600); do  # up to 60 s
    grep -q '^{' "$sb_out" 2>/dev/null && break
    if ! kill -0 "$sb_pid" 2>/dev/null; then
        tail -n 30 "$sb_err" >&2 || true
        say "FAILED: the sandbox exited before printing its JSON line (log: $sb_err)"
        exit 1
    fi
    sleep 0.1
done
grep -q '^{' "$sb_out" || { tail -n 30 "$sb_err" >&2; say "FAILED: no JSON line from the sandbox within 60 s"; exit 1; }

# Tap settings from the sandbox: its JSON line plus the config file it wrote.
exports="$(.venv/bin/python - "$sb_out" <<'PY'
import json, os, shlex, sys
line = next(l for l in open(sys.argv[1]) if l.startswith("{"))
info = json.loads(line)
cfg = json.load(open(os.path.abspath(info["config_path"])))
env = {
    "TAP_MICROSOFT365_TENANT_ID": cfg["tenant_id"],
    "TAP_MICROSOFT365_CLIENT_ID": cfg["client_id"],
    "TAP_MICROSOFT365_CLIENT_SECRET": cfg["client_secret"],
    "TAP_MICROSOFT365_AUTHORITY_URL": cfg.get("authority_url", info["base_url"]),
    "TAP_MICROSOFT365_GRAPH_URL": cfg.get("graph_url", info["base_url"]),
    "TAP_MICROSOFT365_AUDIT_REQUESTS_PER_10S": "0",
    # Absolute: Meltano runs the plugins from other directories.
    "REQUESTS_CA_BUNDLE": os.path.abspath(info["ca_bundle"]),
    "SANDBOX_BASE_URL": info["base_url"],
}
for key, value in env.items():
    print(f"export {key}={shlex.quote(str(value))}")
PY
)"
eval "$exports"
say "sandbox up at $SANDBOX_BASE_URL (pid $sb_pid)"
say "activity-log pacing relaxed for the demo (sandbox throttle off, audit_requests_per_10s=0); against the real Graph the tap keeps Graph's 5 requests per 10 s"

say "meltano run tap-microsoft365 target-duckdb -> output/demo.duckdb"
run_start=$SECONDS
export TARGET_DUCKDB_PATH="$DB"
if [[ "${DEMO_VERBOSE:-}" == 1 ]]; then
    .venv/bin/meltano run --full-refresh --state-id-suffix demo tap-microsoft365 target-duckdb
else
    if ! .venv/bin/meltano run --full-refresh --state-id-suffix demo tap-microsoft365 target-duckdb >"$LOG" 2>&1; then
        tail -n 40 "$LOG" >&2
        say "FAILED: meltano run (full log: output/demo.log, sandbox log: .sandbox/server.log)"
        exit 1
    fi
fi
say "meltano run done in $((SECONDS - run_start))s"

.meltano/loaders/target-duckdb/venv/bin/python - "$DB" $CORE_STREAMS <<'PY'
import sys

import duckdb

path, core = sys.argv[1], sys.argv[2:]
con = duckdb.connect(path, read_only=True)
tables = con.execute(
    "select table_schema, table_name from information_schema.tables "
    "where table_type = 'BASE TABLE' and table_schema not in ('information_schema', 'pg_catalog') "
    "order by table_schema, table_name"
).fetchall()
problems = []
print(f"{'table':<45} {'rows':>8}")
for schema, table in tables:
    (rows,) = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
    print(f"{schema + '.' + table:<45} {rows:>8}")
    if rows == 0:
        problems.append(f"table {schema}.{table} is empty")
loaded = {table for _, table in tables}
problems += [f"stream {name} was not loaded" for name in core if name not in loaded]
if problems:
    for problem in problems:
        print(f"demo: FAILED: {problem}", file=sys.stderr)
    sys.exit(1)
PY

dbt_start=$SECONDS
# models and seeds only: the package's dbt tests run in the test command (tests/test_transform.py)
say "dbt build, models and seeds (transform/, target duckdb) -> schemas m365 (marts) and m365_staging in output/demo.duckdb"
mkdir -p "$ROOT/output/dbt"
if ! M365_DBT_TARGET=duckdb M365_DUCKDB_PATH="$DB" M365_DBT_SCHEMA=m365 DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    .venv/bin/dbt build --project-dir transform --profiles-dir transform --exclude "resource_type:test" \
    --target-path "$ROOT/output/dbt/target" --log-path "$ROOT/output/dbt" >"$ROOT/output/dbt.log" 2>&1; then
    grep -E "ERROR|FAIL|Error" "$ROOT/output/dbt.log" | tail -n 30 >&2 || tail -n 30 "$ROOT/output/dbt.log" >&2
    say "FAILED: dbt build (full log: output/dbt.log)"
    exit 1
fi
say "dbt build done in $((SECONDS - dbt_start))s: $(grep -Eo 'PASS=[0-9]+ WARN=[0-9]+ ERROR=[0-9]+' "$ROOT/output/dbt.log" | tail -n 1)"

.venv/bin/python transform/report/tenant_report.py --duckdb "$DB" --schema m365 \
    --out "$ROOT/output/tenant-report.html" --headlines

say "OK: $(basename "$DB") loaded and modelled, output/tenant-report.html written, in $((SECONDS - started))s total"
