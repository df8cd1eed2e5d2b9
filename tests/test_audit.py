"""Activity logs (sign_ins, directory_audits, provisioning_logs) and users.signInActivity."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import math
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from jsonschema import Draft7Validator, FormatChecker

from m365_graph_sandbox import Sandbox
from m365_graph_sandbox.model.audit import TICKS
from tap_microsoft365.graph.pacing import Pacer
from tap_microsoft365.streams.audit import next_window, parse_time
from tap_microsoft365.tap import TapMicrosoft365

from .conftest import SyncResult, catalog_for, run_sync

LOGS = ["sign_ins", "directory_audits", "provisioning_logs"]
FAST = (5, 0.5)  # the sandbox's 5-per-10-s throttle, 20 times faster
FAST_TAP = {"audit_requests_per_10s": 80}  # 4 per 0.5 s (evenly spaced): under FAST


def sandbox_env(sb: Sandbox) -> Sandbox:
    os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
    return sb


@pytest.fixture(scope="module")
def logs_sb():
    with Sandbox(users=60, seed=11, audit_throttle=FAST, sign_ins_per_day=100) as sb:
        yield sandbox_env(sb)


@pytest.fixture
def lsb(logs_sb):
    logs_sb.reset_log()
    logs_sb.faults.clear()
    yield logs_sb
    logs_sb.faults.clear()


def model_ids(log, since: datetime | None = None) -> set[str]:
    """Ids of a sandbox log's events (at or after ``since``)."""
    render = log.render
    lo = 0 if since is None else int(since.timestamp() * TICKS)
    return {render(s, tk)["id"] for tk, s in zip(log.ticks, log.serials, strict=True) if tk >= lo}


def log_of(sb: Sandbox, stream: str):
    audit = sb.tenant.audit
    log, render = {
        "sign_ins": (audit.sign_ins, audit.sign_in),
        "directory_audits": (audit.directory_audits, audit.directory_audit),
        "provisioning_logs": (audit.provisioning, audit.provisioning_event),
    }[stream]
    log.owner, log.render = audit, render
    return log


def sync_until_failure(config: dict, streams: list[str], state: dict | None = None):
    """Run the tap; return (messages written before it stopped, the exception or None)."""
    buffer = io.BytesIO()
    wrapper = io.TextIOWrapper(buffer, encoding="utf-8")
    tap = TapMicrosoft365(
        config=config, catalog=catalog_for(config, streams), state=state, validate_config=True
    )
    error = None
    with contextlib.redirect_stdout(wrapper):
        try:
            tap.sync_all()
        except Exception as exc:  # the interruption under test
            error = exc
        wrapper.flush()
    lines = buffer.getvalue().decode().splitlines()
    return SyncResult([json.loads(line) for line in lines if line.strip()], tap), error


def filters(sb: Sandbox, path: str) -> list[str]:
    return [
        r.query["$filter"] for r in sb.requests if r.path == path and "$skiptoken" not in r.query
    ]


def partition(state: dict, stream: str) -> dict:
    return state["bookmarks"][stream]["partitions"][0]


# -- first run ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def first(logs_sb):
    logs_sb.reset_log()
    result = run_sync(logs_sb.tap_config(**FAST_TAP), LOGS)
    return result, list(logs_sb.requests)


def test_first_run_reads_every_event_once_typed(first, logs_sb):
    result, _ = first
    for stream in LOGS:
        rows = result.records(stream)
        ids = [r["id"] for r in rows]
        assert len(ids) == len(set(ids)), stream
        assert set(ids) == model_ids(log_of(logs_sb, stream)), stream
        assert {r["tenant_id"] for r in rows} == {logs_sb.tenant_id}
        validator = Draft7Validator(result.schema(stream)["schema"], format_checker=FormatChecker())
        for row in rows[:300]:
            assert not list(validator.iter_errors(row)), stream
    sign_in = result.records("sign_ins")[0]
    assert isinstance(sign_in["status"]["errorCode"], int)
    assert isinstance(sign_in["location"]["geoCoordinates"]["latitude"], float)
    assert sign_in["appliedConditionalAccessPolicies"][0]["enforcedGrantControls"] == ["Mfa"]
    assert sign_in["deviceDetail"]["operatingSystem"]
    audit = result.records("directory_audits")[0]
    assert audit["targetResources"][0]["modifiedProperties"][0]["displayName"] == "AccountEnabled"
    assert audit["initiatedBy"]["user"]["userPrincipalName"]


