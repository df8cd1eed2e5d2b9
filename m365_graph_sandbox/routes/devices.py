"""``/devices`` (+ ``registeredOwners``) and Intune's ``/deviceManagement`` (graph.md 1).

- ``/devices``: ``Device.Read.All``; directory paging (100 default, ``$top`` up to 999, graph.md 1 lists
  the maximum as UNVERIFIED; the sandbox takes the directory maximum).
- ``/devices/{id}/registeredOwners``: directoryObjects with ``@odata.type``, directory paging.
- ``/deviceManagement/managedDevices`` and ``/deviceManagement/detectedApps`` (+ ``/{id}/managedDevices``):
  ``DeviceManagementManagedDevices.Read.All``; Intune sizes its pages itself: 1000 per page
  (graph.md 1, [I:microsoftgraph/powershell-intune-samples#2]); follow the nextLink (``$skip`` paging is
  broken, graph.md 1). A tenant without an Intune licence (``Sandbox(intune=False)``) answers 400
  ``BadRequest`` "Request not applicable to target tenant." ([I:microsoftgraph/msgraph-beta-sdk-go#198],
  an active Intune licence is required: graph.md 1).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..server import GraphError, Request, Response, RouteTable
from .directory import directory_objects
from .odata import EntityType, collection, graph_type, model_keys

if TYPE_CHECKING:
    from ..server import Server

DEVICE_READ = (
    "Device.Read.All",
    "Device.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
INTUNE_READ = (
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
)
INTUNE_PAGE = 1000
INTUNE_OPTIONS = ("$select", "$top", "$filter", "$orderby", "$skiptoken")


def not_found(key: str) -> GraphError:
    """Graph's 404 for a missing parent."""
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )


def device_type(server: Server) -> EntityType:
    """``microsoft.graph.device`` in the server's cloud (metadata, graph.md 10)."""
    return graph_type(server, "device", model_keys(server.tenant.devices))


def list_devices(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /devices."""
    return collection(server, req, server.tenant.devices, device_type(server), fragment="devices")


def list_owners(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /devices/{id}/registeredOwners."""
    key = m.group("key")
    owners = server.tenant.device_owners.get(key)
    if owners is None:
        raise not_found(key)
    return directory_objects(server, req, owners, "directoryObjects")


def _intune(server: Server) -> None:
    if not getattr(server, "intune", True):
        raise GraphError(400, "BadRequest", "Request not applicable to target tenant.")


def _managed_type(server: Server) -> EntityType:
    managed = server.tenant.managed_devices
    return graph_type(server, "managedDevice", model_keys(managed))


def list_managed(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /deviceManagement/managedDevices: 1000 per page, sized by the server."""
    _intune(server)
    return collection(
        server,
        req,
        server.tenant.managed_devices,
        _managed_type(server),
        fragment="deviceManagement/managedDevices",
        allowed=INTUNE_OPTIONS,
        max_top=INTUNE_PAGE,
        default_top=INTUNE_PAGE,
    )


def list_detected(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /deviceManagement/detectedApps."""
    _intune(server)
    apps = server.tenant.detected_apps
    etype = graph_type(server, "detectedApp", model_keys(apps))
    return collection(
        server,
        req,
        apps,
        etype,
        fragment="deviceManagement/detectedApps",
        allowed=INTUNE_OPTIONS,
        max_top=INTUNE_PAGE,
        default_top=INTUNE_PAGE,
    )


def list_app_devices(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /deviceManagement/detectedApps/{id}/managedDevices."""
    _intune(server)
    key = m.group("key")
    tenant = server.tenant
    ids = tenant.detected_app_devices.get(key)
    if ids is None:
        raise GraphError(404, "ResourceNotFound", f"Resource not found: detectedApp '{key}'.")
    index = server.cache.get("devices.managed")
    if index is None:
        index = server.cache["devices.managed"] = {d["id"]: d for d in tenant.managed_devices}
    return collection(
        server,
        req,
        [index[i] for i in ids],
        _managed_type(server),
        fragment="deviceManagement/managedDevices",
        allowed=INTUNE_OPTIONS,
        max_top=INTUNE_PAGE,
        default_top=INTUNE_PAGE,
    )


def register(table: RouteTable) -> None:
    """Device and Intune routes."""
    table.add("GET", r"/v1\.0/devices", list_devices, permissions=DEVICE_READ, entity="device")
    table.add(
        "GET",
        r"/v1\.0/devices/(?P<key>[^/]+)/registeredOwners",
        list_owners,
        permissions=DEVICE_READ,
        entity="directoryObject",
    )
    table.add(
        "GET", r"/v1\.0/deviceManagement/managedDevices", list_managed, permissions=INTUNE_READ,
        entity="managedDevice",
    )  # fmt: skip
    table.add(
        "GET", r"/v1\.0/deviceManagement/detectedApps", list_detected, permissions=INTUNE_READ,
        entity="detectedApp",
    )  # fmt: skip
    table.add(
        "GET",
        r"/v1\.0/deviceManagement/detectedApps/(?P<key>[^/]+)/managedDevices",
        list_app_devices,
        permissions=INTUNE_READ,
        entity="managedDevice",
    )
