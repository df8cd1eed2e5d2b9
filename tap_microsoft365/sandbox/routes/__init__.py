"""Route modules: each has ``register(table)``; later issues append theirs to ``MODULES``."""

from __future__ import annotations

from . import auth, batch, directory, licensing, organization, reports

MODULES = [auth, directory, licensing, organization, reports, batch]

__all__ = ["MODULES"]