def test_windows_are_server_side_filters_on_the_right_timestamp(first):
    _, log = first
    sign_ins = [r for r in log if r.path == "/v1.0/auditLogs/signIns"]
    audits = [r for r in log if r.path == "/v1.0/auditLogs/directoryAudits"]
    provisioning = [r for r in log if r.path == "/v1.0/auditLogs/provisioning"]
    assert all(r.query["$filter"].startswith("createdDateTime ge ") for r in sign_ins)
    assert all(" and createdDateTime le " in r.query["$filter"] for r in sign_ins)
    assert all(r.query["$filter"].startswith("activityDateTime ge ") for r in audits)
    assert all(r.query["$filter"].startswith("activityDateTime gt ") for r in provisioning)
    assert all("createdDateTime" not in r.query["$filter"] for r in audits + provisioning)
    assert {r.query["$top"] for r in sign_ins} == {"1000"}
    assert {r.query["$top"] for r in audits} == {"999"}
    assert not [r for r in log if "$select" in r.query and "auditLogs" in r.path]
    # oldest window first, adjacent windows
    starts = [parse_time(f.split(" ")[2]) for f in (r.query["$filter"] for r in sign_ins)]
    assert starts == sorted(starts)
    assert starts[0] > datetime.now(UTC) - timedelta(days=30)


def test_state_after_each_window_with_the_window_end(first):
    result, log = first
    windows = [r for r in log if r.path == "/v1.0/auditLogs/signIns"]
    states = [m["value"] for m in result.messages if m["type"] == "STATE"]
    sign_in_marks = []
    for state in states:
        mark = state.get("bookmarks", {}).get("sign_ins", {}).get("partitions", [{}])[0]
        value = mark.get("replication_key_value")
        if value and value not in sign_in_marks:
            sign_in_marks.append(value)
    assert len(sign_in_marks) == len(windows)  # one bookmark per window (one page each here)
    final = partition(result.state, "sign_ins")
    assert final["replication_key"] == "createdDateTime"
    assert partition(result.state, "directory_audits")["replication_key"] == "activityDateTime"
    assert parse_time(final["replication_key_value"]) <= datetime.now(UTC)
    assert "progress_markers" not in final


def test_pacer_keeps_429s_at_zero(first):
    _, log = first
    audit_requests = [r for r in log if r.path.startswith("/v1.0/auditLogs/")]
    assert len(audit_requests) > 10
    assert [r.status for r in audit_requests if r.status == 429] == []


def test_without_the_pacer_the_throttle_answers_429_and_retry_after_is_honoured(lsb):
    result = run_sync(lsb.tap_config(audit_requests_per_10s=0), ["directory_audits"])
    throttled = [r for r in lsb.requests if r.status == 429]
    assert throttled, "the sandbox enforces 5 requests per window"
    assert {r["id"] for r in result.records("directory_audits")} == model_ids(
        log_of(lsb, "directory_audits")
    )


# -- incremental ----------------------------------------------------------------------------------


def test_second_run_reads_only_new_rows(lsb, first):
    result, _ = first
    state = result.state
    bookmark = parse_time(partition(state, "sign_ins")["replication_key_value"])
    new = log_of(lsb, "sign_ins")
    serials = new.owner.sign_ins.add(time.time() - 0.5, 3)
    time.sleep(1.1)  # a run reads up to its start time (whole seconds): let these be older
    expected = {new.owner.sign_in(s, 0)["id"] for s in serials}
    lsb.reset_log()
    second = run_sync(lsb.tap_config(**FAST_TAP), ["sign_ins"], state=state)
    assert {r["id"] for r in second.records("sign_ins")} == expected
    sent = filters(lsb, "/v1.0/auditLogs/signIns")
    assert len(sent) == 1, sent  # one window: bookmark minus the overlap to now
    assert parse_time(sent[0].split(" ")[2]) == bookmark - timedelta(minutes=15)
    assert parse_time(partition(second.state, "sign_ins")["replication_key_value"]) > bookmark


def test_overlap_catches_late_events_without_duplicates(lsb):
    audit = lsb.tenant.audit
    # events just before a first run's end: they fall in the next run's overlap zone
    now = time.time()
    in_zone = audit.directory_audits.add(now - 120, 4)
    first_run = run_sync(lsb.tap_config(**FAST_TAP), ["directory_audits"])
    first_ids = {r["id"] for r in first_run.records("directory_audits")}
    zone_ids = {audit.directory_audit(s, 0)["id"] for s in in_zone}
    assert zone_ids <= first_ids
    mark = partition(first_run.state, "directory_audits")
    assert zone_ids <= set(mark["overlap_ids"])
    assert len(mark["overlap_ids"]) < len(first_ids) / 10  # only the zone's ids are kept
    bookmark = parse_time(mark["replication_key_value"])
    # a late event: stamped before the bookmark, arriving after the run
    late = audit.directory_audits.add(bookmark.timestamp() - 300, 1)
    second = run_sync(lsb.tap_config(**FAST_TAP), ["directory_audits"], state=first_run.state)
    ids = [r["id"] for r in second.records("directory_audits")]
    assert ids == [audit.directory_audit(late[0], 0)["id"]]


