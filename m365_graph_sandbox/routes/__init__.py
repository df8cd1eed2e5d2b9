"""Route modules: each has ``register(table)``; later issues append theirs to ``MODULES``."""

from __future__ import annotations

from . import apps, audit, auth, batch, devices, directory, licensing, organization, reports

MODULES = [auth, directory, licensing, organization, devices, apps, reports, audit, batch]

__all__ = ["MODULES"]
