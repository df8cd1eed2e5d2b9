"""The README's settings and stream tables stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from tap_microsoft365.permissions import requirement_for
from tap_microsoft365.streams import STREAM_TYPES
from tap_microsoft365.tap import TapMicrosoft365

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_documented():
    builtin = {"stream_maps", "stream_map_config", "faker_config", "batch_config"}
    for name in TapMicrosoft365.config_jsonschema["properties"]:
        if name in builtin or name.startswith("flattening_"):
            continue
        assert re.search(rf"^\| {re.escape(name)} \|", README, re.M), name


def test_every_stream_is_documented_with_its_permission():
    for stream_type in STREAM_TYPES:
        row = re.search(rf"^\| `{stream_type.name}` \|.*$", README, re.M)
        assert row, stream_type.name
        assert requirement_for(stream_type.name).permissions[0] in row.group(0), stream_type.name


def test_every_setting_is_in_meltano_yml():
    meltano = (Path(__file__).parent.parent / "meltano.yml").read_text()
    builtin = {"stream_maps", "stream_map_config", "faker_config", "batch_config"}
    for name in TapMicrosoft365.config_jsonschema["properties"]:
        if name in builtin or name.startswith("flattening_"):
            continue
        assert f"- name: {name}\n" in meltano, name
