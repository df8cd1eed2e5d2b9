"""Parent rows remembered within one run, so a per-parent stream needs no second listing.

The pattern of ``groups`` -> ``group_members`` (streams/directory.py), written once: a parent stream
(:class:`RememberingStream`) keeps a small value per record (``remember``) while it syncs; the child asks
:func:`remembered` and gets the list only when every page of the parent was read in this run, else None
and lists the parents itself with a cheap ``$select``. No state partition per parent is created.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_microsoft365.client import GraphStream
from tap_microsoft365.schema import String

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

#: ``@odata.type`` of directoryObject members and owners -> the tap's ``member_type`` values.
MEMBER_TYPES = {
    "#microsoft.graph.user": "user",
    "#microsoft.graph.group": "group",
    "#microsoft.graph.device": "device",
    "#microsoft.graph.servicePrincipal": "servicePrincipal",
    "#microsoft.graph.orgContact": "orgContact",
}


def member_type(obj: dict) -> str | None:
    """user, group, device, servicePrincipal or orgContact from ``@odata.type``."""
    odata_type = obj.get("@odata.type", "")
    return MEMBER_TYPES.get(odata_type, odata_type.rsplit(".", 1)[-1] or None)


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


class IdsStream(GraphStream):
    """Only the ids of a collection: the parents of a per-parent stream when the parent did not run."""

    name = "_ids"
    schema = th.PropertiesList(
        th.Property("id", String), th.Property("tenant_id", String)
    ).to_dict()


def parent_ids(
    stream: GraphStream, parent: str, path: str, base: type[GraphStream] = IdsStream
) -> Iterable[str]:
    """Ids remembered by ``parent`` in this run, else a ``$select=id`` listing of ``path``.

    The listing is named after ``stream``, so a permission or licence error names the stream that
    asked for it.
    """
    ids = remembered(stream._tap, parent)
    if ids is not None:
        return list(ids)
    lister = type("_Ids", (base,), {"path": path, "name": stream.name})(tap=stream._tap)
    return (row["id"] for row in lister.request_records({"tenant_id": stream.connection.tenant_id}))
