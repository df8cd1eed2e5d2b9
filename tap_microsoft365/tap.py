"""tap-microsoft365: the Tap (settings, the tenant's run context, the stream registry) and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
import typing as t
from functools import cached_property
from urllib.parse import urlparse

from singer_sdk import Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.logging import ConsoleFormatter

from tap_microsoft365.context import RunContext
from tap_microsoft365.graph.auth import TokenSource, load_credential
from tap_microsoft365.graph.client import DEFAULT_BATCH_CONCURRENCY, GraphClient
from tap_microsoft365.graph.clouds import CLOUDS, WELL_KNOWN_LOGIN_HOSTS
from tap_microsoft365.graph.errors import ConfigError, TapMicrosoft365Error
from tap_microsoft365.graph.retry import (
    DEFAULT_BUDGET_SECONDS,
    DEFAULT_MAX_RETRIES,
    RetryPolicy,
)
from tap_microsoft365.inputs import check_files, normalise_state
from tap_microsoft365.scope import Scope
from tap_microsoft365.sdk_private import SafeConfigValidation
from tap_microsoft365.settings import CONFIG_SCHEMA, check_ids, check_url
from tap_microsoft365.streams import STREAM_TYPES
from tap_microsoft365.streams.base import GraphStream

#: Taps constructed by this process's CLI run (their summaries are logged at the end).
RUNS: list[TapMicrosoft365] = []
RECORD_RUNS = False  # set by main(): only the CLI logs a summary
STREAM_NAMES: tuple[str, ...] = tuple(vars(stream_type)["name"] for stream_type in STREAM_TYPES)

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream


class TapMicrosoft365(SafeConfigValidation, Tap):
    """Microsoft 365 and Entra ID through Microsoft Graph."""

    name = "tap-microsoft365"
    message_writer_class = MsgSpecWriter
    config_jsonschema = CONFIG_SCHEMA

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """The SDK's Tap, then the input catalog checked: it must name this tap's streams."""
        self.started_at = time.monotonic()
        super().__init__(*args, **kwargs)
        if RECORD_RUNS:
            RUNS.append(self)
        catalog = self.input_catalog
        if catalog is None:
            return
        unknown = sorted(set(catalog) - set(STREAM_NAMES))
        if unknown:
            raise ConfigError(
                f"The catalog names {len(unknown)} stream(s) this tap does not have (e.g. "
                f"'{unknown[0][:40]}'). Fix: run tap-microsoft365 --discover and select from its "
                "streams."
            )
        if not any(s.selected or s.has_selected_descendents for s in self.streams.values()):
            raise ConfigError(
                "The catalog selects no stream, so nothing would be synced. Fix: set "
                '"selected": true in the metadata of the streams to sync.'
            )

    def discover_streams(self) -> list[Stream]:
        """Every stream; discovery needs no credentials."""
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    @property
    def streams(self) -> dict[str, Stream]:
        """The SDK's streams in registry order, not by name: parents run before their children.

        singer-sdk syncs ``streams`` in its order and sorts by name, which would put every child
        (``group_members``) before its parent (``groups``) and cost the child a second listing.
        """
        loaded = super().streams
        ordered = {name: loaded[name] for name in STREAM_NAMES if name in loaded}
        ordered.update(loaded)
        return ordered

    # -- the tenant's run context -------------------------------------------------------------------

    @cached_property
    def run_context(self) -> RunContext:
        """The one tenant of this run: its Graph client, built from validated settings."""
        config = self.config
        tenant_id = str(config.get("tenant_id") or "").strip()
        client_id = str(config.get("client_id") or "").strip()
        check_ids(tenant_id, client_id)
        cloud_name = config.get("cloud") or "global"
        if cloud_name not in CLOUDS:
            raise ConfigError(f"Setting cloud is unknown. Fix: use one of {', '.join(CLOUDS)}.")
        cloud = CLOUDS[cloud_name]
        authority_url = check_url("authority_url", config.get("authority_url") or cloud.login)
        graph_url = check_url("graph_url", config.get("graph_url") or cloud.graph)
        policy = RetryPolicy(
            max_retries=int(config.get("max_retries", DEFAULT_MAX_RETRIES)),
            budget_seconds=float(config.get("retry_budget_seconds", DEFAULT_BUDGET_SECONDS)),
        )
        tokens = TokenSource(
            tenant_id=tenant_id,
            client_id=client_id,
            credential=load_credential(config),
            authority_url=authority_url,
            cloud=cloud,
            well_known_authority=urlparse(authority_url).netloc in WELL_KNOWN_LOGIN_HOSTS,
            policy=policy,
            clock=policy.clock,
        )
        client = GraphClient(
            tenant_id=tenant_id,
            graph_url=graph_url,
            tokens=tokens,
            policy=policy,
            user_agent=config.get("user_agent") or "tap-microsoft365",
            deadline_seconds=float(config.get("request_timeout_seconds") or 300),
            batch_concurrency=int(config.get("batch_concurrency", DEFAULT_BATCH_CONCURRENCY)),
            link_aliases=(cloud.graph,),
        )
        return RunContext(tenant_id=tenant_id, client=client, scope=Scope.from_config(config))

    def load_state(self, state: dict[str, t.Any]) -> None:
        """The SDK's state loading, after the state's shape is checked (inputs.normalise_state)."""
        names = [vars(stream_type)["name"] for stream_type in STREAM_TYPES]
        super().load_state(normalise_state(state, names, dt.datetime.now(dt.UTC)))

    def summary(self) -> dict[str, t.Any]:
        """What the run did: per stream records and skips, the requests, retries and limit waits."""
        streams = {}
        for name, stream in self.streams.items():
            if not isinstance(stream, GraphStream) or not (stream.emitted or stream.skipped):
                continue
            entry: dict[str, t.Any] = {"records": stream.emitted}
            if stream.skipped:
                entry["skipped"] = stream.skip_reason
            streams[name] = entry
        out: dict[str, t.Any] = {
            "tenant_id": str(self.config.get("tenant_id") or ""),
            "seconds": round(time.monotonic() - self.started_at, 1),
            "streams": streams,
        }
        if self.has_run_context():
            client = self.run_context.client
            out["requests"] = client.requests_sent
            out["retries"] = client.policy.retries
            out["waited_on_limits_seconds"] = round(sum(p.waited for p in client.pacers.values()), 1)
        return out

    def log_summary(self) -> None:
        """The run summary: a few lines of text and one JSON line (for orchestrators)."""
        summary = self.summary()
        if not summary["streams"]:
            return
        records = sum(s["records"] for s in summary["streams"].values())
        skipped = {n: s["skipped"] for n, s in summary["streams"].items() if "skipped" in s}
        self.logger.info(
            "Run summary: %d streams, %s records, %s Graph requests, %s retries, %.0f s waited on "
            "Graph's documented limits, %.1f s in all",
            len(summary["streams"]) - len(skipped),
            f"{records:,}",
            f"{summary.get('requests', 0):,}",
            summary.get("retries", 0),
            summary.get("waited_on_limits_seconds", 0.0),
            summary["seconds"],
        )
        for name, reason in skipped.items():
            self.logger.info("Run summary: skipped %s: %s", name, reason.split(": Graph answered", 1)[0])
        self.logger.info("Run summary (JSON): %s", json.dumps(summary, sort_keys=True))

    def has_run_context(self) -> bool:
        """True once the run context was built (discovery never builds it)."""
        return "run_context" in self.__dict__

    def preflight(self) -> None:
        """Validate settings and get a token now (a sync does it when its first stream starts)."""
        self.run_context.client.tokens.access_token()


def main() -> None:
    """The console script: the SDK's CLI, with every known failure as one line on stderr, exit 1."""
    global RECORD_RUNS
    RECORD_RUNS = True
    try:
        check_files(sys.argv[1:])
        try:
            TapMicrosoft365.cli()
        finally:
            for tap in RUNS:
                tap.log_summary()
    except TapMicrosoft365Error as exc:
        root = logging.getLogger()
        if not root.handlers:  # failed before the SDK set up its console logging
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(ConsoleFormatter())
            root.addHandler(handler)
        logging.getLogger(TapMicrosoft365.name).error("%s", exc)
        sys.exit(1)


__all__ = ["TapMicrosoft365", "main"]
