-- Software Intune detected on managed devices (empty without Intune).
with source as (
    {{ m365_optional_source('detected_apps', {
        'tenant_id': 'text', 'id': 'text', 'displayName': 'text', 'version': 'text',
        'publisher': 'text', 'platform': 'text', 'sizeInByte': 'int', 'deviceCount': 'int'}) }}
)

select
    tenant_id,
    id as detected_app_id,
    "displayName" as display_name,
    version,
    publisher,
    platform,
    cast("sizeInByte" as bigint) as size_in_byte,
    cast("deviceCount" as bigint) as device_count
from source
