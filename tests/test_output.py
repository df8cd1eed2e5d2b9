"""The message writer: the same bytes as singer-sdk's msgspec writer, far fewer flushes, STATE after its records."""

from __future__ import annotations

import io
import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage

from tap_microsoft365 import output
from tap_microsoft365.output import BatchFlushingWriter


class CountingStdout(io.TextIOWrapper):
    """A stdout that records what had reached it at each flush."""

    def __init__(self) -> None:
        self.raw_bytes = io.BytesIO()
        super().__init__(self.raw_bytes, encoding="utf-8")
        self.flushed_at: list[bytes] = []

    def flush(self) -> None:
        super().flush()
        self.flushed_at.append(self.raw_bytes.getvalue())


def messages(n: int) -> list:
    out: list = [SchemaMessage("users", {"properties": {"id": {"type": "string"}}}, ["id"])]
    out += [RecordMessage("users", {"id": str(i)}) for i in range(n)]
    out.append(StateMessage({"bookmarks": {"users": {"n": n}}}))
    out += [RecordMessage("users", {"id": f"late{i}"}) for i in range(3)]
    return out


def written(writer, msgs, monkeypatch) -> CountingStdout:
    stdout = CountingStdout()
    monkeypatch.setattr(sys, "stdout", stdout)
    for message in msgs:
        writer.write_message(message)
    return stdout


def test_the_bytes_are_the_sdk_writers(monkeypatch):
    msgs = messages(1200)
    mine = written(BatchFlushingWriter(), msgs, monkeypatch)
    sdk = written(MsgSpecWriter(), msgs, monkeypatch)
    for stdout in (mine, sdk):
        stdout.flush()
    assert mine.raw_bytes.getvalue() == sdk.raw_bytes.getvalue()
    assert len(sdk.flushed_at) == len(msgs) + 1
    # SCHEMA, two full batches of records, the STATE, and the final flush
    assert len(mine.flushed_at) == 1 + 1200 // output.RECORDS_PER_FLUSH + 1 + 1


def test_a_state_is_flushed_with_every_record_before_it(monkeypatch):
    msgs = messages(10)
    stdout = written(BatchFlushingWriter(), msgs, monkeypatch)
    at_state = next(b for b in stdout.flushed_at if b'"STATE"' in b)
    assert at_state.count(b'"RECORD"') == 10  # every record the STATE covers went out with it
    assert at_state.endswith(b"}\n")
    assert b"late" not in at_state
