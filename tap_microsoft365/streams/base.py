"""Stream bases: streams declare what to read; the Graph client does the HTTP.

- :class:`GraphStream`: one Graph collection, paged with the cheapest query: ``$select`` of exactly the
  schema's Graph properties and the endpoint's documented maximum ``$top`` (graph.md 1), only the query
  options the endpoint documents.
- :class:`RememberingStream`: a parent that keeps a small value per record for its child streams, so a
  child needs no second listing in the same run.
- :class:`BatchedChildStream`: a per-parent collection (``/groups/{id}/members`` ...) read 20 parents per
  ``$batch`` (graph.md 5); parents from the run context or, when the parent did not run, one listing.
"""

from __future__ import annotations

import logging
import sys
import time
import typing as t
from dataclasses import dataclass
from functools import cached_property

from singer_sdk import Stream
from singer_sdk.exceptions import AbortedSyncExceptionBase, RequestedAbortException
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib.catalog import Metadata

from tap_microsoft365.context import ParentRows
from tap_microsoft365.graph.client import CALL_KEY
from tap_microsoft365.graph.errors import (
    GraphSkippableError,
    MalformedAnswerError,
    PermissionMissingError,
    TapMicrosoft365Error,
    UnknownPropertyError,
)
from tap_microsoft365.permissions import DELEGATED_ROLE_NOTE
from tap_microsoft365.sdk_private import set_record_version, write_activate_version

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_microsoft365.context import RunContext
    from tap_microsoft365.graph.client import GraphClient
    from tap_microsoft365.graph.pacing import Pacer
    from tap_microsoft365.tenants import TenantEntry

#: ``@odata.type`` of directoryObject members and owners -> the tap's ``member_type`` values.
MEMBER_TYPES = {
    "#microsoft.graph.user": "user",
    "#microsoft.graph.group": "group",
    "#microsoft.graph.device": "device",
    "#microsoft.graph.servicePrincipal": "servicePrincipal",
    "#microsoft.graph.orgContact": "orgContact",
}
#: Unknown-property retries per listing (each drops one property for the run).
MAX_DROPPED = 10
#: A progress line at most every this many seconds, checked every this many records.
PROGRESS_SECONDS = 15.0
PROGRESS_EVERY = 500


def _known_failure_logged_once(record: logging.LogRecord) -> bool:
    """Drop singer-sdk's cause-less "An unhandled error occurred" line where it misleads.

    The CLI prints the tap's failures as one line with the cause (tap.main); other failures keep it.
    """
    if record.levelno >= logging.ERROR and str(record.msg).startswith("An unhandled error occurred"):
        # the tap's own failures (one line from the CLI), and the SDK's --test record limit, which is
        # how a dry run ends a stream that worked, not an error
        return not isinstance(
            sys.exc_info()[1], TapMicrosoft365Error | RequestedAbortException | AbortedSyncExceptionBase
        )
    return True


def member_type(obj: dict) -> str | None:
    """user, group, device, servicePrincipal or orgContact from ``@odata.type``."""
    odata_type = obj.get("@odata.type", "")
    return MEMBER_TYPES.get(odata_type, odata_type.rsplit(".", 1)[-1] or None)


class RunSource(t.Protocol):
    """What a stream needs of its tap: the tenants, their run contexts and the other streams."""

    @property
    def tenant_entries(self) -> list[TenantEntry]: ...

    def run_context_for(self, tenant_id: str) -> RunContext: ...

    def tenant_failure(self, tenant_id: str) -> str | None: ...

    def fail_tenant(self, tenant_id: str, stream: str, exc: TapMicrosoft365Error) -> None: ...

    @property
    def streams(self) -> dict[str, Stream]: ...

    def has_run_context(self) -> bool: ...

    @property
    def initialized_at(self) -> int: ...

    reading_tenant: str


@dataclass
class Outcome:
    """What one stream did for one tenant: the run summary's cell, and whether rows may be retired."""

    records: int = 0
    requests: int = 0
    seconds: float = 0.0
    skipped: str = ""
    failed: str = ""
    #: every page was read (no skip, no failure)
    complete: bool = False
    #: the read sends every object, not only changes (a delta round is not full)
    full: bool = True