def test_interrupted_run_resumes_without_loss_or_duplicates():
    with Sandbox(users=40, seed=5, audit_throttle=None, sign_ins_per_day=60) as sb:
        sandbox_env(sb)
        sb.tenant.audit.sign_ins.add(time.time() - 10 * 86400, 300)  # a burst ten days ago
        config = sb.tap_config(audit_requests_per_10s=0, page_size=10, max_retries=0)
        whole = run_sync(config, ["sign_ins"])
        whole_ids = [r["id"] for r in whole.records("sign_ins")]
        assert len(whole_ids) == len(set(whole_ids)) == 2100
        multi_page = [
            r for r in sb.requests if r.path.endswith("/signIns") and "$skiptoken" in r.query
        ]
        assert multi_page, "windows span several pages"
        # the window adapts: grows while small, halves after the burst's window (> 10 pages)
        spans = [
            parse_time(f.split(" ")[6]) - parse_time(f.split(" ")[2])
            for f in filters(sb, "/v1.0/auditLogs/signIns")
        ][:-1]  # the last window ends at the run's start
        assert any(b > a for a, b in itertools.pairwise(spans))
        assert any(b < a for a, b in itertools.pairwise(spans))
        assert max(spans) < timedelta(days=7)
        sb.reset_log()
        sb.faults.add(r"/v1\.0/auditLogs/signIns", 500, skip=40, times=-1)
        broken, error = sync_until_failure(config, ["sign_ins"])
        assert error is not None
        assert "500" in str(error)
        last = broken.state
        assert partition(last, "sign_ins")["replication_key_value"]
        # the failing request was not the first page of its window: rows of it were read already
        failed = next(r for r in sb.requests if r.status == 500)
        assert "$skiptoken" in failed.query
        sb.faults.clear()
        resumed = run_sync(config, ["sign_ins"], state=last)
        before = [r["id"] for r in broken.records("sign_ins")]
        after = [r["id"] for r in resumed.records("sign_ins")]
        assert before
        assert after
        assert not set(before) & set(after)
        assert len(after) == len(set(after))
        assert sorted(before + after) == sorted(whole_ids)


# -- retention, licence ---------------------------------------------------------------------------


