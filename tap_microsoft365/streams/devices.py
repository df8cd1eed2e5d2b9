"""Device streams: Entra devices and their owners, Intune managed devices and detected apps.

Requests (graph.md 1, 5): ``/devices`` at 999 per page; registered owners of 20 devices per ``$batch``;
Intune lists are sized by the server (1000 per page, no ``$top`` sent); per-app devices of 20 apps per
``$batch`` (``detected_app_devices``, off by default). A tenant without an Intune licence answers 400
``BadRequest`` "Request not applicable to target tenant." ([I:microsoftgraph/msgraph-beta-sdk-go#198]):
the Intune streams turn it into a licence skip.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_microsoft365.client import GraphStream
from tap_microsoft365.errors import LicenseMissingError
from tap_microsoft365.permissions import requirement_for
from tap_microsoft365.schema import Bool, DateTime, Int, String, props, strings
from tap_microsoft365.streams.parents import IdsStream, RememberingStream, member_type, parent_ids

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

INTUNE_UNLICENSED = "request not applicable to target tenant"


class DevicesStream(RememberingStream):
    """``GET /devices``: Entra ID registered and joined devices, 999 per page."""

    remembered_for = ("device_owners",)

    name = "devices"
    path = "/devices"
    schema = props(
        th.Property("id", String, required=True),
        th.Property("deviceId", String, description="Joins managed_devices.azureADDeviceId"),
        th.Property("displayName", String),
        th.Property("operatingSystem", String),
        th.Property("operatingSystemVersion", String),
        th.Property("trustType", String),
        th.Property("isCompliant", Bool),
        th.Property("isManaged", Bool),
        th.Property("accountEnabled", Bool),
        th.Property("approximateLastSignInDateTime", DateTime),
        th.Property("registrationDateTime", DateTime),
        th.Property("manufacturer", String),
        th.Property("model", String),
        th.Property("profileType", String),
        th.Property("deviceOwnership", String),
        th.Property("enrollmentType", String),
        th.Property("onPremisesSyncEnabled", Bool),
        th.Property("onPremisesLastSyncDateTime", DateTime),
        strings("physicalIds"),
        strings("systemLabels"),
    )


class DeviceOwnersStream(GraphStream):
    """One row per (device, registered owner): ``/devices/{id}/registeredOwners``, 20 devices per ``$batch``."""

    name = "device_owners"
    path = "/devices/{device_id}/registeredOwners"
    primary_keys = ("device_id", "owner_id")
    tap_fields = ("tenant_id", "device_id", "owner_id", "owner_type")
    schema = props(
        th.Property(
            "device_id", String, required=True, description="The device (added by the tap)"
        ),
        th.Property("owner_id", String, required=True, description="The owner's object id"),
        th.Property(
            "owner_type", String, description="user or servicePrincipal (from @odata.type)"
        ),
        th.Property("userPrincipalName", String),
        th.Property("displayName", String),
    )

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Owners of every device."""
        tenant_id = self.connection.tenant_id
        requests_ = (
            (
                did,
                f"/devices/{did}/registeredOwners?$select=id,userPrincipalName,displayName&$top=999",
            )
            for did in parent_ids(self, "devices", "/devices")
        )
        for device_id, page in self.batch_pages(requests_, context):
            for owner in page.get("value", ()):
                yield {
                    "device_id": device_id,
                    "owner_id": owner["id"],
                    "owner_type": member_type(owner),
                    "userPrincipalName": owner.get("userPrincipalName"),
                    "displayName": owner.get("displayName"),
                    "tenant_id": tenant_id,
                }


class IntuneStream(GraphStream):
    """Intune lists: pages of 1000 sized by the server (graph.md 1), so no ``$top``."""

    max_page_size = None

    def error_from_parts(
        self, status: int, code: str, message: str, ids: str, method: str, path: str
    ) -> Exception:
        """400 "Request not applicable to target tenant." means no Intune licence: a licence skip."""
        if status == 400 and INTUNE_UNLICENSED in message.lower():
            need = requirement_for(self.name)
            return LicenseMissingError(
                f"the tenant lacks the licence stream '{self.name}' needs ({need.licence}; the app "
                f"also needs {need.permissions[0]}): Graph answered 400 {code} 'Request not "
                f"applicable to target tenant' for {method} {path} ({ids}). Fix: license the tenant "
                "for Intune or deselect the stream."
            )
        return super().error_from_parts(status, code, message, ids, method, path)


