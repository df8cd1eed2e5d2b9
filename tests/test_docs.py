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


def test_readme_meltano_config_commands_work_as_written(tmp_path):
    """Every `meltano config set` line of README's Meltano section, in a copy of the project."""
    import shutil
    import subprocess
    import sys

    root = Path(__file__).parent.parent
    lines = [
        line.strip()
        for line in README.splitlines()
        if line.strip().startswith("meltano config set")
    ]
    assert len(lines) == 3
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(root / "meltano.yml", project / "meltano.yml")
    before = (project / "meltano.yml").read_text()
    meltano = str(Path(sys.executable).parent / "meltano")
    values = {
        "<tenant-guid>": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "<app-guid>": "11111111-2222-3333-4444-555555555555",
        "<secret-value>": "abc8Q~example-secret-value",
    }
    for line in lines:
        args = line.split()
        args = [values.get(a, a) for a in args]
        done = subprocess.run(
            [meltano, *args[1:]],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**__import__("os").environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"},
        )
        assert done.returncode == 0, done.stderr[-1500:]
    assert (project / "meltano.yml").read_text() == before, "the tracked meltano.yml is not rewritten"
    env = (project / ".env").read_text()
    for value in values.values():
        assert value in env


def test_meltano_yml_capabilities_are_the_taps():
    import yaml

    meltano = yaml.safe_load((Path(__file__).parent.parent / "meltano.yml").read_text())
    tap = next(p for p in meltano["plugins"]["extractors"] if p["name"] == "tap-microsoft365")
    about = {str(c) for c in TapMicrosoft365.capabilities}
    assert set(tap["capabilities"]) == about


def test_meltano_yml_declares_the_sdk_built_in_settings():
    import yaml

    meltano = yaml.safe_load((Path(__file__).parent.parent / "meltano.yml").read_text())
    tap = next(p for p in meltano["plugins"]["extractors"] if p["name"] == "tap-microsoft365")
    names = {s["name"] for s in tap["settings"]}
    assert {"stream_maps", "stream_map_config", "flattening_enabled", "flattening_max_depth"} <= names
    assert "batch_config.encoding.format" in names
