"""Parent rows remembered within one run, so a per-parent stream needs no second listing.

The pattern of ``groups`` -> ``group_members`` (streams/directory.py), written once: a parent stream
(:class:`RememberingStream`) keeps a small value per record (``remember``) while it syncs; the child asks
:func:`remembered` and gets the list only when every page of the parent was read in this run, else None
and lists the parents itself with a cheap ``$select``. No state partition per parent is created.
"""

from __future__ import annotations

import typing as t

from tap_microsoft365.client import GraphStream

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context


def _store(tap: t.Any) -> dict[str, t.Any]:
    store = getattr(tap, "remembered_rows", None)
    if store is None:
        store = tap.remembered_rows = {}
    return store


def remembered(tap: t.Any, stream_name: str) -> list | None:
    """What ``stream_name`` remembered in this run, when it read every page; else None."""
    entry = _store(tap).get(stream_name)
    return entry[1] if entry is not None and entry[0] else None


class RememberingStream(GraphStream):
    """A parent stream that remembers ``remember(row)`` of each record it emits.

    Only while one of ``remembered_for`` (the child streams) is selected, so an unselected child
    costs no memory.
    """

    #: The streams that read what this stream remembers.
    remembered_for: t.ClassVar[tuple[str, ...]] = ()

    def remember(self, row: dict) -> t.Any:
        """The value kept per record (the id by default)."""
        return row["id"]

    def post_process(self, row: dict, context: Context | None = None) -> dict:
        """Keep the row's value for the child streams."""
        entry = _store(self._tap).get(self.name)
        if entry is not None:
            entry[1].append(self.remember(row))
        return row

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Records; the kept list counts as complete only when every page was read."""
        store = _store(self._tap)
        store.pop(self.name, None)
        streams = self._tap.streams
        if not any(streams[n].selected for n in self.remembered_for if n in streams):
            yield from super().graph_records(context)
            return
        entry = store[self.name] = [False, []]
        yield from super().graph_records(context)
        entry[0] = True
