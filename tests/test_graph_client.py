"""The Graph client: where the token may go, the audience, retries of every kind of call, malformed
answers, the request deadline, national clouds and the error table (issue: one Graph client)."""

from __future__ import annotations

import http.server
import json
import os
import re
import threading
from pathlib import Path

import pytest

from m365_graph_sandbox import Sandbox
from tap_microsoft365.graph.auth import TokenSource
from tap_microsoft365.graph.clouds import CLOUDS
from tap_microsoft365.graph.errors import GraphError, GraphTransientError, HostRefusedError, redact
from tap_microsoft365.graph.retry import RetryPolicy, parse_retry_after

from .conftest import catalog_for, error_lines, run_cli, run_sync

ROOT = Path(__file__).resolve().parent.parent


class Recorder(http.server.BaseHTTPRequestHandler):
    """A plain-http listener standing for a host the token must never reach."""

    seen: list[dict] = []

    def do_GET(self) -> None:
        Recorder.seen.append(dict(self.headers))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker():
    Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def foreign_requests(sb):
    """Requests the sandbox saw under a host name other than the configured Graph root's."""
    own = sb.base_url.split("://", 1)[1]
    return [r for r in sb.requests if r.host != own]


# -- the token goes to the configured Graph root only ----------------------------------------------


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("https://localhost:{port}/v1.0/users?$skiptoken=x", "https://localhost:{port}"),
        ("{attacker}/v1.0/users?$skiptoken=x", "{attacker}"),
        ("file:///etc/passwd", "file:"),
        ("https://127.0.0.1:{port}/beta/users?$skiptoken=x", None),
    ],
    ids=["other-host", "plain-http", "file", "outside-v1.0"],
)
def test_next_link_outside_the_graph_root_is_refused(sb, attacker, link, shown):
    port = sb.base_url.rsplit(":", 1)[1]
    target = link.format(port=port, attacker=attacker)
    sb.faults.add(r"^/v1\.0/oauth2PermissionGrants$", None, next_link=target)
    with pytest.raises(HostRefusedError) as excinfo:
        run_sync(sb.tap_config(), ["oauth2_permission_grants"])
    message = str(excinfo.value)
    assert message.startswith("Stream 'oauth2_permission_grants': @odata.nextLink points to ")
    if shown:
        assert shown.format(port=port, attacker=attacker) in message
    assert "no request sent" in message
    assert "skiptoken" not in message
    assert foreign_requests(sb) == []
    assert Recorder.seen == []
    assert sb.count(path="/v1.0/oauth2PermissionGrants") == 1


def test_graph_links_behind_a_proxy_are_kept_on_the_configured_root(sb):
    # graph_url names a proxy (the sandbox's host); Graph writes nextLinks with its own root, which
    # the client follows through the proxy, never to graph.microsoft.com itself
    sb.faults.add(
        r"^/v1\.0/oauth2PermissionGrants$",
        None,
        next_link="https://graph.microsoft.com/v1.0/oauth2PermissionGrants?$top=500",
    )
    result = run_sync(sb.tap_config(), ["oauth2_permission_grants"])
    assert result.records("oauth2_permission_grants")
    assert foreign_requests(sb) == []
    second = [r for r in sb.requests if r.path == "/v1.0/oauth2PermissionGrants"][1]
    assert second.query == {"$top": "500"}


def test_graph_api_redirect_is_never_followed(sb):
    port = sb.base_url.rsplit(":", 1)[1]
    sb.faults.add(
        r"^/v1\.0/domains$", 302, headers={"Location": f"https://localhost:{port}/v1.0/domains"}
    )
    with pytest.raises(Exception, match="a redirect, which Graph API calls never answer"):
        run_sync(sb.tap_config(), ["domains"])
    assert foreign_requests(sb) == []


