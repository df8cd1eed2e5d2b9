"""Directory collections synced with Graph delta queries: only what changed, deletions included.

Graph behaviour relied on (../shared/reference/graph.md section 2):
- a round follows ``@odata.nextLink`` until a page carries ``@odata.deltaLink``; the whole deltaLink is
  kept (its token is opaque and encodes the ``$select``) and the next round starts from it;
- delta takes ``$select`` and no ``$top``, ``$orderby`` or ``$filter`` (but by id): pages are sized by
  the server, and a domain filter is applied to the rows instead;
- a removed object comes as ``{"id", "@removed": {"reason": "changed" | "deleted"}}`` (soft-deleted and
  restorable, or permanent); the same object may come more than once in a round (replays);
- a link that expired (7 days; 400 ``syncStateNotFound``) or was reset (410 ``resyncRequired``) means a
  full round.

A full round (no link yet, an expired one, ``full_sync``) asks Graph for a link "from now"
(``$deltatoken=latest``) and then lists the collection with the plain endpoint at its documented page
size: cheaper than a delta round from scratch, whose pages Graph sizes smaller. What changes during the
listing comes again in the next delta round.

What a warehouse sees: a removed object is a record with its key, ``_sdc_deleted_at`` (the field
singer-sdk targets keep as the soft-delete marker) and ``deletion_reason``. A full round (the first, a
resync after an expired link, or ``full_sync``) also sends ACTIVATE_VERSION, so a target that supports it
removes (``hard_delete``) or marks (``_sdc_deleted_at``) every row the round did not send: objects deleted
while no link was valid. The delta link is written to the state only when a round completed, so a killed
round is redone from the previous link (at-least-once; upserts make the repeat harmless).
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

import msgspec
from singer_sdk import typing as th

from tap_microsoft365.context import ParentRows
from tap_microsoft365.graph.errors import (
    DeltaExpiredError,
    GraphSkippableError,
    MalformedAnswerError,
    UnknownPropertyError,
)
from tap_microsoft365.schema import DateTime, String
from tap_microsoft365.streams.base import MAX_DROPPED, RememberingStream, prepend

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context

DELETED_AT = "_sdc_deleted_at"
REASON = "deletion_reason"
DELETION_PROPERTIES = (
    th.Property(
        DELETED_AT,
        DateTime,
        description="When the tap saw Graph report the object removed (null while it exists)",
    ),
    th.Property(
        REASON,
        String,
        description="changed: soft-deleted (restorable); deleted: permanently deleted",
    ),
)
_encode = msgspec.json.encode


@dataclass
class Round:
    """The plan of this run's delta round: full or from the saved link (first page already read)."""

    full: bool
    why: str
    pages: Iterator[dict] | None = None