class GraphStream(Stream):
    """Base of every stream: a Graph collection read page by page with the cheapest query."""

    #: Every key starts with ``tenant_id`` (added to each class's declared key): unique across tenants.
    primary_keys: t.ClassVar[tuple[str, ...]] = ("tenant_id", "id")
    #: The collection, relative to the v1.0 root.
    path: t.ClassVar[str] = ""
    #: Documented maximum ``$top`` of the endpoint; None when it documents no ``$top``.
    max_page_size: t.ClassVar[int | None] = 999
    #: False for endpoints that document no ``$select`` (e.g. directoryRoles, domains, audit logs).
    supports_select: t.ClassVar[bool] = True
    #: Fields the tap adds; never sent in ``$select``.
    tap_fields: t.ClassVar[tuple[str, ...]] = ("tenant_id",)
    #: Graph's JSON already has the schema's types (strings for date-times, ints, bools, lists, objects),
    #: so the SDK's per-value conformance (two thirds of its per-record time) is skipped; the one thing it
    #: did that matters, dropping keys the schema lacks, is done per record in :meth:`rows`.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        """A declared key (``("group_id", "member_id")``) becomes ``("tenant_id", ...)``."""
        super().__init_subclass__(**kwargs)
        keys = cls.__dict__.get("primary_keys")
        if keys is not None and tuple(keys[:1]) != ("tenant_id",):
            cls.primary_keys = ("tenant_id", *(k for k in keys if k != "tenant_id"))

    def __init__(self, tap: Tap) -> None:
        super().__init__(tap=tap)
        self.run_source = t.cast("RunSource", tap)
        self._catalog_selected: bool | None = None
        self.tenant_id = ""  # the tenant partition being read
        #: share of the tenant's read done, where the stream knows it (parents, time windows): an ETA
        self.fraction_done: float | None = None
        self.outcomes: dict[str, Outcome] = {}  # per tenant, for the run summary
        self._outcome = Outcome()
        self.emitted = 0  # records sent (after the scope), for progress lines and the run summary
        self._progress_at = 0.0
        self._progress_start = 0.0
        self.logger.addFilter(_known_failure_logged_once)

    # -- wiring ----------------------------------------------------------------------------------

    @property
    def run(self) -> RunContext:
        """The run context of the tenant being read (client, parent rows, lookups)."""
        tenant_id = self.tenant_id or self.run_source.tenant_entries[0].tenant_id
        return self.run_source.run_context_for(tenant_id)

    @property
    def client(self) -> GraphClient:
        """The Graph client of the tenant being read."""
        return self.run.client

    @property
    def partitions(self) -> list[dict] | None:
        """Every stream is partitioned by tenant: state, bookmarks and delta links per tenant."""
        return [{"tenant_id": entry.tenant_id} for entry in self.run_source.tenant_entries]

    def for_tenant(self, context: Context | None) -> None:
        """Read the tenant ``context`` names from now on (a child asks its parent to list for it)."""
        tenant_id = (context or {}).get("tenant_id")
        if tenant_id:
            self.tenant_id = str(tenant_id)

    def apply_catalog(self, catalog: t.Any) -> None:
        """Remember what the catalog selected (the SDK's dry run later forces every stream on)."""
        super().apply_catalog(catalog)
        # keys cannot be deselected: a record without its key cannot be upserted (Singer spec:
        # key properties have automatic inclusion)
        for key in (*self.primary_keys, *([self.replication_key] if self.replication_key else [])):
            md = self.metadata.get(("properties", key))
            if md is not None:
                md.inclusion = Metadata.InclusionType.AUTOMATIC
        entry = catalog.get_stream(self.name)
        root = entry.metadata.get(()) if entry is not None else None
        self._catalog_selected = bool(
            root is not None and (root.selected or (root.selected is None and root.selected_by_default))
        )

    @property
    def selected_in_catalog(self) -> bool:
        """Selected by the input catalog, or by default when there is none."""
        if self._catalog_selected is None:
            return self.selected_by_default
        return self._catalog_selected

    # -- the query -------------------------------------------------------------------------------

    @property
    def select_fields(self) -> list[str]:
        """The schema's Graph properties, less those this tenant's Graph does not know."""
        dropped = self.run.dropped.get(self.name, ()) if self.run_source.has_run_context() else ()
        return [
            name
            for name in self.schema["properties"]
            if name not in self.tap_fields and name not in dropped
        ]

    @property
    def page_size(self) -> int | None:
        """The documented maximum, or the page_size setting when it is smaller."""
        if self.max_page_size is None:
            return None
        cap = self.config.get("page_size")
        return min(self.max_page_size, int(cap)) if cap else self.max_page_size

    def query_params(self, context: Context | None) -> dict[str, t.Any]:
        """Extra OData options of the first request (``$filter``, ``$count``, ``$expand``)."""
        return {}

    def request_headers(self) -> dict[str, str]:
        """Headers of every page (``ConsistencyLevel`` for advanced queries, resent per page)."""
        return {}

    def first_params(self, context: Context | None) -> dict[str, t.Any]:
        """``$select`` and ``$top`` and the stream's options; nextLinks carry them afterwards."""
        params: dict[str, t.Any] = {}
        if self.supports_select:
            params["$select"] = ",".join(self.select_fields)
        if self.page_size:
            params["$top"] = self.page_size
        params.update(self.query_params(context))
        return params

    def pacer(self) -> Pacer | None:
        """The throttling scope's pacer, when the endpoint has a low documented limit."""
        return None

    # -- the run's user and group scope (scope.py) -------------------------------------------------

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """The user ids a record names (members, owners, holders, actors): all must be in scope."""
        return ()

    def group_refs(self, row: dict) -> Iterable[t.Any]:
        """The group ids a record names."""
        return ()

    def scoped(self, row: dict) -> dict | None:
        """The record, or None when it names a user or group outside the run's scope."""
        scope = self.run.scope
        if not (scope.filters_users or scope.filters_groups):
            return row
        index = self.run.scope_index(self.name)
        if any(not index.user(u) for u in self.user_refs(row) if u):
            return None
        if any(not index.group(g) for g in self.group_refs(row) if g):
            return None
        return row

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """singer-sdk's per-record hook: records outside the run's scope are dropped; progress."""
        kept = self.scoped(row)
        if kept is not None:
            self.emitted += 1
            self._outcome.records += 1
            if not self.emitted % PROGRESS_EVERY:
                self.progress()
        return kept

    def progress(self) -> None:
        """A line every ``PROGRESS_SECONDS`` while a stream runs long: records so far and the rate."""
        now = time.monotonic()
        if now - self._progress_at < PROGRESS_SECONDS:
            return
        self._progress_at = now
        seconds = now - self._progress_start
        done = self.fraction_done
        eta = ""
        if done is not None and 0 < done < 1 and seconds:
            eta = f", {done:.0%} done, about {seconds * (1 - done) / done:,.0f} s left"
        self.logger.info(
            "Stream '%s'%s: %s records so far in %.0f s (%s records/s%s)",
            self.name,
            self.tenant_words(),
            f"{self.emitted:,}",
            seconds,
            f"{self.emitted / seconds:,.0f}" if seconds else "-",
            eta,
        )

    # -- reading ---------------------------------------------------------------------------------

    def pages(self, context: Context | None, path: str | None = None) -> Iterator[dict]:
        """The collection's pages; a ``$select`` property Graph does not know is dropped once.

        Graph answers 400 "Could not find a property named 'X'" for a property its cloud or version
        lacks (graph.md 10): the property is left out for this run with one warning, and the first page
        asked again. The stream's own ``path`` unless another is given.
        """
        for _ in range(MAX_DROPPED + 1):
            started = False
            try:
                for page in self.collection(
                    path or self.path, self.first_params(context), self.name, self.request_headers()
                ):
                    started = True
                    yield page
                return
            except UnknownPropertyError as exc:
                if started or exc.prop not in self.select_fields:
                    raise
                self.drop_property(exc.prop, str(exc))
        raise AssertionError("unreachable: more unknown properties than MAX_DROPPED")

    def collection(
        self, path: str, params: dict[str, t.Any], stream: str, headers: dict[str, str]
    ) -> Iterator[dict]:
        """Pages of ``path`` with this stream's pacing; errors reported under ``stream``."""
        return self.client.pages(
            path, stream=stream, params=params, headers=headers or None, pace=self.pacer(), ahead=True
        )

    def drop_property(self, prop: str, why: str) -> None:
        """Leave ``prop`` out of this stream's ``$select`` for the run, with one warning."""
        self.run.dropped.setdefault(self.name, set()).add(prop)
        self.logger.warning(
            "%s Synced without it for this run (it is null in the records). Fix: none needed; it "
            "appears once the tenant's Graph offers it.",
            why,
        )

    def rows(self, page: dict) -> Iterable[dict]:
        """The page's ``value`` items, tagged with the tenant; keys outside the schema dropped.

        With ``$select`` Graph returns exactly the selected properties (null ones included), so the
        key check is a length comparison for almost every record.
        """
        tenant_id = self.run.tenant_id
        keys = self.schema["properties"]
        expected = len(self.select_fields) if self.supports_select else -1
        needs_id = "id" in keys
        checks = self.type_checks
        for item in page["value"]:
            if not isinstance(item, dict) or (needs_id and not isinstance(item.get("id"), str)):
                raise MalformedAnswerError(
                    f"Stream '{self.name}': Graph sent a record without its id (the primary key) "
                    f"in the answer to {page.get(CALL_KEY, 'a request')}. Fix: run again; if it "
                    "persists, report the request-id to Microsoft support."
                )
            if len(item) != expected:
                for key in [k for k in item if k not in keys]:
                    del item[key]
            for key, kinds in checks:
                value = item.get(key)
                if value is not None and not isinstance(value, kinds):
                    self.wrong_type(key, item, page)
            item["tenant_id"] = tenant_id
            yield item

    @cached_property
    def type_checks(self) -> tuple[tuple[str, tuple[type, ...]], ...]:
        """(property, Python types) of the schema's top-level properties, for a cheap type check."""
        python = {
            "string": (str,),
            "boolean": (bool,),
            "integer": (int,),
            "number": (int, float),
            "array": (list,),
            "object": (dict,),
        }
        checks = []
        for name, spec in self.schema["properties"].items():
            kinds = [k for k in spec.get("type", []) if k != "null"]
            if len(kinds) == 1 and kinds[0] in python and name not in self.tap_fields:
                checks.append((name, python[kinds[0]]))
        return tuple(checks)

    def wrong_type(self, key: str, item: dict, page: dict) -> None:
        """A value of the wrong type is dropped (null), with one warning per stream and property.

        Targets validate records against the schema; one bad value must not fail a whole load.
        """
        got = type(item[key]).__name__
        item[key] = None
        if self.run.warn_once(f"type:{self.name}:{key}"):
            self.logger.warning(
                "Stream '%s': Graph sent %s as a %s for record id %s (answer to %s); the value is "
                "dropped (null) and later ones are dropped without a warning. Fix: report the "
                "request-id to Microsoft support.",
                self.name,
                key,
                got,
                str(item.get("id"))[:36],
                page.get(CALL_KEY, "a request"),
            )

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """The stream's records; overridden by streams that are not one paged collection."""
        for page in self.pages(context):
            yield from self.rows(page)

    def readable_records(self, context: Context | None) -> Iterator[dict]:
        """One tenant's records; none, with one warning, when it lacks a permission, licence or feature.

        A failure of the tenant (its credential, consent, throttling, a malformed answer) ends this
        tenant's part of the run and, with several tenants, not the others' (``fail_tenant``).
        """
        self.for_tenant(context)
        tenant_id = self.tenant_id = self.tenant_id or self.run_source.tenant_entries[0].tenant_id
        self.run_source.reading_tenant = tenant_id
        outcome = self._outcome = self.outcomes[tenant_id] = Outcome()
        self.fraction_done = None
        failure = self.run_source.tenant_failure(tenant_id)
        if failure is not None:
            outcome.skipped = "the tenant failed earlier in this run"
            return
        self._progress_start = self._progress_at = started = time.monotonic()
        sent_before = self.client.requests_sent if self.run_source.has_run_context() else 0
        try:
            yield from self.graph_records(context)
            outcome.complete = True
        except GraphSkippableError as exc:
            if self.config.get("strict_permissions"):
                outcome.failed = str(exc)
                self.run_source.fail_tenant(tenant_id, self.name, exc)
                return
            outcome.skipped = str(exc) + self.delegated_hint(exc)
            self.logger.warning(
                "Skipping stream '%s'%s: %s", self.name, self.tenant_words(), outcome.skipped
            )
        except TapMicrosoft365Error as exc:
            outcome.failed = str(exc)
            self.run_source.fail_tenant(tenant_id, self.name, exc)
        finally:
            outcome.seconds = time.monotonic() - started
            if self.run_source.has_run_context():
                outcome.requests = self.client.requests_sent - sent_before
        if outcome.complete:
            # the stream's name with its figures: Meltano shows singer-sdk's METRIC lines without it
            self.logger.info(
                "Stream '%s'%s done: %s records, %s Graph requests, %.1f s",
                self.name,
                self.tenant_words(),
                f"{outcome.records:,}",
                f"{outcome.requests:,}",
                outcome.seconds,
            )

    #: Graph areas a delegated token reads only when the signed-in user holds an Entra role (graph.md 8).
    ROLE_PATHS: t.ClassVar[tuple[str, ...]] = ("/reports/", "/auditLogs/")

    def delegated_hint(self, exc: Exception) -> str:
        """What a refusal means in a delegated connection: a scope not consented, or a missing role."""
        if not (self.run.delegated and isinstance(exc, PermissionMissingError)):
            return ""
        hint = (
            " In this delegated connection: the sign-in must include the delegated permission "
            "(run tap-microsoft365-login again with this stream selected)"
        )
        if self.path.startswith(self.ROLE_PATHS):
            hint += f", and {DELEGATED_ROLE_NOTE}"
        return hint + "."

    def tenant_words(self) -> str:
        """`` for tenant 'label' (id)`` when the run has several tenants, else nothing."""
        entries = self.run_source.tenant_entries
        if len(entries) < 2:
            return ""
        entry = next((e for e in entries if e.tenant_id == self.tenant_id), None)
        return f" for {entry.describe()}" if entry is not None else ""

    @property
    def skipped(self) -> bool:
        """Skipped (permission, licence, cloud) for every tenant it was read for."""
        return bool(self.outcomes) and all(o.skipped for o in self.outcomes.values())

    @property
    def skip_reason(self) -> str:
        """The first tenant's skip reason."""
        return next((o.skipped for o in self.outcomes.values() if o.skipped), "")

    #: False where a common target cannot process ACTIVATE_VERSION for this table (see below).
    activate_version: t.ClassVar[bool] = True

    @property
    def emit_activate_version_messages(self) -> bool:
        """Never at the start, as singer-sdk would: the tap sends ACTIVATE_VERSION at the end.

        A target that gets ACTIVATE_VERSION marks or deletes every row of the table the stream did not
        send with that version. Sent before the records (the SDK's way), a read that then fails or is
        skipped, or a tenant that fails, would lose rows; sent after the last tenant (see
        :meth:`get_records`), it goes only when every tenant's read was complete and full.
        """
        return False

    @property
    def retires_rows(self) -> bool:
        """Whether this stream may send ACTIVATE_VERSION at all (full-table, setting on)."""
        return (
            self.activate_version
            and self.replication_method == "FULL_TABLE"
            and bool(self.config.get("emit_activate_version_messages", True))
        )

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """The tenant's records; after the last tenant, ACTIVATE_VERSION if every read was full."""
        partitions = self.partitions or [{}]
        first, last = context == partitions[0], context == partitions[-1]
        version = self.run_source.initialized_at // 1000  # as singer-sdk numbers versions
        if first and self.retires_rows:
            set_record_version(self, version)
        yield from self.readable_records(context)
        if last and self.retires_rows and self.selected:
            done = [self.outcomes.get(p["tenant_id"]) for p in partitions if "tenant_id" in p]
            if done and all(o is not None and o.complete and o.full for o in done):
                write_activate_version(self, version)

