"""Route modules: each has ``register(table)``; later issues append theirs to ``MODULES``.

``delta`` comes before ``directory`` so ``/users/delta`` is not read as ``/users/{id}``.
"""

from __future__ import annotations

from . import (
    apps,
    audit,
    auth,
    batch,
    breadth,
    delegated,
    delta,
    devices,
    directory,
    licensing,
    organization,
    reports,
)

MODULES = [
    auth,
    delegated,
    delta,
    directory,
    licensing,
    organization,
    devices,
    apps,
    breadth,
    reports,
    audit,
    batch,
]

__all__ = ["MODULES"]
