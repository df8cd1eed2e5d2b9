"""Usage reports: 302 + download without Authorization, BOM CSV typing, dates, lookback, concealed names."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import logging

import pytest

from m365_graph_sandbox.model.reports import REPORTS
from m365_graph_sandbox.routes.reports import csv_body
from tap_microsoft365.streams.reports import REPORT_STREAMS, UsageReportStream, snake

from .conftest import run_sync

BY_NAME = {s.name: s for s in REPORT_STREAMS}
TODAY = dt.datetime.now(dt.UTC).date()
LATEST = TODAY - dt.timedelta(days=2)  # the sandbox's latest Report Refresh Date


@pytest.fixture
def rb(sb):
    """The sandbox with the report throttle relaxed and names shown, restored afterwards."""
    options = sb.tenant.report_options
    saved = dict(vars(options))
    options.throttle = None
    options.concealed_names = False
    sb.server.cache.pop("reports", None)
    yield sb
    vars(options).update(saved)
    sb.server.cache.pop("reports", None)


def report_calls(sb, function: str) -> list:
    return [r for r in sb.requests if r.path.startswith(f"/v1.0/reports/{function}")]


def sandbox_rows(sb, function: str, day: dt.date, period_days: int) -> list[dict]:
    text = csv_body(sb.server, function, day, period_days).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def state_for(result, stream: str) -> dict:
    partitions = result.state["bookmarks"][stream]["partitions"]
    return partitions[0]


@pytest.mark.parametrize("stream_type", REPORT_STREAMS, ids=lambda s: s.name)
def test_each_report_parsed_and_typed_like_the_sandbox(rb, stream_type: type[UsageReportStream]):
    config = rb.tap_config(start_date=f"{LATEST.isoformat()}T00:00:00Z")
    result = run_sync(config, [stream_type.name])
    records = result.records(stream_type.name)
    function = stream_type.function
    period = 1 if stream_type.takes_date else 7
    expected = sandbox_rows(rb, function, LATEST, period)
    assert records
    assert len(records) == len(expected)
    props = result.schema(stream_type.name)["schema"]["properties"]
    for record, row in zip(records, expected, strict=True):
        assert record["tenant_id"] == rb.tenant_id
        assert record["report_date"] == LATEST.isoformat()
        assert record["extra_columns"] is None
        for header, text in row.items():
            field, kind = stream_type.columns[header]
            value = record[field]
            if text == "":
                assert value is None, (header, value)
            elif kind == "int":
                assert value == int(text)
                assert props[field]["type"][0] == "integer"
            elif kind == "bool":
                assert value is (text in ("True", "Yes")), (header, text, value)
            elif kind == "list":
                assert value == text.split("+")
            else:
                assert value == text, header
                if kind == "date":
                    assert props[field]["format"] == "date"
        if stream_type.name_fields:
            assert record["names_concealed"] is False
    # the download never carried the Authorization header; each date/period was one Graph call
    downloads = [r for r in rb.requests if r.path.startswith("/download/")]
    assert downloads
    assert all("authorization" not in {k.lower() for k in r.headers} for r in downloads)
    assert {r.status for r in downloads} == {200}
    calls = report_calls(rb, function)
    if stream_type.takes_date:
        # start_date = LATEST: LATEST and yesterday (header-only, not yet refreshed)
        assert [c.status for c in calls] == [302, 302]
        assert calls[0].path.endswith(f"(date={LATEST.isoformat()})")
    elif stream_type.takes_period:
        assert [c.path for c in calls] == [f"/v1.0/reports/{function}(period='D7')"]
    else:
        assert [c.path for c in calls] == [f"/v1.0/reports/{function}"]


def test_field_names_are_stable_snake_case():
    assert snake("Storage Used (Byte)") == "storage_used_byte"
    assert snake("Prohibit Send/Receive Quota (Byte)") == "prohibit_send_receive_quota_byte"
    assert snake("Report Refresh Date") == "report_refresh_date"
    assert snake("Outlook (Windows)") == "outlook_windows"
    mailbox = BY_NAME["usage_mailbox_usage_detail"]
    assert mailbox.primary_keys == ("tenant_id", "report_date", "user_principal_name")
    assert BY_NAME["usage_sharepoint_site_usage_detail"].primary_keys == ("tenant_id", "report_date", "site_id")


def test_download_rejects_authorization_header(rb):
    """The sandbox's download URL refuses a bearer token, so the tests above prove none was sent."""
    import requests

    config = rb.tap_config()
    token = requests.post(
        f"{rb.base_url}/{rb.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": config["client_id"],
            "client_secret": config["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=rb.ca_bundle,
        timeout=30,
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    answer = requests.get(
        f"{rb.base_url}/v1.0/reports/getMailboxUsageDetail(period='D7')",
        headers=auth,
        allow_redirects=False,
        verify=rb.ca_bundle,
        timeout=30,
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    rejected = requests.get(location, headers=auth, verify=rb.ca_bundle, timeout=30)
    assert rejected.status_code == 400
    ok = requests.get(location, verify=rb.ca_bundle, timeout=30)
    assert ok.status_code == 200
    assert ok.content.startswith(b"\xef\xbb\xbfReport Refresh Date,")
    # a date on a period-only report, a date too old, a bad period: 400
    for bad in (
        "getMailboxUsageDetail(date=2025-01-01)",
        f"getEmailActivityUserDetail(date={TODAY - dt.timedelta(days=31)})",
        "getEmailActivityUserDetail(period='D5')",
    ):
        answer = requests.get(
            f"{rb.base_url}/v1.0/reports/{bad}", headers=auth, verify=rb.ca_bundle, timeout=30
        )
        assert answer.status_code == 400, bad


def test_incremental_dates_lookback_and_state(rb):
    name = "usage_email_activity_user_detail"
    config = rb.tap_config(usage_report_calls_per_10_minutes=100)
    first = run_sync(config, [name])
    calls = report_calls(rb, "getEmailActivityUserDetail")
    asked = [c.path.split("date=")[1].rstrip(")") for c in calls]
    # never older than 28 days, up to yesterday
    expected = [(TODAY - dt.timedelta(days=d)).isoformat() for d in range(28, 0, -1)]
    assert asked == expected
    state = state_for(first, name)
    assert state["context"] == {"tenant_id": rb.tenant_id}
    assert state["replication_key_value"] == LATEST.isoformat()
    dates = {r["report_date"] for r in first.records(name)}
    assert max(dates) == LATEST.isoformat()
    assert len(dates) == 27

    rb.reset_log()
    second = run_sync(config, [name], state=first.state)
    asked = [
        c.path.split("date=")[1].rstrip(")") for c in report_calls(rb, "getEmailActivityUserDetail")
    ]
    # lookback 3: the bookmark and the two days before, then the dates after it
    assert asked == [(LATEST + dt.timedelta(days=d)).isoformat() for d in range(-2, 2)]
    assert state_for(second, name)["replication_key_value"] == LATEST.isoformat()


def state_for_value(state: dict, stream: str) -> dict:
    return state["bookmarks"][stream]["partitions"][0]


def test_pacing_stops_at_14_calls_and_resumes_next_run(rb, caplog):
    name = "usage_teams_user_activity_user_detail"
    config = rb.tap_config()
    with caplog.at_level(logging.WARNING):
        first = run_sync(config, [name])
    calls = report_calls(rb, "getTeamsUserActivityUserDetail")
    assert len(calls) == 14
    last = (TODAY - dt.timedelta(days=28 - 13)).isoformat()
    assert state_for(first, name)["replication_key_value"] == last
    assert "14 calls in 10 minutes" in caplog.text
    assert "14 date(s) from" in caplog.text
    # the call log is in the state: a run started at once makes no call and keeps the bookmark
    saved = state_for(first, name)["calls"]
    assert len(saved) == 14
    # whole seconds: targets parse JSON numbers as Decimal and fail to re-emit a fractional one
    assert all(isinstance(c, int) for c in saved)
    rb.reset_log()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = run_sync(config, [name], state=first.state)
    assert report_calls(rb, "getTeamsUserActivityUserDetail") == []
    assert state_for(again, name)["replication_key_value"] == last
    assert "left for the next run" in caplog.text
    # ten minutes later (the logged calls aged by 601 s) the next 14 dates are read
    later = copy.deepcopy(first.state)
    state_for_value(later, name)["calls"] = [c - 601 for c in saved]
    rb.reset_log()
    run_sync(config, [name], state=later)
    asked = [
        c.path.split("date=")[1].rstrip(")")
        for c in report_calls(rb, "getTeamsUserActivityUserDetail")
    ]
    assert asked[0] == (dt.date.fromisoformat(last) - dt.timedelta(days=2)).isoformat()
    assert len(asked) == 14  # 17 dates from bookmark-2 to yesterday: paced again


def test_429_with_a_long_retry_after_leaves_the_rest_for_the_next_run(rb, caplog):
    # the sandbox answers a 15th call in 10 minutes with 429 and a Retry-After of minutes (graph.md 3);
    # past usage_report_max_wait_seconds the report stops with its bookmark intact, never stalls
    rb.tenant.report_options.throttle = 14
    rb.faults.clear()
    name = "usage_onedrive_usage_account_detail"
    config = rb.tap_config(usage_report_calls_per_10_minutes=15)
    with caplog.at_level(logging.WARNING):
        result = run_sync(config, [name])
    statuses = [c.status for c in report_calls(rb, "getOneDriveUsageAccountDetail")]
    assert statuses == [302] * 14 + [429]
    assert "more than usage_report_max_wait_seconds (60 s)" in caplog.text
    assert "left for the next run (bookmark intact)" in caplog.text
    fourteenth = (TODAY - dt.timedelta(days=28 - 13)).isoformat()
    assert state_for(result, name)["replication_key_value"] == fourteenth


def test_concealed_names_from_report_settings(rb, caplog):
    rb.tenant.report_options.concealed_names = True
    config = rb.tap_config()
    with caplog.at_level(logging.WARNING):
        result = run_sync(
            config, ["usage_mailbox_usage_detail", "usage_office365_activations_user_detail"]
        )
    rows = result.records("usage_mailbox_usage_detail")
    assert rows
    assert all(r["names_concealed"] is True for r in rows)
    assert all(len(r["user_principal_name"]) == 32 for r in rows)
    activations = result.records("usage_office365_activations_user_detail")
    assert activations
    assert all(r["names_concealed"] is True for r in activations)
    assert rb.count(path="/v1.0/admin/reportSettings") == 1  # read once per run for all streams
    warnings = [m for m in caplog.messages if "conceal user, group and site names" in m]
    assert len(warnings) == 1
    assert "displayConcealedNames is true" in warnings[0]
    assert "Settings > Org settings > Services > Reports" in warnings[0]
    assert "ReportSettings.ReadWrite.All" in warnings[0]


def test_concealed_names_detected_without_report_settings_permission(rb, caplog):
    rb.tenant.report_options.concealed_names = True
    rb.granted_permissions.discard("ReportSettings.Read.All")
    config = rb.tap_config(usage_report_calls_per_10_minutes=1)
    with caplog.at_level(logging.WARNING):
        result = run_sync(
            config, ["usage_email_activity_user_detail", "usage_mailbox_usage_detail"]
        )
    assert [r.status for r in rb.requests if r.path == "/v1.0/admin/reportSettings"] == [403]
    for name in ("usage_email_activity_user_detail", "usage_mailbox_usage_detail"):
        rows = result.records(name)
        assert rows, name
        assert all(r["names_concealed"] is True for r in rows), name
    warnings = [m for m in caplog.messages if "conceal user, group and site names" in m]
    assert len(warnings) == 1
    assert "32-character hashes" in warnings[0]


def test_names_shown_are_not_marked_without_permission(rb):
    rb.granted_permissions.discard("ReportSettings.Read.All")
    result = run_sync(rb.tap_config(), ["usage_mailbox_usage_detail"])
    rows = result.records("usage_mailbox_usage_detail")
    assert rows
    assert all(r["names_concealed"] is False for r in rows)
    assert any("@" in r["user_principal_name"] for r in rows)


def test_unknown_column_kept_and_logged_once(rb, caplog):
    rb.tenant.report_options.extra_column = "Copilot Chat Last Activity Date"
    config = rb.tap_config(usage_report_lookback_days=3)
    state = {
        "bookmarks": {
            "usage_office365_active_user_detail": {
                "partitions": [
                    {
                        "context": {"tenant_id": rb.tenant_id},
                        "replication_key": "report_date",
                        "replication_key_value": (LATEST - dt.timedelta(days=1)).isoformat(),
                    }
                ]
            }
        }
    }
    with caplog.at_level(logging.WARNING):
        result = run_sync(config, ["usage_office365_active_user_detail"], state=state)
    rows = result.records("usage_office365_active_user_detail")
    assert len({r["report_date"] for r in rows}) == 4  # bookmark-2 .. bookmark, then LATEST
    assert rows
    assert all(r["extra_columns"] == {"copilot_chat_last_activity_date": "42"} for r in rows)
    logged = [m for m in caplog.messages if "does not know yet" in m]
    assert len(logged) == 1
    assert "Copilot Chat Last Activity Date" in logged[0]


def test_missing_reports_permission_skips_with_fix(rb, caplog):
    rb.granted_permissions.discard("Reports.Read.All")
    with caplog.at_level(logging.WARNING):
        result = run_sync(rb.tap_config(), ["usage_mailbox_usage_detail"])
    assert result.records("usage_mailbox_usage_detail") == []
    assert "Reports.Read.All" in caplog.text


def test_period_setting(rb):
    run_sync(rb.tap_config(usage_report_period="D30"), ["usage_office365_active_user_counts"])
    assert [c.path for c in report_calls(rb, "getOffice365ServicesUserCounts")] == [
        "/v1.0/reports/getOffice365ServicesUserCounts(period='D30')"
    ]


def test_sandbox_reports_match_graph_md_headers():
    for stream_type in REPORT_STREAMS:
        assert REPORTS[stream_type.function].headers == stream_type.headers


def test_expired_download_link_is_asked_again_then_fails_clearly(rb):
    rb.tenant.report_options.download_ttl = 0.0
    with pytest.raises(Exception, match="the report download answered 401") as info:
        run_sync(rb.tap_config(), ["usage_mailbox_usage_detail"])
    assert "Fix: run again" in str(info.value)
    assert len(report_calls(rb, "getMailboxUsageDetail")) == 2  # the link was asked for once more
    assert [r.status for r in rb.requests if r.path.startswith("/download/")] == [401, 401]


def test_pacing_can_wait_for_the_window(rb, monkeypatch):
    import time

    from tap_microsoft365.streams import reports

    monkeypatch.setattr(reports, "WINDOW_SECONDS", 0.5)
    name = "usage_sharepoint_site_usage_detail"
    start = (TODAY - dt.timedelta(days=3)).isoformat()
    config = rb.tap_config(
        start_date=f"{start}T00:00:00Z",
        usage_report_calls_per_10_minutes=2,
        usage_report_wait_for_limit=True,
    )
    began = time.monotonic()
    result = run_sync(config, [name])
    assert time.monotonic() - began >= 0.5  # waited at least one window
    assert len(report_calls(rb, "getSharePointSiteUsageDetail")) == 3  # every date, none left
    assert state_for(result, name)["replication_key_value"] == LATEST.isoformat()
