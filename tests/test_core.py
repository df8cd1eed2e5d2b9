"""singer-sdk's standard tap tests, run against a small sandbox tenant."""

from __future__ import annotations

import atexit
import os

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from m365_graph_sandbox import Sandbox
from tap_microsoft365.tap import TapMicrosoft365

# activity logs: the 5-per-10-s throttle 20x faster, and the tap's pacer to match (tests stay fast)
_SANDBOX = Sandbox(users=60, seed=11, audit_throttle=(5, 0.5)).start()
atexit.register(_SANDBOX.stop)
os.environ["REQUESTS_CA_BUNDLE"] = _SANDBOX.ca_bundle


@pytest.fixture(scope="module", autouse=True)
def _trust_this_sandbox():
    """Other modules run their own sandboxes; this one's certificate must be trusted here."""
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = _SANDBOX.ca_bundle
    yield
    if previous is not None:
        os.environ["REQUESTS_CA_BUNDLE"] = previous


TestTapMicrosoft365 = get_tap_test_class(
    tap_class=TapMicrosoft365,
    config=_SANDBOX.tap_config(audit_requests_per_10s=80),
    # detected_app_devices is off by default (a request per app): the dry run leaves it empty.
    suite_config=SuiteConfig(
        max_records_limit=40, ignore_no_records_for_streams=["detected_app_devices"]
    ),
)
