-- Registered owners of Entra devices (device_id = devices' object id).
with source as (
    {{ m365_live_source('device_owners') }}
)

select
    tenant_id,
    device_id,
    owner_id,
    owner_type,
    "userPrincipalName" as user_principal_name,
    "displayName" as display_name
from source
