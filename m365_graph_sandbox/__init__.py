"""A local, faithful fake of Entra ID's token endpoint and Microsoft Graph v1.0 (see CONTRACT.md)."""

from __future__ import annotations

from .app import Sandbox, SandboxTenant
from .model import Tenant
from .model.changes import ChangeLog
from .server import DEFAULT_PERMISSIONS, FaultPlan, RequestLog

__all__ = [
    "DEFAULT_PERMISSIONS",
    "ChangeLog",
    "FaultPlan",
    "RequestLog",
    "Sandbox",
    "SandboxTenant",
    "Tenant",
]