def test_start_date_beyond_retention_is_clamped_with_an_info_line(lsb, caplog):
    old = (datetime.now(UTC) - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with caplog.at_level(logging.INFO):
        result = run_sync(lsb.tap_config(start_date=old, **FAST_TAP), ["provisioning_logs"])
    assert not [r for r in lsb.requests if r.status >= 400]
    lines = [r.getMessage() for r in caplog.records if "retention" in r.getMessage()]
    assert any(f"start_date {old}" in line and "30-day retention" in line for line in lines)
    assert {r["id"] for r in result.records("provisioning_logs")} == model_ids(
        log_of(lsb, "provisioning_logs")
    )


def test_start_date_inside_retention_is_used(lsb):
    since = datetime.now(UTC) - timedelta(days=2)
    result = run_sync(
        lsb.tap_config(start_date=since.strftime("%Y-%m-%dT%H:%M:%SZ"), **FAST_TAP),
        ["directory_audits"],
    )
    first_filter = filters(lsb, "/v1.0/auditLogs/directoryAudits")[0]
    assert parse_time(first_filter.split(" ")[2]) == since.replace(microsecond=0)
    log = log_of(lsb, "directory_audits")
    assert {r["id"] for r in result.records("directory_audits")} == model_ids(
        log, since.replace(microsecond=0)
    )


def test_tenant_without_p1_p2(caplog):
    with Sandbox(users=1200, seed=3, premium=False, audit_throttle=FAST) as sb:
        sandbox_env(sb)
        with caplog.at_level(logging.INFO):
            result = run_sync(sb.tap_config(**FAST_TAP), ["users", "user_sign_in_activity", *LOGS])
        messages = [r.getMessage() for r in caplog.records]
        # sign-ins and provisioning: skipped with one warning naming the licence
        for stream in ("sign_ins", "provisioning_logs"):
            assert not result.records(stream)
            warnings = [m for m in messages if f"Skipping stream '{stream}'" in m]
            assert len(warnings) == 1, warnings
            assert "Microsoft Entra ID P1 or P2" in warnings[0]
            assert "Authentication_RequestFromNonPremiumTenantOrB2CTenant" in warnings[0]
        # directory audits: Free keeps 7 days; the 30-day start is refused once, then clamped
        audits = result.records("directory_audits")
        assert audits
        seven = datetime.now(UTC) - timedelta(days=7)
        assert all(parse_time(r["activityDateTime"]) >= seven for r in audits)
        log = log_of(sb, "directory_audits")
        assert {r["id"] for r in audits} >= model_ids(log, seven + timedelta(minutes=15))
        refused = [r for r in sb.requests if r.path.endswith("directoryAudits") and r.status == 400]
        assert len(refused) == 1
        assert any("keeps 7 days" in m for m in messages)
        # users: synced in full; their last sign-ins (user_sign_in_activity) skipped, one warning
        assert len(result.records("users")) == 1200
        assert not result.records("user_sign_in_activity")
        warned = [m for m in messages if "Skipping stream 'user_sign_in_activity'" in m]
        assert len(warned) == 1
        assert "P1 or P2" in warned[0]
        assert "Authentication_RequestFromNonPremiumTenantOrB2CTenant" in warned[0]


def test_sign_in_activity_needs_audit_log_permission(sb, caplog):
    sb.granted_permissions.discard("AuditLog.Read.All")
    with caplog.at_level(logging.WARNING):
        result = run_sync(sb.tap_config(), ["users", "user_sign_in_activity"])
    assert len(result.records("users")) == len(sb.tenant.users)
    assert not result.records("user_sign_in_activity")
    [warned] = [r.getMessage() for r in caplog.records if "Skipping stream" in r.getMessage()]
    assert "user_sign_in_activity" in warned
    assert "AuditLog.Read.All" in warned


# -- user_sign_in_activity ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_sb():
    with Sandbox(users=1200, seed=9) as sb:
        yield sandbox_env(sb)


def test_sign_in_activity_read_500_per_page(big_sb):
    big_sb.reset_log()
    result = run_sync(big_sb.tap_config(), ["user_sign_in_activity"])
    listing = [r for r in big_sb.requests if r.path == "/v1.0/users"]
    assert len(listing) == math.ceil(1200 / 500)
    assert listing[0].query["$top"] == "500"
    by_id = {u["id"]: u for u in big_sb.tenant.users}
    rows = result.records("user_sign_in_activity")
    with_values = [r for r in rows if r["signInActivity"]["lastSignInDateTime"]]
    assert len(with_values) > len(rows) / 2
    row = with_values[0]
    assert row["signInActivity"] == by_id[row["id"]]["signInActivity"]


# -- sandbox fidelity and units ---------------------------------------------------------------------


def test_sandbox_models_the_log_apis(lsb):
    token = requests.post(
        f"{lsb.base_url}/{lsb.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": lsb.client_id,
            "client_secret": lsb.client_secret,
            "scope": "https://graph.microsoft.com/.default",
        },
        timeout=10,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = (datetime.now(UTC) - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    base = f"{lsb.base_url}/v1.0/auditLogs"

    def get(url: str) -> requests.Response:
        time.sleep(0.12)  # stay under the sandbox's throttle
        return requests.get(url, headers=headers, timeout=10)

    page = get(f"{base}/signIns?$top=50").json()
    stamps = [r["createdDateTime"] for r in page["value"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    more = get(page["@odata.nextLink"]).json()
    assert more["value"][0]["createdDateTime"] < stamps[-1]
    assert get(f"{base}/signIns?$top=1001").status_code == 400
    assert get(f"{base}/directoryAudits?$top=1000").status_code == 400
    wrong = get(f"{base}/directoryAudits?$filter=createdDateTime ge {day}")
    assert wrong.status_code == 400
    assert "createdDateTime" in wrong.json()["error"]["message"]
    assert get(f"{base}/signIns?$filter=createdDateTime gt {day}").status_code == 400
    too_old = get(f"{base}/signIns?$filter=createdDateTime ge {old}")
    assert too_old.status_code == 400
    assert too_old.json()["error"] == {
        **too_old.json()["error"],
        "code": "BadRequest",
        "message": "Invalid filter clause",
    }
    assert get(f"{base}/signIns?$select=id").status_code == 400
    burst = [
        requests.get(f"{base}/directoryAudits?$top=1", headers=headers, timeout=10)
        for _ in range(7)
    ]
    limited = [r for r in burst if r.status_code == 429]
    assert limited
    assert float(limited[0].headers["Retry-After"]) > 0


def test_window_adapts_to_volume():
    hour, low, high = timedelta(hours=1), timedelta(minutes=1), timedelta(days=7)
    assert next_window(hour, 25, max_pages=10, low=low, high=high) == timedelta(minutes=30)
    assert next_window(hour, 2, max_pages=10, low=low, high=high) == timedelta(hours=2)
    assert next_window(hour, 6, max_pages=10, low=low, high=high) == hour
    assert next_window(timedelta(days=6), 0, max_pages=10, low=low, high=high) == high
    assert next_window(timedelta(minutes=1), 50, max_pages=10, low=low, high=high) == low


def test_pacer_spaces_requests():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(5, 10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        pacer.wait()
    assert slept[0] == pytest.approx(2.1)  # 10 s / 5, plus the 5 % margin
    assert now[0] >= 10.0  # the 6th request goes out only after a full 10 s window
