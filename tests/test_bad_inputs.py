"""Bad input of every kind (settings, state, catalog, Graph answers): one line naming the cause and the
fix, exit 1, no traceback, no value echoed; or, where nothing is lost, one warning and a normal run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import catalog_for

GOOD = {
    "tenant_id": "contoso.onmicrosoft.com",
    "client_id": "00000000-0000-0000-0000-000000000001",
    "client_secret": "Zq8Q~not-a-real-secret-but-long-enough-0123",
    "authority_url": "https://127.0.0.1:9",
    "graph_url": "https://127.0.0.1:9",
}
FUTURE = "2999-01-01T00:00:00Z"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"


def state(stream: str, **partition: object) -> dict:
    return {
        "bookmarks": {
            stream: {"partitions": [{"context": {"tenant_id": GOOD["tenant_id"]}, **partition}]}
        }
    }


# (id, config changes (None: delete the key), state, catalog, expected line fragment)
# A state/catalog value of a str is written as the file's raw text.
CASES: list[tuple[str, dict, object, object, str]] = [
    # -- settings -------------------------------------------------------------------------------
    ("tenant-missing", {"tenant_id": None}, None, None, "setting tenant_id is missing: set tenant_id"),
    ("client-missing", {"client_id": None}, None, None, "setting client_id is missing: set client_id"),
    ("tenant-malformed", {"tenant_id": "not a tenant"}, None, None, "Setting tenant_id is neither a GUID nor a domain"),
    ("client-not-guid", {"client_id": "12345"}, None, None, "Setting client_id is not a GUID"),
    ("client-is-a-secret", {"client_id": GOOD["client_secret"]}, None, None, "Setting client_id is not a GUID"),
    ("no-credential", {"client_secret": None}, None, None, "No credential: set client_secret"),
    ("secret-as-number", {"client_secret": 123456789}, None, None, "setting client_secret must be of type string"),
    ("cloud-unknown", {"cloud": "mars"}, None, None, "setting cloud must be one of global, usgov, usgov_dod, china"),
    ("authority-http", {"authority_url": "http://login.example"}, None, None, "Setting authority_url is not an https URL"),
    ("graph-http", {"graph_url": "http://graph.example"}, None, None, "Setting graph_url is not an https URL"),
    ("graph-not-url", {"graph_url": "graph"}, None, None, "Setting graph_url is not an https URL"),
    ("max-retries-negative", {"max_retries": -1}, None, None, "setting max_retries is -1: it must be a whole number from 0 to 50 (e.g. 8)"),
    ("max-retries-fraction", {"max_retries": 1.5}, None, None, "setting max_retries must be of type integer"),
    ("max-retries-text", {"max_retries": "eight"}, None, None, "setting max_retries must be of type integer"),
    ("budget-negative", {"retry_budget_seconds": -1}, None, None, "setting retry_budget_seconds is -1: it must be a number from 1 to 86400 (e.g. 900)"),
    ("deadline-zero", {"request_timeout_seconds": 0}, None, None, "setting request_timeout_seconds is 0: it must be a number from 0.1 to 3600 (e.g. 300)"),
    ("page-size-zero", {"page_size": 0}, None, None, "setting page_size is 0: it must be a whole number from 1 to 999 (e.g. 999)"),
    ("page-size-huge", {"page_size": 5000}, None, None, "setting page_size is 5000: it must be a whole number from 1 to 999"),
    ("batch-concurrency-zero", {"batch_concurrency": 0}, None, None, "setting batch_concurrency is 0: it must be a whole number from 1 to 8"),
    ("overlap-negative", {"log_overlap_minutes": -5}, None, None, "setting log_overlap_minutes is -5: it must be a number from 0 to 1440 (e.g. 15)"),
    ("pacing-negative", {"audit_requests_per_10s": -5}, None, None, "setting audit_requests_per_10s is -5: it must be a number from 0 to 1000"),
    ("lookback-huge", {"usage_report_lookback_days": 40}, None, None, "setting usage_report_lookback_days is 40: it must be a whole number from 0 to 27"),
    ("report-calls-negative", {"usage_report_calls_per_10_minutes": -1}, None, None, "setting usage_report_calls_per_10_minutes is -1: it must be a whole number from 1 to 100"),
    ("report-wait-negative", {"usage_report_max_wait_seconds": -1}, None, None, "setting usage_report_max_wait_seconds is -1: it must be a number from 0 to 900"),
    ("period-unknown", {"usage_report_period": "D5"}, None, None, "setting usage_report_period must be one of D7, D30, D90, D180"),
    ("start-yesterday", {"start_date": "yesterday"}, None, None, "setting start_date is 'yesterday': it must be an ISO 8601 date or date-time"),
    ("start-impossible", {"start_date": "2026-13-45"}, None, None, "setting start_date is '2026-13-45': it must be an ISO 8601 date or date-time"),
    ("start-future", {"start_date": FUTURE}, None, None, "setting start_date is in the future"),
    ("start-number", {"start_date": 20260101}, None, None, "setting start_date must be of type string"),
    ("domains-string", {"user_domains": "contoso.com"}, None, None, "setting user_domains must be of type array"),
    ("domains-bad", {"user_domains": ["not a domain"]}, None, None, "setting user_domains holds 1 value(s) that are not domain names"),
    ("strict-text", {"strict_permissions": "yes"}, None, None, "setting strict_permissions must be of type boolean"),
    ("cert-missing-file", {"client_secret": None, "client_certificate_path": "/nonexistent/key.pem", "client_certificate_thumbprint": "AB" * 20}, None, None, "Cannot read the file client_certificate_path names"),
    ("cert-no-thumbprint", {"client_secret": None, "client_certificate_path": "KEYFILE"}, None, None, "client_certificate_path is set but client_certificate_thumbprint is not"),
    ("cert-not-pem", {"client_secret": None, "client_certificate_path": "NOTPEM", "client_certificate_thumbprint": "AB" * 20}, None, None, "holds no PEM private key"),
    # -- config, state and catalog files ----------------------------------------------------------
    ("config-missing-file", "MISSING", None, None, "The config file given with --config does not exist"),
    ("config-not-json", "NOTJSON", None, None, "The config file given with --config is not valid JSON (line 1"),
    ("config-empty", "EMPTY", None, None, "The config file given with --config is empty"),
    ("config-list", "LIST", None, None, "The config file given with --config holds a JSON list, not an object"),
    ("state-missing-file", {}, "MISSING", None, "The state file given with --state does not exist"),
    ("state-not-json", {}, "{not json", None, "The state file given with --state is not valid JSON"),
    ("state-empty", {}, "", None, "The state file given with --state is empty"),
    ("state-list", {}, "[]", None, "The state file given with --state holds a JSON list, not an object"),
    ("state-number", {}, "42", None, "The state file given with --state holds a JSON int, not an object"),
    ("bookmarks-list", {}, {"bookmarks": []}, None, "The state's 'bookmarks' is a JSON list, not an object"),
    ("bookmark-int", {}, {"bookmarks": {"sign_ins": 5}}, None, "The state's bookmark of stream 'sign_ins' is not an object with a 'partitions' list"),
    ("partitions-object", {}, {"bookmarks": {"sign_ins": {"partitions": {}}}}, None, "The state's bookmark of stream 'sign_ins' is not an object with a 'partitions' list"),
    ("partition-string", {}, {"bookmarks": {"sign_ins": {"partitions": ["x"]}}}, None, "The state of stream 'sign_ins' has a partition that is not an object"),
    ("bookmark-integer-value", {}, state("sign_ins", replication_key_value=1700000000), None, "The bookmark of stream 'sign_ins' is a int, not a date or date-time"),
    ("bookmark-free-text", {}, state("sign_ins", replication_key_value="last tuesday"), None, "The bookmark of stream 'sign_ins' is not a date or date-time"),
    ("catalog-missing-file", {}, None, "MISSING", "The catalog file given with --catalog does not exist"),
    ("catalog-not-json", {}, None, "{", "The catalog file given with --catalog is not valid JSON"),
    ("catalog-no-streams", {}, None, {"something": []}, "The catalog given with --catalog has no 'streams' list"),
    ("catalog-streams-object", {}, None, {"streams": {}}, "The catalog given with --catalog has no 'streams' list"),
    ("catalog-unknown-stream", {}, None, {"streams": [{"tap_stream_id": "mailboxes", "stream": "mailboxes", "schema": {}, "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]}]}, "The catalog names 1 stream(s) this tap does not have (e.g. 'mailboxes')"),
    ("catalog-selects-nothing", {}, None, "NOTHING", "The catalog selects no stream, so nothing would be synced"),
]


def write(path: Path, value: object) -> str:
    if isinstance(value, str):
        path.write_text(value)
    else:
        path.write_text(json.dumps(value))
    return str(path)


def run(tmp_path: Path, config: object, state_value: object, catalog: object) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "tap_microsoft365"]
    if config == "MISSING":
        args += ["--config", str(tmp_path / "nope.json")]
    elif config in ("NOTJSON", "EMPTY", "LIST"):
        raw = {"NOTJSON": "{tenant_id: x}", "EMPTY": "", "LIST": "[1, 2]"}[config]
        args += ["--config", write(tmp_path / "config.json", raw)]
    else:
        merged = {**GOOD}
        for key, value in dict(config).items():  # type: ignore[call-overload]
            if value is None:
                merged.pop(key, None)
            elif value == "KEYFILE" or value == "NOTPEM":
                merged[key] = write(tmp_path / "key.pem", PEM if value == "KEYFILE" else "not a key")
            else:
                merged[key] = value
        args += ["--config", write(tmp_path / "config.json", merged)]
    if state_value is not None:
        if state_value == "MISSING":
            args += ["--state", str(tmp_path / "no-state.json")]
        else:
            args += ["--state", write(tmp_path / "state.json", state_value)]
    if catalog is not None:
        if catalog == "MISSING":
            args += ["--catalog", str(tmp_path / "no-catalog.json")]
        elif catalog == "NOTHING":
            nothing = catalog_for(GOOD, [])
            args += ["--catalog", write(tmp_path / "catalog.json", nothing)]
        else:
            args += ["--catalog", write(tmp_path / "catalog.json", catalog)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_MICROSOFT365_")}
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False, env=env)


@pytest.mark.parametrize(
    ("config", "state_value", "catalog", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_is_one_clear_line(tmp_path, config, state_value, catalog, expected):
    result = run(tmp_path, config, state_value, catalog)
    assert result.returncode == 1, result.stderr[-1500:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line or "CRITICAL" in line]
    assert len(errors) == 1, errors
    assert expected in errors[0], errors[0]
    assert "Fix:" in errors[0] or "setting " in errors[0]
    assert GOOD["client_secret"] not in result.stderr + result.stdout
    assert result.stdout.strip() == "" or '"type"' in result.stdout


def test_the_table_is_broad():
    assert len(CASES) >= 55


# -- input that loses nothing: one warning, and the run goes on -----------------------------------------


@pytest.mark.parametrize(
    ("given", "warning"),
    [
        (
            lambda sb: {"domains": {"partitions": []}},
            "The state has no 'bookmarks' (keys: domains), so it is ignored",
        ),
        (
            lambda sb: {"type": "STATE", "value": {"bookmarks": {}}},
            "The state is a whole STATE message; its 'value' is used",
        ),
        (
            lambda sb: {"bookmarks": {"orders": {"replication_key_value": "2026-01-01"}}},
            "The state has bookmarks for streams this tap does not have (orders)",
        ),
        (
            lambda sb: {"bookmarks": {}, "singer_state": {"x": 1}},
            "The state's keys singer_state are not this tap's and are ignored",
        ),
    ],
    ids=["flat", "state-message", "another-tap", "extra-keys"],
)
def test_state_in_another_shape_is_a_warning(sb, caplog, given, warning):
    from .conftest import run_sync

    with caplog.at_level("WARNING"):
        result = run_sync(sb.tap_config(), ["domains"], state=given(sb))
    assert len(result.records("domains")) == len(sb.tenant.domains)
    assert warning in caplog.text


def test_future_bookmark_is_clamped_to_now(sb, caplog):
    from .conftest import run_sync

    future = state("directory_audits", replication_key="activityDateTime", replication_key_value=FUTURE)
    future["bookmarks"]["directory_audits"]["partitions"][0]["context"]["tenant_id"] = sb.tenant_id
    with caplog.at_level("WARNING"):
        result = run_sync(sb.tap_config(), ["directory_audits"], state=future)
    assert "The bookmark of stream 'directory_audits' is in the future; reading from now" in caplog.text
    saved = result.state["bookmarks"]["directory_audits"]["partitions"][0]["replication_key_value"]
    assert saved < FUTURE, "the run reads (and bookmarks) up to now, not forever nothing"


# -- Graph answers that are wrong in what they hold ----------------------------------------------------


def test_record_without_its_id_is_one_line(sb, tmp_path):
    from .conftest import error_lines, run_cli

    sb.faults.add(
        r"^/v1\.0/domains$", 200, body=b'{"value": [{"isDefault": true}]}', content_type="application/json"
    )
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_for(sb.tap_config(), ["domains"])))
    result = run_cli(sb.tap_config(), "--catalog", str(catalog), tmp_path=tmp_path)
    assert result.returncode == 1
    [line] = error_lines(result.stderr)
    assert "Stream 'domains': Graph sent a record without its id (the primary key) in the answer to GET /v1.0/domains (request-id " in line
    assert "Traceback" not in result.stderr


def test_value_of_the_wrong_type_is_dropped_with_one_warning(sb, caplog):
    from .conftest import run_sync

    body = {"value": [{"id": "contoso.com", "isDefault": "yes", "supportedServices": ["Email"]},
                      {"id": "fabrikam.com", "isDefault": "no", "supportedServices": []}]}
    sb.faults.add(r"^/v1\.0/domains$", 200, body=json.dumps(body).encode(), content_type="application/json")
    with caplog.at_level("WARNING"):
        result = run_sync(sb.tap_config(), ["domains"])
    rows = result.records("domains")
    assert [r["isDefault"] for r in rows] == [None, None]
    assert [r["supportedServices"] for r in rows] == [["Email"], []]
    warned = [r.getMessage() for r in caplog.records if "as a str" in r.getMessage()]
    assert len(warned) == 1
    assert "Stream 'domains': Graph sent isDefault as a str for record id contoso.com" in warned[0]


def test_keys_cannot_be_deselected(sb):

    catalog = catalog_for(sb.tap_config(), ["domains"])
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == ["properties", "id"]:
                md["metadata"]["selected"] = False
                md["metadata"]["inclusion"] = "available"
    import contextlib
    import io

    from tap_microsoft365.tap import TapMicrosoft365

    buffer = io.BytesIO()
    wrapper = io.TextIOWrapper(buffer, encoding="utf-8")
    with contextlib.redirect_stdout(wrapper):
        TapMicrosoft365(config=sb.tap_config(), catalog=catalog).sync_all()
        wrapper.flush()
    lines = buffer.getvalue().decode().splitlines()
    records = [json.loads(line) for line in lines if '"RECORD"' in line]
    assert records
    assert all("id" in m["record"] for m in records)


def test_dry_run_prints_no_error_for_streams_that_worked(sb, tmp_path):
    from .conftest import error_lines, run_cli

    result = run_cli(sb.tap_config(audit_requests_per_10s=0), "--test", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert error_lines(result.stderr) == []


@pytest.mark.parametrize("mode", ["--test", "--test=schema", "--discover"])
def test_a_bad_config_is_the_same_line_under_test_modes(tmp_path, mode):
    config = {**GOOD, "tenant_id": "not a tenant", "max_retries": -1}
    path = write(tmp_path / "config.json", config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_MICROSOFT365_")}
    result = subprocess.run(
        [sys.executable, "-m", "tap_microsoft365", "--config", path, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    if mode == "--discover":  # discovery needs no valid credentials (singer-sdk: no validation)
        assert result.returncode == 0
        assert '"streams"' in result.stdout
        return
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    assert "Setting tenant_id is neither a GUID nor a domain" in line
    assert "setting max_retries is -1" in line
