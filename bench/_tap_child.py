"""Run one tap sync in this process with stdout to /dev/null; print timing and peak RSS as JSON.

Usage: python bench/_tap_child.py CONFIG_JSON STREAM[,STREAM...]
"""

from __future__ import annotations

import io
import json
import os
import resource
import sys
import time
from pathlib import Path

from tap_microsoft365.tap import TapMicrosoft365


def main() -> None:
    if os.environ.get(
        "BENCH_SDK_CONFORMANCE"
    ):  # the "before": singer-sdk's default per-value conformance
        from singer_sdk.helpers.conform import TypeConformanceLevel

        from tap_microsoft365.streams.base import GraphStream

        GraphStream.TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.RECURSIVE
    config = json.loads(Path(sys.argv[1]).read_text())
    streams = sys.argv[2].split(",")
    tap = TapMicrosoft365(config=config, validate_config=True)
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in streams
    state_in, state_out = os.environ.get("BENCH_STATE_IN"), os.environ.get("BENCH_STATE_OUT")
    state = json.loads(Path(state_in).read_text()) if state_in else None
    tap = TapMicrosoft365(config=config, catalog=catalog, state=state, validate_config=True)
    counts: dict[str, int] = {}
    last_state: dict = {}
    write = tap.message_writer.write_message

    def counting(message):
        kind = getattr(message, "type", None)
        if kind == "RECORD":
            counts[message.stream] = counts.get(message.stream, 0) + 1
        elif kind == "STATE":
            last_state["value"] = message.value
        write(message)

    tap.message_writer.write_message = counting
    devnull = open(os.devnull, "wb")  # noqa: SIM115
    real_stdout = sys.stdout
    sys.stdout = io.TextIOWrapper(devnull, encoding="utf-8")
    started = time.perf_counter()
    tap.sync_all()
    elapsed = time.perf_counter() - started
    sys.stdout.flush()
    sys.stdout = real_stdout
    if state_out:
        Path(state_out).write_text(json.dumps(last_state.get("value", {})))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_rss_mb": peak_kb / 1024, "records": counts}))


if __name__ == "__main__":
    main()
