"""Reliability proofs against the sandbox (issue: reliability proof tests).

1. fault equivalence: a full default sync under ~5 % 503/504 and ~2 % 429 answers (Graph, $batch inner
   requests, the token endpoint, report downloads) emits what a clean sync emits, with the same bookmarks;
2. kill and resume: a CLI sync SIGKILLed at five points and resumed from its last STATE line each time
   emits, over all runs, what an uninterrupted run emits, repeating at most the unit in progress;
3. tokens that expire (short lifetime) or are revoked again and again: the sync completes with every record;
4. secret scan: no client secret, certificate key, issued bearer token or JWT in anything the tap wrote;
5. bounded retries: a Graph that keeps failing ends the run within retry_budget_seconds, in one line.

Every output of this module goes to one collector (``OUTPUTS``); the last test scans it. The clock the
tap reads for activity-log windows and report dates is frozen for the in-process equivalence syncs, so two
syncs of one tenant at different instants have the same windows and therefore the same bookmarks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import tap_microsoft365.streams.audit as audit_module
from m365_graph_sandbox import Sandbox
from m365_graph_sandbox.model.audit import TICKS
from tap_microsoft365.graph.errors import GraphError, GraphTransientError, TapMicrosoft365Error
from tap_microsoft365.streams.reports import UsageReportStream
from tap_microsoft365.tap import STREAM_NAMES, TapMicrosoft365

from .conftest import SyncResult, catalog_for, error_lines, run_sync

OFF_BY_DEFAULT = {"detected_app_devices"}
DEFAULT_STREAMS = set(STREAM_NAMES) - OFF_BY_DEFAULT
LOGS = ("sign_ins", "directory_audits", "provisioning_logs")
REPORT = "usage_office365_active_user_detail"
KILL_STREAMS = [REPORT, *LOGS]
PAST_HTTP_DATE = "Wed, 21 Oct 2015 07:28:00 GMT"  # an HTTP-date Retry-After already past: wait 0
FAST = {"audit_requests_per_10s": 0, "max_retries": 20, "page_size": 50}
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.")


# -- the module's collector: everything the tap wrote, for the secret scan -------------------------


@dataclass
class Collector:
    """Texts the tap produced (stdout, stderr, state, records, logs) and the secrets to look for."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    syncs: int = 0

    def add(self, label: str, text: str) -> None:
        self.texts.append((label, text))

    def add_sync(self, label: str, result: SyncResult, logs: str = "") -> None:
        self.syncs += 1
        self.add(f"{label}: messages", "\n".join(json.dumps(m) for m in result.messages))
        if logs:
            self.add(f"{label}: logs", logs)

    def watch(self, sb: Sandbox) -> None:
        """The sandbox's credentials and every token it issued (call before it stops)."""
        self.secrets[f"client secret of {sb.tenant_id}"] = sb.client_secret
        key = Path(sb.cert_key_path).read_text()
        self.secrets[f"certificate key of {sb.tenant_id}"] = key
        for n, line in enumerate(key.splitlines()):
            if len(line) >= 16 and "PRIVATE KEY" not in line:
                self.secrets[f"certificate key line {n} of {sb.tenant_id}"] = line
        self.tokens.update(sb.issued_tokens)
        for entry in [*sb.requests, *sb.batch_requests]:
            for name, value in entry.headers.items():
                if name.lower() == "authorization" and value.lower().startswith("bearer "):
                    self.tokens.add(value.split(" ", 1)[1].strip())


OUTPUTS = Collector()


@contextlib.contextmanager
def ca_bundle_of(sb: Sandbox):
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


# -- a frozen clock for the tap (activity-log windows end at "now"; reports ask dates up to today) ----


@contextlib.contextmanager
def frozen_tap_clock(at: dt.datetime):
    """The tap's ``now`` for log windows and its ``today`` for report dates, fixed at ``at``."""

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            return at.astimezone(tz) if tz else at.replace(tzinfo=None)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(audit_module, "datetime", Frozen)
        mp.setattr(UsageReportStream, "today", lambda self: at.date())
        yield