@pytest.mark.parametrize(
    ("location", "shown"),
    [("{attacker}/download/x", "{attacker}"), ("file:///etc/passwd", "file:")],
    ids=["plain-http", "file"],
)
def test_report_location_must_be_https(sb, attacker, location, shown):
    sb.faults.add(
        r"getMailboxUsageDetail", 302, headers={"Location": location.format(attacker=attacker)}
    )
    with pytest.raises(HostRefusedError) as excinfo:
        run_sync(sb.tap_config(), ["usage_mailbox_usage_detail"])
    message = str(excinfo.value)
    assert message.startswith(
        f"Stream 'usage_mailbox_usage_detail': the report download link points to "
        f"{shown.format(attacker=attacker)}"
    )
    assert Recorder.seen == []


def test_report_download_gets_no_token(sb):
    # the pre-authenticated link (graph.md 3) is fetched without the Authorization header
    result = run_sync(sb.tap_config(), ["usage_mailbox_usage_detail"])
    assert result.records("usage_mailbox_usage_detail")
    downloads = [r for r in sb.requests if r.path.startswith("/download/")]
    assert downloads
    assert all(k.lower() != "authorization" for r in downloads for k in r.headers)


# -- the token's audience comes from the cloud --------------------------------------------------------


def test_scope_follows_the_cloud_not_graph_url():
    policy = RetryPolicy()
    for name, cloud in CLOUDS.items():
        tokens = TokenSource(
            tenant_id="contoso.onmicrosoft.com",
            client_id="00000000-0000-0000-0000-000000000001",
            credential="x",
            authority_url="https://login.proxy.example",
            cloud=cloud,
            well_known_authority=False,
            policy=policy,
            clock=policy.clock,
        )
        assert tokens.scopes == [f"{cloud.graph}/.default"], name
    assert CLOUDS["usgov_dod"].scope == "https://dod-graph.microsoft.us/.default"


def test_sync_through_a_proxy_host_asks_for_graphs_audience(sb):
    # graph_url is the sandbox's own host (a proxy in front of Graph); the sandbox issues tokens only
    # for https://graph.microsoft.com and checks that audience on every call.
    assert sb.tap_config()["graph_url"] == sb.base_url
    result = run_sync(sb.tap_config(), ["organization"])
    assert len(result.records("organization")) == 1


def test_wrong_cloud_is_one_aadsts500011_line(tmp_path):
    with Sandbox(users=20, seed=5, cloud="usgov") as gov:
        result = run_cli(
            gov.tap_config(cloud="global"),
            tmp_path=tmp_path,
            env={"REQUESTS_CA_BUNDLE": gov.ca_bundle},
        )
    assert result.returncode == 1
    lines = error_lines(result.stderr)
    assert len(lines) == 1
    assert "AADSTS500011" in lines[0]
    assert "cloud setting" in lines[0]
    assert "Traceback" not in result.stderr


# -- every kind of call is retried under the one policy -------------------------------------------------


def test_token_endpoint_503_and_429_are_retried(sb):
    sb.faults.add(r"/oauth2/v2\.0/token$", 503, times=1, headers={"Retry-After": "0"})
    sb.faults.add(r"/oauth2/v2\.0/token$", 429, times=1, headers={"Retry-After": "0.05"})
    result = run_sync(sb.tap_config(), ["domains"])
    assert len(result.records("domains")) == len(sb.tenant.domains)
    assert sb.count(method="POST", prefix=f"/{sb.tenant_id}/oauth2/v2.0/token") == 3


def test_token_endpoint_connection_reset_is_retried(sb):
    sb.faults.add(r"/oauth2/v2\.0/token$", None, reset=True, times=1)
    result = run_sync(sb.tap_config(), ["domains"])
    assert len(result.records("domains")) == len(sb.tenant.domains)


def test_token_endpoint_down_for_good_is_one_line(sb, tmp_path):
    sb.faults.add(r"/oauth2/v2\.0/token$", 503, times=-1, headers={"Retry-After": "0"})
    result = run_cli(sb.tap_config(max_retries=2), tmp_path=tmp_path)
    assert result.returncode == 1
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "Token request to https://127.0.0.1" in lines[0]
    assert "503" in lines[0]
    assert "3 attempt(s)" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503, "headers": {"Retry-After": "0"}},
        {"status": 429, "headers": {"Retry-After": "0"}},
        {"status": None, "reset": True},
    ],
    ids=["503", "429", "reset"],
)
def test_report_download_errors_are_retried(sb, fault):
    status = fault.pop("status")
    sb.faults.add(r"^/download/", status, times=2, **fault)
    result = run_sync(sb.tap_config(), ["usage_mailbox_usage_detail"])
    assert len(result.records("usage_mailbox_usage_detail")) > 0
    assert sb.count(prefix="/download/") == 3


