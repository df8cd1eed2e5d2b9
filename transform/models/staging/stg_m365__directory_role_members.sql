-- Who holds each admin role (users, service principals, groups).
with source as (
    {{ m365_live_source('directory_role_members') }}
)

select
    tenant_id,
    role_id,
    member_id,
    member_type,
    "userPrincipalName" as user_principal_name,
    "displayName" as display_name
from source