def prepend(first: dict, rest: Iterator[dict]) -> Iterator[dict]:
    """``first``, then the rest of an iterator already started."""
    yield first
    yield from rest


class RememberingStream(GraphStream):
    """A parent stream that remembers ``remember(row)`` of each record it emits.

    Only while one of ``remembered_for`` (the child streams) is selected, so an unselected child
    costs no memory.
    """

    #: The streams that read what this stream remembers.
    remembered_for: t.ClassVar[tuple[str, ...]] = ()
    #: The Graph properties :meth:`remember` reads (the ``$select`` of a listing by a child).
    remember_fields: t.ClassVar[tuple[str, ...]] = ("id",)

    def remember(self, row: dict) -> t.Any:
        """The value kept per record (the id by default)."""
        return row["id"]

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Keep the row's value for the child streams (in-scope rows only)."""
        kept = super().post_process(row, context)
        if kept is None:
            return None
        entry = self.run.parents.get(self.name)
        if entry is not None and not entry.complete:
            entry.rows.append(self.remember(kept))
        return kept

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Records; the kept list counts as complete only when every page was read."""
        self.run.parents.pop(self.name, None)
        streams = self.run_source.streams
        if not any(streams[n].selected for n in self.remembered_for if n in streams):
            yield from super().graph_records(context)
            return
        entry = self.run.parents[self.name] = ParentRows()
        yield from super().graph_records(context)
        entry.complete = True

    def listing_for(self, child: str, context: Context | None) -> Iterator[t.Any]:
        """The remembered values by a cheap listing (``$select`` of ``remember_fields`` only).

        Errors are reported under ``child``, the stream that needed the listing; the tenant is the
        one ``context`` names (the child's).
        """
        self.for_tenant(context)
        params: dict[str, t.Any] = {}
        if self.supports_select:
            params["$select"] = ",".join(self.remember_fields)
        if self.page_size:
            params["$top"] = self.page_size
        params.update(self.query_params(context))
        for page in self.collection(self.path, params, child, self.request_headers()):
            for row in page["value"]:
                if isinstance(row, dict) and "id" in row:
                    yield self.remember(row)


class BatchedChildStream(GraphStream):
    """A collection per parent object, 20 parents per ``$batch`` POST (graph.md 5).

    Declare ``parent`` (the parent stream's name), ``child_path`` (with ``{id}``), ``child_select``
    (the inner ``$select``; None: the endpoint takes none), ``max_page_size`` (the inner ``$top``; None:
    the endpoint documents none) and the row: ``parent_field`` (the parent's id), ``child_field`` (the
    child's id), ``type_field`` (``member_type`` from ``@odata.type``, or None) and ``copied`` (Graph
    properties kept as they are); or override :meth:`child_row`.
    """

    parent: t.ClassVar[str]
    child_path: t.ClassVar[str]
    child_select: t.ClassVar[str | None] = None
    parent_field: t.ClassVar[str] = "parent_id"
    child_field: t.ClassVar[str] = "id"
    type_field: t.ClassVar[str | None] = None
    copied: t.ClassVar[tuple[str, ...]] = ()

    def parent_values(self, context: Context | None) -> Iterable[t.Any]:
        """What the parent remembered in this run, else one listing of the parent collection."""
        remembered = self.run.remembered(self.parent)
        if remembered is not None:
            return list(remembered)
        parent = self.run_source.streams[self.parent]
        if not isinstance(parent, RememberingStream):
            raise TypeError(f"{self.parent} is not a RememberingStream")
        return parent.listing_for(self.name, context)

    @staticmethod
    def parent_id(value: t.Any) -> str:
        """The parent's id from its remembered value (an id, or a tuple that starts with it)."""
        return value if isinstance(value, str) else value[0]

    def child_url(self, parent_id: str) -> str:
        """The relative inner URL for one parent."""
        url = self.child_path.format(id=parent_id)
        options = []
        if self.child_select:
            options.append(f"$select={self.child_select}")
        if self.page_size:
            options.append(f"$top={self.page_size}")
        return f"{url}?{'&'.join(options)}" if options else url

    def child_row(self, parent: t.Any, item: dict) -> dict | None:
        """The record of one child item of ``parent`` (its remembered value)."""
        row = {self.parent_field: self.parent_id(parent), self.child_field: item["id"]}
        if self.type_field:
            row[self.type_field] = member_type(item)
        for name in self.copied:
            row[name] = item.get(name)
        return row

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Children of every parent, 20 parents per ``$batch``."""
        tenant_id = self.run.tenant_id
        parents = self.parent_values(context)
        total = len(parents) if isinstance(parents, list) else 0
        requests_ = ((value, self.child_url(self.parent_id(value))) for value in parents)
        done, last = 0, None
        for parent, page in self.client.batch(requests_, stream=self.name):
            if total and parent is not last:  # a parent's later pages may come after others'
                done, last = done + 1, parent
                self.fraction_done = min(done / total, 0.99)
            for item in page["value"]:
                if not isinstance(item, dict) or "id" not in item:
                    continue
                row = self.child_row(parent, item)
                if row is not None:
                    row["tenant_id"] = tenant_id
                    yield row
