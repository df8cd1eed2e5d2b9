"""Sign-ins at large-tenant scale: rows/second and requests, first run and an incremental run.

A sandbox tenant with ``--sign-ins`` sign-ins spread over 30 days (default 1,000,000). The tap runs in this
process, its Singer output counted and discarded. Graph's 5-requests-per-10-s limit would cap a run at
500 rows/s whatever the code does (1,000 rows a page), so by default the measurement relaxes it: the
sandbox throttle is off and the tap's pacer too (``audit_requests_per_10s=0``); ``--paced`` keeps both
(a first run then takes about 35 minutes).

    python bench/audit_scale.py [--sign-ins 1000000] [--new 33000] [--paced]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package

from m365_graph_sandbox import Sandbox
from tap_microsoft365.tap import TapMicrosoft365


class Sink(io.TextIOBase):
    """Counts RECORD lines, keeps the last STATE, drops the rest."""

    def __init__(self) -> None:
        self.records = 0
        self.state: dict | None = None
        self.buffer = self  # MsgSpecWriter may write bytes to sys.stdout.buffer

    def write(self, text):  # type: ignore[override]
        if not isinstance(text, str):
            text = bytes(text).decode()
        for line in text.splitlines():
            if line.startswith('{"type":"RECORD"'):
                self.records += 1
            elif line.startswith('{"type":"STATE"'):
                self.state = json.loads(line)["value"]
        return len(text)

    def flush(self) -> None:
        pass


def run(sb: Sandbox, config: dict, state: dict | None) -> tuple[Sink, float, int]:
    catalog = TapMicrosoft365(config=config, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] == "sign_ins"
    sb.reset_log()
    sink = Sink()
    stdout = sys.stdout
    started = time.perf_counter()
    sys.stdout = sink
    try:
        TapMicrosoft365(config=config, catalog=catalog, state=state).sync_all()
    finally:
        sys.stdout = stdout
    return sink, time.perf_counter() - started, sb.count(prefix="/v1.0/auditLogs/signIns")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sign-ins", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=33_000, help="new sign-ins before run 2")
    parser.add_argument("--paced", action="store_true", help="keep the 5-per-10-s limit")
    args = parser.parse_args()
    t0 = time.perf_counter()
    with Sandbox(
        users=2000,
        seed=1,
        sign_ins_per_day=args.sign_ins // 30,
        audit_throttle=(5, 10.0) if args.paced else None,
    ) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        total = len(sb.tenant.audit.sign_ins)
        print(
            f"sandbox: {total:,} sign-ins over 30 days, built in {time.perf_counter() - t0:.1f} s"
        )
        config = sb.tap_config(audit_requests_per_10s=5 if args.paced else 0)
        import logging

        logging.disable(logging.INFO)
        sink, seconds, requests = run(sb, config, None)
        print(
            f"first run:       {sink.records:,} rows in {seconds:.1f} s = {sink.records / seconds:,.0f} "
            f"rows/s, {requests:,} requests ({'paced' if args.paced else 'pacer and throttle relaxed'})"
        )
        assert sink.records == total, (sink.records, total)
        bookmark = sink.state["bookmarks"]["sign_ins"]["partitions"][0]["replication_key_value"]
        from tap_microsoft365.streams.audit import parse_time

        start = parse_time(bookmark).timestamp() + 0.001
        time.sleep(1.0)
        step = (time.time() - 1.0 - start) / max(args.new, 1)
        for i in range(args.new):  # new sign-ins since the bookmark, all before run 2 starts
            sb.tenant.audit.sign_ins.add(start + i * step)
        sink2, seconds2, requests2 = run(sb, config, sink.state)
        print(
            f"incremental run: {sink2.records:,} rows in {seconds2:.1f} s = "
            f"{sink2.records / seconds2:,.0f} rows/s, {requests2:,} requests"
        )
        assert sink2.records == args.new, (sink2.records, args.new)


if __name__ == "__main__":
    main()
