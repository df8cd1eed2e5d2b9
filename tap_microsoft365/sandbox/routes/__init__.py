"""Route modules: each has ``register(table)``; later issues append theirs to ``MODULES``."""

from __future__ import annotations

from . import audit, auth, batch, directory, licensing, organization

MODULES = [auth, directory, licensing, organization, audit, batch]

__all__ = ["MODULES"]
