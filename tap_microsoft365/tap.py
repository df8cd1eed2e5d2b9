"""tap-microsoft365: the Tap (settings, the tenants and their run contexts, the stream registry), the CLI."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
import typing as t
import weakref
from functools import cached_property

from singer_sdk import Tap
from singer_sdk.logging import ConsoleFormatter

from tap_microsoft365.connect import build_run_context
from tap_microsoft365.graph.errors import ConfigError, TapMicrosoft365Error
from tap_microsoft365.inputs import check_files, normalise_state
from tap_microsoft365.output import BatchFlushingWriter
from tap_microsoft365.sdk_private import SafeConfigValidation
from tap_microsoft365.settings import CONFIG_SCHEMA
from tap_microsoft365.streams import STREAM_TYPES
from tap_microsoft365.streams.base import GraphStream
from tap_microsoft365.tenants import TenantEntry, tenant_entries

#: Taps constructed by this process's CLI run (their summaries are logged at the end).
RUNS: list[TapMicrosoft365] = []
RECORD_RUNS = False  # set by main(): only the CLI logs a summary
STREAM_NAMES: tuple[str, ...] = tuple(vars(stream_type)["name"] for stream_type in STREAM_TYPES)

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream

    from tap_microsoft365.context import RunContext


class TapMicrosoft365(SafeConfigValidation, Tap):
    """Microsoft 365 and Entra ID through Microsoft Graph."""

    name = "tap-microsoft365"
    message_writer_class = BatchFlushingWriter
    config_jsonschema = CONFIG_SCHEMA

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """The SDK's Tap, then the input catalog checked: it must name this tap's streams."""
        self.started_at = time.monotonic()
        self.reading_tenant = ""  # the tenant whose partition a stream is reading now
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

    # -- the tenants and their run contexts ---------------------------------------------------------

    @cached_property
    def tenant_entries(self) -> list[TenantEntry]:
        """The run's tenants (``tenants``, or ``tenant_id`` as a list of one), validated."""
        return tenant_entries(self.config)

    @cached_property
    def _runs(self) -> dict[str, RunContext]:
        return {}

    @cached_property
    def failures(self) -> dict[str, str]:
        """Tenant id -> why the tenant failed in this run (its streams after that are skipped)."""
        return {}

    def run_context_for(self, tenant_id: str) -> RunContext:
        """The tenant's run context, built at its first use from validated settings."""
        run = self._runs.get(tenant_id)
        if run is None:
            WARNINGS.tap = weakref.ref(self)
            entry = next(e for e in self.tenant_entries if e.tenant_id == tenant_id)
            selected = [n for n, s in self.streams.items() if s.selected]
            run = self._runs[tenant_id] = build_run_context(self.config, entry, selected)
        return run

    @property
    def run_context(self) -> RunContext:
        """The first tenant's run context."""
        return self.run_context_for(self.tenant_entries[0].tenant_id)

    def tenant_failure(self, tenant_id: str) -> str | None:
        """Why the tenant failed earlier in this run, or None."""
        return self.failures.get(tenant_id)

    def fail_tenant(self, tenant_id: str, stream: str, exc: TapMicrosoft365Error) -> None:
        """A tenant's failure: fatal with one tenant or ``fail_fast``, else logged and the run goes on."""
        entries = self.tenant_entries
        if len(entries) == 1 or self.config.get("fail_fast"):
            raise exc
        entry = next(e for e in entries if e.tenant_id == tenant_id)
        self.failures[tenant_id] = f"stream '{stream}': {exc}"
        self.logger.error(
            "%s failed in stream '%s': %s The other tenants go on; this tenant's remaining streams "
            "are skipped in this run.",
            entry.describe()[:1].upper() + entry.describe()[1:],
            stream,
            exc,
        )

    def has_run_context(self) -> bool:
        """True once a tenant's run context was built (discovery never builds one)."""
        return bool(self.__dict__.get("_runs"))

    def load_state(self, state: dict[str, t.Any]) -> None:
        """The SDK's state loading, after the state's shape is checked (inputs.normalise_state)."""
        names = [vars(stream_type)["name"] for stream_type in STREAM_TYPES]
        super().load_state(normalise_state(state, names, dt.datetime.now(dt.UTC)))

    def summary(self) -> dict[str, t.Any]:
        """What the run did, per tenant and stream: records, requests, seconds, skips, failures."""
        tenants = []
        totals: dict[str, dict[str, t.Any]] = {}
        for entry in self.tenant_entries if self._entries_known() else []:
            tid = entry.tenant_id
            streams: dict[str, t.Any] = {}
            for name, stream in self.streams.items():
                outcome = stream.outcomes.get(tid) if isinstance(stream, GraphStream) else None
                if outcome is None:
                    continue
                cell: dict[str, t.Any] = {
                    "records": outcome.records,
                    "requests": outcome.requests,
                    "seconds": round(outcome.seconds, 1),
                }
                if outcome.skipped:
                    cell["skipped"] = outcome.skipped
                if outcome.failed:
                    cell["failed"] = outcome.failed
                streams[name] = cell
                total = totals.setdefault(name, {"records": 0, "tenants_skipped": 0})
                total["records"] += outcome.records
                total["tenants_skipped"] += bool(outcome.skipped)
            tenant: dict[str, t.Any] = {
                "tenant_id": tid,
                "label": entry.label,
                "status": "failed" if tid in self.failures else "ok",
                "records": sum(c["records"] for c in streams.values()),
                "streams": streams,
                "warnings": self.warnings.get(tid, []),
            }
            if tid in self.failures:
                tenant["error"] = self.failures[tid]
            run = self._runs.get(tid)
            if run is not None:
                tenant["requests"] = run.client.requests_sent
                tenant["retries"] = run.client.policy.retries
                tenant["waited_on_limits_seconds"] = round(
                    sum(p.waited for p in run.client.pacers.values()), 1
                )
            tenants.append(tenant)
        merged: dict[str, t.Any] = {}
        for name, total in totals.items():
            cell = {"records": total["records"]}
            if total["tenants_skipped"] == len(tenants) and tenants:
                cell["skipped"] = next(
                    t_["streams"][name]["skipped"] for t_ in tenants if name in t_["streams"]
                )
            merged[name] = cell
        return {
            "seconds": round(time.monotonic() - self.started_at, 1),
            "tenant_id": tenants[0]["tenant_id"] if len(tenants) == 1 else None,
            "tenants": tenants,
            "failed_tenants": [t_["tenant_id"] for t_ in tenants if t_["status"] == "failed"],
            "streams": merged,
            "records": sum(t_["records"] for t_ in tenants),
            "requests": sum(t_.get("requests", 0) for t_ in tenants),
            "retries": sum(t_.get("retries", 0) for t_ in tenants),
            "waited_on_limits_seconds": round(
                sum(t_.get("waited_on_limits_seconds", 0.0) for t_ in tenants), 1
            ),
        }

    def _entries_known(self) -> bool:
        """Whether the tenants list is valid (a summary after a settings error has none)."""
        try:
            _ = self.tenant_entries
        except ConfigError:
            return False
        return True

    @cached_property
    def warnings(self) -> dict[str, list[str]]:
        """Tenant id -> the warnings logged while its streams ran (for the summary)."""
        return {}

    def note_warning(self, tenant_id: str, message: str) -> None:
        """Keep a warning for the tenant's summary (the first 50, each cut to 300 characters)."""
        kept = self.warnings.setdefault(tenant_id, [])
        if len(kept) < 50:
            kept.append(message[:300])

    def log_summary(self) -> None:
        """The run summary: a line per run and tenant, skips, and one JSON line (for orchestrators)."""
        summary = self.summary()
        if not any(t_["streams"] for t_ in summary["tenants"]):
            return
        several = len(summary["tenants"]) > 1
        self.logger.info(
            "Run summary: %s%d streams, %s records, %s Graph requests, %s retries, %.0f s waited on "
            "Graph's documented limits, %.1f s in all",
            f"{len(summary['tenants'])} tenants ({len(summary['failed_tenants'])} failed), "
            if several
            else "",
            sum(1 for s_ in summary["streams"].values() if "skipped" not in s_),
            f"{summary['records']:,}",
            f"{summary['requests']:,}",
            summary["retries"],
            summary["waited_on_limits_seconds"],
            summary["seconds"],
        )
        for tenant in summary["tenants"]:
            prefix = "Run summary: "
            if several:
                name = tenant["label"] if tenant["label"] != tenant["tenant_id"] else ""
                prefix += f"tenant {name + ' ' if name else ''}({tenant['tenant_id']}): "
                self.logger.info(
                    "%s%s, %s records, %s requests, %d warnings%s",
                    prefix,
                    tenant["status"],
                    f"{tenant['records']:,}",
                    f"{tenant.get('requests', 0):,}",
                    len(tenant["warnings"]),
                    f"; {tenant['error']}" if "error" in tenant else "",
                )
            for name, cell in tenant["streams"].items():
                if "skipped" in cell and not cell["skipped"].startswith("the tenant failed"):
                    reason = cell["skipped"].split(": Graph answered", 1)[0]
                    self.logger.info("%sskipped %s: %s", prefix, name, reason)
        self.logger.info("Run summary (JSON): %s", json.dumps(summary, sort_keys=True))

    def preflight(self) -> None:
        """Validate settings and get a token now (a sync does it when its first stream starts)."""
        self.run_context.client.tokens.access_token()