def sync(config: dict, streams: list[str] | None = None, state: dict | None = None, *, label: str,
         clock: dt.datetime | None = None) -> SyncResult:  # fmt: skip
    """run_sync with the tap's logs captured for the collector (clock frozen when given)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with frozen_tap_clock(clock) if clock is not None else contextlib.nullcontext():
            result = run_sync(config, streams, state)
    finally:
        root.removeHandler(handler)
    OUTPUTS.add_sync(label, result, stream.getvalue())
    return result


def keyed(result: SyncResult) -> dict[str, dict[tuple, dict]]:
    """stream -> primary key -> record; a key seen twice fails (a sync emits each row once)."""
    out: dict[str, dict[tuple, dict]] = {}
    for message in result.messages:
        if message["type"] != "RECORD":
            continue
        name = message["stream"]
        keys = result.tap.streams[name].primary_keys
        record = message["record"]
        key = tuple(record.get(k) for k in keys)
        rows = out.setdefault(name, {})
        assert key not in rows, f"{name}: {key} emitted twice"
        rows[key] = record
    return out


def comparable_bookmarks(state: dict) -> dict:
    """The state with opaque delta tokens and wall-clock call logs reduced to what must match."""
    out = {k: v for k, v in state.items() if k != "bookmarks"}
    for name, entry in state.get("bookmarks", {}).items():
        partitions = []
        for partition in entry.get("partitions", [entry]):
            kept = {}
            for key, value in partition.items():
                if key == "delta_link":  # the token encodes the sandbox's round serial
                    kept[key] = value.split("$deltatoken=", 1)[0] + "$deltatoken=<opaque>"
                elif key == "calls":  # wall-clock times of report calls: only how many
                    kept[key] = len(value)
                else:
                    kept[key] = value
            partitions.append(kept)
        out[name] = partitions
    return out


# -- the module's tenant and its clean sync ------------------------------------------------------------


@pytest.fixture(scope="module")
def tenant():
    with Sandbox(users=300, seed=41, audit_throttle=None) as sb, ca_bundle_of(sb):
        sb.tenant.report_options.throttle = None  # several full syncs of every report within minutes
        yield sb
        OUTPUTS.watch(sb)


@pytest.fixture(scope="module")
def frozen_now():
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def clean(tenant, frozen_now):
    tenant.faults.clear()
    tenant.reset_log()
    result = sync(tenant.tap_config(**FAST), label="clean full sync", clock=frozen_now)
    requests_ = len(tenant.requests) + len(tenant.batch_requests)
    return result, requests_


@pytest.fixture
def box(tenant):
    tenant.faults.clear()
    tenant.reset_log()
    tenant.revoke_tokens_every(0)
    yield tenant
    OUTPUTS.watch(tenant)
    tenant.faults.clear()
    tenant.revoke_tokens_every(0)


def assert_same_records(got: SyncResult, want: SyncResult) -> None:
    got_rows, want_rows = keyed(got), keyed(want)
    assert set(got_rows) == set(want_rows)
    for name, rows in want_rows.items():
        missing = set(rows) - set(got_rows[name])
        extra = set(got_rows[name]) - set(rows)
        assert not missing, f"{name}: {len(missing)} missing"
        assert not extra, f"{name}: {len(extra)} extra"
        changed = [k for k, row in rows.items() if got_rows[name][k] != row]
        assert not changed, f"{name}: {len(changed)} records differ, e.g. {changed[0]}"


# -- 1. fault equivalence -------------------------------------------------------------------------------


def test_clean_sync_covers_every_default_stream(clean, tenant):
    result, _ = clean
    assert result.streams() == DEFAULT_STREAMS
    assert len(result.records("users")) == len(tenant.tenant.users)
    assert len(result.records("group_members")) == sum(
        len(m) for m in tenant.tenant.memberships.values()
    )


def test_faults_everywhere_change_nothing(box, clean, frozen_now):
    want, clean_requests = clean
    quick = {"Retry-After": "0.01"}
    # one of each kind first, so every kind of call is proven whatever the periodic faults hit
    targeted = [
        box.faults.add(r"/oauth2/v2\.0/token$", 503, times=1, headers=quick),
        box.faults.add(r"^/download/", 504, skip=2, times=1, headers={"Retry-After": "0"}),
        box.faults.add(r"^/v1\.0/devices/[^/]+/registeredOwners$", 503, skip=1, times=1, headers=quick),
        box.faults.add(r"^/v1\.0/directoryRoles/[^/]+/members$", 429, times=1, headers=quick),
        box.faults.add(
            r"^/v1\.0/auditLogs/signIns$", 429, skip=1, times=1, headers={"Retry-After": PAST_HTTP_DATE}
        ),
    ]
    # then every kind of request, periodically: every 50th a 429 with a fractional Retry-After,
    # about 1 in 100 more a 429 with an HTTP-date one, about 1 in 20 a 503 or a 504
    every_50th = box.faults.add(r".", 429, every=50, times=-1, headers=quick)
    dated = box.faults.add(r".", 429, every=97, times=-1, headers={"Retry-After": PAST_HTTP_DATE})
    box.faults.add(r".", 503, every=40, times=-1, headers=quick)
    box.faults.add(r".", 504, every=39, skip=20, times=-1, headers={"Retry-After": "0"})
    got = sync(box.tap_config(**FAST), label="faulty full sync", clock=frozen_now)

    assert got.streams() == DEFAULT_STREAMS
    assert_same_records(got, want)
    assert comparable_bookmarks(got.state) == comparable_bookmarks(want.state)
    marks = comparable_bookmarks(got.state)
    for name in (*LOGS, REPORT):
        assert marks[name][0]["replication_key_value"], name
    for name in ("users", "groups", "group_members", "devices", "applications", "service_principals"):
        assert "$deltatoken=" in marks[name][0]["delta_link"], name

    # the faults really were everywhere
    assert all(f.hits == 1 for f in targeted), [f.hits for f in targeted]
    log = [*box.requests, *box.batch_requests]
    failed = Counter(r.status for r in log if r.status in (429, 503, 504))
    assert every_50th.hits == (len(log) - len(targeted)) // 50  # it sees all but the targeted ones
    assert dated.hits >= 2
    assert failed[503] + failed[504] >= 0.045 * len(log), (failed, len(log))
    assert failed[429] >= 0.025 * len(log), (failed, len(log))
    kinds = {
        "token endpoint": [r for r in box.requests if r.path.endswith("/oauth2/v2.0/token")],
        "report download": [r for r in box.requests if r.path.startswith("/download/")],
        "$batch inner": list(box.batch_requests),
        "Graph": [r for r in box.requests if r.path.startswith("/v1.0/")],
    }
    for kind, entries in kinds.items():
        assert {r.status for r in entries} & {429, 503, 504}, kind
    assert len(log) > clean_requests  # the retries


# -- 3. tokens expiring and revoked during a long sync -------------------------------------------------


def test_tokens_revoked_again_and_again_during_a_full_sync(box, clean, frozen_now):
    want, _ = clean
    box.revoke_tokens_every(7)
    try:
        got = sync(box.tap_config(**FAST), label="full sync, tokens revoked every 7 requests",
                   clock=frozen_now)  # fmt: skip
    finally:
        box.revoke_tokens_every(0)
    assert_same_records(got, want)
    assert comparable_bookmarks(got.state) == comparable_bookmarks(want.state)
    expired = [r for r in box.requests if r.status == 401]
    graph = [r for r in box.requests if r.path.startswith("/v1.0/") and r.status != 401]
    posts = box.count(method="POST", path=f"/{box.tenant_id}/oauth2/v2.0/token")
    assert len(expired) >= len(graph) // 7 - 1
    # one new token per revocation the sync ran into (two threads may both meet the same one)
    assert posts == got.tap.run_context.client.tokens.tokens_acquired
    assert len(expired) // 2 <= posts - 1 <= len(expired)


def test_short_lived_tokens_mean_a_token_per_request_and_every_record():
    # a lifetime under the tap's 300-s renewal margin: each Graph call asks for a fresh token (the
    # sandbox's 2-s expiry then never meets a token in use); revoked every 5 requests on top
    with Sandbox(users=200, seed=43, token_lifetime=2, audit_throttle=None) as sb, ca_bundle_of(sb):
        sb.revoke_tokens_every(5)
        streams = ["users", "group_members", "user_sign_in_activity", "devices", "device_owners",
                   "directory_roles", "directory_role_members", "sign_ins",
                   "usage_mailbox_usage_detail"]  # fmt: skip
        since = time.time() - 29 * 86400
        start = dt.datetime.fromtimestamp(since, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        result = sync(sb.tap_config(start_date=start, **FAST), streams, label="short-lived tokens")
        model = sb.tenant
        assert {r["id"] for r in result.records("users")} == {u["id"] for u in model.users}
        assert {(r["group_id"], r["member_id"]) for r in result.records("group_members")} == {
            (g, m["id"]) for g, members in model.memberships.items() for m in members
        }
        assert len(result.records("user_sign_in_activity")) == len(model.users)
        assert len(result.records("device_owners")) == sum(len(o) for o in model.device_owners.values())
        assert len(result.records("directory_role_members")) == sum(
            len(m) for m in model.role_members.values()
        )
        log = model.audit.sign_ins
        assert {r["id"] for r in result.records("sign_ins")} == {
            model.audit.sign_in(s, tk)["id"]
            for tk, s in zip(log.ticks, log.serials, strict=True)
            if tk >= int(since) * TICKS
        }
        assert len(result.records("usage_mailbox_usage_detail")) == len(model.users)
        posts = sb.count(method="POST", path=f"/{sb.tenant_id}/oauth2/v2.0/token")
        with_token = [r for r in sb.requests if r.path.startswith("/v1.0/")]
        rejected = [r for r in with_token if r.status == 401]
        # sane: at most one token per Graph call (a 401's retry is a call of its own), no storm
        assert posts == result.tap.run_context.client.tokens.tokens_acquired
        assert 1 <= posts <= len(with_token)
        assert len(rejected) <= len(with_token) // 5 + 1
        OUTPUTS.watch(sb)


# -- 5. bounded retries ----------------------------------------------------------------------------------

BUDGET = 3.0
MARGIN = 1.0  # the last attempt's round trip and the sync's own setup
RETRY_LINE = re.compile(
    r"Stream 'organization': GET /v1\.0/organization: Graph answered 503 for GET /v1\.0/organization "
    r"\(request-id [0-9a-f-]{36}, client-request-id [0-9a-f-]{36}\), still failing after "
    r"(?P<attempts>\d+) attempt\(s\) over (?P<seconds>\d+) s\. Fix: run again later \(Graph "
    r"throttles per app and tenant\), or raise max_retries / retry_budget_seconds\."
)


def test_a_graph_that_keeps_failing_ends_within_the_budget(box):
    box.faults.add(r"^/v1\.0/organization$", 503, times=-1, headers={"Retry-After": "1"})
    config = box.tap_config(retry_budget_seconds=BUDGET, max_retries=50, audit_requests_per_10s=0)
    started = time.monotonic()
    with pytest.raises(GraphTransientError) as excinfo:
        run_sync(config, ["organization"])
    elapsed = time.monotonic() - started
    OUTPUTS.add("budget: exception", str(excinfo.value))
    match = RETRY_LINE.fullmatch(str(excinfo.value))
    assert match, str(excinfo.value)
    attempts = int(match["attempts"])
    # Retry-After 1 s: attempts at 0, 1, 2 s; a 4th would start after the 3-s budget
    assert attempts == box.count(path="/v1.0/organization") == 3
    assert int(match["seconds"]) <= BUDGET
    assert elapsed <= BUDGET + MARGIN


def test_a_graph_that_keeps_failing_is_one_cli_line(box, tmp_path):
    box.faults.add(r"^/v1\.0/organization$", 503, times=-1, headers={"Retry-After": "1"})
    config = box.tap_config(retry_budget_seconds=BUDGET, max_retries=50)
    cli = Cli(tmp_path, config, ["organization"])
    started = time.monotonic()
    proc = cli.run()
    elapsed = time.monotonic() - started
    assert proc.returncode == 1
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    level, logger, message = lines[0].split(" | ", 3)[1:]
    assert level.strip() == "ERROR"
    assert logger.strip() == "tap-microsoft365"
    match = RETRY_LINE.fullmatch(message)
    assert match, message
    assert (match["attempts"], match["seconds"]) == ("3", "2")
    assert box.count(path="/v1.0/organization") == 3
    assert elapsed <= BUDGET + 5  # + the interpreter's start-up; the retries stop at the budget


@pytest.mark.parametrize(
    ("stream", "pattern"),
    [
        ("domains", r"/oauth2/v2\.0/token$"),
        ("usage_mailbox_usage_detail", r"^/download/"),
    ],
    ids=["token-endpoint", "report-download"],
)
def test_every_kind_of_call_stops_at_the_budget(box, stream, pattern):
    box.faults.add(pattern, 503, times=-1, headers={"Retry-After": "1"})
    config = box.tap_config(retry_budget_seconds=BUDGET, max_retries=50)
    started = time.monotonic()
    with pytest.raises(TapMicrosoft365Error) as excinfo:
        run_sync(config, [stream])
    elapsed = time.monotonic() - started
    OUTPUTS.add(f"budget {stream}: exception", str(excinfo.value))
    assert re.search(r"still failing after 3 attempt\(s\) over 2 s\. Fix: ", str(excinfo.value))
    assert elapsed <= BUDGET + MARGIN


def test_batch_inner_retries_stop_at_the_budget(box):
    box.faults.add(r"^/v1\.0/directoryRoles/[^/]+/members$", 503, times=-1,
                   headers={"Retry-After": "1"})  # fmt: skip
    config = box.tap_config(retry_budget_seconds=BUDGET, max_retries=5)
    started = time.monotonic()
    with pytest.raises(GraphError) as excinfo:
        run_sync(config, ["directory_roles", "directory_role_members"])
    elapsed = time.monotonic() - started
    OUTPUTS.add("budget $batch inner: exception", str(excinfo.value))
    message = str(excinfo.value)
    assert elapsed <= BUDGET + MARGIN, f"{elapsed:.1f} s: {message}"
    assert re.fullmatch(
        r"Stream 'directory_role_members': batched GET /v1\.0/directoryRoles/[0-9a-f-]{36}/members: "
        r"Graph answered 503 \(request-id [0-9a-f-]{36}, client-request-id [0-9a-f-]{36}\), still "
        r"failing after 3 attempt\(s\) over 2 s\. Fix: .*",
        message,
    ), message


# -- 2. kill and resume --------------------------------------------------------------------------------


@dataclass
class Run:
    """One CLI run: its messages (complete lines only), return code, stderr."""

    messages: list[dict]
    returncode: int
    stderr: str

    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    def records(self, stream: str) -> list[dict]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]


def read_messages(path: Path) -> list[dict]:
    """The complete JSON lines of a stdout file (a line cut by a kill is left out)."""
    return Tail(path).read()


class Tail:
    """The messages of a growing stdout file, parsed as its complete lines arrive."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.messages: list[dict] = []

    def read(self) -> list[dict]:
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        end = chunk.rfind(b"\n") + 1  # what follows the last newline is not written out yet
        self.offset += end
        for line in chunk[:end].decode("utf-8", errors="replace").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                if line.strip():
                    self.messages.append(json.loads(line))
        return self.messages


