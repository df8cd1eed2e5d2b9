-- Intune managed devices (empty on a tenant without Intune).
with source as (
    {{ m365_optional_source('managed_devices', {
        'tenant_id': 'text', 'id': 'text', 'deviceName': 'text', 'managedDeviceName': 'text',
        'userId': 'text', 'userPrincipalName': 'text', 'userDisplayName': 'text', 'emailAddress': 'text',
        'azureADDeviceId': 'text', 'azureADRegistered': 'bool', 'operatingSystem': 'text',
        'osVersion': 'text', 'complianceState': 'text',
        'complianceGracePeriodExpirationDateTime': 'timestamp', 'managementAgent': 'text',
        'managedDeviceOwnerType': 'text', 'deviceEnrollmentType': 'text',
        'deviceRegistrationState': 'text', 'enrolledDateTime': 'timestamp',
        'lastSyncDateTime': 'timestamp', 'model': 'text', 'manufacturer': 'text',
        'serialNumber': 'text', 'imei': 'text', 'wiFiMacAddress': 'text', 'isEncrypted': 'bool',
        'isSupervised': 'bool', 'jailBroken': 'text', 'exchangeAccessState': 'text',
        'partnerReportedThreatState': 'text', 'freeStorageSpaceInBytes': 'int',
        'totalStorageSpaceInBytes': 'int'}) }}
)

select
    tenant_id,
    id as managed_device_id,
    "deviceName" as device_name,
    "managedDeviceName" as managed_device_name,
    "userId" as user_id,
    "userPrincipalName" as user_principal_name,
    "userDisplayName" as user_display_name,
    "emailAddress" as email_address,
    "azureADDeviceId" as azure_ad_device_id,
    "azureADRegistered" as azure_ad_registered,
    "operatingSystem" as operating_system,
    "osVersion" as os_version,
    "complianceState" as compliance_state,
    -- 9999-12-31 means "no grace period running"
    nullif({{ m365_timestamp('"complianceGracePeriodExpirationDateTime"') }},
           {{ m365_timestamp("'9999-12-31T23:59:59Z'") }}) as compliance_grace_period_expiration_date_time,
    "managementAgent" as management_agent,
    "managedDeviceOwnerType" as managed_device_owner_type,
    "deviceEnrollmentType" as device_enrollment_type,
    "deviceRegistrationState" as device_registration_state,
    {{ m365_timestamp('"enrolledDateTime"') }} as enrolled_date_time,
    {{ m365_timestamp('"lastSyncDateTime"') }} as last_sync_date_time,
    model,
    manufacturer,
    "serialNumber" as serial_number,
    imei,
    "wiFiMacAddress" as wi_fi_mac_address,
    "isEncrypted" as is_encrypted,
    "isSupervised" as is_supervised,
    "jailBroken" as jail_broken,
    "exchangeAccessState" as exchange_access_state,
    "partnerReportedThreatState" as partner_reported_threat_state,
    cast("freeStorageSpaceInBytes" as bigint) as free_storage_space_in_bytes,
    cast("totalStorageSpaceInBytes" as bigint) as total_storage_space_in_bytes
from source
