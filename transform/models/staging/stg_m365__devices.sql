-- Entra (registered / joined) devices, live ones. device_id is the object id (device_owners.device_id);
-- azure_ad_device_id is Graph's deviceId, which managed_devices.azure_ad_device_id joins.
with source as (
    {{ m365_live_source('devices') }}
)

select
    tenant_id,
    id as device_id,
    "deviceId" as azure_ad_device_id,
    "displayName" as display_name,
    "operatingSystem" as operating_system,
    "operatingSystemVersion" as operating_system_version,
    "trustType" as trust_type,
    "isCompliant" as is_compliant,
    "isManaged" as is_managed,
    "accountEnabled" as account_enabled,
    {{ m365_timestamp('"approximateLastSignInDateTime"') }} as approximate_last_sign_in_date_time,
    {{ m365_timestamp('"registrationDateTime"') }} as registration_date_time,
    manufacturer,
    model,
    "profileType" as profile_type,
    "deviceOwnership" as device_ownership,
    "enrollmentType" as enrollment_type,
    "onPremisesSyncEnabled" as on_premises_sync_enabled,
    {{ m365_timestamp('"onPremisesLastSyncDateTime"') }} as on_premises_last_sync_date_time,
    {{ m365_string_list('"physicalIds"') }} as physical_ids,
    {{ m365_string_list('"systemLabels"') }} as system_labels
from source