class DeltaStream(RememberingStream):
    """A directory collection read through ``<collection>/delta`` (see the module docstring)."""

    #: The delta function, e.g. ``/users/delta``.
    delta_path: t.ClassVar[str]
    tap_fields: t.ClassVar[tuple[str, ...]] = ("tenant_id", DELETED_AT, REASON)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._round: Round | None = None
        self._round_tenant = ""

    # -- the round -------------------------------------------------------------------------------

    def delta_state(self) -> dict:
        """The state of the tenant being read, where its ``delta_link`` lives."""
        return self.get_context_state({"tenant_id": self.run.tenant_id})

    def round_plan(self) -> Round:
        """Full or incremental, decided once per run and tenant; an expired link is found here.

        Only a full round may be followed by ACTIVATE_VERSION (an incremental one sends only what
        changed): the stream's outcome for the tenant says which it was.
        """
        if self._round is not None and self._round_tenant == self.run.tenant_id:
            return self._round
        self._round_tenant = self.run.tenant_id
        self._round = None
        self._round = self._plan()
        return self._round

    def _plan(self) -> Round:
        """The round for the tenant being read (see :meth:`round_plan`)."""
        link = self.delta_state().get("delta_link")
        if self.config.get("full_sync"):
            return Round(True, "full_sync is set")
        if link is None:
            return Round(True, "no delta link in the state (first run)")
        if not isinstance(link, str) or not link.startswith("https:"):
            self.logger.warning(
                "Stream '%s': the state's delta_link is not a Graph URL; reading everything again. "
                "Fix: none needed (a full round writes a new one).",
                self.name,
            )
            return Round(True, "the state's delta_link was not a URL")
        pages = self.client.pages(link, stream=self.name, ahead=True)
        try:
            first = next(pages)
        except GraphSkippableError:
            return Round(False, "refused")  # the read reports the skip
        except DeltaExpiredError as exc:
            self.logger.warning(
                "%s Reading everything again (a full round); rows of objects deleted meanwhile "
                "are removed through ACTIVATE_VERSION. Fix: none needed; run at least weekly to "
                "keep links valid (Graph keeps them 7 days).",
                exc,
            )
            return Round(True, "the saved delta link expired")
        return Round(False, "from the saved delta link", prepend(first, pages))

    def delta_params(self) -> dict[str, t.Any]:
        """Only ``$select``: delta takes no ``$top``, ``$filter`` or ``$count`` (graph.md 2)."""
        return {"$select": ",".join(self.select_fields)} if self.supports_select else {}

    def latest_link(self) -> str:
        """A delta link for "from now on", asked before a full listing (``$deltatoken=latest``).

        Graph answers ``$deltatoken=latest`` with no data and a deltaLink (graph.md 2). Taken before
        the listing starts, it also catches what changes while the listing runs (read again next run).
        """
        for _ in range(MAX_DROPPED + 1):
            try:
                page = self.client.get(
                    self.delta_path,
                    stream=self.name,
                    params={**self.delta_params(), "$deltatoken": "latest"},
                )
                break
            except UnknownPropertyError as exc:
                if exc.prop not in self.select_fields:
                    raise
                self.drop_property(exc.prop, str(exc))
        else:
            raise AssertionError("unreachable: more unknown properties than MAX_DROPPED")
        link = page.get("@odata.deltaLink")
        if not isinstance(link, str):
            raise MalformedAnswerError(
                f"Stream '{self.name}': Graph answered $deltatoken=latest for GET {self.delta_path} "
                "without an @odata.deltaLink. Fix: run again; if it persists, report it to "
                "Microsoft support."
            )
        return self.client.check_graph_url(link, self.name, "@odata.deltaLink")

    def full_rows(self, context: Context | None) -> Iterable[dict]:
        """Every object, by the plain listing: documented maximum ``$top``, ``$select``, filters.

        Cheaper than a delta round from scratch (which Graph serves in smaller pages, graph.md 2).
        """
        for page in self.pages(context):
            yield from self.rows(page)

    # -- rows ------------------------------------------------------------------------------------

    def in_scope(self, row: dict) -> bool:
        """Whether a (not removed) row belongs in the sync; streams with a scope filter override."""
        return True

    def delta_rows(self, item: dict, deleted_at: str) -> Iterable[dict]:
        """The records of one delta item: the object, or its removal."""
        removed = item.get("@removed")
        if isinstance(removed, dict):
            yield {"id": item["id"], DELETED_AT: deleted_at, REASON: removed.get("reason")}
            return
        item.pop("@odata.type", None)
        for row in self.rows({"value": [item]}):
            if self.in_scope(row):
                yield row

    def row_key(self, row: dict) -> int:
        """Identity of a row within a round (its primary key)."""
        return hash(tuple(row.get(k) for k in self.primary_keys))

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """A full round (latest link, then the listing) or a delta round from the saved link."""
        plan = self.round_plan()
        self.run.parents.pop(self.name, None)
        if plan.why == "refused":
            plan = self._round = Round(True, "the saved link was refused")
        self._outcome.full = plan.full or plan.pages is None
        if plan.full or plan.pages is None:
            streams = self.run_source.streams
            entry: ParentRows | None = None
            if any(streams[n].selected for n in self.remembered_for if n in streams):
                entry = self.run.parents[self.name] = ParentRows()
            link = self.latest_link()
            tenant_id = self.run.tenant_id
            for row in self.full_rows(context):
                if self.in_scope(row):
                    row["tenant_id"] = tenant_id
                    yield row
            self.delta_state()["delta_link"] = link
            if entry is not None:
                entry.complete = True
            return
        pages, plan.pages = plan.pages, None
        yield from self.delta_round(pages)

    def delta_round(self, pages: Iterator[dict]) -> Iterator[dict]:
        """The changes since the saved link; repeated objects sent again only when they changed."""
        tenant_id = self.run.tenant_id
        deleted_at = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        sent: dict[int, int] = {}
        link: str | None = None
        try:
            for page in pages:
                for item in page["value"]:
                    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                        continue
                    for row in self.delta_rows(item, deleted_at):
                        row["tenant_id"] = tenant_id
                        key, content = self.row_key(row), hash(_encode(row))
                        if sent.get(key) == content:
                            continue
                        sent[key] = content
                        yield row
                found = page.get("@odata.deltaLink")
                if isinstance(found, str):
                    link = found
        except DeltaExpiredError as exc:
            # expired in the middle of a round: the next run does a full round
            self.delta_state().pop("delta_link", None)
            self.logger.warning("%s The next run reads everything again.", exc)
            return
        if link is None:
            raise MalformedAnswerError(
                f"Stream '{self.name}': Graph's delta round ended without an @odata.deltaLink. Fix: "
                "run again; if it persists, report it to Microsoft support."
            )
        self.delta_state()["delta_link"] = self.client.check_graph_url(
            link, self.name, "@odata.deltaLink"
        )

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Existing objects: scoped and remembered for child streams; removals always go out."""
        if row.get(DELETED_AT) is None:
            return super().post_process(row, context)
        return row
