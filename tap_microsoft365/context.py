"""What one tenant's streams share during a run: its Graph client and what earlier streams learned.

One ``RunContext`` per tenant (design.md "Data flow"); streams read it, they never store run state on the
Tap. It holds small things only: parent rows a child stream reuses (ids, or id + a small map), the answers
of auxiliary lookups made once per run, and the ``$select`` properties this tenant's Graph does not know.
"""

from __future__ import annotations

import threading
import typing as t
from dataclasses import dataclass, field

from tap_microsoft365.scope import Scope, ScopeIndex, compute_index

if t.TYPE_CHECKING:
    from tap_microsoft365.graph.client import GraphClient


@dataclass
class ParentRows:
    """What a parent stream remembered of each record; ``complete`` once every page was read."""

    rows: list[t.Any] = field(default_factory=list)
    complete: bool = False


@dataclass
class RunContext:
    """One tenant's run: the client, reusable parent rows, once-per-run lookups, dropped properties."""

    tenant_id: str
    client: GraphClient
    parents: dict[str, ParentRows] = field(default_factory=dict)
    lookups: dict[str, t.Any] = field(default_factory=dict)
    dropped: dict[str, set[str]] = field(default_factory=dict)
    warned: set[str] = field(default_factory=set)
    scope: Scope = field(default_factory=Scope)
    label: str = ""
    delegated: bool = False
    _index: ScopeIndex | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def scope_index(self, stream: str) -> ScopeIndex:
        """The run's in-scope users and groups, read once (errors reported under ``stream``)."""
        if self._index is None:
            if self.scope.filters_users or self.scope.filters_groups:
                self._index = compute_index(self.scope, self.client, stream)
            else:
                self._index = ScopeIndex()
        return self._index

    def remembered(self, stream: str) -> list[t.Any] | None:
        """What ``stream`` remembered in this run if it read every page, else None."""
        entry = self.parents.get(stream)
        return entry.rows if entry is not None and entry.complete else None

    def warn_once(self, key: str) -> bool:
        """True the first time ``key`` is seen in this run (one warning per cause)."""
        with self._lock:
            if key in self.warned:
                return False
            self.warned.add(key)
            return True
