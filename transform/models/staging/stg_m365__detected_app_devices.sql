-- Which managed device each detected app was found on (stream not selected by default: empty without it).
with source as (
    {{ m365_optional_source('detected_app_devices', {
        'tenant_id': 'text', 'detected_app_id': 'text', 'managed_device_id': 'text'}) }}
)

select
    tenant_id,
    detected_app_id,
    managed_device_id
from source
