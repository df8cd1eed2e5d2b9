"""Device streams: Entra devices and their owners, Intune managed devices and detected apps.

Requests (graph.md 1, 5): ``/devices`` at 999 per page; registered owners of 20 devices per ``$batch``;
Intune lists are sized by the server (1000 per page, no ``$top`` sent); per-app devices of 20 apps per
``$batch`` (``detected_app_devices``, off by default). A tenant without an Intune licence answers 400
``BadRequest`` "Request not applicable to target tenant." ([I:microsoftgraph/msgraph-beta-sdk-go#198]):
the error table (graph/errors.py) makes it a licence skip.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_microsoft365.schema import Bool, DateTime, Int, String, owner_properties, props, strings
from tap_microsoft365.streams.base import (
    BatchedChildStream,
    GraphStream,
    RememberingStream,
)
from tap_microsoft365.streams.delta import DELETION_PROPERTIES, DeltaStream

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

class DevicesStream(DeltaStream):
    """``GET /devices/delta``: Entra ID registered and joined devices, then only what changed."""

    remembered_for = ("device_owners",)

    name = "devices"
    path = "/devices"
    delta_path = "/devices/delta"
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
        *DELETION_PROPERTIES,
    )


class DeviceOwnersStream(BatchedChildStream):
    """One row per (device, registered owner): ``/devices/{id}/registeredOwners``, 20 devices per ``$batch``."""

    name = "device_owners"
    parent = "devices"
    child_path = "/devices/{id}/registeredOwners"
    child_select = "id,userPrincipalName,displayName"
    primary_keys = ("device_id", "owner_id")
    schema = props(*owner_properties("device_id", "device"))
    parent_field = "device_id"
    child_field = "owner_id"
    type_field = "owner_type"
    copied = ("userPrincipalName", "displayName")

    def user_refs(self, row: dict) -> Iterable[t.Any]:
        """An owner outside the scope: the link is dropped, the device stays (devices)."""
        return (row["owner_id"],) if row.get("owner_type") == "user" else ()



class IntuneStream(GraphStream):
    """Intune lists: pages of 1000 sized by the server (graph.md 1), so no ``$top``."""

    max_page_size = None


class ManagedDevicesStream(IntuneStream):
    """``GET /deviceManagement/managedDevices``: Intune-enrolled devices.

    A device whose primary user is outside the run's scope is kept, without the user's identity.
    """

    USER_FIELDS: t.ClassVar[tuple[str, ...]] = (
        "userId",
        "userPrincipalName",
        "userDisplayName",
        "emailAddress",
    )

    def scoped(self, row: dict) -> dict | None:
        """The device; its user's fields nulled when the user is outside the scope."""
        user = row.get("userId")
        if self.run.scope.filters_users and user and not self.run.scope_index(self.name).user(user):
            for key in self.USER_FIELDS:
                row[key] = None
        return row

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


class DetectedAppsStream(RememberingStream):
    """``GET /deviceManagement/detectedApps``: software Intune found, with ``deviceCount``."""

    remembered_for = ("detected_app_devices",)
    max_page_size = None  # Intune: server-sized pages of 1000
    #: target-postgres 0.8.1 fails ACTIVATE_VERSION (soft delete) on a table with a ``version`` column:
    #: its UPDATE binds a parameter named ``version`` (sinks.py ``activate_version``), which SQLAlchemy
    #: refuses ("bindparam() name 'version' is reserved"). detectedApp has ``version`` (graph.md 1a).
    activate_version = False

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


class DetectedAppDevicesStream(BatchedChildStream):
    """One row per (detected app, managed device): ``/detectedApps/{id}/managedDevices`` via ``$batch``.

    Not selected by default: it costs a request per app (20 per ``$batch``). Intune pages are sized
    by the server (no ``$top``).
    """

    name = "detected_app_devices"
    parent = "detected_apps"
    child_path = "/deviceManagement/detectedApps/{id}/managedDevices"
    child_select = "id"
    max_page_size = None
    parent_field = "detected_app_id"
    child_field = "managed_device_id"
    selected_by_default = False
    primary_keys = ("detected_app_id", "managed_device_id")
    schema = props(
        th.Property("detected_app_id", String, required=True),
        th.Property("managed_device_id", String, required=True),
    )

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """Nothing unless the catalog selected the stream.

        singer-sdk's dry run (``--test``) forces every stream on; the per-app requests are spent only
        when the catalog asked for them.
        """
        if not self.selected_in_catalog:
            return
        yield from super().graph_records(context)