class Cli:
    """``python -m tap_microsoft365`` with files in ``tmp_path``; every output goes to the collector."""

    def __init__(self, tmp_path: Path, config: dict, streams: list[str], env: dict | None = None):
        self.dir = tmp_path
        self.env = {**os.environ, **(env or {})}
        self.config = tmp_path / "config.json"
        self.config.write_text(json.dumps(config))
        self.catalog = tmp_path / "catalog.json"
        self.catalog.write_text(json.dumps(catalog_for(config, streams)))
        self.count = 0

    def argv(self, state: dict | None) -> list[str]:
        argv = [sys.executable, "-m", "tap_microsoft365", "--config", str(self.config),
                "--catalog", str(self.catalog)]  # fmt: skip
        if state is not None:
            path = self.dir / f"state-{self.count}.json"
            path.write_text(json.dumps(state))
            OUTPUTS.add(f"state file {path.name}", path.read_text())
            argv += ["--state", str(path)]
        return argv

    def run(self, state: dict | None = None) -> subprocess.CompletedProcess:
        self.count += 1
        proc = subprocess.run(self.argv(state), capture_output=True, text=True, timeout=120,
                              env=self.env, check=False)  # fmt: skip
        OUTPUTS.add(f"cli {self.count}: stdout", proc.stdout)
        OUTPUTS.add(f"cli {self.count}: stderr", proc.stderr)
        return proc

    def run_until(self, state: dict | None, kill_when) -> Run:
        """Run; SIGKILL it once ``kill_when(messages so far)`` holds (None: run to the end)."""
        self.count += 1
        out, err = self.dir / f"out-{self.count}.jsonl", self.dir / f"err-{self.count}.log"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(self.argv(state), stdout=stdout, stderr=stderr, env=self.env)
            deadline = time.monotonic() + 120
            tail = Tail(out)
            try:
                while proc.poll() is None:
                    if kill_when is not None and kill_when(tail.read()):
                        proc.send_signal(signal.SIGKILL)
                        break
                    if time.monotonic() > deadline:
                        raise AssertionError("the CLI run did not end")
                    time.sleep(0.002)
            finally:
                if proc.poll() is None and kill_when is None:
                    proc.kill()
                proc.wait(timeout=30)
        OUTPUTS.add(f"cli {self.count}: stdout", out.read_text(errors="replace"))
        OUTPUTS.add(f"cli {self.count}: stderr", err.read_text(errors="replace"))
        return Run(read_messages(out), proc.returncode, err.read_text(errors="replace"))


