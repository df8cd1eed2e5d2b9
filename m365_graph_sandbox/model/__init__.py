"""The synthetic tenant: one module per area, each with ``build(tenant)`` and optionally ``finalize(tenant)``.

Later issues add areas (devices, Intune, apps, roles, audit logs, reports) by appending a module to
``AREAS``; each area draws from its own seeded ``random.Random`` so adding one never changes the others.
"""

from __future__ import annotations

from . import apps, audit, breadth, changes, devices, directory, licensing, organization, reports
from .tenant import Tenant

#: Build order matters: organization makes the domains users live in; licensing assigns SKUs to users.
AREAS = [organization, directory, licensing, devices, apps, reports, audit, breadth, changes]

__all__ = ["AREAS", "Tenant"]