def test_tokens_revoked_again_and_again_during_a_sync(sb):
    sb.revoke_tokens_every(4)
    try:
        result = run_sync(
            sb.tap_config(page_size=25), ["user_sign_in_activity", "devices", "device_owners"]
        )
    finally:
        sb.revoke_tokens_every(0)
    assert len(result.records("user_sign_in_activity")) == len(sb.tenant.users)
    expected = sum(len(m) for m in sb.tenant.device_owners.values())
    assert len(result.records("device_owners")) == expected
    assert result.tap.run_context.client.tokens.tokens_acquired >= 4


# -- malformed answers: one line naming the stream, the path, the request-id and what was wrong ---------

MALFORMED = [
    (
        "html-200",
        "users",
        r"^/v1\.0/users/delta$",
        {"status": 200, "body": b"<html><body>Sign in</body></html>", "content_type": "text/html"},
        "/v1.0/users/delta",
        "an HTML page that is not valid JSON",
    ),
    (
        "truncated-json",
        "users",
        r"^/v1\.0/users/delta$",
        {"status": 200, "body": b'{"value": [{"id"', "content_type": "application/json"},
        "/v1.0/users/delta",
        "not valid JSON (truncated?)",
    ),
    (
        "null-body",
        "domains",
        r"^/v1\.0/domains$",
        {"status": 200, "body": b"null", "content_type": "application/json"},
        "/v1.0/domains",
        "JSON NoneType instead of an object",
    ),
    (
        "value-not-a-list",
        "domains",
        r"^/v1\.0/domains$",
        {"status": 200, "body": b'{"value": 5}', "content_type": "application/json"},
        "/v1.0/domains",
        "no 'value' list in a collection page",
    ),
    (
        "next-link-to-itself",
        "applications",
        r"^/v1\.0/applications$",
        {"status": None, "next_link": "self"},
        "/v1.0/applications",
        "an @odata.nextLink that repeats a page already read",
    ),
    (
        "302-without-location",
        "usage_mailbox_usage_detail",
        r"getMailboxUsageDetail",
        {"status": 302},
        "/v1.0/reports/getMailboxUsageDetail",
        "a redirect without a Location header",
    ),
    (
        "non-utf8-csv",
        "usage_mailbox_usage_detail",
        r"^/download/",
        {"status": 200, "body": b"\xff\xfeR\x00e\x00p", "content_type": "application/octet-stream"},
        "/download/",
        "a report CSV that is not UTF-8",
    ),
    (
        "empty-report",
        "usage_mailbox_usage_detail",
        r"^/download/",
        {"status": 200, "body": b"", "content_type": "application/octet-stream"},
        "/download/",
        "an empty report",
    ),
    (
        "cut-connection",
        "users",
        r"^/v1\.0/users/delta$",
        {"status": None, "cut": True, "times": -1},
        "/v1.0/users/delta",
        "connection",
    ),
]