class _IntuneIdsStream(IntuneStream, IdsStream):
    """Ids of an Intune collection (no ``$top``, licence errors translated)."""


class ManagedDevicesStream(IntuneStream):
    """``GET /deviceManagement/managedDevices``: Intune-enrolled devices."""

    name = "managed_devices"
    path = "/deviceManagement/managedDevices"
    schema = props(
        th.Property("id", String, required=True),
        th.Property("deviceName", String),
        th.Property("managedDeviceName", String),
        th.Property("userId", String),
        th.Property("userPrincipalName", String),
        th.Property("userDisplayName", String),
        th.Property("emailAddress", String),
        th.Property("azureADDeviceId", String, description="Joins devices.deviceId"),
        th.Property("azureADRegistered", Bool),
        th.Property("operatingSystem", String),
        th.Property("osVersion", String),
        th.Property("complianceState", String),
        th.Property("complianceGracePeriodExpirationDateTime", DateTime),
        th.Property("managementAgent", String),
        th.Property("managedDeviceOwnerType", String),
        th.Property("deviceEnrollmentType", String),
        th.Property("deviceRegistrationState", String),
        th.Property("enrolledDateTime", DateTime),
        th.Property("lastSyncDateTime", DateTime),
        th.Property("model", String),
        th.Property("manufacturer", String),
        th.Property("serialNumber", String),
        th.Property("imei", String),
        th.Property("wiFiMacAddress", String),
        th.Property("isEncrypted", Bool),
        th.Property("isSupervised", Bool),
        th.Property("jailBroken", String),
        th.Property("exchangeAccessState", String),
        th.Property("partnerReportedThreatState", String),
        th.Property("freeStorageSpaceInBytes", Int),
        th.Property("totalStorageSpaceInBytes", Int),
    )


class DetectedAppsStream(IntuneStream, RememberingStream):
    """``GET /deviceManagement/detectedApps``: software Intune found, with ``deviceCount``."""

    remembered_for = ("detected_app_devices",)

    name = "detected_apps"
    path = "/deviceManagement/detectedApps"
    schema = props(
        th.Property("id", String, required=True),
        th.Property("displayName", String),
        th.Property("version", String),
        th.Property("publisher", String),
        th.Property("platform", String),
        th.Property("sizeInByte", Int),
        th.Property("deviceCount", Int),
    )


class DetectedAppDevicesStream(IntuneStream):
    """One row per (detected app, managed device): ``/detectedApps/{id}/managedDevices`` via ``$batch``.

    Not selected by default: it costs a request per app (20 per ``$batch``).
    """

    name = "detected_app_devices"
    path = "/deviceManagement/detectedApps/{detected_app_id}/managedDevices"
    selected_by_default = False
    primary_keys = ("detected_app_id", "managed_device_id")
    tap_fields = ("tenant_id", "detected_app_id", "managed_device_id")
    schema = props(
        th.Property("detected_app_id", String, required=True),
        th.Property("managed_device_id", String, required=True),
    )

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Managed devices of every detected app; nothing when no property is selected.

        singer-sdk's dry run forces unselected streams on after their (empty) mapped schema was built:
        the per-app requests are spent only when the catalog selected the stream.
        """
        if not self.selected or not self.stream_maps[-1].transformed_schema.get("properties"):
            return
        tenant_id = self.connection.tenant_id
        requests_ = (
            (aid, f"/deviceManagement/detectedApps/{aid}/managedDevices?$select=id")
            for aid in parent_ids(
                self, "detected_apps", "/deviceManagement/detectedApps", _IntuneIdsStream
            )
        )
        for app_id, page in self.batch_pages(requests_, context):
            for device in page.get("value", ()):
                yield {
                    "detected_app_id": app_id,
                    "managed_device_id": device["id"],
                    "tenant_id": tenant_id,
                }
