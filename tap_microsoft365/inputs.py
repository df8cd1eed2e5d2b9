"""The files a run is given (config, state, catalog): checked before the SDK reads them.

Each problem is one line naming the file's role, what is wrong and the fix; values are never echoed
(a config file holds the client secret). The state format the tap writes and reads::

    {"bookmarks": {"<stream>": {"partitions": [{"context": {"tenant_id": "<tenant>"},
                                                "replication_key": "createdDateTime",
                                                "replication_key_value": "2026-11-30T10:00:00.0000000Z",
                                                "delta_link": "https://graph.microsoft.com/v1.0/...",
                                                "overlap_ids": ["..."]}]}}}
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import typing as t
from pathlib import Path

from tap_microsoft365.graph.errors import ConfigError

LOGGER = logging.getLogger("tap-microsoft365")
FILE_OPTIONS = {"--config": "config", "--state": "state", "--catalog": "catalog"}
STATE_KEYS = frozenset({"bookmarks", "currently_syncing"})
PARTITION_KEYS = frozenset(
    {
        "context",
        "replication_key",
        "replication_key_value",
        "replication_key_signpost",
        "starting_replication_value",
        "progress_markers",
        "delta_link",
        "overlap_ids",
        "calls",
    }
)


def files_in(argv: list[str]) -> list[tuple[str, str]]:
    """(role, path) of every ``--config/--state/--catalog`` file in ``argv`` (``ENV`` is not a file)."""
    found = []
    for i, arg in enumerate(argv):
        option, _, inline = arg.partition("=")
        if option in FILE_OPTIONS:
            value = inline or (argv[i + 1] if i + 1 < len(argv) else "")
            if value and value != "ENV":
                found.append((FILE_OPTIONS[option], value))
    return found


def read_object(role: str, path: str) -> dict:
    """The JSON object in ``path``, or a one-line :class:`ConfigError`."""
    where = f"The {role} file given with --{role}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist. Fix: check the path.") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read ({exc.strerror}). Fix: check its path and permissions.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not UTF-8 text. Fix: save it as UTF-8 JSON.") from None
    if not text.strip():
        raise ConfigError(f"{where} is empty. Fix: write a JSON object into it ({{}} at least).")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). Fix: "
            "correct the JSON."
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(
            f"{where} holds a JSON {type(value).__name__}, not an object. Fix: the {role} is a "
            "JSON object ({...})."
        )
    return value


def check_files(argv: list[str]) -> None:
    """Every given file readable and a JSON object; the catalog with a ``streams`` list."""
    for role, path in files_in(argv):
        value = read_object(role, path)
        if role == "catalog" and not isinstance(value.get("streams"), list):
            raise ConfigError(
                "The catalog given with --catalog has no 'streams' list, so nothing would be "
                "synced. Fix: pass the output of tap-microsoft365 --discover, with streams selected."
            )


def normalise_state(state: t.Any, known_streams: t.Collection[str], now: dt.datetime) -> dict:
    """The state, validated: a wrong shape is one line; what is ignored or clamped is a warning."""
    if not isinstance(state, dict):
        raise ConfigError(
            f"The state is a JSON {type(state).__name__}, not an object. Fix: pass the value of "
            "the last STATE message ({\"bookmarks\": {...}}), or no state for a full run."
        )
    if state.get("type") == "STATE" and isinstance(state.get("value"), dict):
        LOGGER.warning(
            "The state is a whole STATE message; its 'value' is used. Fix: pass only the value."
        )
        state = state["value"]
    if not state:
        return {}
    bookmarks = state.get("bookmarks")
    if bookmarks is None:
        LOGGER.warning(
            "The state has no 'bookmarks' (keys: %s), so it is ignored and every stream reads in "
            "full. Fix: pass the value of this tap's last STATE message.",
            ", ".join(sorted(map(str, state))[:10]),
        )
        return {}
    if not isinstance(bookmarks, dict):
        raise ConfigError(
            f"The state's 'bookmarks' is a JSON {type(bookmarks).__name__}, not an object. Fix: pass "
            "the value of this tap's last STATE message, or no state for a full run."
        )
    extra = sorted(set(state) - STATE_KEYS)
    if extra:
        LOGGER.warning("The state's keys %s are not this tap's and are ignored.", ", ".join(extra))
    unknown = sorted(set(bookmarks) - set(known_streams))
    if unknown:
        LOGGER.warning(
            "The state has bookmarks for streams this tap does not have (%s); they are ignored. "
            "Fix: is it another tap's state?",
            ", ".join(unknown[:10]),
        )
    clean: dict[str, t.Any] = {}
    for name in sorted(set(bookmarks) & set(known_streams)):
        entry = bookmarks[name]
        if not isinstance(entry, dict) or not isinstance(entry.get("partitions", []), list):
            raise ConfigError(
                f"The state's bookmark of stream '{name}' is not an object with a 'partitions' list. "
                "Fix: pass this tap's last STATE value, or remove the stream's bookmark to read it "
                "in full."
            )
        for partition in entry.get("partitions", []):
            _check_partition(name, partition, now)
        clean[name] = entry
    return {"bookmarks": clean}


def _check_partition(name: str, partition: t.Any, now: dt.datetime) -> None:
    if not isinstance(partition, dict) or not isinstance(partition.get("context", {}), dict):
        raise ConfigError(
            f"The state of stream '{name}' has a partition that is not an object with a 'context'. "
            "Fix: pass this tap's last STATE value."
        )
    value = partition.get("replication_key_value")
    if value is None:
        return
    if not isinstance(value, str):
        raise ConfigError(
            f"The bookmark of stream '{name}' is a {type(value).__name__}, not a date or date-time. "
            "Fix: pass this tap's last STATE value, or remove the bookmark to start from start_date."
        )
    when = _parse_graph_time(value)
    if when is None:
        raise ConfigError(
            f"The bookmark of stream '{name}' is not a date or date-time. Fix: pass this tap's "
            "last STATE value, or remove the bookmark to start from start_date."
        )
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if when > now:
        LOGGER.warning(
            "The bookmark of stream '%s' is in the future; reading from now instead (else nothing "
            "would ever be read). Fix: none needed.",
            name,
        )
        partition["replication_key_value"] = (
            now.date().isoformat() if len(value) == 10 else now.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        )


def _parse_graph_time(value: str) -> dt.datetime | None:
    """Graph date-times with 7 fractional digits (fromisoformat takes at most 6 before 3.11)."""
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        tail = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{tail}"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None