@pytest.mark.parametrize(
    ("stream", "pattern", "fault", "path", "what"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_answer_is_one_clear_line(sb, tmp_path, stream, pattern, fault, path, what):
    fault = dict(fault)
    status = fault.pop("status")
    sb.faults.add(pattern, status, **{"times": 1, **fault})
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_for(sb.tap_config(), [stream])))
    result = run_cli(
        sb.tap_config(max_retries=1, retry_budget_seconds=30),
        "--catalog",
        str(catalog),
        tmp_path=tmp_path,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, lines
    line = lines[0]
    assert f"Stream '{stream}'" in line
    assert path in line
    assert what in line
    if what != "connection":
        assert re.search(r"request-id [0-9a-f-]{36}", line), line


def test_redirect_loop_on_a_download_is_one_clear_line(sb):
    loop = f"{sb.base_url}/download/loop"
    sb.faults.add(r"getMailboxUsageDetail", 302, headers={"Location": loop})
    sb.faults.add(r"^/download/loop$", 302, headers={"Location": loop}, times=-1)
    with pytest.raises(Exception, match="redirected more than 5 times"):
        run_sync(sb.tap_config(), ["usage_mailbox_usage_detail"])
    assert sb.count(path="/download/loop") == 6


def test_slow_drip_is_cut_off_by_the_request_deadline(sb):
    sb.faults.add(r"^/v1\.0/organization$", None, drip=0.2, times=-1)
    with pytest.raises(GraphTransientError) as excinfo:
        run_sync(sb.tap_config(request_timeout_seconds=0.5, max_retries=0), ["organization"])
    message = str(excinfo.value)
    assert "GET /v1.0/organization did not complete within 0.5 s" in message
    assert "1 attempt(s)" in message


# -- national clouds: metadata, missing endpoints, unknown properties -----------------------------------


def test_usgov_sync_completes_with_report_streams_degraded(tmp_path, caplog):
    with Sandbox(users=40, seed=9, cloud="usgov", audit_throttle=None) as gov:
        os.environ["REQUESTS_CA_BUNDLE"] = gov.ca_bundle
        with caplog.at_level("WARNING"):
            result = run_sync(gov.tap_config(audit_requests_per_10s=0))
    assert len(result.records("users")) == 40
    skipped = [r.getMessage() for r in caplog.records if "national cloud" in r.getMessage()]
    report_streams = [n for n in result.tap.streams if n.startswith("usage_")]
    for name in report_streams:
        assert sum(f"Skipping stream '{name}'" in m for m in skipped) == 1, name
        assert not result.records(name)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_unknown_select_property_is_dropped_for_the_run(sb, caplog):
    sb.faults.add(
        r"^/v1\.0/groups/delta$",
        400,
        code="BadRequest",
        message="Parsing OData Select and Expand failed: Could not find a property named 'theme' "
        "on type 'microsoft.graph.group'.",
    )
    with caplog.at_level("WARNING"):
        result = run_sync(sb.tap_config(), ["groups"])
    assert len(result.records("groups")) == len(sb.tenant.groups)
    assert all("theme" not in r for r in result.records("groups"))
    second = [r for r in sb.requests if r.path == "/v1.0/groups/delta"][1]
    assert "theme" not in second.query["$select"].split(",")
    warnings = [r.getMessage() for r in caplog.records if "'theme'" in r.getMessage()]
    assert len(warnings) == 1
    assert "Synced without it for this run" in warnings[0]


def test_report_settings_missing_degrades_with_one_warning(sb, caplog):
    sb.faults.add(
        r"^/v1\.0/admin/reportSettings$",
        400,
        code="BadRequest",
        message="Resource not found for the segment 'reportSettings'.",
        times=-1,
    )
    with caplog.at_level("WARNING"):
        result = run_sync(
            sb.tap_config(), ["usage_mailbox_usage_detail", "usage_email_activity_user_detail"]
        )
    assert result.records("usage_mailbox_usage_detail")
    assert result.records("usage_email_activity_user_detail")
    lookups = [r for r in caplog.records if "Cannot read /admin/reportSettings" in r.getMessage()]
    assert len(lookups) == 1
    assert sb.count(path="/v1.0/admin/reportSettings") == 1


def test_directory_role_members_send_no_top(sb):
    result = run_sync(sb.tap_config(), ["directory_roles", "directory_role_members"])
    assert result.records("directory_role_members")
    inner = [r for r in sb.batch_requests if "/directoryRoles/" in r.path]
    assert inner
    assert all("$top" not in r.query for r in inner)


# -- the error table names the refused call's permission ---------------------------------------------


def test_licences_403_names_the_subscribed_skus_permission(sb, caplog):
    for permission in ("LicenseAssignment.Read.All", "Organization.Read.All", "Directory.Read.All"):
        sb.granted_permissions.discard(permission)
    with caplog.at_level("WARNING"):
        result = run_sync(sb.tap_config(), ["user_licenses"])
    assert result.records("user_licenses") == []
    [warning] = [r.getMessage() for r in caplog.records if "Skipping stream" in r.getMessage()]
    assert "GET /v1.0/subscribedSkus" in warning
    assert "LicenseAssignment.Read.All" in warning


def test_users_403_without_user_read_is_not_blamed_on_sign_in_activity(sb, caplog):
    for permission in ("User.Read.All", "Directory.Read.All"):
        sb.granted_permissions.discard(permission)
    with caplog.at_level("WARNING"):
        result = run_sync(sb.tap_config(), ["users"])
    assert result.records("users") == []
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "signInActivity" in m]
    [skip] = [m for m in messages if "Skipping stream 'users'" in m]
    assert "User.Read.All" in skip


