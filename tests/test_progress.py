"""Progress lines while a stream runs: records so far, the rate and, where the stream knows it, an ETA."""

from __future__ import annotations

import logging
import os
import re

import pytest

from m365_graph_sandbox import Sandbox
from tap_microsoft365.streams import base
from tests.conftest import run_sync


@pytest.fixture(scope="module")
def box():
    with Sandbox(users=120, seed=71, audit_throttle=None) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        yield sb


@pytest.fixture
def every_record(monkeypatch):
    # a line at every record instead of every 15 s and 500 records (the clock is not faked: no wait)
    monkeypatch.setattr(base, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(base, "PROGRESS_EVERY", 1)


def progress_lines(caplog, stream):
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"Stream '{stream}': ")
            and "records so far" in r.getMessage()]  # fmt: skip


def test_a_per_parent_stream_says_how_much_is_done_and_how_long_is_left(box, caplog, every_record):
    caplog.set_level(logging.INFO)
    result = run_sync(box.tap_config(), ["groups", "group_owners"])
    lines = progress_lines(caplog, "group_owners")
    assert len(lines) == len(result.records("group_owners"))
    shares = [int(m.group(1)) for line in lines if (m := re.search(r", (\d+)% done, about [\d,]+ s left", line))]
    assert shares, lines[:3]
    assert shares == sorted(shares)  # the share only grows
    assert re.match(r"Stream 'group_owners': 1 records so far in \d+ s \(", lines[0])


def test_an_activity_log_says_how_much_of_its_time_range_is_read(box, caplog, every_record):
    caplog.set_level(logging.INFO)
    run_sync(box.tap_config(audit_requests_per_10s=0), ["directory_audits"])
    lines = progress_lines(caplog, "directory_audits")
    assert lines
    assert any(re.search(r"\d+% done, about [\d,]+ s left", line) for line in lines)


def test_each_stream_ends_with_a_line_naming_it_and_its_figures(box, caplog):
    caplog.set_level(logging.INFO)
    box.reset_log()
    result = run_sync(box.tap_config(), ["users", "domains"])
    done = [r.getMessage() for r in caplog.records if " done: " in r.getMessage()]
    # a full round: the delta link ($deltatoken=latest), then the listing
    assert f"Stream 'users' done: {len(result.records('users'))} records, 2 Graph requests" in done[0]
    assert done[1].startswith(f"Stream 'domains' done: {len(box.tenant.domains)} records, 1 Graph requests")