class WarningsPerTenant(logging.Handler):
    """Keeps the tap's warnings per tenant for the run summary: of the tap syncing, the tenant it reads.

    One handler on the tap's logger for the process; a tap becomes the syncing one when it builds its
    first tenant's run context (a weak reference: a finished tap is not kept alive).
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.tap: weakref.ref[TapMicrosoft365] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        tap = self.tap() if self.tap is not None else None
        if tap is not None and record.levelno == logging.WARNING and tap.reading_tenant:
            tap.note_warning(tap.reading_tenant, record.getMessage())


WARNINGS = WarningsPerTenant()
logging.getLogger(TapMicrosoft365.name).addHandler(WARNINGS)


def main() -> None:
    """The console script: the SDK's CLI, with every known failure as one line on stderr, exit 1.

    With several tenants, a tenant that failed makes the exit code 1 after the others were synced.
    ``--check`` (check.py) and ``--login`` (login.py) are the tap's own commands beside the SDK's.
    """
    global RECORD_RUNS
    RECORD_RUNS = True
    code: int | str | None = 0
    try:
        check_files(sys.argv[1:])
        if "--check" in sys.argv[1:]:
            from tap_microsoft365 import check

            sys.exit(check.main(sys.argv[1:]))
        if "--login" in sys.argv[1:]:
            from tap_microsoft365 import login

            login.main([a for a in sys.argv[1:] if a != "--login"])
            sys.exit(0)
        try:
            TapMicrosoft365.cli()
        except SystemExit as exc:
            code = exc.code
        finally:
            for tap in RUNS:
                tap.log_summary()
        failed = [(tap, tid) for tap in RUNS for tid in tap.failures]
        if failed and code in (0, None):
            tap = failed[0][0]
            names = ", ".join(
                e.describe() for e in tap.tenant_entries if e.tenant_id in tap.failures
            )
            tap.logger.error(
                "%d of %d tenants failed: %s. Fix: see the error line of each above; the other "
                "tenants were synced.",
                len(failed),
                len(tap.tenant_entries),
                names,
            )
            code = 1
    except TapMicrosoft365Error as exc:
        root = logging.getLogger()
        if not root.handlers:  # failed before the SDK set up its console logging
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(ConsoleFormatter())
            root.addHandler(handler)
        logging.getLogger(TapMicrosoft365.name).error("%s", exc)
        code = 1
    sys.exit(code)


__all__ = ["TapMicrosoft365", "main"]
