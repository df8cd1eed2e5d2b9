"""Shared fixtures: a local Graph sandbox per module and an in-process sync runner."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from m365_graph_sandbox import Sandbox
from tap_microsoft365.tap import TapMicrosoft365


@dataclass
class SyncResult:
    """The Singer messages of one sync."""

    messages: list[dict]
    tap: TapMicrosoft365 | None = None
    logs: list[str] = field(default_factory=list)

    def records(self, stream: str) -> list[dict]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def schema(self, stream: str) -> dict:
        return next(m for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream)

    @property
    def state(self) -> dict:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}

    def streams(self) -> set[str]:
        return {m["stream"] for m in self.messages if m["type"] == "RECORD"}


def catalog_for(config: dict, streams: list[str] | None) -> dict | None:
    """The discovered catalog with only ``streams`` selected (None: all)."""
    if streams is None:
        return None
    catalog = TapMicrosoft365(config=config, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def run_sync(
    config: dict, streams: list[str] | None = None, state: dict | None = None
) -> SyncResult:
    """Run the tap in this process and parse what it writes to stdout."""
    buffer = io.BytesIO()
    wrapper = io.TextIOWrapper(buffer, encoding="utf-8")
    tap = TapMicrosoft365(
        config=config, catalog=catalog_for(config, streams), state=state, validate_config=True
    )
    with contextlib.redirect_stdout(wrapper):
        tap.sync_all()
        wrapper.flush()
    lines = buffer.getvalue().decode().splitlines()
    return SyncResult([json.loads(line) for line in lines if line.strip()], tap)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(config: dict, *args: str, tmp_path, env: dict | None = None) -> CliResult:
    """Run the installed CLI as a user would, with a config file."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    proc = subprocess.run(
        [sys.executable, "-m", "tap_microsoft365", "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def error_lines(stderr: str) -> list[str]:
    """Log lines at ERROR level or above."""
    return [line for line in stderr.splitlines() if "ERROR" in line or "CRITICAL" in line]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(users=300, seed=7) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        yield sb


@pytest.fixture
def sb(sandbox):
    """The module's sandbox with a clean log, no faults and every permission."""
    sandbox.reset_log()
    sandbox.faults.clear()
    granted = set(sandbox.granted_permissions)
    yield sandbox
    sandbox.faults.clear()
    sandbox.granted_permissions.clear()
    sandbox.granted_permissions.update(granted)
