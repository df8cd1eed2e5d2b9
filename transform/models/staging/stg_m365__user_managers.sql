with source as (
    {{ m365_live_source('user_managers') }}
)

select
    tenant_id,
    user_id,
    "userPrincipalName" as user_principal_name,
    manager_id,
    "manager_userPrincipalName" as manager_user_principal_name
from source
