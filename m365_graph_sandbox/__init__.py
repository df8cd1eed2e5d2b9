"""A local, faithful fake of Entra ID's token endpoint and Microsoft Graph v1.0 (see CONTRACT.md)."""

from __future__ import annotations

from .app import Sandbox, SandboxTenant
from .model import Tenant
from .model.changes import ChangeLog
from .routes.delegated import PUBLIC_CLIENT_ID
from .server import DEFAULT_PERMISSIONS, FaultPlan, RequestLog

__all__ = [
    "DEFAULT_PERMISSIONS",
    "PUBLIC_CLIENT_ID",
    "ChangeLog",
    "FaultPlan",
    "RequestLog",
    "Sandbox",
    "SandboxTenant",
    "Tenant",
]
