"""The singer-sdk private members the tap still uses, in one place, each with why.

singer-sdk 0.54 has no public hook for these needs; tests/test_sdk_private.py checks the members
exist with the signatures relied on here, so an SDK upgrade that changes them fails loudly.

- ``PluginBase._validate_config``: the SDK's messages echo the setting's value (jsonschema's ``'x' is
  not of type ...``), and a secret pasted into the wrong setting would be printed. Overridden to name
  the setting and the rule only, as one line (a :class:`ConfigError`). It reads the raw settings from
  ``PluginBase._config`` (the public ``config`` is frozen only after validation).
- ``Stream._write_state_message``: activity logs write a STATE after every finished time window, so a
  killed run resumes there; the SDK writes STATE only every ``STATE_MSG_FREQUENCY`` records.
- ``Stream._increment_stream_state``: the same streams set their bookmark per window (the window's end),
  not per record (records arrive newest first, so a per-record bookmark would skip the window's rest).
- ``Stream._stream_version`` and ``Stream._write_activate_version_message``: singer-sdk sends
  ACTIVATE_VERSION before a full-table stream's records, so a read that fails midway, a skipped stream
  or a failed tenant would have the target drop rows it never got again. The tap sends it after the
  last tenant's records and only when every read was complete (streams/base.py ``get_records``); the
  records still carry the version, which the SDK sets only on its own path.
"""

from __future__ import annotations

import copy
import typing as t

from jsonschema import Draft7Validator

from tap_microsoft365.graph.errors import ConfigError

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams import Stream

#: (class, member) pairs used here; the test inspects them.
PRIVATE_MEMBERS = (
    ("singer_sdk.plugin_base.PluginBase", "_validate_config", ("self", "raise_errors")),
    ("singer_sdk.streams.core.Stream", "_write_state_message", ("self",)),
    ("singer_sdk.streams.core.Stream", "_increment_stream_state", ("self", "latest_record", "context")),
    ("singer_sdk.streams.core.Stream", "_write_activate_version_message", ("self", "full_table_version")),
)
#: Stream attributes (set in ``Stream.__init__``) used here; the test checks a stream has them.
PRIVATE_ATTRIBUTES = ("_stream_version",)


class SafeConfigValidation:
    """Tap mixin: JSON-schema validation whose messages name the setting, never its value."""

    if t.TYPE_CHECKING:  # PluginBase's
        config_jsonschema: t.ClassVar[dict]
        _config: dict

        def append_builtin_config(self, config_jsonschema: dict) -> None: ...

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        from tap_microsoft365.settings import format_errors, range_errors, safe_validation_message

        schema = copy.deepcopy(self.config_jsonschema)
        self.append_builtin_config(schema)
        errors = [
            safe_validation_message(e) for e in Draft7Validator(schema).iter_errors(self._config)
        ]
        errors += range_errors(self._config)
        errors += format_errors(self._config)
        if errors and raise_errors:
            # One line (the SDK's CLI would log each error and a summary on lines of their own).
            raise ConfigError("Invalid configuration: " + "; ".join(errors))
        return errors


def write_state_now(stream: Stream) -> None:
    """Emit a STATE message with the stream's current bookmarks now (after a finished window)."""
    stream.state_manager.is_flushed = False
    stream._write_state_message()


class BookmarkPerWindow:
    """Stream mixin: the bookmark is set per finished window by the stream, never per record."""

    def _increment_stream_state(
        self, latest_record: dict, *, context: Context | None = None
    ) -> None:
        """Nothing per record: see :func:`write_state_now`."""


def set_record_version(stream: Stream, version: int) -> None:
    """The table version the SDK puts on every RECORD of ``stream`` from now on."""
    stream._stream_version = version


def write_activate_version(stream: Stream, version: int) -> None:
    """ACTIVATE_VERSION for ``stream`` now (through its stream maps, as the SDK writes it)."""
    stream._write_activate_version_message(version)