def bookmark_moves(messages: list[dict], stream: str) -> int:
    """How many STATE messages moved ``stream``'s bookmark."""
    seen, moves = None, 0
    for m in messages:
        if m["type"] != "STATE":
            continue
        value = m["value"].get("bookmarks", {}).get(stream, {}).get("partitions", [{}])[0]
        mark = value.get("replication_key_value")
        if mark and mark != seen:
            seen, moves = mark, moves + 1
    return moves


def tail_after_last_state(run: Run, stream: str) -> list[dict]:
    """Records of ``stream`` after the run's last STATE line: the unit in progress when killed."""
    last = max((i for i, m in enumerate(run.messages) if m["type"] == "STATE"), default=-1)
    return [
        m["record"]
        for m in run.messages[last + 1 :]
        if m["type"] == "RECORD" and m["stream"] == stream
    ]


def units(run: Run, stream: str) -> list[int]:
    """Rows of ``stream`` between consecutive STATE lines (a log window; a report: one date)."""
    sizes, current = [], 0
    for m in run.messages:
        if m["type"] == "RECORD" and m["stream"] == stream:
            current += 1
        elif m["type"] == "STATE" and current:
            sizes.append(current)
            current = 0
    return [*sizes, current] if current else sizes


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """An uninterrupted CLI run, then five SIGKILLed runs each resumed from its last STATE, then the end."""
    tmp = tmp_path_factory.mktemp("kill")
    now = dt.datetime.now(dt.UTC)
    start = (now - dt.timedelta(days=9)).strftime("%Y-%m-%dT00:00:00Z")  # fixed for every run
    with Sandbox(users=200, seed=45, audit_throttle=None, sign_ins_per_day=160) as sb:
        sb.tenant.report_options.throttle = None
        sb.server.latency = 0.02  # each request takes 20 ms: the kills land mid-sync
        config = sb.tap_config(
            audit_requests_per_10s=0,
            page_size=100,
            start_date=start,
            usage_report_lookback_days=0,  # no back-fill re-reads: repeats are the kills' only
        )
        cli = Cli(tmp, config, KILL_STREAMS, env={"REQUESTS_CA_BUNDLE": sb.ca_bundle})
        whole = cli.run_until(None, None)
        assert whole.returncode == 0, whole.stderr[-3000:]
        per_date = Counter(r["report_date"] for r in whole.records(REPORT))
        rows_per_date = max(per_date.values())

        def report_rows(n: int):
            return lambda ms: sum(m["type"] == "RECORD" and m["stream"] == REPORT for m in ms) >= n

        def windows(stream: str, n: int):
            # windows with records: the log's first windows may be empty, depending on the time of day
            def due(ms: list[dict]) -> bool:
                first = next(
                    (i for i, m in enumerate(ms) if m["type"] == "RECORD" and m["stream"] == stream),
                    None,
                )
                return first is not None and bookmark_moves(ms[first:], stream) >= n

            return due

        kill_points = [
            ("report, 3rd date", report_rows(2 * rows_per_date + rows_per_date // 2)),
            ("sign_ins, 3 windows in", windows("sign_ins", 3)),
            ("sign_ins, 3 more windows", windows("sign_ins", 3)),
            ("directory_audits, 3 windows in", windows("directory_audits", 3)),
            ("provisioning_logs, 2 windows in", windows("provisioning_logs", 2)),
        ]
        runs: list[tuple[str, Run]] = []
        state = None
        for label, when in kill_points:
            run = cli.run_until(state, when)
            assert run.returncode == -signal.SIGKILL, f"{label}: the run ended before its kill"
            runs.append((label, run))
            state = run.states()[-1] if run.states() else state
        final = cli.run_until(state, None)
        assert final.returncode == 0, final.stderr[-3000:]
        runs.append(("to the end", final))
        OUTPUTS.watch(sb)
    keys = {name: TapMicrosoft365(config=config, validate_config=False).streams[name].primary_keys
            for name in KILL_STREAMS}  # fmt: skip
    return whole, runs, keys, rows_per_date


def key_of(record: dict, keys: tuple[str, ...]) -> tuple:
    return tuple(record.get(k) for k in keys)


def repeats(runs: list[tuple[str, Run]], stream: str, keys: tuple[str, ...]) -> list[set]:
    """Per killed run: the keys it emitted that a later run emitted again."""
    out = []
    for i, (_, run) in enumerate(runs[:-1]):
        mine = {key_of(r, keys) for r in run.records(stream)}
        later = {key_of(r, keys) for _, other in runs[i + 1 :] for r in other.records(stream)}
        out.append(mine & later)
    return out


def test_kill_and_resume_loses_nothing(killed):
    whole, runs, keys, _ = killed
    for stream in KILL_STREAMS:
        want = {key_of(r, keys[stream]) for r in whole.records(stream)}
        got = {key_of(r, keys[stream]) for _, run in runs for r in run.records(stream)}
        assert want, stream
        assert got == want, f"{stream}: {len(want - got)} lost, {len(got - want)} unexpected"
    # the kills were spread over the sync: each stream was being read when one run was killed
    killed_in = {
        next(m["stream"] for m in reversed(run.messages) if m["type"] == "RECORD")
        for _, run in runs[:-1]
    }
    assert killed_in >= {REPORT, "sign_ins", "directory_audits", "provisioning_logs"}, killed_in
    final_state = runs[-1][1].states()[-1]
    assert {s: bool(final_state["bookmarks"][s]["partitions"][0].get("replication_key_value"))
            for s in KILL_STREAMS} == dict.fromkeys(KILL_STREAMS, True)  # fmt: skip


def test_kill_and_resume_repeats_at_most_one_window_of_logs(killed):
    whole, runs, keys, _ = killed
    summary = {}
    for stream in LOGS:
        largest = max(u for _, run in [("whole", whole), *runs] for u in units(run, stream))
        per_kill = repeats(runs, stream, keys[stream])
        summary[stream] = [len(r) for r in per_kill]
        for (label, run), repeated in zip(runs[:-1], per_kill, strict=True):
            tail = {key_of(r, keys[stream]) for r in tail_after_last_state(run, stream)}
            assert repeated <= tail, f"{stream}, kill at {label}: rows before the last STATE repeated"
            assert len(repeated) <= largest, f"{stream}, kill at {label}"
    print("repeated rows per kill:", summary)


def test_kill_and_resume_repeats_at_most_one_date_of_a_report(killed):
    whole, runs, keys, rows_per_date = killed
    dates = {r["report_date"] for r in whole.records(REPORT)}
    # a STATE per date: the bookmark moves with every date that has rows
    assert bookmark_moves(whole.messages, REPORT) == len(dates)
    per_kill = repeats(runs, REPORT, keys[REPORT])
    print("repeated report rows per kill:", [len(r) for r in per_kill])
    for (label, _), repeated in zip(runs[:-1], per_kill, strict=True):
        assert len(repeated) <= rows_per_date, f"kill at {label}: {len(repeated)} rows repeated"


# -- 4. secret scan (last: it reads what every test above wrote) ------------------------------------


def test_no_secret_in_any_output(tenant, tmp_path):
    sb = tenant
    env = {"REQUESTS_CA_BUNDLE": sb.ca_bundle}
    if not OUTPUTS.syncs:  # run on its own: representative syncs first
        sync(sb.tap_config(**FAST), ["users", "group_members", "sign_ins", "usage_mailbox_usage_detail"],
             label="representative sync")  # fmt: skip
    # a failing login: a wrong secret
    wrong = "Xq8~" + "wrongSecretValue0123456789abcdefghij"
    (tmp_path / "auth").mkdir()
    cli = Cli(tmp_path / "auth", sb.tap_config(client_secret=wrong), ["organization"], env)
    failed = cli.run()
    assert failed.returncode == 1
    assert "AADSTS7000215" in failed.stderr
    OUTPUTS.secrets["the wrong secret"] = wrong
    # a malformed answer
    (tmp_path / "bad").mkdir()
    sb.faults.add(r"^/v1\.0/users/delta$", 200, body=b"<html><body>Sign in</body></html>",
                  content_type="text/html", times=-1)  # fmt: skip
    try:
        bad = Cli(tmp_path / "bad", sb.tap_config(max_retries=1), ["users"], env).run()
    finally:
        sb.faults.clear()
    assert bad.returncode == 1
    assert "an HTML page that is not valid JSON" in bad.stderr
    # a certificate login (the key is read, signs an assertion, and must never be echoed)
    (tmp_path / "cert").mkdir()
    cert = {k: v for k, v in sb.tap_config().items() if k != "client_secret"}
    cert.update(client_certificate_path=sb.cert_key_path, client_certificate_thumbprint=sb.cert_thumbprint)
    good = Cli(tmp_path / "cert", cert, ["organization", "domains"], env).run()
    assert good.returncode == 0, good.stderr[-2000:]
    assert '"stream":"organization"' in good.stdout.replace(" ", "")
    OUTPUTS.watch(sb)

    assert OUTPUTS.tokens, "the sandbox issued tokens to the tap"
    assert all(JWT.match(t) for t in OUTPUTS.tokens), "sandbox tokens are JWT-shaped"
    found = []
    for label, text in OUTPUTS.texts:
        for name, secret in OUTPUTS.secrets.items():
            if secret and secret in text:
                found.append(f"{name} in {label}")
        found += [f"an issued bearer token in {label}" for token in OUTPUTS.tokens if token in text]
        found += [f"a JWT ({m[:12]}...) in {label}" for m in JWT.findall(text)]
    assert not found, found[:20]
    labels = [label for label, _ in OUTPUTS.texts]
    assert any("stderr" in label for label in labels)
    assert any('"type": "STATE"' in text or '"type":"STATE"' in text for _, text in OUTPUTS.texts)
    assert sum(len(text) for _, text in OUTPUTS.texts) > 1_000_000 or OUTPUTS.syncs <= 1
