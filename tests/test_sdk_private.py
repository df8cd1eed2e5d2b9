"""The singer-sdk private members the tap relies on still exist as used (tap_microsoft365/sdk_private.py).

If an SDK upgrade renames or re-shapes one, this fails before the tap misbehaves.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from tap_microsoft365.sdk_private import PRIVATE_MEMBERS, BookmarkPerWindow
from tap_microsoft365.streams.audit import AuditLogStream
from tap_microsoft365.tap import TapMicrosoft365


@pytest.mark.parametrize(("owner", "member", "params"), PRIVATE_MEMBERS)
def test_private_member_exists_with_the_signature_relied_on(owner, member, params):
    module, _, cls_name = owner.rpartition(".")
    cls = getattr(importlib.import_module(module), cls_name)
    function = getattr(cls, member)
    assert list(inspect.signature(function).parameters) == list(params)


def test_the_overrides_sit_where_the_sdk_calls_them():
    # the tap's _validate_config and the per-window bookmark shadow the SDK's, not a copy beside them
    assert TapMicrosoft365._validate_config.__module__ == "tap_microsoft365.sdk_private"
    assert AuditLogStream._increment_stream_state is BookmarkPerWindow._increment_stream_state


def test_validation_reads_the_raw_settings_the_sdk_keeps():
    settings = {"tenant_id": "contoso.onmicrosoft.com", "client_id": "x"}
    tap = TapMicrosoft365(config=settings, validate_config=False)
    assert isinstance(tap._config, dict)
    assert tap._config["tenant_id"] == "contoso.onmicrosoft.com"


def test_streams_have_the_version_attribute_their_records_carry():
    from tap_microsoft365.sdk_private import PRIVATE_ATTRIBUTES, set_record_version

    settings = {"tenant_id": "contoso.onmicrosoft.com", "client_id": "x"}
    stream = TapMicrosoft365(config=settings, validate_config=False).streams["domains"]
    for name in PRIVATE_ATTRIBUTES:
        assert hasattr(stream, name)
    set_record_version(stream, 1234)
    # the SDK's RECORD messages take the version from there
    [message] = list(stream._generate_record_messages({"id": "contoso.com", "tenant_id": "t"}))
    assert message.version == 1234