# -- nothing secret in a message -----------------------------------------------------------------------


def test_graph_error_message_with_a_token_is_redacted(sb):
    sb.faults.add(
        r"^/v1\.0/domains$",
        400,
        code="BadRequest",
        message="Header was: Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.eyJhdWQiOiJodHRwcz.sig-AbC",
    )
    with pytest.raises(GraphError) as excinfo:
        run_sync(sb.tap_config(), ["domains"])
    message = str(excinfo.value)
    assert "Bearer [redacted]" in message
    assert "eyJ0eXAi" not in message


def test_secret_pasted_into_client_id_is_not_echoed(sb, tmp_path):
    result = run_cli(sb.tap_config(client_id=sb.client_secret), tmp_path=tmp_path)
    assert result.returncode == 1
    assert sb.client_secret not in result.stderr + result.stdout
    assert any("Setting client_id is not a GUID" in line for line in error_lines(result.stderr))


def test_redact_removes_jwts_and_long_opaque_values():
    assert redact("x eyJabcdef.eyJghijkl.mnop y") == "x [redacted] y"
    assert "A" * 70 not in redact("key " + "A" * 70)


def test_retry_after_accepts_seconds_fractions_and_http_dates():
    assert parse_retry_after("2.128") == pytest.approx(2.128)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_policy_stops_at_the_budget_without_sleeping_for_real():
    from tap_microsoft365.graph.retry import Retry

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    policy = RetryPolicy(max_retries=100, budget_seconds=10, clock=lambda: now[0], sleep=sleep)

    def attempt() -> None:
        raise Retry("Graph answered 503", None)

    with pytest.raises(GraphTransientError) as excinfo:
        policy.run(attempt, what="Stream 'x': GET /v1.0/x", fix="run again later.")
    assert slept == [1, 2, 4]
    assert "still failing after 4 attempt(s) over 7 s" in str(excinfo.value)


# -- layout: streams declare, the client does HTTP ----------------------------------------------------


def test_no_stream_module_does_http():
    for module in (ROOT / "tap_microsoft365" / "streams").glob("*.py"):
        text = module.read_text()
        assert "import requests" not in text, module.name
        assert not re.search(r"https?://", text), module.name


# -- one page ahead -------------------------------------------------------------------------------


def test_the_next_page_is_fetched_while_the_caller_works_on_this_one(sb):
    from tap_microsoft365.tap import TapMicrosoft365

    client = TapMicrosoft365(config=sb.tap_config(), validate_config=True).run_context.client
    sb.reset_log()
    pages = client.pages("/users", stream="users", params={"$select": "id", "$top": 100}, ahead=True)
    first = next(pages)
    assert len(first["value"]) == 100
    fetched = threading.Event()
    for _ in range(500):  # the second page's request is made without asking for it
        if sb.count(path="/v1.0/users") == 2:
            fetched.set()
            break
        fetched.wait(0.01)
    assert fetched.is_set()
    rest = list(pages)
    assert sum(len(p["value"]) for p in [first, *rest]) == len(sb.tenant.users)
    assert sb.count(path="/v1.0/users") == -(-len(sb.tenant.users) // 100)  # no request more than serial
